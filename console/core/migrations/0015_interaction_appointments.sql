-- Issue 18: an interaction records the EHR Appointments its call booked, moved
-- or cancelled (k on the card): [{"id": ..., "change": "booked" | "moved" |
-- "cancelled", "at": ..., "replaces": ...}] in the order made (≈ FHIR
-- Communication.about). Rows written before this have none: '[]'.
ALTER TABLE interactions
    ADD COLUMN appointments TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(appointments));
