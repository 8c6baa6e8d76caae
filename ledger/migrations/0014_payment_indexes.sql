-- Fewer index changes per originated payment. One unique index on (trace,
-- origination date) finds a payment by trace (returns) and keeps traces
-- unique per day; the due-date index holds only scheduled payments, so
-- originating one costs a delete there instead of a move.
DROP INDEX payments_trace;
DROP INDEX payments_day_trace;
CREATE UNIQUE INDEX payments_trace_day ON payments (trace_number, originated_on) WHERE trace_number IS NOT NULL;
DROP INDEX payments_due;
CREATE INDEX payments_due ON payments (draft_on) WHERE state = 'scheduled';
