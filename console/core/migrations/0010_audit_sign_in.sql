-- Issue 8: the agent's sign-in (agent id + PIN) when the console starts or a
-- terminal attaches is audited as 'sign_in' (outcome pass, fail or denied),
-- apart from 'unlock' of the idle lock. Rebuilt as in 0007: SQLite cannot
-- change a CHECK constraint in place, so every row is copied as is (seq and
-- hashes included, the chain still verifies) and the append-only triggers
-- are created again on the new table.
CREATE TABLE audit_new (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock',
                                 'escalate', 'sign_in')),
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
