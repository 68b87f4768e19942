-- careline hub, version 10: call recordings for QA (issue 20).
--
-- An agent's console uploads each recording it kept: the metadata (call,
-- queue, mode, times, pauses and the timeline's marks: no patient data) and
-- the file's bytes still encrypted as the engine wrote them, with the file's
-- key sealed for the QA team's public key (only a holder of its private key,
-- a supervisor's machine, can open it; the hub never can).
--
-- * An agent inserts only its own recordings (agent_id is the login) and reads
--   only its own; a supervisor reads all; nobody updates (the owner aside).
-- * delete_after is when retention ends; careline.purge_recordings (the owner,
--   or a supervisor) deletes what is past it and returns the call ids.
-- * sealed_key is an ephemeral X25519 public key, a nonce and the AES-GCM sealed
--   file key (see console/core/recordings/sealing.py); data starts "CLREC".
--
-- Runs as the hub owner, like version 1.

CREATE TABLE careline.recordings (
    call_id text PRIMARY KEY CHECK (length(call_id) BETWEEN 1 AND 128),
    agent_id text NOT NULL DEFAULT session_user,
    queue text NOT NULL DEFAULT '' CHECK (length(queue) <= 128),
    mode text NOT NULL CHECK (mode IN ('announce', 'consent')),
    consent_by text CHECK (consent_by IN ('patient', 'agent')),
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL CHECK (ended_at >= started_at),
    seconds real NOT NULL CHECK (seconds >= 0),
    marks jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(marks) = 'array'),
    sealed_key bytea NOT NULL CHECK (length(sealed_key) BETWEEN 60 AND 200),
    data bytea NOT NULL CHECK (substring(data from 1 for 5) = '\x434c524543'::bytea),
    delete_after timestamptz NOT NULL CHECK (delete_after > started_at),
    uploaded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_by_agent ON careline.recordings (agent_id, started_at);
CREATE INDEX recordings_by_expiry ON careline.recordings (delete_after);

ALTER TABLE careline.recordings ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.recordings FORCE ROW LEVEL SECURITY;
DO $policies$
BEGIN
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.recordings TO %I USING (true) WITH CHECK (true)',
        current_user);
END
$policies$;
CREATE POLICY agent_insert ON careline.recordings FOR INSERT TO careline_agent
    WITH CHECK (agent_id = session_user);
CREATE POLICY agent_select ON careline.recordings FOR SELECT TO careline_agent
    USING (agent_id = session_user);
CREATE POLICY supervisor_select ON careline.recordings FOR SELECT TO careline_supervisor
    USING (true);

REVOKE ALL ON careline.recordings FROM PUBLIC;
GRANT SELECT ON careline.recordings TO careline_agent, careline_supervisor;
GRANT INSERT (call_id, queue, mode, consent_by, started_at, ended_at, seconds, marks,
              sealed_key, data, delete_after)
    ON careline.recordings TO careline_agent;

-- Delete every recording past its retention; returns the call ids that went (the
-- supervisor's console audits each deletion).
CREATE FUNCTION careline.purge_recordings()
RETURNS SETOF text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    -- SECURITY DEFINER: current_user is the owner here, so the caller is session_user.
    IF NOT (
        pg_has_role(session_user, 'careline_supervisor', 'MEMBER')
        OR pg_has_role(session_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'careline'),
                       'MEMBER')
    ) THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'only a supervisor purges recordings';
    END IF;
    RETURN QUERY DELETE FROM careline.recordings AS r WHERE r.delete_after <= now()
        RETURNING r.call_id;
END
$fn$;
REVOKE ALL ON FUNCTION careline.purge_recordings() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careline.purge_recordings() TO careline_supervisor;
