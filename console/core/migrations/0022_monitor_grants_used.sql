-- Issue 20: the local grant files an agent's console has let in, so that a grant
-- lets one leg in even across a console restart (the agent's account cannot
-- delete the supervisor's file). Only the opaque grant id and when it was used
-- (UTC); rows older than a grant can live are pruned as new ones are written.
CREATE TABLE monitor_grants_used (
    grant_id TEXT PRIMARY KEY,
    used_at  TEXT NOT NULL
);
CREATE INDEX monitor_grants_used_by_at ON monitor_grants_used (used_at);
