-- A file's originations records are found along the trace index
-- (originations_trace_day), between the file's first and last trace
-- numbers kept on its row, instead of by an index of their own: that
-- index cost an insert a payment on origination's path to the bank (on
-- PostgreSQL 0.14 s of each 100,000-payment file's COPY, a fifth of its
-- index work). A file's traces are one unbroken run of its day's sequence
-- with one routing prefix, of one width, so the run's first and last
-- bound them in text order too; queries still name the file, so the
-- bounds only choose where the index is read. A file with no records
-- (released) has none.
ALTER TABLE ach_files ADD COLUMN first_trace TEXT;
ALTER TABLE ach_files ADD COLUMN last_trace TEXT;
UPDATE ach_files SET first_trace = (SELECT MIN(o.trace_number) FROM originations o WHERE o.ach_file_id = ach_files.id),
	last_trace = (SELECT MAX(o.trace_number) FROM originations o WHERE o.ach_file_id = ach_files.id);
DROP INDEX originations_file;
