-- Issue 18: the EHR link's writes for a patient are audited: 'book',
-- 'reschedule' and 'cancel' an appointment, 'refill' (a refill request to the
-- prescriber); outcome ok, or fail when the EHR refused or could not be
-- reached. Rebuilt as in 0010: SQLite cannot change a CHECK constraint in
-- place, so every row is copied as is (seq and hashes included, the chain
-- still verifies) and the append-only triggers are created again.
CREATE TABLE audit_new (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock',
                                 'escalate', 'sign_in', 'book', 'reschedule', 'cancel',
                                 'refill')),
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'pass', 'fail', 'denied')),
    terminal   TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
INSERT INTO audit_new SELECT seq, at, agent_id, patient_id, category, action, outcome,
                             terminal, prev_hash, hash FROM audit;
DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_by_at ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
