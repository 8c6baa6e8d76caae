-- Two indexes on payments that every origination paid for (their columns
-- change when a payment's file is settled) and nothing reads any more:
-- a file's payments and a payment by trace are found through the
-- originations records (0039), which also keep a trace unique in its day
-- (originations_trace_day), as payments_trace_day did.
DROP INDEX payments_file;
DROP INDEX payments_trace_day;
