-- Issue 19: an appointment-reminder item carries the appointment it is about, so
-- the call can say its day and time and, once the patient is verified, move or
-- cancel exactly that appointment. appointment_id is the directory's resource id
-- ('Appointment/<EHR id>'), appointment_start a UTC instant as the directory has
-- it; service and clinician are the directory's words (shown only after
-- verification, never left on a voicemail). Items of other kinds, and reminder
-- items generated before this, have none (NULL / '').
ALTER TABLE worklist_items ADD COLUMN appointment_id TEXT;
ALTER TABLE worklist_items ADD COLUMN appointment_start TEXT;
ALTER TABLE worklist_items ADD COLUMN appointment_service TEXT NOT NULL DEFAULT '';
ALTER TABLE worklist_items ADD COLUMN appointment_clinician TEXT NOT NULL DEFAULT '';
