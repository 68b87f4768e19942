-- careline hub, version 7: evaluations of calls (issue 21, the quality loop).
--
-- Supervisors score calls in `careline qa`; every evaluation is kept here
-- too, so the agent sees theirs on any workstation and reports can trend
-- QA scores across the floor.
--
-- Who sees what:
-- - an agent reads only evaluations of their own calls, and only once
--   submitted (a draft is the evaluator's business); they cannot change a
--   score, only acknowledge a submitted evaluation (careline.evaluation_acknowledge);
-- - a supervisor reads the evaluations of agents in their teams
--   (careline.team_members) and those they wrote themselves, and writes only
--   through careline.evaluation_save, as the evaluator, for an agent of one
--   of their teams; a submitted score is final;
-- - the hub owner reads and writes everything and keeps the teams.
--
-- Runs as the hub owner, like the versions before it.

-- Teams: which logins supervise which agents. A login may be in several
-- teams; a supervisor supervises every agent of every team they are the
-- supervisor of.
CREATE TABLE careline.team_members (
    team text NOT NULL CHECK (team <> ''),
    login text NOT NULL CHECK (login <> ''),
    role text NOT NULL CHECK (role IN ('agent', 'supervisor')),
    PRIMARY KEY (team, login)
);
CREATE INDEX team_members_login_idx ON careline.team_members (login);

-- One evaluation: one evaluator, one call, one form version. answers is the
-- per-item list [{"item": id, "value": text|null, "automatic": check|null,
-- "overridden": bool, "note": text}].
CREATE TABLE careline.evaluations (
    id uuid PRIMARY KEY,
    call_id text,
    interaction_id text,
    agent_id text NOT NULL CHECK (agent_id <> ''),
    evaluator text NOT NULL CHECK (evaluator <> ''),
    form_id text NOT NULL CHECK (form_id <> ''),
    form_version text NOT NULL CHECK (form_version <> ''),
    call_at timestamptz NOT NULL,
    reason text NOT NULL DEFAULT 'manual',
    state text NOT NULL CHECK (state IN ('draft', 'submitted', 'acknowledged')),
    score double precision CHECK (score IS NULL OR (score >= 0 AND score <= 100)),
    passed boolean,
    auto_failed boolean NOT NULL DEFAULT false,
    comment text NOT NULL DEFAULT '',
    answers jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(answers) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    acknowledged_at timestamptz,
    agent_comment text NOT NULL DEFAULT '',
    CHECK (call_id IS NOT NULL OR interaction_id IS NOT NULL),
    CHECK ((state = 'draft') = (score IS NULL)),
    CHECK ((state = 'draft') = (passed IS NULL)),
    CHECK ((state = 'draft') = (submitted_at IS NULL)),
    CHECK ((state = 'acknowledged') = (acknowledged_at IS NOT NULL))
);
CREATE INDEX evaluations_agent_idx ON careline.evaluations (agent_id, call_at);
CREATE INDEX evaluations_call_at_idx ON careline.evaluations (call_at);
CREATE INDEX evaluations_call_idx ON careline.evaluations (call_id);

-- Does the login supervise this agent (a team where the login is supervisor
-- and the agent a member)?
CREATE FUNCTION careline.supervises(p_agent text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT EXISTS (
        SELECT 1
        FROM careline.team_members AS s
        JOIN careline.team_members AS a ON a.team = s.team
        WHERE s.login = session_user AND s.role = 'supervisor' AND a.login = p_agent
    )
$fn$;

-- Save (create or replace) an evaluation as its evaluator. A draft may be
-- saved again and again; once submitted it is final: saving the same
-- submitted evaluation again is a no-op (a retried sync), anything else is
-- refused. Returns the stored state.
CREATE FUNCTION careline.evaluation_save(p jsonb) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_login text := session_user;
    v_admin boolean := careline.is_hub_admin();
    v_id uuid;
    v_agent text;
    v_evaluator text;
    v_state text;
    v_score double precision;
    v_old careline.evaluations;
BEGIN
    IF p IS NULL OR jsonb_typeof(p) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'evaluation is not an object';
    END IF;
    IF NOT v_admin AND NOT pg_has_role(v_login, 'careline_supervisor', 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'only supervisors evaluate calls';
    END IF;
    BEGIN
        v_id := careline.payload_text(p, 'id', true)::uuid;
    EXCEPTION WHEN invalid_text_representation THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'id is not a UUID';
    END;
    v_agent := careline.payload_text(p, 'agent_id', true);
    v_evaluator := coalesce(careline.payload_text(p, 'evaluator', false), v_login);
    IF NOT v_admin THEN
        IF v_evaluator <> v_login THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = 'an evaluation is saved by its evaluator';
        END IF;
        IF NOT careline.supervises(v_agent) THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = 'the agent is not in one of your teams';
        END IF;
    END IF;
    v_state := careline.payload_text(p, 'state', true);
    IF v_state NOT IN ('draft', 'submitted') THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'state must be draft or submitted';
    END IF;
    IF jsonb_typeof(p -> 'score') = 'number' THEN
        v_score := (p ->> 'score')::double precision;
    ELSIF p ? 'score' AND jsonb_typeof(p -> 'score') <> 'null' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'score must be a number';
    END IF;
    IF jsonb_typeof(coalesce(p -> 'answers', '[]')) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'answers must be a list';
    END IF;

    SELECT * INTO v_old FROM careline.evaluations WHERE id = v_id FOR UPDATE;
    IF FOUND THEN
        IF v_old.evaluator <> v_evaluator OR v_old.agent_id <> v_agent THEN
            RAISE EXCEPTION USING ERRCODE = '42501',
                MESSAGE = 'this evaluation belongs to another evaluator';
        END IF;
        IF v_old.state <> 'draft' THEN
            IF v_state = 'submitted' AND v_old.score IS NOT DISTINCT FROM v_score
                AND v_old.answers = coalesce(p -> 'answers', '[]')
            THEN
                RETURN v_old.state;
            END IF;
            RAISE EXCEPTION USING ERRCODE = 'CL409',
                MESSAGE = 'a submitted evaluation cannot be changed';
        END IF;
        DELETE FROM careline.evaluations WHERE id = v_id;
    END IF;

    INSERT INTO careline.evaluations (
        id, call_id, interaction_id, agent_id, evaluator, form_id, form_version,
        call_at, reason, state, score, passed, auto_failed, comment, answers,
        created_at, updated_at, submitted_at
    ) VALUES (
        v_id,
        careline.payload_text(p, 'call_id', false),
        careline.payload_text(p, 'interaction_id', false),
        v_agent,
        v_evaluator,
        careline.payload_text(p, 'form_id', true),
        careline.payload_text(p, 'form_version', true),
        careline.payload_time(p -> 'call_at', 'call_at'),
        coalesce(careline.payload_text(p, 'reason', false), 'manual'),
        v_state,
        v_score,
        CASE WHEN jsonb_typeof(p -> 'passed') = 'boolean' THEN (p ->> 'passed')::boolean END,
        coalesce((p ->> 'auto_failed')::boolean, false),
        coalesce(careline.payload_text(p, 'comment', false), ''),
        coalesce(p -> 'answers', '[]'),
        coalesce(v_old.created_at, now()),
        now(),
        CASE WHEN v_state = 'submitted' THEN now() END
    );
    RETURN v_state;
END
$fn$;

-- The evaluated agent has read a submitted evaluation. Acknowledging twice
-- is a no-op; nobody else may acknowledge, and nothing else changes.
CREATE FUNCTION careline.evaluation_acknowledge(p_id uuid, p_comment text) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_row careline.evaluations;
BEGIN
    SELECT * INTO v_row FROM careline.evaluations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR v_row.agent_id <> session_user OR v_row.state = 'draft' THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'no such evaluation of yours';
    END IF;
    IF v_row.state = 'acknowledged' THEN
        RETURN 'acknowledged';
    END IF;
    UPDATE careline.evaluations
    SET state = 'acknowledged', acknowledged_at = now(), updated_at = now(),
        agent_comment = left(coalesce(p_comment, ''), 2000)
    WHERE id = p_id;
    RETURN 'acknowledged';
END
$fn$;

ALTER TABLE careline.evaluations ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.evaluations FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.team_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.team_members FORCE ROW LEVEL SECURITY;

CREATE POLICY own_select ON careline.evaluations FOR SELECT TO careline_agent
    USING (agent_id = current_user AND state <> 'draft');
CREATE POLICY team_select ON careline.evaluations FOR SELECT TO careline_supervisor
    USING (evaluator = current_user OR careline.supervises(agent_id));
CREATE POLICY own_select ON careline.team_members FOR SELECT
    TO careline_agent, careline_supervisor USING (login = current_user);

DO $owner$
BEGIN
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.evaluations TO %I USING (true) WITH CHECK (true)',
        current_user);
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.team_members TO %I USING (true) WITH CHECK (true)',
        current_user);
END
$owner$;

-- Read through RLS, write only through the functions above.
REVOKE ALL ON careline.evaluations, careline.team_members FROM PUBLIC;
GRANT SELECT ON careline.evaluations, careline.team_members
    TO careline_agent, careline_supervisor;
REVOKE ALL ON FUNCTION careline.evaluation_save(jsonb),
    careline.evaluation_acknowledge(uuid, text), careline.supervises(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careline.evaluation_save(jsonb), careline.supervises(text)
    TO careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.evaluation_acknowledge(uuid, text), careline.supervises(text)
    TO careline_agent;
