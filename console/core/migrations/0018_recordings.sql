-- Issue 20: call recordings. One row per recorded call (the encrypted file is
-- in the recordings directory, named by the call's id; no patient data here),
-- its pauses with their times, and the audit actions of a recording's life:
-- 'record_start', 'record_pause', 'record_resume', 'record_stop' (category
-- 'recording'), 'record_delete' when retention deletes it, 'record_play' when
-- someone plays it. The audit table is rebuilt as in 0013 to widen its CHECK.
CREATE TABLE recordings (
    call_id        TEXT PRIMARY KEY CHECK (call_id <> ''),
    agent_id       TEXT NOT NULL CHECK (agent_id <> ''),
    queue          TEXT NOT NULL DEFAULT '',
    mode           TEXT NOT NULL CHECK (mode IN ('announce', 'consent')),
    consent_by     TEXT CHECK (consent_by IN ('patient', 'agent')),
    file           TEXT NOT NULL CHECK (file <> ''),
    state          TEXT NOT NULL
                   CHECK (state IN ('recording', 'stopped', 'failed', 'deleted')),
    detail         TEXT NOT NULL DEFAULT '',
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    seconds        REAL,
    bytes          INTEGER,
    retention_days INTEGER NOT NULL CHECK (retention_days > 0),
    deleted_at     TEXT
);
CREATE INDEX recordings_by_start ON recordings (started_at);

CREATE TABLE recording_pauses (
    call_id    TEXT NOT NULL REFERENCES recordings (call_id),
    paused_at  TEXT NOT NULL,
    resumed_at TEXT,
    reason     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (call_id, paused_at)
);

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
                                 'record_play')),
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
