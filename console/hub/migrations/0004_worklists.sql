-- careline hub, version 4: outbound worklists shared by the floor (issue 19).
--
-- With a hub, no two agents ever call the same patient: the items live here,
-- generated once for the floor by the hub owner (`careline worklist generate
-- --hub`, which pulls the hub's directory like any console, runs the same
-- generation as the local store and publishes the result), and every agent
-- claims from them through careline.worklist_claim. The calling rules are
-- the floor's, kept in careline.worklist_rules (the owner's `worklists:`
-- section, written by each generation run), and checked in the claim against
-- every agent's calls, by the hub's clock:
--
-- - an opt-out (careline.worklist_opt_outs, recorded by any agent) blocks the
--   patient on every list, at once;
-- - a patient without a number is never offered;
-- - the patient's local calling window, in every zone of their numbers (kept
--   with the item at generation);
-- - one call at a time per patient (another live claim of the patient);
-- - at most max_calls_per_day calls in the patient's local day and
--   max_calls_per_week in the last 168 hours, across every list and agent
--   (careline.worklist_calls).
--
-- These are the checks console/core/worklists/calling.py and store.py make in
-- a local store, in the same order, with the same blocker codes. A patient is
-- their MRN here: the directory's key, the same on every console (a local
-- store's patient ids are its own).
--
-- Claims. A claim is a lease: a fresh token and an expiry (claim_seconds
-- from now), renewed while the agent works the item
-- (careline.worklist_renew). A console that dies stops renewing, the lease
-- runs out and the next claim takes the item with a new token: the old one
-- settles nothing. Claimers skip what others are deciding instead of
-- queueing behind them: a transaction advisory lock per patient, tried, not
-- waited for (two claimers can never judge one patient at once, so two items
-- of one patient are never claimed together), then the item row FOR UPDATE
-- SKIP LOCKED. An outcome (careline.worklist_record) settles the item, logs
-- the call for the caps and, for an opt-out, blocks the patient, in one
-- transaction, and only with the claim's token, as the agent who holds it.
--
-- Trust. Agents write only through the functions below (SECURITY DEFINER,
-- the agent is always the login, session_user, never a parameter), which
-- use the hub's clock, never the caller's. Row-level security: an agent
-- reads only the items they hold and their own calls (with their notes) and
-- opt-outs; supervisors read everything but claim tokens; nobody but the
-- owner writes a row directly.
--
-- Runs as the hub owner, like version 1.

-- The floor's calling rules: one row.
CREATE TABLE careline.worklist_rules (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    window_start time NOT NULL DEFAULT '08:00',
    window_end time NOT NULL DEFAULT '21:00',
    max_calls_per_day integer NOT NULL DEFAULT 1 CHECK (max_calls_per_day BETWEEN 1 AND 10),
    max_calls_per_week integer NOT NULL DEFAULT 3 CHECK (max_calls_per_week BETWEEN 1 AND 30),
    claim_seconds integer NOT NULL DEFAULT 900 CHECK (claim_seconds BETWEEN 1 AND 14400),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (window_start < window_end),
    CHECK (max_calls_per_day <= max_calls_per_week)
);
INSERT INTO careline.worklist_rules DEFAULT VALUES;

