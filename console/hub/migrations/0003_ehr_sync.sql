-- careline hub, version 3: the EHR directory sync's cursors (issue 18).
--
-- `careline patients sync --hub` (run by the hub owner) pulls the patient
-- directory from the clinic's EHR into careline.patients, which every console
-- already pulls. Where it has got to is kept here, in the same transaction as
-- each page it writes, so that any host can go on with a run another one left
-- unfinished (a crash, the EHR down), from the page after the last committed.
--
-- since: resources updated from this FHIR instant on are fetched by the next
--        run (NULL: all of them);
-- run:   an unfinished run ({"since", "next_since", "next_url", "pages",
--        "fetched"}), NULL between runs.
--
-- Only the owner reads or writes it: no grants.
CREATE TABLE careline.ehr_sync (
    resource_type text PRIMARY KEY,
    since text,
    run jsonb CHECK (run IS NULL OR jsonb_typeof(run) = 'object'),
    updated_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON careline.ehr_sync FROM PUBLIC;
