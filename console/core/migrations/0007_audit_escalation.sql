-- Issue 6: a clinical red flag raised on a call is audited as 'escalate'.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt
-- with the same rows; every field (seq, hashes included) is copied as is, so
-- the hash chain still verifies. The append-only triggers go with the old
-- table and are created again on the new one.
CREATE TABLE audit_new (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock',
                                 'escalate')),
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
