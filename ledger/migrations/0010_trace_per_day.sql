-- Trace numbers are unique per ODFI per day, as the rules ask: each business
-- date's sequence starts again at 1, so the same trace number comes back on
-- another day. A payment is found by trace and origination date.
DROP INDEX payments_trace;
CREATE UNIQUE INDEX payments_day_trace ON payments (originated_on, trace_number) WHERE trace_number IS NOT NULL;
CREATE INDEX payments_trace ON payments (trace_number) WHERE trace_number IS NOT NULL;
