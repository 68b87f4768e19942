-- careline hub, version 1: what consoles sync, the floor feed, the shared
-- patient directory, and who may see what.
--
-- Runs in one transaction as the hub owner (the role `careline hub init`
-- connects as). Role creation is cluster-wide and may already have happened
-- for another database, hence the existence checks.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careline_agent') THEN
        CREATE ROLE careline_agent NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'careline_supervisor') THEN
        CREATE ROLE careline_supervisor NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object THEN
    -- Another database's migration created it a moment ago: that is fine.
    NULL;
END
$roles$;

REVOKE ALL ON SCHEMA careline FROM PUBLIC;
GRANT USAGE ON SCHEMA careline TO careline_agent, careline_supervisor;

-- Every record a console delivered, exactly once per (source, source_seq).
CREATE TABLE careline.records (
    hub_seq bigserial PRIMARY KEY,
    source uuid NOT NULL,
    source_seq bigint NOT NULL,
    kind text NOT NULL
        CHECK (kind IN ('interaction', 'callback', 'agent_state', 'call_event', 'audit_head')),
    entity_id text NOT NULL,
    agent_id text NOT NULL DEFAULT current_user,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_seq)
);
CREATE INDEX records_agent_idx ON careline.records (agent_id, hub_seq);
CREATE INDEX records_entity_idx ON careline.records (kind, entity_id);

-- One copy per interaction id, whichever outbox row (or replayed outbox)
-- carried it first.
CREATE TABLE careline.interactions (
    id uuid PRIMARY KEY,
    agent_id text NOT NULL DEFAULT current_user,
    patient_id text,
    disposition text NOT NULL,
    urgency text NOT NULL,
    started_at timestamptz NOT NULL,
    ended_at timestamptz NOT NULL,
    payload jsonb NOT NULL,
    hub_seq bigint NOT NULL
);
CREATE INDEX interactions_patient_idx ON careline.interactions (patient_id, started_at DESC);
CREATE INDEX interactions_agent_idx ON careline.interactions (agent_id, started_at DESC);

-- The floor feed supervisors watch: agent states and call events.
CREATE TABLE careline.floor_events (
    seq bigserial PRIMARY KEY,
    agent_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('agent_state', 'call_event')),
    payload jsonb NOT NULL,
    at timestamptz NOT NULL,
    source uuid NOT NULL,
    source_seq bigint NOT NULL,
    UNIQUE (source, source_seq)
);
CREATE INDEX floor_events_agent_idx ON careline.floor_events (agent_id, seq);

-- FHIR resources agents pull by seq; any change moves the row to a new seq.
CREATE TABLE careline.patients (
    seq bigserial PRIMARY KEY,
    resource_type text NOT NULL,
    resource_id text NOT NULL,
    resource jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (resource_type, resource_id)
);

-- Readers catch up with "seq > last seen". A bigserial alone cannot promise
-- that: two transactions take seq 5 and 6, 6 commits first, a reader sees 6
-- and never looks at 5 again. So writers take the seq under a transaction
-- lock held until commit, and seqs become visible in order.
CREATE FUNCTION careline.next_in_order() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('careline.' || TG_TABLE_NAME)::bigint);
    IF TG_TABLE_NAME = 'floor_events' THEN
        NEW.seq := nextval('careline.floor_events_seq_seq');
    ELSE
        NEW.seq := nextval('careline.patients_seq_seq');
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER floor_events_in_order BEFORE INSERT ON careline.floor_events
    FOR EACH ROW EXECUTE FUNCTION careline.next_in_order();
CREATE TRIGGER patients_in_order BEFORE INSERT OR UPDATE ON careline.patients
    FOR EACH ROW EXECUTE FUNCTION careline.next_in_order();

-- A doorbell only: listeners read floor_events by seq, the payload is a hint.
CREATE FUNCTION careline.ring_floor() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $fn$
BEGIN
    PERFORM pg_notify('careline_floor', NEW.seq::text);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER floor_events_notify AFTER INSERT ON careline.floor_events
    FOR EACH ROW EXECUTE FUNCTION careline.ring_floor();

-- Row-level security. FORCE makes it apply to the owner too, so the owner
-- gets its own explicit policy (superusers bypass RLS regardless).
ALTER TABLE careline.records ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.records FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.interactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.interactions FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.floor_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.floor_events FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.patients ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.patients FORCE ROW LEVEL SECURITY;

