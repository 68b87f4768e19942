-- Calls handled at this workstation: one row per call, keyed by the engine's call UUID.
-- All timestamps are UTC ISO 8601 text ending in Z.
CREATE TABLE calls (
    id            TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL,
    direction     TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    caller_name   TEXT NOT NULL,
    caller_number TEXT NOT NULL,
    caller_uri    TEXT NOT NULL,
    called_uri    TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    answered_at   TEXT,
    ended_at      TEXT,
    end_reason    TEXT,
    ended_by      TEXT,
    sip_status    INTEGER,
    timeline      TEXT NOT NULL DEFAULT '[]',
    notes         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX calls_by_received ON calls (received_at DESC);
