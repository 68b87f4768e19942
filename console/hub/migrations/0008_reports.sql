-- careline hub, version 8: the weekly quality report (issue 21).
--
-- `careline report --hub` trends service level, handle time, abandonment,
-- QA score and patient feedback per queue and agent over a year or more.
-- Folding millions of floor events (several per call, JSON payloads) on
-- every report would take seconds to minutes, so the hub keeps one narrow
-- row per call, careline.call_facts, folded from the call events as they are
-- stored (a row trigger on floor_events: one upsert per call event, whatever
-- order the events come in). The report reads it
-- through the functions below, which group by week in SQL.
--
-- Who sees what (the same rule as evaluations, version 7): the hub owner
-- every agent; a supervisor the agents of their teams (careline.team_members)
-- and themselves; an agent only themselves. call_facts is read only through
-- the report functions, which apply that rule (SECURITY DEFINER: the login
-- is session_user, never a parameter).
--
-- Survey answers are read from the interactions of the scripts the caller
-- names (the steps a script marks `measures:`), found by an index on the
-- script id; the queue of a survey or an evaluated call is its call's.
--
-- Runs as the hub owner, like the versions before it.

-- A number of seconds from a payload: a JSON number, clamped to 0..10^7;
-- anything else (text, a huge or hostile value) is NULL, never an error that
-- would reject the record that carried it.
CREATE FUNCTION careline.payload_seconds(p_value jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $fn$
    SELECT CASE WHEN jsonb_typeof(p_value) = 'number'
        THEN least(greatest(p_value::numeric, 0), 10000000)::double precision END
$fn$;

-- One row per call (per agent: each console's engine names its own calls).
-- first_at: the call's first event (its week and the report's range);
-- answer_wait_s: ringing to answer (NULL: never answered); ended: ended
-- after an answer; talk_s and acw_s: from the ended and wrapped events.
CREATE TABLE careline.call_facts (
    agent_id text NOT NULL,
    call_id text NOT NULL,
    queue text NOT NULL DEFAULT '',
    first_at timestamptz NOT NULL,
    turned_away boolean NOT NULL DEFAULT false,
    answer_wait_s double precision,
    abandoned boolean NOT NULL DEFAULT false,
    ended boolean NOT NULL DEFAULT false,
    talk_s double precision,
    acw_s double precision,
    PRIMARY KEY (agent_id, call_id)
);
-- The report reads a range of weeks, or one agent's.
CREATE INDEX call_facts_first_at_idx ON careline.call_facts (first_at);
CREATE INDEX call_facts_agent_idx ON careline.call_facts (agent_id, first_at);

-- Fold one call event into its call's row, whatever order the events come in.
CREATE FUNCTION careline.fold_call(p_event careline.floor_events) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_event text := p_event.payload ->> 'event';
BEGIN
    IF p_event.kind <> 'call_event'
        OR jsonb_typeof(p_event.payload -> 'call_id') IS DISTINCT FROM 'string'
        OR p_event.payload ->> 'call_id' = ''
    THEN
        RETURN;
    END IF;
    INSERT INTO careline.call_facts AS f (
        agent_id, call_id, queue, first_at, turned_away, answer_wait_s, abandoned, ended,
        talk_s, acw_s
    ) VALUES (
        p_event.agent_id,
        p_event.payload ->> 'call_id',
        coalesce(p_event.payload ->> 'queue', ''),
        p_event.at,
        v_event = 'turned_away',
        CASE WHEN v_event IN ('answered', 'ended')
            THEN careline.payload_seconds(p_event.payload -> 'wait_s') END,
        v_event = 'abandoned',
        v_event = 'ended',
        CASE WHEN v_event = 'ended'
            THEN careline.payload_seconds(p_event.payload -> 'talk_s') END,
        CASE WHEN v_event = 'wrapped'
            THEN careline.payload_seconds(p_event.payload -> 'acw_s') END
    )
    ON CONFLICT (agent_id, call_id) DO UPDATE SET
        queue = CASE WHEN f.queue = '' THEN EXCLUDED.queue ELSE f.queue END,
        first_at = least(f.first_at, EXCLUDED.first_at),
        turned_away = f.turned_away OR EXCLUDED.turned_away,
        answer_wait_s = coalesce(f.answer_wait_s, EXCLUDED.answer_wait_s),
        abandoned = f.abandoned OR EXCLUDED.abandoned,
        ended = f.ended OR EXCLUDED.ended,
        talk_s = coalesce(EXCLUDED.talk_s, f.talk_s),
        acw_s = coalesce(EXCLUDED.acw_s, f.acw_s);
END
$fn$;

CREATE FUNCTION careline.fold_call_event() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM careline.fold_call(NEW);
    RETURN NULL;
END
$fn$;

-- A row trigger, only for call events: ingest stores one record per statement,
-- and a statement trigger's transition table cost twice the insert itself.
CREATE TRIGGER floor_events_fold_calls AFTER INSERT ON careline.floor_events
    FOR EACH ROW WHEN (NEW.kind = 'call_event')
    EXECUTE FUNCTION careline.fold_call_event();

-- The calls already on the hub.
SELECT careline.fold_call(f) FROM careline.floor_events AS f
WHERE f.kind = 'call_event' ORDER BY f.seq;

ALTER TABLE careline.call_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.call_facts FORCE ROW LEVEL SECURITY;
DO $owner$
BEGIN
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.call_facts TO %I USING (true) WITH CHECK (true)',
        current_user);
