-- PostgreSQL checks a foreign key with a trigger and a row lock on the
-- parent for every row whose key changes: settling a file's payments
-- (SettleFile) set ach_file_id on every payment and paid that check for
-- each, on the night's critical path. The value is copied from the
-- payment's originations record, written in the file's own allocation
-- transaction, and NACHA files are never deleted (a released file keeps
-- its row), so the key guarded nothing the allocation does not. SQLite's
-- check is an index look-up in the small ach_files table; it stays.
{{postgres}}ALTER TABLE payments DROP CONSTRAINT IF EXISTS payments_ach_file_id_fkey;