-- One item per (list, what it is about), as in the local store. numbers: the
-- E.164 numbers the patient gave (the directory's), first the first; zones:
-- the IANA zones they may ring in (the calling window must hold in each).
-- next_attempt_at: when the item is next due (for a claimed one: when its
-- lease runs out). waiting_for: the rule a claim last found in the way,
-- next_attempt_at moved to the earliest moment it can pass (see
-- careline.worklist_not_before).
CREATE TABLE careline.worklist_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    list_id text NOT NULL CHECK (list_id <> '' AND length(list_id) <= 100),
    kind text NOT NULL
        CHECK (kind IN ('appointment_reminder', 'refill_reminder', 'feedback')),
    dedupe_key text NOT NULL CHECK (dedupe_key <> '' AND length(dedupe_key) <= 400),
    mrn text NOT NULL CHECK (mrn <> '' AND length(mrn) <= 200),
    reason text NOT NULL CHECK (length(reason) <= 200),
    script_id text NOT NULL CHECK (length(script_id) <= 100),
    numbers text[] NOT NULL CHECK (cardinality(numbers) <= 20),
    zones text[] NOT NULL CHECK (cardinality(zones) BETWEEN 1 AND 20),
    due_from date NOT NULL,
    due_until date NOT NULL,
    generated_on date NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 50),
    spacing_minutes integer NOT NULL CHECK (spacing_minutes BETWEEN 0 AND 525600),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'claimed', 'done', 'blocked')),
    block_reason text CHECK (block_reason IS NULL OR block_reason IN ('opted_out', 'no_number')),
    waiting_for text CHECK (waiting_for IS NULL
        OR waiting_for IN ('outside_window', 'daily_cap', 'weekly_cap')),
    claimed_by text,
    claim_token uuid,
    claimed_at timestamptz,
    claim_expires_at timestamptz,
    outcome text CHECK (outcome IS NULL OR outcome IN (
        'confirmed', 'rescheduled', 'cancelled', 'voicemail', 'no_answer', 'busy',
        'wrong_number', 'opted_out')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (list_id, dedupe_key),
    CHECK ((state = 'claimed') = (claimed_by IS NOT NULL AND claim_token IS NOT NULL
        AND claimed_at IS NOT NULL AND claim_expires_at IS NOT NULL)),
    CHECK ((state = 'blocked') = (block_reason IS NOT NULL))
);
-- What a claim scans, in its order; settled and blocked items leave it.
CREATE INDEX worklist_items_open ON careline.worklist_items (due_until, next_attempt_at, id)
    WHERE state IN ('pending', 'claimed');
CREATE INDEX worklist_items_patient ON careline.worklist_items (mrn)
    WHERE state IN ('pending', 'claimed');

-- Every attempt, whatever its outcome, by whom: the caps count these. Kept
-- when items are pruned (no foreign key).
CREATE TABLE careline.worklist_calls (
    seq bigserial PRIMARY KEY,
    item_id uuid NOT NULL,
    list_id text NOT NULL,
    mrn text NOT NULL,
    agent_id text NOT NULL,
    at timestamptz NOT NULL,
    outcome text NOT NULL CHECK (outcome IN (
        'confirmed', 'rescheduled', 'cancelled', 'voicemail', 'no_answer', 'busy',
        'wrong_number', 'opted_out')),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 1000)
);
CREATE INDEX worklist_calls_patient ON careline.worklist_calls (mrn, at);
CREATE INDEX worklist_calls_agent ON careline.worklist_calls (agent_id, seq);

-- Patients who asked not to be called. Consoles pull them by seq into their
-- local store; seqs become visible in order (the trigger below), as
-- careline.patients' do.
CREATE TABLE careline.worklist_opt_outs (
    mrn text PRIMARY KEY CHECK (mrn <> '' AND length(mrn) <= 200),
    seq bigint NOT NULL UNIQUE,
    at timestamptz NOT NULL DEFAULT now(),
    agent_id text NOT NULL DEFAULT session_user,
    source text NOT NULL DEFAULT '' CHECK (length(source) <= 100)
);
CREATE SEQUENCE careline.worklist_opt_outs_seq OWNED BY careline.worklist_opt_outs.seq;

CREATE FUNCTION careline.worklist_opt_out_in_order() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('careline.worklist_opt_outs')::bigint);
    NEW.seq := nextval('careline.worklist_opt_outs_seq');
    RETURN NEW;
END
$fn$;
CREATE TRIGGER worklist_opt_outs_in_order BEFORE INSERT ON careline.worklist_opt_outs
    FOR EACH ROW EXECUTE FUNCTION careline.worklist_opt_out_in_order();

-- An item's zones must be ones PostgreSQL knows (else every claim meeting it
-- would fail) and its numbers E.164: checked when it is written.
CREATE FUNCTION careline.worklist_item_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_zone text;
BEGIN
    IF array_position(NEW.zones, NULL) IS NOT NULL
        OR array_position(NEW.numbers, NULL) IS NOT NULL
    THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'zones and numbers hold no nulls';
    END IF;
    FOREACH v_zone IN ARRAY NEW.zones LOOP
        IF v_zone !~ '^[A-Za-z][A-Za-z0-9_+/-]{0,63}$' THEN
            RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'a zone is not an IANA name';
        END IF;
        BEGIN
            PERFORM now() AT TIME ZONE v_zone;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'a zone is not known';
        END;
    END LOOP;
    IF EXISTS (SELECT 1 FROM unnest(NEW.numbers) AS n WHERE n !~ '^\+[1-9][0-9]{6,14}$') THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'a number is not E.164';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER worklist_items_check BEFORE INSERT OR UPDATE OF zones, numbers
    ON careline.worklist_items FOR EACH ROW EXECUTE FUNCTION careline.worklist_item_check();

