-- Issue 20: a recording that cannot go to the hub however often it is tried (its
-- file unreadable, damaged or altered, or the hub refusing its row) says why
-- here and is not tried again; NULL: it went, or it may still go. The reason is
-- fixed text (no patient data, no key).
ALTER TABLE recordings ADD COLUMN upload_failed TEXT;
