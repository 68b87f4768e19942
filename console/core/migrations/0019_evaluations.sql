-- Issue 21, the quality loop: evaluations of calls against an evaluation form
-- (scripts_library/evaluations/*.yaml), and what the automatic checks found
-- per call. All timestamps are UTC ISO 8601 text with milliseconds ending in Z.
--
-- One evaluation = one evaluator scoring one call (or one interaction) with
-- one form version. Calibration is several evaluations of the same call by
-- different evaluators; the spread per item is read from evaluation_answers.
-- state moves draft -> submitted -> acknowledged (the agent has read it),
-- never back. score (0..100) and passed are NULL while a draft and set once
-- on submit; a submitted score never changes (the triggers below).
-- No foreign key to calls or interactions: with a hub, the evaluated call is
-- an agent's, read from the hub, and is not in the evaluator's own store.
CREATE TABLE evaluations (
    id              TEXT PRIMARY KEY,
    call_id         TEXT,
    interaction_id  TEXT,
    -- The evaluated agent and the evaluator (login names, never patient data).
    agent_id        TEXT NOT NULL CHECK (agent_id <> ''),
    evaluator       TEXT NOT NULL CHECK (evaluator <> ''),
    form_id         TEXT NOT NULL CHECK (form_id <> ''),
    form_version    TEXT NOT NULL CHECK (form_version <> ''),
    -- When the evaluated call started: the week a trend puts the score in.
    call_at         TEXT NOT NULL,
    -- Why the call was chosen: 'sample' (the seeded weekly draw), 'emergency',
    -- 'complaint', 'long_call', 'check_failed', 'manual'.
    reason          TEXT NOT NULL DEFAULT 'manual',
    state           TEXT NOT NULL DEFAULT 'draft'
                    CHECK (state IN ('draft', 'submitted', 'acknowledged')),
    score           REAL CHECK (score IS NULL OR (score >= 0 AND score <= 100)),
    passed          INTEGER CHECK (passed IN (0, 1)),
    -- An automatic-fail item was answered the failing way: the score is 0.
    auto_failed     INTEGER NOT NULL DEFAULT 0 CHECK (auto_failed IN (0, 1)),
    comment         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    submitted_at    TEXT,
    acknowledged_at TEXT,
    -- The agent's reply when acknowledging (may be empty).
    agent_comment   TEXT NOT NULL DEFAULT '',
    -- Set when the hub holds this evaluation's current state (NULL: not yet,
    -- or no hub configured).
    synced_at       TEXT,
    CHECK (call_id IS NOT NULL OR interaction_id IS NOT NULL),
    CHECK ((state = 'draft') = (score IS NULL)),
    CHECK ((state = 'draft') = (passed IS NULL)),
    CHECK ((state = 'draft') = (submitted_at IS NULL)),
    CHECK ((state = 'acknowledged') = (acknowledged_at IS NOT NULL))
);
-- One evaluation per evaluator per call and form: a second one is calibration
-- by someone else, not a duplicate.
CREATE UNIQUE INDEX evaluations_one_per_evaluator
    ON evaluations (coalesce(call_id, interaction_id), form_id, evaluator);
CREATE INDEX evaluations_by_agent ON evaluations (agent_id, call_at);
CREATE INDEX evaluations_by_call_at ON evaluations (call_at);
CREATE INDEX evaluations_unsynced ON evaluations (updated_at) WHERE synced_at IS NULL;

-- A submitted score, pass and form are final; only the acknowledgement (and
-- the sync mark) may change afterwards.
CREATE TRIGGER evaluations_score_final BEFORE UPDATE ON evaluations
WHEN OLD.state <> 'draft' AND (
    NEW.score IS NOT OLD.score OR NEW.passed IS NOT OLD.passed
    OR NEW.auto_failed IS NOT OLD.auto_failed OR NEW.form_id IS NOT OLD.form_id
    OR NEW.form_version IS NOT OLD.form_version OR NEW.agent_id IS NOT OLD.agent_id
    OR NEW.evaluator IS NOT OLD.evaluator OR NEW.comment IS NOT OLD.comment
    OR NEW.state = 'draft'
)
BEGIN
    SELECT RAISE(ABORT, 'a submitted evaluation cannot be changed');
END;

-- One answer per form item. value is text: 'yes' / 'no' / 'na' for yes/no
-- items, the number for scale items, the text for text items; NULL when not
-- answered. automatic names the check that pre-filled it (NULL: the
-- evaluator's own answer); overridden is 1 when the evaluator changed a
-- pre-filled answer.
CREATE TABLE evaluation_answers (
    evaluation_id TEXT NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    item_id       TEXT NOT NULL CHECK (item_id <> ''),
    value         TEXT,
    automatic     TEXT,
    overridden    INTEGER NOT NULL DEFAULT 0 CHECK (overridden IN (0, 1)),
    note          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (evaluation_id, item_id)
);
CREATE TRIGGER evaluation_answers_final BEFORE UPDATE ON evaluation_answers
WHEN (SELECT state FROM evaluations WHERE id = OLD.evaluation_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'a submitted evaluation cannot be changed');
END;
CREATE TRIGGER evaluation_answers_no_late_insert BEFORE INSERT ON evaluation_answers
WHEN (SELECT state FROM evaluations WHERE id = NEW.evaluation_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'a submitted evaluation cannot be changed');
END;
CREATE TRIGGER evaluation_answers_no_delete BEFORE DELETE ON evaluation_answers
WHEN (SELECT state FROM evaluations WHERE id = OLD.evaluation_id) <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'a submitted evaluation cannot be changed');
END;

-- What the automatic checks found for a call, computed from the stored facts
-- (calls, interactions, audit). Recomputed rows replace older ones. outcome:
-- 'pass', 'fail', or 'na' (the check does not apply to this call). detail is
-- a short reason with no patient data ("red flag to transfer 95 s").
CREATE TABLE call_checks (
    call_id     TEXT NOT NULL REFERENCES calls (id),
    check_id    TEXT NOT NULL CHECK (check_id <> ''),
    outcome     TEXT NOT NULL CHECK (outcome IN ('pass', 'fail', 'na')),
    detail      TEXT NOT NULL DEFAULT '',
    computed_at TEXT NOT NULL,
    PRIMARY KEY (call_id, check_id)
);
CREATE INDEX call_checks_failed ON call_checks (check_id) WHERE outcome = 'fail';
