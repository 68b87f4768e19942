-- careline hub, version 6: an item is never offered after its due day, and a
-- claim lasts as long as the claiming console's `worklists.claim_minutes`
-- (issue 19).
--
-- Due day. An item is due through due_until, a day in the patient's local
-- time: it ends at the first local midnight after it in any of the item's
-- zones (so nobody is called late wherever they are), as
-- console.core.worklists.calling.due_ended decides in a local store. A claim
-- that meets an item past it closes the item as blocked, block_reason
-- 'expired' (lasting, like an opt-out): supervisors see why it was not
-- called, and the scan no longer meets it. A claim already held when the day
-- ends is not taken away (the agent may be on the call).
--
-- Lease. A console renews its claim every third of its own claim_minutes;
-- had the hub used the floor's claim_seconds (the owner's configuration) and
-- it been shorter, a working agent's claim would lapse under them and the
-- item be offered to a colleague mid-call. careline.worklist_claim and
-- careline.worklist_renew therefore take the lease in seconds from the
-- console (1 second to 4 hours, the bounds of claim_seconds; anything else is
-- refused); without one (a console of an older version) the floor's
-- claim_seconds still applies. The new argument has a default, so the old
-- calls keep working; the functions are replaced, not overloaded (an
-- overload with defaults would make the old calls ambiguous).
--
-- The changed functions are restated whole: PostgreSQL replaces a function's
-- body, it cannot patch one; version 4's text is history once this has run.
--
-- Runs as the hub owner, like version 1.

ALTER TABLE careline.worklist_items DROP CONSTRAINT worklist_items_block_reason_check;
ALTER TABLE careline.worklist_items ADD CONSTRAINT worklist_items_block_reason_check
    CHECK (block_reason IS NULL OR block_reason IN ('opted_out', 'no_number', 'expired'));

-- As in version 4, with 'expired' after the patient's lasting blockers.
CREATE OR REPLACE FUNCTION careline.worklist_verdict(
    p_item careline.worklist_items, p_now timestamptz, p_rules careline.worklist_rules
) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
    WITH local AS (
        SELECT bool_and((p_now AT TIME ZONE z)::time >= p_rules.window_start
                        AND (p_now AT TIME ZONE z)::time < p_rules.window_end) AS in_window,
               -- The patient's day began at the earliest local midnight of their zones.
               min(date_trunc('day', p_now AT TIME ZONE z) AT TIME ZONE z) AS day_start,
               -- The due day ends at the earliest local midnight after it (a date
               -- past year 9999 would overflow a timestamp: it never ends).
               min((least(p_item.due_until, date '9999-12-30') + 1)::timestamp
                   AT TIME ZONE z) AS due_end
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
        WHEN p_now >= local.due_end THEN 'expired'
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

-- The lease a claim or renewal asks for, in seconds: the console's, else the floor's.
CREATE FUNCTION careline.worklist_lease(p_seconds integer, p_rules careline.worklist_rules)
RETURNS interval
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    IF p_seconds IS NOT NULL AND p_seconds NOT BETWEEN 1 AND 14400 THEN
        RAISE EXCEPTION USING ERRCODE = 'CL400',
            MESSAGE = 'a claim lasts 1 second to 4 hours (worklists.claim_minutes)';
    END IF;
    RETURN make_interval(secs => coalesce(p_seconds, p_rules.claim_seconds));
END
$fn$;

DROP FUNCTION careline.worklist_claim(text);
DROP FUNCTION careline.worklist_renew(uuid, uuid);

-- As in version 4, with the console's lease and expired items closed.
CREATE FUNCTION careline.worklist_claim(
    p_list text DEFAULT NULL, p_lease_seconds integer DEFAULT NULL
)
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
    v_expires := v_now + careline.worklist_lease(p_lease_seconds, v_rules);
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
            IF v_verdict IN ('opted_out', 'no_number', 'expired') THEN
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

-- As in version 4, by the console's lease.
CREATE FUNCTION careline.worklist_renew(
    p_item uuid, p_token uuid, p_lease_seconds integer DEFAULT NULL
) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_now timestamptz := clock_timestamp();
    v_lease interval;
    v_until timestamptz;
BEGIN
    SELECT careline.worklist_lease(p_lease_seconds, r) INTO STRICT v_lease
    FROM careline.worklist_rules AS r;
    UPDATE careline.worklist_items AS i
    SET claim_expires_at = v_now + v_lease, next_attempt_at = v_now + v_lease,
        updated_at = v_now
    WHERE i.id = p_item AND i.state = 'claimed' AND i.claimed_by = session_user
      AND i.claim_token = p_token AND i.claim_expires_at > v_now
    RETURNING i.claim_expires_at INTO v_until;
    RETURN v_until;
END
$fn$;

REVOKE ALL ON FUNCTION
    careline.worklist_lease(integer, careline.worklist_rules),
    careline.worklist_claim(text, integer),
    careline.worklist_renew(uuid, uuid, integer)
FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    careline.worklist_claim(text, integer),
    careline.worklist_renew(uuid, uuid, integer)
TO careline_agent;
