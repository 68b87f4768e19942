-- Issue 20: a supervisor joining an agent's call is audited on the agent's
-- side: 'monitor' (a leg accepted: ok, or refused: denied, with the reason),
-- 'monitor_mode' (the supervisor switched between listen, whisper and barge)
-- and 'monitor_end', in category 'monitoring'; the supervisor and the mode or
-- the refusal are in the terminal column. Rebuilt as in 0010: SQLite cannot
-- change a CHECK constraint in place, so every row is copied as is (seq and
-- hashes included, the chain still verifies) and the append-only triggers are
-- created again.
CREATE TABLE audit_new (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock',
                                 'escalate', 'sign_in', 'book', 'reschedule', 'cancel',
                                 'refill', 'message', 'record_start', 'record_pause',
                                 'record_resume', 'record_stop', 'record_delete',
                                 'record_play', 'monitor', 'monitor_mode', 'monitor_end')),
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
