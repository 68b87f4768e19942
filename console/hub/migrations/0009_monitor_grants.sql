-- careline hub, version 9: monitor grants (issue 20).
--
-- A supervisor who wants to listen in, whisper or barge into an agent's call
-- makes a grant here; the supervisor's engine sends only its id (an opaque
-- random token, never patient data) in the monitor INVITE, and the agent's
-- console uses the grant through careline.use_monitor_grant before its engine
-- answers.
--
-- * Only a supervisor login inserts, and only the id, agent, call, modes and
--   expiry: the supervisor column is the login (session_user), made now, never
--   used, living at most five minutes.
-- * An agent reads only the grants for itself, a supervisor only their own;
--   nobody updates or deletes (the owner aside).
-- * use_monitor_grant (agents only) checks everything in one row lock and
--   marks the grant used: one grant lets one leg in.
--
-- Runs as the hub owner, like version 1.

CREATE TABLE careline.monitor_grants (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{16,128}$'),
    supervisor text NOT NULL DEFAULT session_user,
    agent_id text NOT NULL CHECK (agent_id ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$'),
    call_id text NOT NULL CHECK (length(call_id) BETWEEN 1 AND 128),
    modes text[] NOT NULL CHECK (
        cardinality(modes) BETWEEN 1 AND 3
        AND modes <@ ARRAY['listen', 'whisper', 'barge']::text[]
    ),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL DEFAULT now() + interval '60 seconds',
    used_at timestamptz,
    CHECK (expires_at > created_at AND expires_at <= created_at + interval '5 minutes')
);
CREATE INDEX monitor_grants_by_agent ON careline.monitor_grants (agent_id, expires_at);

ALTER TABLE careline.monitor_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.monitor_grants FORCE ROW LEVEL SECURITY;
DO $policies$
BEGIN
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.monitor_grants TO %I USING (true) WITH CHECK (true)',
        current_user);
END
$policies$;
CREATE POLICY supervisor_insert ON careline.monitor_grants FOR INSERT TO careline_supervisor
    WITH CHECK (supervisor = session_user AND used_at IS NULL);
CREATE POLICY supervisor_select ON careline.monitor_grants FOR SELECT TO careline_supervisor
    USING (supervisor = session_user);
CREATE POLICY agent_select ON careline.monitor_grants FOR SELECT TO careline_agent
    USING (agent_id = session_user);

REVOKE ALL ON careline.monitor_grants FROM PUBLIC;
GRANT SELECT ON careline.monitor_grants TO careline_agent, careline_supervisor;
GRANT INSERT (id, agent_id, call_id, modes, expires_at) ON careline.monitor_grants
    TO careline_supervisor;

-- The agent's console asks: may the grant p_id let its supervisor join one of
-- p_calls (the agent's live calls) in p_mode now? outcome is 'ok' (and the
-- grant is used up) or a refusal: unknown_grant, other_agent, used, expired,
-- not_supervisor (the login is no longer a supervisor), other_call,
-- mode_not_granted. The hub's clock decides expiry.
CREATE FUNCTION careline.use_monitor_grant(p_id text, p_mode text, p_calls text[])
RETURNS TABLE (outcome text, supervisor text, call_id text, modes text[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    g careline.monitor_grants%ROWTYPE;
BEGIN
    IF NOT pg_has_role(session_user, 'careline_agent', 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'only an agent uses a monitor grant';
    END IF;
    SELECT * INTO g FROM careline.monitor_grants AS m WHERE m.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'unknown_grant';
    ELSIF g.agent_id IS DISTINCT FROM session_user THEN
        outcome := 'other_agent';
    ELSIF g.used_at IS NOT NULL THEN
        outcome := 'used';
    ELSIF g.expires_at <= now() THEN
        outcome := 'expired';
    ELSIF NOT EXISTS (
        SELECT 1 FROM pg_roles AS r
        WHERE r.rolname = g.supervisor AND pg_has_role(r.oid, 'careline_supervisor', 'MEMBER')
    ) THEN
        outcome := 'not_supervisor';
    ELSIF NOT (g.call_id = ANY (coalesce(p_calls, ARRAY[]::text[]))) THEN
        outcome := 'other_call';
    ELSIF NOT (p_mode = ANY (g.modes)) THEN
        outcome := 'mode_not_granted';
    ELSE
        UPDATE careline.monitor_grants AS m SET used_at = now() WHERE m.id = p_id;
        outcome := 'ok';
        supervisor := g.supervisor;
        call_id := g.call_id;
        modes := g.modes;
    END IF;
    RETURN NEXT;
END
$fn$;
REVOKE ALL ON FUNCTION careline.use_monitor_grant(text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careline.use_monitor_grant(text, text, text[]) TO careline_agent;
