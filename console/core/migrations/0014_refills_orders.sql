-- Issue 18: careline's own refills and orders backends (console/core/ehr/local_refills.py,
-- local_orders.py), what the demo requests refills and shows pending tests with. They
-- keep the EHR's rules: a request id writes at most once (a retry finds the first),
-- and a prescription has at most one open refill request. Prescriptions themselves are
-- the directory's `medications` (0005): the demo's "EHR" is its own directory.
--
-- Times are UTC instants as fixed-width text ('2031-03-03T09:00:00Z').
CREATE TABLE refill_requests (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE CHECK (request_id <> ''),
    patient_id      TEXT NOT NULL CHECK (patient_id <> ''),
    prescription_id TEXT NOT NULL CHECK (prescription_id <> ''),
    owner           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL
                    CHECK (status IN ('requested', 'completed', 'rejected', 'cancelled')),
    authored_at     TEXT NOT NULL
        CHECK (authored_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z')
);
-- One open request per prescription, whatever the code above it does.
CREATE UNIQUE INDEX refill_requests_one_open ON refill_requests (prescription_id)
    WHERE status = 'requested';

CREATE TABLE care_messages (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL UNIQUE CHECK (request_id <> ''),
    patient_id      TEXT NOT NULL CHECK (patient_id <> ''),
    prescription_id TEXT,
    recipient       TEXT NOT NULL CHECK (recipient <> ''),
    body            TEXT NOT NULL CHECK (body <> ''),
    sent_at         TEXT NOT NULL
        CHECK (sent_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z')
);

-- Tests ordered (kind 'order', a ServiceRequest) and reports (kind 'result', a
-- DiagnosticReport); based_on names the order a report answers.
CREATE TABLE orders (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL CHECK (patient_id <> ''),
    kind       TEXT NOT NULL CHECK (kind IN ('order', 'result')),
    test       TEXT NOT NULL CHECK (test <> ''),
    code       TEXT NOT NULL DEFAULT '',
    status     TEXT NOT NULL CHECK (status <> ''),
    since      TEXT
        CHECK (since IS NULL OR since GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'),
    based_on   TEXT
);
CREATE INDEX orders_by_patient ON orders (patient_id);

-- A message to the care team is audited as 'message'. Rebuilt as in 0013.
CREATE TABLE audit_new (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    agent_id   TEXT NOT NULL,
    patient_id TEXT,
    category   TEXT NOT NULL CHECK (category <> ''),
    action     TEXT NOT NULL
               CHECK (action IN ('view', 'search', 'verify', 'export', 'lock', 'unlock',
                                 'escalate', 'sign_in', 'book', 'reschedule', 'cancel',
                                 'refill', 'message')),
    outcome    TEXT NOT NULL CHECK (outcome IN ('ok', 'pass', 'fail', 'denied')),
    terminal   TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
INSERT INTO audit_new SELECT seq, at, agent_id, patient_id, category, action, outcome,
                             terminal, prev_hash, hash FROM audit;
DROP TABLE audit;
ALTER TABLE audit_new RENAME TO audit;
CREATE INDEX audit_by_at ON audit (at);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit log is append-only');
END;
