-- Only scheduled payments are read in file order: a partial index keeps the
-- order index small (the day's due payments, not every payment ever made)
-- and costs one index delete when a payment is originated.
DROP INDEX payments_file_order;
CREATE INDEX payments_file_order ON payments (sec, description, account_id, source, source_key) WHERE state = 'scheduled';
