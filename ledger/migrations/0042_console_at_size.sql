-- The console at 1,000,000 accounts and 10,000,000 payments.
--
-- A return carries its payment's account and kind (a payment's own,
-- never changed), so that the return rates, the returns by code and by
-- day and the accounts with repeated returns read a window's returns from
-- one index alone, instead of looking up each return's payment (20,000
-- random reads for 60 days of a 10,000,000-payment ledger). Migration 0043
-- fills them for the returns recorded before; ApplyInbound sets them for
-- every return it records.
ALTER TABLE returns ADD COLUMN account_id TEXT;
ALTER TABLE returns ADD COLUMN payment_kind TEXT;
DROP INDEX returns_date;
CREATE INDEX returns_day ON returns (returned_on, payment_kind, code, account_id);

-- The outbox filtered by status, newest first (the failed ones among a
-- million sent), and the oldest queued message with its tie broken by id
-- as the page orders it: one index range each.
CREATE INDEX outbox_status ON outbox (status, id);
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
