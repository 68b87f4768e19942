-- The audit log (issue 5, item 7): one row per look at patient data, search,
-- verification attempt, export and console lock/unlock. Append-only and
-- hash-chained: hash = sha256(prev_hash || canonical JSON of the row's other
-- fields, seq included); the first row's prev_hash is 64 zeros. seq is chosen
-- by the writer as the last seq + 1 inside the write transaction, so the
-- sequence has no gaps unless a row is deleted. at is UTC ISO 8601 ending in Z.
-- The triggers stop accidental or casual changes; someone with the file can
-- drop them, which is what the chain (`careline audit verify`) detects.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock')),
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'pass', 'fail', 'denied')),
    terminal   TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX audit_by_at ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
