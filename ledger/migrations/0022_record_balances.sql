-- record_balances: the servicing system's position of an account at the end
-- of a day, from its extract (the balance snapshot and the balance history
-- on each statement cycle date). A statement's new balance is the balance
-- here on the statement date; it is held when it cannot reach it.
CREATE TABLE record_balances (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	on_date    {{date}} NOT NULL,
	balance    BIGINT NOT NULL,
	principal  BIGINT NOT NULL,
	fees_due   BIGINT NOT NULL,
	past_due   BIGINT NOT NULL,
	PRIMARY KEY (account_id, on_date)
);

-- The new balance a statement printed: the next statement's previous
-- balance. NULL for other documents and for statements recorded before.
ALTER TABLE documents ADD COLUMN new_balance BIGINT;

-- Who posted a transaction: the servicing system (imported) or drafter
-- (a return of its debit, its returned-payment fee).
ALTER TABLE transactions ADD COLUMN source TEXT NOT NULL DEFAULT 'servicing';
UPDATE transactions SET source = 'drafter' WHERE id LIKE 'return:%' OR id LIKE 'return-fee:%';