-- Why the item's patient may not be called at p_now (NULL: they may); the
-- codes of console.core.worklists.calling.Blocker. One statement, so one
-- snapshot: a call logged and its claim settled are seen together.
CREATE FUNCTION careline.worklist_verdict(
    p_item careline.worklist_items, p_now timestamptz, p_rules careline.worklist_rules
) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    WITH local AS (
        SELECT bool_and((p_now AT TIME ZONE z)::time >= p_rules.window_start
                        AND (p_now AT TIME ZONE z)::time < p_rules.window_end) AS in_window,
               -- The patient's day began at the earliest local midnight of their zones.
               min(date_trunc('day', p_now AT TIME ZONE z) AT TIME ZONE z) AS day_start
        FROM unnest(p_item.zones) AS z
    ), calls AS (
        SELECT count(*) FILTER (WHERE c.at >= local.day_start) AS today, count(*) AS week
        FROM careline.worklist_calls AS c, local
        WHERE c.mrn = p_item.mrn AND c.at > p_now - interval '168 hours'
    )
    SELECT CASE
        WHEN EXISTS (
            SELECT 1 FROM careline.worklist_opt_outs AS o WHERE o.mrn = p_item.mrn
        ) THEN 'opted_out'
        WHEN cardinality(p_item.numbers) = 0 THEN 'no_number'
        WHEN NOT local.in_window THEN 'outside_window'
        WHEN EXISTS (
            SELECT 1 FROM careline.worklist_items AS other
            WHERE other.mrn = p_item.mrn AND other.id <> p_item.id
              AND other.state = 'claimed' AND other.claim_expires_at > p_now
        ) THEN 'in_progress'
        WHEN calls.today >= p_rules.max_calls_per_day THEN 'daily_cap'
        WHEN calls.week >= p_rules.max_calls_per_week THEN 'weekly_cap'
    END
    FROM local, calls
$fn$;

-- The earliest moment the rule p_verdict names can stop blocking the item
-- (never later: the item is judged again then). A claim moves a blocked item's
-- next attempt there, so the items waiting for tomorrow or the window do not
-- fill every later claim's scan.
CREATE FUNCTION careline.worklist_not_before(
    p_item careline.worklist_items, p_now timestamptz, p_rules careline.worklist_rules,
    p_verdict text
) RETURNS timestamptz
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE p_verdict
        -- The next window start in a zone where it is now closed.
        WHEN 'outside_window' THEN (
            SELECT min((CASE WHEN l.wall < w.opens THEN w.opens
                             ELSE w.opens + interval '1 day' END) AT TIME ZONE z)
            FROM unnest(p_item.zones) AS z,
                LATERAL (SELECT p_now AT TIME ZONE z AS wall) AS l,
                LATERAL (SELECT date_trunc('day', l.wall) + p_rules.window_start AS opens) AS w
            WHERE NOT (l.wall::time >= p_rules.window_start
                       AND l.wall::time < p_rules.window_end)
        )
        -- The next local midnight of any of the patient's zones.
        WHEN 'daily_cap' THEN (
            SELECT min((date_trunc('day', p_now AT TIME ZONE z) + interval '1 day')
                       AT TIME ZONE z)
            FROM unnest(p_item.zones) AS z
        )
        -- When the oldest call of the last seven days leaves them.
        WHEN 'weekly_cap' THEN (
            SELECT min(c.at) + interval '168 hours' FROM careline.worklist_calls AS c
            WHERE c.mrn = p_item.mrn AND c.at > p_now - interval '168 hours'
        )
    END
$fn$;

-- Block every open item of the patient and record the opt-out (once). Items
-- another transaction holds right now are left: every claim checks the
-- opt-out table anyway, and blocks them when it meets them.
CREATE FUNCTION careline.worklist_stop_calling(
    p_mrn text, p_agent text, p_source text, p_now timestamptz
) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    UPDATE careline.worklist_items AS i
    SET state = 'blocked', block_reason = 'opted_out', waiting_for = NULL, claimed_by = NULL,
        claim_token = NULL, claimed_at = NULL, claim_expires_at = NULL, updated_at = p_now
    WHERE i.id IN (
        SELECT o.id FROM careline.worklist_items AS o
        WHERE o.mrn = p_mrn AND o.state IN ('pending', 'claimed')
        FOR UPDATE SKIP LOCKED
    );
    IF EXISTS (SELECT 1 FROM careline.worklist_opt_outs AS o WHERE o.mrn = p_mrn) THEN
        RETURN false;
    END IF;
    INSERT INTO careline.worklist_opt_outs AS o (mrn, at, agent_id, source)
    VALUES (p_mrn, p_now, p_agent, p_source)
    ON CONFLICT (mrn) DO NOTHING;
    RETURN FOUND;
