-- Interactions, callbacks, wrap-up drafts and the outbox (issue 6).
-- All timestamps are UTC ISO 8601 text with milliseconds, ending in Z, so
-- that text order is time order (due_at is sorted as text).
-- JSON columns hold plain values only; json_valid() keeps a half-serialised
-- value from ever reaching the hub sync.

-- One finished piece of work with a patient or caller (≈ FHIR Communication):
-- the call facts are in calls, this holds what the agent recorded about it.
-- id is a UUID chosen when the wrap-up opens; it is the hub's idempotency key,
-- and a retried write with the same id is a no-op. call_id is NULL when the
-- interaction did not come from a call the engine reported (a callback outcome
-- recorded without one, a manual entry). The store writes an interaction only
-- together with its outbox row, its callbacks and the removal of its draft.
CREATE TABLE interactions (
    id               TEXT PRIMARY KEY,
    call_id          TEXT REFERENCES calls (id),
    agent_id         TEXT NOT NULL CHECK (agent_id <> ''),
    patient_id       TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT NOT NULL CHECK (ended_at >= started_at),
    script_id        TEXT,
    script_version   TEXT,
    -- [{"question": ..., "value": ..., "at": ...}] in the order answered.
    answers          TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(answers)),
    -- [{"rule": ..., "at": ...}] in the order raised.
    red_flags        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(red_flags)),
    -- Only ever raised during a call (routine < urgent < emergency); the
    -- stored value is the highest reached.
    urgency          TEXT NOT NULL CHECK (urgency IN ('routine', 'urgent', 'emergency')),
    disposition      TEXT NOT NULL CHECK (trim(disposition) <> ''),
    notes            TEXT NOT NULL DEFAULT '',
    -- The wrap-up form's other field values, by field id.
    form             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(form)),
    feedback_consent INTEGER NOT NULL DEFAULT 0 CHECK (feedback_consent IN (0, 1)),
    created_at       TEXT NOT NULL
);
-- save_draft refuses a draft for a call whose wrap-up is finished (a late
-- keystroke must not resurrect it); this index makes that check cheap.
CREATE INDEX interactions_by_call ON interactions (call_id) WHERE call_id IS NOT NULL;
-- The patient card's "recent interactions".
CREATE INDEX interactions_by_patient ON interactions (patient_id, ended_at DESC)
    WHERE patient_id IS NOT NULL;

-- Follow-up tasks (≈ FHIR Task): a number to call back by a due time.
-- Created with the interaction that asked for it; done when an agent records
-- the callback's outcome, which is itself an interaction
-- (outcome_interaction_id), or cancelled. done_at is set exactly when the
-- callback leaves 'open'.
CREATE TABLE callbacks (
    id                     TEXT PRIMARY KEY,
    interaction_id         TEXT NOT NULL REFERENCES interactions (id),
    patient_id             TEXT,
    number                 TEXT NOT NULL CHECK (number <> ''),
    due_at                 TEXT NOT NULL,
    owner                  TEXT NOT NULL CHECK (owner <> ''),
    reason                 TEXT NOT NULL DEFAULT '',
    status                 TEXT NOT NULL DEFAULT 'open'
                           CHECK (status IN ('open', 'done', 'cancelled')),
    done_at                TEXT,
    outcome_interaction_id TEXT REFERENCES interactions (id),
    created_at             TEXT NOT NULL,
    CHECK ((status = 'open') = (done_at IS NULL)),
    CHECK (outcome_interaction_id IS NULL OR status = 'done')
);
-- The callbacks list reads only open ones, by due time.
CREATE INDEX callbacks_open_by_due ON callbacks (due_at) WHERE status = 'open';
CREATE INDEX callbacks_by_interaction ON callbacks (interaction_id);

-- What the wrap-up screen holds so far for a call, saved on every change so
-- that a killed console reopens it. One row per call, replaced by each save;
-- removed in the transaction that writes the finished interaction. body is
-- the UI's own JSON (the store does not read inside it).
CREATE TABLE wrap_up_drafts (
    call_id  TEXT PRIMARY KEY REFERENCES calls (id),
    saved_at TEXT NOT NULL,
    body     TEXT NOT NULL CHECK (json_valid(body))
);

-- Facts waiting for the hub sync (issue 7), written in the same transaction
-- as the business row they describe. The sync reads unsent rows in seq order
-- and sets sent_at; the hub upserts by (kind, entity_id), so a row delivered
-- twice does no harm and a later row for the same callback supersedes an
-- earlier one. AUTOINCREMENT: a seq is never reused, even after sent rows at
-- the end are pruned, so "the last seq I delivered" stays meaningful.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('interaction', 'callback')),
    entity_id  TEXT NOT NULL,
    payload    TEXT NOT NULL CHECK (json_valid(payload)),
    created_at TEXT NOT NULL,
    sent_at    TEXT
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
-- An interaction never changes once written, so it has exactly one row.
CREATE UNIQUE INDEX outbox_one_per_interaction ON outbox (entity_id)
    WHERE kind = 'interaction';
