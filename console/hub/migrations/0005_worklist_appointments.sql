-- careline hub, version 5: a reminder item carries the appointment it is about
-- (issue 19), as the local store's items do (local migration 0017).
--
-- The generation run publishes them with the item: appointment_id is the
-- directory's resource id ('Appointment/<EHR id>'), appointment_start the
-- instant, service and clinician the directory's words. The agent holding
-- the claim reads them (row-level security already limits an agent to the
-- items they hold): the call says the day and time, shows the service and
-- clinician only once the person who answered is verified, and moves or
-- cancels exactly that appointment. Other items, and items published before
-- this, have none (NULL / '').
--
-- Runs as the hub owner, like version 1.
ALTER TABLE careline.worklist_items
    ADD COLUMN appointment_id text
        -- As long as the dedupe key that names it may be (an import's fullUrl can be long).
        CHECK (appointment_id IS NULL OR (appointment_id <> '' AND length(appointment_id) <= 400)),
    ADD COLUMN appointment_start timestamptz,
    ADD COLUMN appointment_service text NOT NULL DEFAULT ''
        CHECK (length(appointment_service) <= 200),
    ADD COLUMN appointment_clinician text NOT NULL DEFAULT ''
        CHECK (length(appointment_clinician) <= 200),
    ADD CONSTRAINT worklist_items_appointment_whole
        CHECK ((appointment_id IS NULL) = (appointment_start IS NULL));

GRANT SELECT (appointment_id, appointment_start, appointment_service, appointment_clinician)
    ON careline.worklist_items TO careline_agent, careline_supervisor;
