-- Issue 7: the outbox also carries what the floor needs (agent state changes,
-- call events for queue statistics, audit chain heads), and remembers delivery
-- attempts so the hub sync can back off and park rows the hub rejects.
-- SQLite cannot change a CHECK in place: the table is rebuilt with its rows
-- (seq values kept, so AUTOINCREMENT goes on from the highest).
CREATE TABLE outbox_new (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL
                    CHECK (kind IN ('interaction', 'callback', 'agent_state', 'call_event',
                                    'audit_head')),
    entity_id       TEXT NOT NULL,
    payload         TEXT NOT NULL CHECK (json_valid(payload)),
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    -- Delivery attempts that failed (hub unreachable or refusing), when the
    -- next may be made (UTC ISO Z; NULL: at once), and the last error.
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT,
    last_error      TEXT,
    -- Set when the hub rejected the row itself (not the network): parked in
    -- the dead-letter state, shown to the agent, retried only on request.
    dead_at         TEXT
);
INSERT INTO outbox_new (seq, kind, entity_id, payload, created_at, sent_at)
    SELECT seq, kind, entity_id, payload, created_at, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_dead ON outbox (seq) WHERE dead_at IS NOT NULL;
CREATE UNIQUE INDEX outbox_one_per_interaction ON outbox (entity_id)
    WHERE kind = 'interaction';

-- This store's identity towards the hub: (workstation, outbox seq) names every
-- record uniquely, so a replayed row is recognised and stored once.
CREATE TABLE workstation (
    id         TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
INSERT INTO workstation (id, created_at)
VALUES (
    lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
          || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2)
          || '-' || hex(randomblob(6))),
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
);
