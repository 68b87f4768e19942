-- careline hub, version 2: nothing lost, nothing forged (issue 15).
--
-- 1. Logins write only through careline.ingest. Until now an agent could
--    INSERT into records, interactions and floor_events directly: RLS checked
--    only the row's own agent column, so a payload could be a JSON array
--    (wallboards crashed on it) or name another agent (forging their state).
--    ingest becomes SECURITY DEFINER and every row is stamped with the
--    calling login (session_user; inside the function current_user is the
--    owner).
-- 2. A workstation id (ingest's source) belongs to the agent login that first
--    used it. Another agent sending under it gets 'conflict: …' and can no
--    longer take that workstation's next outbox seq, which made its real
--    record come back 'duplicate': never stored, marked sent.
-- 3. The same (source, source_seq) with a different record is a conflict,
--    not a duplicate: a restored backup or a cloned workstation numbers new
--    records with seqs the hub already holds. Only an identical re-delivery
--    is a duplicate.
-- 4. Defence in depth: every payload is a JSON object, and an agent_id in it
--    is the row's agent. NOT VALID: rows already stored are left as they
--    are (the migration must not fail on a hub that was written to through
--    the hole above); once they are looked at, `ALTER TABLE … VALIDATE
--    CONSTRAINT` checks them too.
--
-- Runs as the hub owner, like version 1.

-- Which agent login each workstation id belongs to. Only the owner (and so
-- ingest) reads or writes it: no grants.
CREATE TABLE careline.sources (
    source uuid PRIMARY KEY,
    agent_id text NOT NULL,
    first_seen timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON careline.sources FROM PUBLIC;

-- Every source already on the hub belongs to whoever delivered through it
-- first.
INSERT INTO careline.sources (source, agent_id, first_seen)
SELECT DISTINCT ON (source) source, agent_id, received_at
FROM careline.records
ORDER BY source, hub_seq;

ALTER TABLE careline.records ADD CONSTRAINT records_payload_names_its_agent CHECK (
    jsonb_typeof(payload) = 'object'
    AND (NOT payload ? 'agent_id' OR payload -> 'agent_id' = to_jsonb(agent_id))
) NOT VALID;
ALTER TABLE careline.interactions ADD CONSTRAINT interactions_payload_names_its_agent CHECK (
    jsonb_typeof(payload) = 'object'
    AND (NOT payload ? 'agent_id' OR payload -> 'agent_id' = to_jsonb(agent_id))
) NOT VALID;
ALTER TABLE careline.floor_events ADD CONSTRAINT floor_events_payload_names_its_agent CHECK (
    jsonb_typeof(payload) = 'object'
    AND (NOT payload ? 'agent_id' OR payload -> 'agent_id' = to_jsonb(agent_id))
) NOT VALID;

-- Read, never write: ingest writes on the caller's behalf.
REVOKE INSERT ON careline.records, careline.interactions, careline.floor_events
    FROM careline_agent, careline_supervisor;
REVOKE USAGE ON SEQUENCE careline.records_hub_seq_seq, careline.floor_events_seq_seq
    FROM careline_agent, careline_supervisor;
REVOKE EXECUTE ON FUNCTION careline.next_in_order(), careline.ring_floor()
    FROM careline_agent, careline_supervisor;

-- Is the login the hub's owner (or a superuser)? It asks about session_user:
-- called from SECURITY DEFINER ingest, current_user is always the owner.
CREATE OR REPLACE FUNCTION careline.is_hub_admin() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = session_user AND rolsuper)
        OR EXISTS (
            SELECT 1 FROM pg_namespace
            WHERE nspname = 'careline' AND pg_has_role(session_user, nspowner, 'MEMBER')
        )
$fn$;

-- Store a batch of outbox records from one console. Each record is judged on
-- its own (a sub-transaction each): one bad record is answered 'rejected: …'
-- or 'conflict: …' and the rest still go in.
--
-- SECURITY DEFINER: logins have no INSERT of their own. Every row's agent_id
-- is the login (session_user), and a payload naming another agent is
-- rejected. A hub admin's session (the owner or a superuser, e.g. a bench
-- under SET ROLE) ingests for the agent its payload names, else for itself.
CREATE OR REPLACE FUNCTION careline.ingest(p_source uuid, p_records jsonb)
RETURNS TABLE (source_seq bigint, status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rec jsonb;
    v_seq bigint;
    v_kind text;
    v_entity text;
    v_payload jsonb;
    v_created timestamptz;
    v_hub_seq bigint;
    v_id uuid;
    v_login text := session_user;
    v_admin boolean := careline.is_hub_admin();
    v_agent text;
    v_owner text;
    v_bound text;
    v_same boolean;
    v_clash constant text := 'the hub already holds a different record with this key '
        '— restored backup or cloned workstation?';
BEGIN
    IF p_source IS NULL THEN
        RAISE EXCEPTION 'source must not be null';
    END IF;
    IF p_records IS NULL OR jsonb_typeof(p_records) <> 'array' THEN
        RAISE EXCEPTION 'records must be a JSON array';
    END IF;
    FOR rec IN SELECT value FROM jsonb_array_elements(p_records) LOOP
        v_seq := NULL;
        status := NULL;
        BEGIN
            IF jsonb_typeof(rec) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'record is not an object';
            END IF;
            IF jsonb_typeof(rec -> 'source_seq') IS DISTINCT FROM 'number' THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'source_seq is missing';
            END IF;
            IF (rec ->> 'source_seq') !~ '^\d{1,18}$' THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'source_seq is not an integer';
            END IF;
            v_seq := (rec ->> 'source_seq')::bigint;
            v_kind := careline.payload_text(rec, 'kind', true);
            IF v_kind NOT IN ('interaction', 'callback', 'agent_state', 'call_event', 'audit_head')
            THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'unknown kind';
            END IF;
            v_entity := careline.payload_text(rec, 'entity_id', true);
            v_payload := rec -> 'payload';
            IF v_payload IS NULL OR jsonb_typeof(v_payload) <> 'object' THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'payload is not an object';
            END IF;
            v_created := careline.payload_time(rec -> 'created_at', 'created_at');

            v_agent := v_login;
            IF v_payload ? 'agent_id' THEN
                IF v_admin THEN
                    v_agent := careline.payload_text(v_payload, 'agent_id', true);
                ELSIF v_payload -> 'agent_id' IS DISTINCT FROM to_jsonb(v_login) THEN
                    RAISE EXCEPTION USING ERRCODE = 'CL400',
                        MESSAGE = 'payload agent_id is not the logged-in agent';
                END IF;
            END IF;

            -- The workstation id belongs to the first agent that used it.
            -- (v_bound skips the look-up once a record of this call was
            -- stored under it; set only then, as a rolled-back record also
            -- takes back the binding it made.)
            IF v_bound IS DISTINCT FROM v_agent THEN
                INSERT INTO careline.sources AS s (source, agent_id)
                VALUES (p_source, v_agent)
                ON CONFLICT (source) DO NOTHING;
                SELECT s.agent_id INTO v_owner FROM careline.sources AS s
                WHERE s.source = p_source;
                IF v_owner IS DISTINCT FROM v_agent THEN
                    RAISE EXCEPTION USING ERRCODE = 'CL412', MESSAGE =
                        'this workstation id is already used by another agent on the hub '
                        '— cloned workstation or shared store?';
                END IF;
            END IF;

            INSERT INTO careline.records AS r
                (source, source_seq, kind, entity_id, agent_id, payload, created_at)
            VALUES (p_source, v_seq, v_kind, v_entity, v_agent, v_payload, v_created)
            ON CONFLICT ON CONSTRAINT records_source_source_seq_key DO NOTHING
            RETURNING r.hub_seq INTO v_hub_seq;

            IF v_hub_seq IS NULL THEN
                -- The key is taken: a re-delivery only if it is the same record.
                SELECT r.kind = v_kind AND r.entity_id = v_entity AND r.payload = v_payload
                    AND r.agent_id = v_agent
                INTO v_same
                FROM careline.records AS r
                WHERE r.source = p_source AND r.source_seq = v_seq;
                IF NOT coalesce(v_same, false) THEN
                    RAISE EXCEPTION USING ERRCODE = 'CL412', MESSAGE = v_clash;
                END IF;
                status := 'duplicate';
            ELSIF v_kind = 'interaction' THEN
                BEGIN
                    v_id := careline.payload_text(v_payload, 'id', true)::uuid;
                EXCEPTION WHEN invalid_text_representation THEN
                    RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'id is not a UUID';
                END;
                IF v_id::text <> lower(v_entity) THEN
                    RAISE EXCEPTION USING ERRCODE = 'CL400',
                        MESSAGE = 'entity_id is not the interaction id';
                END IF;
                INSERT INTO careline.interactions AS i
                    (id, agent_id, patient_id, disposition, urgency,
                     started_at, ended_at, payload, hub_seq)
                VALUES (
                    v_id,
                    v_agent,
                    careline.payload_text(v_payload, 'patient_id', false),
                    careline.payload_text(v_payload, 'disposition', true),
                    careline.payload_text(v_payload, 'urgency', true),
                    careline.payload_time(v_payload -> 'started_at', 'started_at'),
                    careline.payload_time(v_payload -> 'ended_at', 'ended_at'),
                    v_payload,
                    v_hub_seq
                )
                ON CONFLICT (id) DO NOTHING
                RETURNING i.hub_seq INTO v_hub_seq;
                IF v_hub_seq IS NULL THEN
                    -- Stored before from another outbox row: undo this record
                    -- too, so the hub keeps one copy; unless the copy differs.
                    SELECT i.agent_id = v_agent AND i.payload = v_payload INTO v_same
                    FROM careline.interactions AS i WHERE i.id = v_id;
                    IF coalesce(v_same, false) THEN
                        RAISE EXCEPTION USING ERRCODE = 'CL409', MESSAGE = 'duplicate interaction';
                    END IF;
                    RAISE EXCEPTION USING ERRCODE = 'CL412', MESSAGE =
                        'the hub already holds a different interaction with this id '
                        '— restored backup or cloned workstation?';
                END IF;
            ELSIF v_kind IN ('agent_state', 'call_event') THEN
                INSERT INTO careline.floor_events
                    (agent_id, kind, payload, at, source, source_seq)
                VALUES (
                    v_agent, v_kind, v_payload,
                    careline.payload_time(v_payload -> 'at', 'at'),
                    p_source, v_seq
                );
            END IF;
            status := coalesce(status, 'stored');
            v_bound := v_agent;
        EXCEPTION
            WHEN SQLSTATE 'CL409' THEN
                status := 'duplicate';
            WHEN SQLSTATE 'CL412' THEN
                status := 'conflict: ' || SQLERRM;
            WHEN unique_violation THEN
                -- A floor event under this key with no record beside it (only
                -- a direct insert could make one): the key is not free.
                status := 'conflict: ' || v_clash;
            WHEN SQLSTATE 'CL400' THEN
                status := 'rejected: ' || SQLERRM;
            WHEN insufficient_privilege THEN
                status := 'rejected: not allowed';
            WHEN check_violation OR not_null_violation OR invalid_text_representation
                OR datetime_field_overflow OR invalid_datetime_format
                OR numeric_value_out_of_range OR string_data_right_truncation
                OR untranslatable_character OR character_not_in_repertoire THEN
                -- Postgres' own messages can quote the offending value: name
                -- the condition only.
                status := 'rejected: invalid record (' || SQLSTATE || ')';
        END;
        source_seq := v_seq;
        RETURN NEXT;
    END LOOP;
END
$fn$;
