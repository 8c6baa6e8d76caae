-- Originate's nightly prenote steps read bank accounts by prenote state
-- (SchedulePrenotes: 'required'; VerifyPrenotes: 'sent', by the day the
-- prenote settles), and asked, for each bank account that needs one,
-- whether an active autopay enrollment uses it: without an index on the
-- enrollment's bank account, SQLite scanned every enrollment for each
-- such bank account (20,000 of each: 19 s; with the index 0.05 s), and
-- both steps read every bank account every night. Few bank accounts are
-- waiting for a prenote at a time, so the partial indexes stay small.
CREATE INDEX autopay_bank_account ON autopay_enrollments (bank_account_id);
CREATE INDEX bank_accounts_prenote_required ON bank_accounts (id) WHERE prenote = 'required';
CREATE INDEX bank_accounts_prenote_sent ON bank_accounts (prenote_settles_on) WHERE prenote = 'sent';
