-- The clinical context around a patient (issue 5): appointments, prescriptions,
-- care teams and the practitioner roles they point at, imported from FHIR.
-- Each row is keyed by its FHIR resource id, so a re-import updates it.
-- subject is the patient key the resource's reference gives: 'id:<FHIR id>'
-- for Patient/<id>, 'mrn:<MRN>' for a reference by identifier. Resources are
-- kept even when their patient is not (yet) in the directory: import order
-- across files does not matter.
ALTER TABLE patients ADD COLUMN fhir_id TEXT;
CREATE INDEX patients_by_fhir_id ON patients (fhir_id) WHERE fhir_id IS NOT NULL;

CREATE TABLE appointments (
    resource_id TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    start       TEXT,
    status      TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    with_whom   TEXT NOT NULL DEFAULT '',
    location    TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL
);
CREATE INDEX appointments_by_subject ON appointments (subject, start);

CREATE TABLE medications (
    resource_id     TEXT PRIMARY KEY,
    subject         TEXT NOT NULL,
    name            TEXT NOT NULL,
    status          TEXT NOT NULL,
    dosage          TEXT NOT NULL DEFAULT '',
    authored_on     TEXT,
    refills_allowed INTEGER CHECK (refills_allowed IS NULL OR refills_allowed >= 0),
    valid_until     TEXT,
    prescriber      TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL
);
CREATE INDEX medications_by_subject ON medications (subject);

-- One row per CareTeam participant; a re-import replaces the team's rows.
CREATE TABLE care_team_members (
    resource_id TEXT NOT NULL,
    position    INTEGER NOT NULL,
    subject     TEXT NOT NULL,
    status      TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    reference   TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (resource_id, position)
) WITHOUT ROWID;
CREATE INDEX care_team_members_by_subject ON care_team_members (subject);

CREATE TABLE practitioner_roles (
    resource_id      TEXT PRIMARY KEY,
    practitioner     TEXT NOT NULL DEFAULT '',
    practitioner_ref TEXT NOT NULL DEFAULT '',
    role             TEXT NOT NULL DEFAULT '',
    specialty        TEXT NOT NULL DEFAULT '',
    phone            TEXT NOT NULL DEFAULT '',
    updated_at       TEXT NOT NULL
);
CREATE INDEX practitioner_roles_by_practitioner ON practitioner_roles (practitioner_ref);

-- The patient the agent verified on a call: the card's "recent interactions".
ALTER TABLE calls ADD COLUMN patient_id TEXT;
CREATE INDEX calls_by_patient ON calls (patient_id, received_at DESC) WHERE patient_id IS NOT NULL;