END
$owner$;
REVOKE ALL ON careline.call_facts FROM PUBLIC;

-- Survey interactions by script, in a range.
CREATE INDEX interactions_script_idx
    ON careline.interactions ((payload ->> 'script_id'), started_at)
    WHERE payload ? 'script_id';

-- The agents whose figures the login may read; NULL: every agent (the owner).
-- The report functions read it once per query (a MATERIALIZED CTE: inlined,
-- it ran once per row, 20 times slower).
CREATE FUNCTION careline.report_agents() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE WHEN careline.is_hub_admin() THEN NULL ELSE
        array_append(ARRAY(
            SELECT DISTINCT a.login
            FROM careline.team_members AS s
            JOIN careline.team_members AS a ON a.team = s.team
            WHERE s.login = session_user AND s.role = 'supervisor'
                AND pg_has_role(session_user, 'careline_supervisor', 'MEMBER')
        ), session_user::text)
    END
$fn$;

-- Calls per week, queue and agent in [p_from, p_to). p_queues / p_agents:
-- only these (NULL: all); answered within p_sl_seconds counts for the
-- service level.
CREATE FUNCTION careline.report_calls(
    p_from timestamptz, p_to timestamptz, p_sl_seconds double precision,
    p_queues text[], p_agents text[]
)
RETURNS TABLE (
    week date, queue text, agent_id text, offered bigint, answered bigint,
    within_sl bigint, abandoned bigint, handled bigint, handle_s double precision,
    turned_away bigint
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- A year is a million calls in tens of thousands of groups: hashed in memory,
-- not sorted on disk.
SET work_mem = '64MB' AS $fn$
    WITH visible AS MATERIALIZED (SELECT careline.report_agents() AS agents)
    SELECT (date_trunc('week', f.first_at AT TIME ZONE 'UTC'))::date,
           f.queue,
           f.agent_id,
           count(*) FILTER (WHERE NOT f.turned_away OR f.answer_wait_s IS NOT NULL
                                  OR f.abandoned),
           count(f.answer_wait_s),
           count(*) FILTER (WHERE f.answer_wait_s <= p_sl_seconds),
           count(*) FILTER (WHERE f.abandoned AND f.answer_wait_s IS NULL),
           count(*) FILTER (WHERE f.ended),
           coalesce(sum(coalesce(f.talk_s, 0) + coalesce(f.acw_s, 0))
                    FILTER (WHERE f.ended), 0),
           count(*) FILTER (WHERE f.turned_away AND f.answer_wait_s IS NULL
                                  AND NOT f.abandoned)
    FROM careline.call_facts AS f, visible AS v
    WHERE f.first_at >= p_from AND f.first_at < p_to
        AND (v.agents IS NULL OR f.agent_id = ANY (v.agents))
        AND (p_queues IS NULL OR f.queue = ANY (p_queues))
        AND (p_agents IS NULL OR f.agent_id = ANY (p_agents))
    GROUP BY 1, 2, 3
$fn$;

-- The interactions of the survey scripts p_scripts in [p_from, p_to), with
-- where they count: their call's queue, or for an outbound worklist call
-- (which has no queue) its list: the report reads the measured answers.
CREATE FUNCTION careline.report_surveys(
    p_from timestamptz, p_to timestamptz, p_scripts text[], p_queues text[], p_agents text[]
)
RETURNS TABLE (
    week date, queue text, agent_id text, interaction_id uuid, at timestamptz,
    script_id text, answers jsonb
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH visible AS MATERIALIZED (SELECT careline.report_agents() AS agents)
    SELECT s.week, s.queue, s.agent_id, s.id, s.started_at, s.script_id, s.answers
    FROM (
        SELECT (date_trunc('week', i.started_at AT TIME ZONE 'UTC'))::date AS week,
               coalesce(
                   nullif(f.queue, ''),
                   CASE WHEN jsonb_typeof(i.payload #> '{form,worklist}') = 'string'
                       THEN i.payload #>> '{form,worklist}' END,
                   ''
               ) AS queue,
               i.agent_id, i.id, i.started_at,
               i.payload ->> 'script_id' AS script_id,
               i.payload -> 'answers' AS answers
        FROM careline.interactions AS i
        CROSS JOIN visible AS v
        LEFT JOIN careline.call_facts AS f
            ON f.agent_id = i.agent_id AND f.call_id = i.payload ->> 'call_id'
        WHERE i.payload ? 'script_id' AND i.payload ->> 'script_id' = ANY (p_scripts)
            AND i.started_at >= p_from AND i.started_at < p_to
            AND (v.agents IS NULL OR i.agent_id = ANY (v.agents))
            AND (p_agents IS NULL OR i.agent_id = ANY (p_agents))
    ) AS s
    WHERE p_queues IS NULL OR s.queue = ANY (p_queues)
$fn$;

-- The surveys' scores counted per week, queue and agent, without shipping
-- every answer log to the client: per survey and measure the last answer in
-- the log to any step p_steps names for it ([{"script", "step", "measure"}]),
-- counted when it is a whole number on the measure's scale (CSAT 1-5, NPS
-- 0-10): the rule console/core/reports/feedback.py reads answers by.
CREATE FUNCTION careline.report_scores(
    p_from timestamptz, p_to timestamptz, p_steps jsonb, p_queues text[], p_agents text[]
)
RETURNS TABLE (
    week date, queue text, agent_id text, csat_n bigint, csat_satisfied bigint,
    nps_n bigint, promoters bigint, detractors bigint
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH steps AS MATERIALIZED (
        SELECT s ->> 'script' AS script, s ->> 'step' AS step, s ->> 'measure' AS measure
        FROM jsonb_array_elements(
            CASE WHEN jsonb_typeof(p_steps) = 'array' THEN p_steps ELSE '[]' END
        ) AS s
        WHERE s ->> 'measure' IN ('csat', 'nps')
    ),
    last AS (
        SELECT DISTINCT ON (r.interaction_id, st.measure)
               r.week, r.queue, r.agent_id, st.measure,
               CASE WHEN jsonb_typeof(a.entry -> 'value') = 'number'
                   THEN (a.entry -> 'value')::numeric END AS score
        FROM careline.report_surveys(
            p_from, p_to, ARRAY(SELECT DISTINCT script FROM steps), p_queues, p_agents
        ) AS r
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(r.answers) = 'array' THEN r.answers ELSE '[]' END
        ) WITH ORDINALITY AS a (entry, n)
        JOIN steps AS st ON st.script = r.script_id AND st.step = a.entry ->> 'question'
        ORDER BY r.interaction_id, st.measure, a.n DESC
    ),
    scored AS (
        SELECT * FROM last
        WHERE score = trunc(score)
            AND score BETWEEN (CASE measure WHEN 'csat' THEN 1 ELSE 0 END)
                          AND (CASE measure WHEN 'csat' THEN 5 ELSE 10 END)
    )
    SELECT week, queue, agent_id,
           count(*) FILTER (WHERE measure = 'csat'),
           count(*) FILTER (WHERE measure = 'csat' AND score >= 4),
           count(*) FILTER (WHERE measure = 'nps'),
           count(*) FILTER (WHERE measure = 'nps' AND score >= 9),
           count(*) FILTER (WHERE measure = 'nps' AND score <= 6)
    FROM scored
    GROUP BY 1, 2, 3
$fn$;

-- Submitted evaluations per week of the evaluated call, with its queue.
CREATE FUNCTION careline.report_qa(
    p_from timestamptz, p_to timestamptz, p_queues text[], p_agents text[]
)
RETURNS TABLE (week date, queue text, agent_id text, score double precision, passed boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    WITH visible AS MATERIALIZED (SELECT careline.report_agents() AS agents)
    SELECT (date_trunc('week', e.call_at AT TIME ZONE 'UTC'))::date,
           coalesce(f.queue, ''),
           e.agent_id,
           e.score,
           coalesce(e.passed, false)
    FROM careline.evaluations AS e
    CROSS JOIN visible AS v
    LEFT JOIN careline.call_facts AS f ON f.agent_id = e.agent_id AND f.call_id = e.call_id
    WHERE e.state <> 'draft' AND e.score IS NOT NULL
        AND e.call_at >= p_from AND e.call_at < p_to
        AND (v.agents IS NULL OR e.agent_id = ANY (v.agents))
        AND (p_queues IS NULL OR coalesce(f.queue, '') = ANY (p_queues))
        AND (p_agents IS NULL OR e.agent_id = ANY (p_agents))
$fn$;

REVOKE ALL ON FUNCTION careline.payload_seconds(jsonb),
    careline.fold_call(careline.floor_events), careline.fold_call_event(),
    careline.report_agents(),
    careline.report_calls(timestamptz, timestamptz, double precision, text[], text[]),
    careline.report_surveys(timestamptz, timestamptz, text[], text[], text[]),
    careline.report_scores(timestamptz, timestamptz, jsonb, text[], text[]),
    careline.report_qa(timestamptz, timestamptz, text[], text[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careline.report_agents(),
    careline.report_calls(timestamptz, timestamptz, double precision, text[], text[]),
    careline.report_surveys(timestamptz, timestamptz, text[], text[], text[]),
    careline.report_scores(timestamptz, timestamptz, jsonb, text[], text[]),
    careline.report_qa(timestamptz, timestamptz, text[], text[])
    TO careline_agent, careline_supervisor;
