-- Issue 20: when a recording reached the hub for QA (NULL: not yet, or no hub).
ALTER TABLE recordings ADD COLUMN uploaded_at TEXT;
