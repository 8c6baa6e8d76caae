-- Origination reads the eligible due payments one file at a time in file
-- order; this index serves that order without sorting the whole day.
CREATE INDEX payments_file_order ON payments (state, sec, description, account_id, source, source_key);
