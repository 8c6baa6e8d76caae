-- The "payment scheduled" emails of a file are queued by the deliver job
-- from the file's originations records (QueuePaymentEmails), not by the
-- file's settlement: an outbox row a payment, with its three index inserts,
-- was a third of origination's time, on the night's critical path before
-- the bank's cutoff. emails_queued_at says a file's emails are queued.
-- Files settled before this migration queued theirs when they settled.
ALTER TABLE ach_files ADD COLUMN emails_queued_at {{ts}};
UPDATE ach_files SET emails_queued_at = settled_at WHERE settled_at IS NOT NULL AND emails_queued_at IS NULL;
