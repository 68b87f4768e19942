-- Issue 7: what the hub sync remembers between runs, by key. Today one key:
-- 'patients_seq', the hub's careline.patients seq pulled up to (the directory
-- pull goes on from there after a restart or a reconnect). Values are text.
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
