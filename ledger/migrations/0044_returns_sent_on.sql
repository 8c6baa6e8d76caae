-- The day the bank sent each return: the creation date in its return
-- file's header. NACHA's return rates count a return on that day, so a
-- file applied late (after an outage) counts on the day it was sent, not
-- on the business date of the returns run that applied it (returned_on,
-- which stays the return's date for everything else: its transactions,
-- the statements, the emails). Returns recorded before keep their
-- returned_on: the file's date was not kept.
ALTER TABLE returns ADD COLUMN sent_on {{date}};
UPDATE returns SET sent_on = returned_on WHERE sent_on IS NULL;
CREATE INDEX returns_sent ON returns (sent_on, payment_kind, code);