DO $policies$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['records', 'interactions', 'floor_events'] LOOP
        EXECUTE format(
            'CREATE POLICY own_insert ON careline.%I FOR INSERT '
            'TO careline_agent, careline_supervisor WITH CHECK (agent_id = current_user)', t);
        EXECUTE format(
            'CREATE POLICY own_select ON careline.%I FOR SELECT '
            'TO careline_agent USING (agent_id = current_user)', t);
        EXECUTE format(
            'CREATE POLICY supervisor_select ON careline.%I FOR SELECT '
            'TO careline_supervisor USING (true)', t);
        EXECUTE format(
            'CREATE POLICY hub_owner ON careline.%I TO %I USING (true) WITH CHECK (true)',
            t, current_user);
    END LOOP;
    EXECUTE format(
        'CREATE POLICY hub_owner ON careline.patients TO %I USING (true) WITH CHECK (true)',
        current_user);
END
$policies$;
CREATE POLICY directory_select ON careline.patients FOR SELECT
    TO careline_agent, careline_supervisor USING (true);

-- Privileges: read and append, never UPDATE, DELETE or TRUNCATE.
REVOKE ALL ON ALL TABLES IN SCHEMA careline FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA careline FROM PUBLIC;
GRANT SELECT, INSERT ON careline.records, careline.interactions, careline.floor_events
    TO careline_agent, careline_supervisor;
GRANT SELECT ON careline.patients TO careline_agent, careline_supervisor;
GRANT USAGE ON SEQUENCE careline.records_hub_seq_seq, careline.floor_events_seq_seq
    TO careline_agent, careline_supervisor;
GRANT SELECT ON careline.schema_version TO careline_agent, careline_supervisor;

-- Is the caller the hub's owner (or a superuser)? Those may ingest on behalf
-- of any agent id found in a payload; agents and supervisors may not.
CREATE FUNCTION careline.is_hub_admin() RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $fn$
    SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND rolsuper)
        OR EXISTS (
            SELECT 1 FROM pg_namespace
            WHERE nspname = 'careline' AND pg_has_role(current_user, nspowner, 'MEMBER')
        )
$fn$;

