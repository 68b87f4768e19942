-- Issue 19: outbound worklists (appointment reminders, refill reminders, feedback
-- calls). Times are UTC instants as fixed-width text ('2031-03-03T09:00:00Z');
-- days are ISO dates. A worklist's rules are YAML in scripts_library/worklists/.
--
-- The predictive refill date needs what the dispense request says: the quantity,
-- the expected supply duration (days) and the last fill. Rows imported before
-- this have none of them (NULL): such a prescription is simply not predicted.
ALTER TABLE medications ADD COLUMN quantity REAL
    CHECK (quantity IS NULL OR quantity > 0);
ALTER TABLE medications ADD COLUMN supply_days INTEGER
    CHECK (supply_days IS NULL OR supply_days BETWEEN 1 AND 3660);
ALTER TABLE medications ADD COLUMN last_filled TEXT
    CHECK (last_filled IS NULL OR last_filled GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]');

-- One item per (list, what it is about): generating twice adds nothing twice.
-- state: pending (offerable once the calling rules allow), claimed (one console
-- holds it until claim_expires_at; a dead console's claim lapses), done (an
-- outcome, or no attempts left), blocked (a lasting rule: opted out, no number).
CREATE TABLE worklist_items (
    id               TEXT PRIMARY KEY,
    list_id          TEXT NOT NULL CHECK (list_id <> ''),
    kind             TEXT NOT NULL
                     CHECK (kind IN ('appointment_reminder', 'refill_reminder', 'feedback')),
    dedupe_key       TEXT NOT NULL CHECK (dedupe_key <> ''),
    patient_id       TEXT NOT NULL CHECK (patient_id <> ''),
    reason           TEXT NOT NULL,
    script_id        TEXT NOT NULL,
    due_from         TEXT NOT NULL,
    due_until        TEXT NOT NULL,
    generated_on     TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     INTEGER NOT NULL CHECK (max_attempts >= 1),
    spacing_minutes  INTEGER NOT NULL CHECK (spacing_minutes >= 0),
    next_attempt_at  TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'done', 'blocked')),
    block_reason     TEXT,
    claimed_by       TEXT,
    claim_token      TEXT,
    claim_expires_at TEXT,
    outcome          TEXT CHECK (outcome IS NULL OR outcome IN (
                         'confirmed', 'rescheduled', 'cancelled', 'voicemail', 'no_answer',
                         'busy', 'wrong_number', 'opted_out')),
    updated_at       TEXT NOT NULL,
    UNIQUE (list_id, dedupe_key),
    CHECK (state <> 'claimed' OR (claim_token IS NOT NULL AND claim_expires_at IS NOT NULL))
);
CREATE INDEX worklist_items_offer ON worklist_items (state, next_attempt_at);
-- Reminders and feedback look appointments up by day.
CREATE INDEX appointments_by_start ON appointments (start);
CREATE INDEX worklist_items_by_patient ON worklist_items (patient_id, state);

-- A patient who asked not to be called again: never offered, on any list.
CREATE TABLE worklist_opt_outs (
    patient_id TEXT PRIMARY KEY CHECK (patient_id <> ''),
    at         TEXT NOT NULL,
    source     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- Every outbound attempt, whatever its outcome: the per-patient caps count these.
CREATE TABLE outbound_calls (
    seq        INTEGER PRIMARY KEY,
    patient_id TEXT NOT NULL CHECK (patient_id <> ''),
    item_id    TEXT,
    at         TEXT NOT NULL,
    outcome    TEXT NOT NULL
);
CREATE INDEX outbound_calls_by_patient ON outbound_calls (patient_id, at);
