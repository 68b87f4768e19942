-- The patient directory cache. A patient's id is a UUID chosen when the patient
-- is first imported and kept on every re-import; the MRN is the upsert key.
-- Flags are columns (0/1) so the card and queries can test them cheaply.
-- birth_date is ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD, as FHIR allows);
-- updated_at is UTC ISO 8601 text ending in Z.
CREATE TABLE patients (
    id                   TEXT PRIMARY KEY,
    mrn                  TEXT NOT NULL UNIQUE,
    family_name          TEXT NOT NULL DEFAULT '',
    given_names          TEXT NOT NULL DEFAULT '',
    birth_date           TEXT,
    preferred_language   TEXT,
    interpreter_needed   INTEGER NOT NULL DEFAULT 0 CHECK (interpreter_needed IN (0, 1)),
    hearing_impaired     INTEGER NOT NULL DEFAULT 0 CHECK (hearing_impaired IN (0, 1)),
    minor                INTEGER NOT NULL DEFAULT 0 CHECK (minor IN (0, 1)),
    guardian_restriction INTEGER NOT NULL DEFAULT 0 CHECK (guardian_restriction IN (0, 1)),
    do_not_disclose      INTEGER NOT NULL DEFAULT 0 CHECK (do_not_disclose IN (0, 1)),
    source               TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);
-- A number may belong to several patients (a family phone); lookups go by e164.
CREATE TABLE patient_phones (
    patient_id TEXT NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
    e164       TEXT NOT NULL,
    kind       TEXT NOT NULL DEFAULT 'home',
    PRIMARY KEY (patient_id, e164)
) WITHOUT ROWID;
CREATE INDEX patient_phones_by_e164 ON patient_phones (e164);