-- A time from a payload, or a rejection naming the field (never the value,
-- which could be PHI).
CREATE FUNCTION careline.payload_time(p_value jsonb, p_field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $fn$
BEGIN
    IF p_value IS NULL OR jsonb_typeof(p_value) <> 'string' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = p_field || ' is missing';
    END IF;
    -- A time without a zone would be read in the session's zone: refuse it.
    IF (p_value #>> '{}') !~ '(Z|z|[+-]\d\d(:?\d\d)?)$' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = p_field || ' has no time zone';
    END IF;
    BEGIN
        RETURN (p_value #>> '{}')::timestamptz;
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = p_field || ' is not a valid time';
    END;
END
$fn$;

CREATE FUNCTION careline.payload_text(p_payload jsonb, p_field text, p_required boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog AS $fn$
DECLARE
    v jsonb := p_payload -> p_field;
BEGIN
    IF v IS NULL OR jsonb_typeof(v) = 'null' THEN
        IF p_required THEN
            RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = p_field || ' is missing';
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(v) <> 'string' OR (p_required AND v #>> '{}' = '') THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = p_field || ' must be text';
    END IF;
    RETURN v #>> '{}';
END
$fn$;

-- Store a batch of outbox records from one console. Each record is judged on
-- its own (a sub-transaction each): one bad record is rejected and the rest
-- still go in. SECURITY INVOKER, so the caller's RLS policies apply and every
-- row's agent_id is the login role, whatever the payload says.
CREATE FUNCTION careline.ingest(p_source uuid, p_records jsonb)
RETURNS TABLE (source_seq bigint, status text)
LANGUAGE plpgsql SECURITY INVOKER SET search_path = pg_catalog AS $fn$
DECLARE
    rec jsonb;
    v_seq bigint;
    v_kind text;
    v_entity text;
    v_payload jsonb;
    v_created timestamptz;
    v_hub_seq bigint;
    v_id uuid;
    v_admin boolean := careline.is_hub_admin();
BEGIN
    IF p_source IS NULL THEN
        RAISE EXCEPTION 'source must not be null';
    END IF;
    IF p_records IS NULL OR jsonb_typeof(p_records) <> 'array' THEN
        RAISE EXCEPTION 'records must be a JSON array';
    END IF;
    FOR rec IN SELECT value FROM jsonb_array_elements(p_records) LOOP
        v_seq := NULL;
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
            IF v_payload ? 'agent_id' AND NOT v_admin
                AND (v_payload ->> 'agent_id') IS DISTINCT FROM current_user::text
            THEN
                RAISE EXCEPTION USING ERRCODE = 'CL400',
                    MESSAGE = 'payload agent_id is not the logged-in agent';
            END IF;

            INSERT INTO careline.records AS r
                (source, source_seq, kind, entity_id, agent_id, payload, created_at)
            VALUES (p_source, v_seq, v_kind, v_entity, current_user, v_payload, v_created)
            ON CONFLICT ON CONSTRAINT records_source_source_seq_key DO NOTHING
            RETURNING r.hub_seq INTO v_hub_seq;

            IF v_hub_seq IS NULL THEN
                source_seq := v_seq;
                status := 'duplicate';
                RETURN NEXT;
                CONTINUE;
            END IF;

            IF v_kind = 'interaction' THEN
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
                    current_user,
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
                    -- Already stored from another outbox row: undo this
                    -- record too, so the hub keeps one copy.
                    RAISE EXCEPTION USING ERRCODE = 'CL409', MESSAGE = 'duplicate interaction';
                END IF;
            ELSIF v_kind IN ('agent_state', 'call_event') THEN
                INSERT INTO careline.floor_events
                    (agent_id, kind, payload, at, source, source_seq)
                VALUES (
                    current_user, v_kind, v_payload,
                    careline.payload_time(v_payload -> 'at', 'at'),
                    p_source, v_seq
                );
            END IF;
            source_seq := v_seq;
            status := 'stored';
            RETURN NEXT;
        EXCEPTION
            WHEN SQLSTATE 'CL409' THEN
                source_seq := v_seq;
                status := 'duplicate';
                RETURN NEXT;
            WHEN SQLSTATE 'CL400' THEN
                source_seq := v_seq;
                status := 'rejected: ' || SQLERRM;
                RETURN NEXT;
            WHEN insufficient_privilege THEN
                source_seq := v_seq;
                status := 'rejected: not allowed';
                RETURN NEXT;
            WHEN check_violation OR not_null_violation OR invalid_text_representation
                OR datetime_field_overflow OR invalid_datetime_format
                OR numeric_value_out_of_range OR string_data_right_truncation
                OR untranslatable_character OR character_not_in_repertoire THEN
                -- Postgres' own messages can quote the offending value: name
                -- the condition only.
                source_seq := v_seq;
                status := 'rejected: invalid record (' || SQLSTATE || ')';
                RETURN NEXT;
        END;
    END LOOP;
END
$fn$;

-- What an agent may see of anyone's interactions with a patient: when, who,
-- how it ended, how urgent. Never notes, answers or form values.
CREATE FUNCTION careline.recent_interactions_for_patient(p_patient text, p_limit int)
RETURNS TABLE (at timestamptz, agent_id text, disposition text, urgency text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS $fn$
    SELECT i.started_at, i.agent_id, i.disposition, i.urgency
    FROM careline.interactions AS i
    WHERE i.patient_id = p_patient
    ORDER BY i.started_at DESC, i.id
    LIMIT least(greatest(coalesce(p_limit, 20), 0), 200)
$fn$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA careline FROM PUBLIC;
GRANT EXECUTE ON FUNCTION careline.ingest(uuid, jsonb) TO careline_agent, careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.is_hub_admin() TO careline_agent, careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.payload_time(jsonb, text) TO careline_agent, careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.payload_text(jsonb, text, boolean)
    TO careline_agent, careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.recent_interactions_for_patient(text, int)
    TO careline_agent, careline_supervisor;
-- Trigger functions run with the inserting role's rights: it needs them.
GRANT EXECUTE ON FUNCTION careline.next_in_order() TO careline_agent, careline_supervisor;
GRANT EXECUTE ON FUNCTION careline.ring_floor() TO careline_agent, careline_supervisor;
