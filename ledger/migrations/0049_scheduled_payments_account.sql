-- Origination's installment policy reads, for each scheduled autopay
-- payment, its account's one-time payments debited by its due date. With
-- one-time payments indexed by date alone, SQLite read every one-time
-- payment up to that date for each autopay payment: at 100,000 accounts
-- that one query was 13% of a simulated night's CPU, growing with the
-- history. By account and date it reads the account's own.
CREATE INDEX scheduled_payments_account ON scheduled_payments (account_id, debit_on);
