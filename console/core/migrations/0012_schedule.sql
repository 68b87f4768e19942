-- Issue 18: careline's own scheduling backend (console/core/ehr/local_scheduling.py),
-- the one the demo books with: clinicians' schedules, their slots, and the
-- appointments booked in them. It keeps FHIR's rules: a slot is booked only
-- at the version the agent was shown, every change adds one to a version,
-- and a request id books at most once. (The `appointments` table of 0005 is
-- the patient card's copy of the EHR's appointments, not this.)
--
-- Times are UTC instants as fixed-width text ('2031-03-03T09:00:00Z'), so that
-- text order is time order; the CHECKs keep that true for every row written.
CREATE TABLE schedules (
    id        TEXT PRIMARY KEY,
    clinician TEXT NOT NULL CHECK (clinician <> ''),
    location  TEXT NOT NULL CHECK (location <> ''),
    service   TEXT NOT NULL DEFAULT '',
    UNIQUE (clinician, location, service)
);

CREATE TABLE schedule_slots (
    id          TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules (id),
    starts_at   TEXT NOT NULL
        CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    ends_at     TEXT NOT NULL
        CHECK (ends_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    status      TEXT NOT NULL CHECK (status IN ('free', 'busy')),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (typeof(version) = 'integer' AND version >= 1),
    CHECK (ends_at > starts_at),
    UNIQUE (schedule_id, starts_at)
);
-- The picker's search: free slots by time.
CREATE INDEX schedule_slots_free ON schedule_slots (starts_at) WHERE status = 'free';

CREATE TABLE bookings (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL CHECK (patient_id <> ''),
    slot_id       TEXT NOT NULL REFERENCES schedule_slots (id),
    starts_at     TEXT NOT NULL
        CHECK (starts_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    ends_at       TEXT NOT NULL
        CHECK (ends_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    status        TEXT NOT NULL CHECK (status IN ('booked', 'cancelled')),
    cancel_reason TEXT CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL)),
    version       INTEGER NOT NULL DEFAULT 1 CHECK (typeof(version) = 'integer' AND version >= 1),
    -- careline's request id: a booking retried after a lost answer finds this row.
    request_id    TEXT NOT NULL UNIQUE CHECK (request_id <> ''),
    CHECK (ends_at > starts_at)
);
CREATE INDEX bookings_by_patient ON bookings (patient_id, starts_at) WHERE status = 'booked';
-- One booked appointment per slot, whatever the code above it does.
CREATE UNIQUE INDEX bookings_one_per_slot ON bookings (slot_id) WHERE status = 'booked';
