-- The console's account search and account page at a million accounts:
-- by the last four digits of a bank account, by the customer's last name,
-- an account's customer, and an account's emails newest first.
CREATE INDEX bank_accounts_last4 ON bank_accounts (last4);
CREATE INDEX customers_last_name ON customers (last_name);
CREATE INDEX accounts_customer ON accounts (customer_id);
CREATE INDEX outbox_account ON outbox (account_id, id);

-- ach_file_debits: the number of debit payments of a stored NACHA file,
-- counted once (a stored file's payments never change), so that return
-- rates over 60 days read 60 rows instead of every payment of those days.
CREATE TABLE ach_file_debits (
	ach_file_id BIGINT PRIMARY KEY REFERENCES ach_files (id),
	debits      INTEGER NOT NULL
);