END
$fn$;

-- Claim the first due item the calling rules allow (list p_list, or any):
-- one row, or none. Also takes items whose claim lapsed (a new token). A
-- round looks at 200 due items; another follows while the last one put items
-- off (they leave the due ones), at most 10.
CREATE FUNCTION careline.worklist_claim(p_list text DEFAULT NULL)
RETURNS TABLE (
    item_id uuid, token uuid, list_id text, mrn text, reason text, script_id text,
    numbers text[], expires_at timestamptz, attempt integer, max_attempts integer
)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
    v_agent text := session_user;
    v_now timestamptz := clock_timestamp();
    v_rules careline.worklist_rules;
    v_candidate record;
    v_item careline.worklist_items;
    v_verdict text;
    v_put_off integer;
    v_expires timestamptz;
BEGIN
    -- Each statement must see the claims other agents committed a moment ago.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400',
            MESSAGE = 'a claim runs in a READ COMMITTED transaction';
    END IF;
    IF NOT pg_has_role(session_user, 'careline_agent', 'MEMBER') THEN
        RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'only agents claim worklist items';
    END IF;
    SELECT * INTO STRICT v_rules FROM careline.worklist_rules;
    v_expires := v_now + make_interval(secs => v_rules.claim_seconds);
    FOR v_round IN 1..10 LOOP
        v_put_off := 0;
        -- Due: pending and past its next attempt time, or claimed and past the
        -- lease (a claimed item's next_attempt_at is its lease's end).
        FOR v_candidate IN
            SELECT i.id, i.mrn FROM careline.worklist_items AS i
            WHERE i.state IN ('pending', 'claimed') AND i.next_attempt_at <= v_now
              AND (p_list IS NULL OR i.list_id = p_list)
            ORDER BY i.due_until, i.next_attempt_at, i.id
            LIMIT 200
        LOOP
            -- Another claim is deciding this patient: skip it, do not wait.
            CONTINUE WHEN NOT pg_try_advisory_xact_lock(7202604, hashtext(v_candidate.mrn));
            SELECT * INTO v_item FROM careline.worklist_items AS i
            WHERE i.id = v_candidate.id AND i.state IN ('pending', 'claimed')
              AND i.next_attempt_at <= v_now
            FOR UPDATE SKIP LOCKED;
            CONTINUE WHEN NOT FOUND;
            v_verdict := careline.worklist_verdict(v_item, v_now, v_rules);
            IF v_verdict IN ('opted_out', 'no_number') THEN
                -- Lasting: stored, as the local store does.
                UPDATE careline.worklist_items AS i
                SET state = 'blocked', block_reason = v_verdict, waiting_for = NULL,
                    claimed_by = NULL, claim_token = NULL, claimed_at = NULL,
                    claim_expires_at = NULL, updated_at = v_now
                WHERE i.id = v_item.id;
                v_put_off := v_put_off + 1;
                CONTINUE;
            ELSIF v_verdict IN ('outside_window', 'daily_cap', 'weekly_cap') THEN
                -- Passes with time: not offered before it can pass (a lapsed claim
                -- is let go on the way).
                UPDATE careline.worklist_items AS i
                SET state = 'pending', waiting_for = v_verdict,
                    next_attempt_at = greatest(i.next_attempt_at, coalesce(
                        careline.worklist_not_before(v_item, v_now, v_rules, v_verdict),
                        v_now)),
                    claimed_by = NULL, claim_token = NULL, claimed_at = NULL,
                    claim_expires_at = NULL, updated_at = v_now
                WHERE i.id = v_item.id;
                v_put_off := v_put_off + 1;
                CONTINUE;
            ELSIF v_verdict IS NOT NULL THEN
                CONTINUE;  -- in progress: another agent is calling the patient now
            END IF;
            RETURN QUERY
            UPDATE careline.worklist_items AS i
            SET state = 'claimed', claimed_by = v_agent, claim_token = gen_random_uuid(),
                claimed_at = v_now, claim_expires_at = v_expires, next_attempt_at = v_expires,
                waiting_for = NULL, updated_at = v_now
            WHERE i.id = v_item.id
            RETURNING i.id, i.claim_token, i.list_id, i.mrn, i.reason, i.script_id,
                i.numbers, i.claim_expires_at, i.attempts + 1, i.max_attempts;
            RETURN;
        END LOOP;
        EXIT WHEN v_put_off = 0;
    END LOOP;
