-- careline hub, version 11: listening in and recordings follow the teams (issue 20).
--
-- Versions 9 and 10 let any supervisor listen in on any agent's call and read
-- any agent's recordings. From here a supervisor reaches only the agents of the
-- teams they supervise (careline.team_members, version 7), as evaluations and
-- reports already do; a supervisor of no team reaches no agent (no grant, no
-- recording). The hub owner keeps the teams (careline hub team) and reaches
-- everything.
--
-- * careline.supervises_agent(supervisor, agent) is the one team rule:
--   careline.supervises(agent) (version 7, for the login) and
--   careline.report_agents() (version 8) now ask it.
-- * A monitor grant is made only for an agent of the supervisor's teams, and
--   careline.use_monitor_grant asks again when the agent's console uses it:
--   a grant whose supervisor left the agent's teams meanwhile is refused as
--   not_supervisor (not this agent's supervisor any more), as is one whose
--   supervisor is no longer a supervisor at all.
-- * A supervisor reads only the recordings of their teams' agents, and
--   careline.purge_recordings deletes only those (the owner: every one).
-- * A recording's delete_after is the hub's to cap: at most
--   careline.recording_policy.max_retention_days (365 until the owner sets
--   another, up to 3650) after the call started, or after now when the start
--   given is later; the console's retention_days only asks. The cap holds for
--   recordings uploaded from now on.
--
-- Runs as the hub owner, like version 1.

-- Does p_supervisor, a supervisor login, supervise p_agent (a team where
-- p_supervisor is the supervisor and p_agent a member)? Only the functions of
-- the hub owner call it.
CREATE FUNCTION careline.supervises_agent(p_supervisor text, p_agent text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT EXISTS (
        SELECT 1
        FROM careline.team_members AS s
        JOIN careline.team_members AS a ON a.team = s.team
        JOIN pg_roles AS r ON r.rolname = s.login
        WHERE s.login = p_supervisor AND s.role = 'supervisor' AND a.login = p_agent
            AND pg_has_role(r.oid, 'careline_supervisor', 'MEMBER')
    )
$fn$;
REVOKE ALL ON FUNCTION careline.supervises_agent(text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION careline.supervises(p_agent text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT careline.supervises_agent(session_user, p_agent)
$fn$;

CREATE OR REPLACE FUNCTION careline.report_agents() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE WHEN careline.is_hub_admin() THEN NULL ELSE
        array_append(ARRAY(
            SELECT DISTINCT a.login
            FROM careline.team_members AS a
            WHERE careline.supervises_agent(session_user, a.login)
        ), session_user::text)
    END
$fn$;

-- Monitor grants: only for an agent of one's teams.
DROP POLICY supervisor_insert ON careline.monitor_grants;
CREATE POLICY supervisor_insert ON careline.monitor_grants FOR INSERT TO careline_supervisor
    WITH CHECK (supervisor = session_user AND used_at IS NULL AND careline.supervises(agent_id));

-- As version 9, and not_supervisor also when the supervisor is not the agent's.
CREATE OR REPLACE FUNCTION careline.use_monitor_grant(p_id text, p_mode text, p_calls text[])
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
    ELSIF NOT careline.supervises_agent(g.supervisor, g.agent_id) THEN
        -- supervises_agent also asks that g.supervisor still be a supervisor login.
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

-- Recordings: a supervisor reads and purges only their teams'.
DROP POLICY supervisor_select ON careline.recordings;
CREATE POLICY supervisor_select ON careline.recordings FOR SELECT TO careline_supervisor
    USING (careline.supervises(agent_id));

CREATE OR REPLACE FUNCTION careline.purge_recordings()
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    -- is_hub_admin reads session_user: the caller, not this function's owner.
    v_admin boolean := careline.is_hub_admin();
BEGIN
    IF NOT (v_admin OR pg_has_role(session_user, 'careline_supervisor', 'MEMBER')) THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'only a supervisor purges recordings';
    END IF;
    RETURN QUERY DELETE FROM careline.recordings AS r
        WHERE r.delete_after <= now()
            AND (v_admin OR careline.supervises_agent(session_user, r.agent_id))
        RETURNING r.call_id;
END
$fn$;

-- The hub's retention of recordings: one row, the owner changes it
-- (UPDATE careline.recording_policy SET max_retention_days = 730).
CREATE TABLE careline.recording_policy (
    one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    max_retention_days integer NOT NULL DEFAULT 365
        CHECK (max_retention_days BETWEEN 1 AND 3650)
);
INSERT INTO careline.recording_policy DEFAULT VALUES;
REVOKE ALL ON careline.recording_policy FROM PUBLIC;
GRANT SELECT ON careline.recording_policy TO careline_agent, careline_supervisor;

CREATE FUNCTION careline.cap_recording_retention() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_days integer;
BEGIN
    SELECT p.max_retention_days INTO v_days FROM careline.recording_policy AS p;
    NEW.delete_after := least(
        NEW.delete_after,
        least(NEW.started_at, now()) + make_interval(days => coalesce(v_days, 365))
    );
    RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION careline.cap_recording_retention() FROM PUBLIC;
CREATE TRIGGER recordings_retention_cap BEFORE INSERT ON careline.recordings
    FOR EACH ROW EXECUTE FUNCTION careline.cap_recording_retention();