END
$fn$;

-- Extend a live claim's lease; its new expiry, or NULL when the claim is no
-- longer this agent's (settled, or lapsed: renew before it runs out).
CREATE FUNCTION careline.worklist_renew(p_item uuid, p_token uuid) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_until timestamptz;
BEGIN
    UPDATE careline.worklist_items AS i
    SET claim_expires_at = v_now + make_interval(secs => r.claim_seconds),
        next_attempt_at = v_now + make_interval(secs => r.claim_seconds), updated_at = v_now
    FROM careline.worklist_rules AS r
    WHERE i.id = p_item AND i.state = 'claimed' AND i.claimed_by = session_user
      AND i.claim_token = p_token AND i.claim_expires_at > v_now
    RETURNING i.claim_expires_at INTO v_until;
    RETURN v_until;
END
$fn$;

-- The outcome of an attempt on a claim this agent holds (its token): the
-- item is settled (or due again after the spacing, for no answer and busy
-- with attempts left), the call is logged for the caps and an opt-out
-- blocks the patient, all in this transaction. False: the claim is not held
-- (another agent's, settled, or taken again after it lapsed).
CREATE FUNCTION careline.worklist_record(
    p_item uuid, p_token uuid, p_outcome text, p_note text DEFAULT ''
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_item careline.worklist_items;
    v_retry boolean;
BEGIN
    IF p_outcome IS NULL OR p_outcome NOT IN ('confirmed', 'rescheduled', 'cancelled',
        'voicemail', 'no_answer', 'busy', 'wrong_number', 'opted_out')
    THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'unknown outcome';
    END IF;
    IF length(p_note) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'the note is over 1000 characters';
    END IF;
    SELECT * INTO v_item FROM careline.worklist_items AS i
    WHERE i.id = p_item AND i.state = 'claimed' AND i.claimed_by = session_user
      AND i.claim_token = p_token
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    v_retry := p_outcome IN ('no_answer', 'busy') AND v_item.attempts + 1 < v_item.max_attempts;
    UPDATE careline.worklist_items AS i
    SET state = CASE WHEN v_retry THEN 'pending' ELSE 'done' END,
        attempts = i.attempts + 1, outcome = p_outcome,
        next_attempt_at = CASE WHEN v_retry
            THEN v_now + make_interval(mins => i.spacing_minutes) ELSE v_now END,
        claimed_by = NULL, claim_token = NULL, claimed_at = NULL, claim_expires_at = NULL,
        updated_at = v_now
    WHERE i.id = v_item.id;
    INSERT INTO careline.worklist_calls
        (item_id, list_id, mrn, agent_id, at, outcome, note)
    VALUES (v_item.id, v_item.list_id, v_item.mrn, session_user, v_now, p_outcome,
        coalesce(p_note, ''));
    IF p_outcome = 'opted_out' THEN
        PERFORM careline.worklist_stop_calling(v_item.mrn, session_user, 'call', v_now);
    END IF;
    RETURN true;
END
$fn$;

-- Give a held item back without an attempt (the agent skipped it); with
-- p_until, it is not offered again before then (at most 14 days on).
CREATE FUNCTION careline.worklist_release(
    p_item uuid, p_token uuid, p_until timestamptz DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_now timestamptz := clock_timestamp();
BEGIN
    UPDATE careline.worklist_items AS i
    SET state = 'pending', claimed_by = NULL, claim_token = NULL, claimed_at = NULL,
        claim_expires_at = NULL, updated_at = v_now,
        next_attempt_at = coalesce(least(p_until, v_now + interval '14 days'), v_now)
    WHERE i.id = p_item AND i.state = 'claimed' AND i.claimed_by = session_user
      AND i.claim_token = p_token;
    RETURN FOUND;
END
$fn$;

-- The patient is not to be called again, on any list (recorded as the login).
-- True when this is news to the hub.
CREATE FUNCTION careline.worklist_opt_out(p_mrn text, p_source text DEFAULT '')
RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_mrn IS NULL OR p_mrn = '' OR length(p_mrn) > 200 THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'the MRN is empty or too long';
    END IF;
    IF length(p_source) > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400', MESSAGE = 'the source is over 100 characters';
    END IF;
    RETURN careline.worklist_stop_calling(
        p_mrn, session_user, coalesce(p_source, ''), clock_timestamp());
END
$fn$;

-- Opt-outs after seq p_after, for a console's local store: who and why are
-- not part of it.
CREATE FUNCTION careline.worklist_opt_outs_since(p_after bigint, p_limit integer)
RETURNS TABLE (seq bigint, mrn text, at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT o.seq, o.mrn, o.at FROM careline.worklist_opt_outs AS o
    WHERE o.seq > coalesce(p_after, 0)
    ORDER BY o.seq
    LIMIT least(greatest(coalesce(p_limit, 1000), 0), 5000)
$fn$;

-- Row-level security, forced on the owner too (who gets its own policy).
ALTER TABLE careline.worklist_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.worklist_items FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.worklist_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.worklist_calls FORCE ROW LEVEL SECURITY;
ALTER TABLE careline.worklist_opt_outs ENABLE ROW LEVEL SECURITY;
ALTER TABLE careline.worklist_opt_outs FORCE ROW LEVEL SECURITY;

DO $policies$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['worklist_items', 'worklist_calls', 'worklist_opt_outs'] LOOP
        EXECUTE format(
            'CREATE POLICY hub_owner ON careline.%I TO %I USING (true) WITH CHECK (true)',
            t, current_user);
        EXECUTE format(
            'CREATE POLICY supervisor_select ON careline.%I FOR SELECT '
            'TO careline_supervisor USING (true)', t);
    END LOOP;
END
$policies$;
CREATE POLICY own_claims ON careline.worklist_items FOR SELECT
    TO careline_agent USING (claimed_by = current_user);
CREATE POLICY own_calls ON careline.worklist_calls FOR SELECT
    TO careline_agent USING (agent_id = current_user);
CREATE POLICY own_opt_outs ON careline.worklist_opt_outs FOR SELECT
    TO careline_agent USING (agent_id = current_user);

-- Privileges: read (through the policies), never write; no claim tokens.
REVOKE ALL ON careline.worklist_rules, careline.worklist_items, careline.worklist_calls,
    careline.worklist_opt_outs FROM PUBLIC;
REVOKE ALL ON SEQUENCE careline.worklist_calls_seq_seq, careline.worklist_opt_outs_seq
    FROM PUBLIC;
GRANT SELECT ON careline.worklist_rules, careline.worklist_calls, careline.worklist_opt_outs
    TO careline_agent, careline_supervisor;
GRANT SELECT (id, list_id, kind, dedupe_key, mrn, reason, script_id, numbers, zones,
    due_from, due_until, generated_on, attempts, max_attempts, spacing_minutes,
    next_attempt_at, state, block_reason, waiting_for, claimed_by, claimed_at, claim_expires_at,
    outcome, updated_at)
    ON careline.worklist_items TO careline_agent, careline_supervisor;

REVOKE ALL ON FUNCTION
    careline.worklist_opt_out_in_order(),
    careline.worklist_item_check(),
    careline.worklist_verdict(careline.worklist_items, timestamptz, careline.worklist_rules),
    careline.worklist_not_before(
        careline.worklist_items, timestamptz, careline.worklist_rules, text),
    careline.worklist_stop_calling(text, text, text, timestamptz),
    careline.worklist_claim(text),
    careline.worklist_renew(uuid, uuid),
    careline.worklist_record(uuid, uuid, text, text),
    careline.worklist_release(uuid, uuid, timestamptz),
    careline.worklist_opt_out(text, text),
    careline.worklist_opt_outs_since(bigint, integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    careline.worklist_claim(text),
    careline.worklist_renew(uuid, uuid),
    careline.worklist_record(uuid, uuid, text, text),
    careline.worklist_release(uuid, uuid, timestamptz)
TO careline_agent;
GRANT EXECUTE ON FUNCTION
    careline.worklist_opt_out(text, text),
    careline.worklist_opt_outs_since(bigint, integer)
TO careline_agent, careline_supervisor;
