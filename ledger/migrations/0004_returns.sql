-- Returns and notifications of change.

-- individual_id is the Individual Identification Number to send for the
-- bank account's entries when a NOC (C09) corrected it; '' means the
-- default (the loan or lease account id).
ALTER TABLE bank_accounts ADD COLUMN individual_id TEXT NOT NULL DEFAULT '';

-- Re-presentments are found through their original payment.
CREATE INDEX payments_original ON payments (original_payment_id) WHERE original_payment_id IS NOT NULL;

-- A return cancels the payments still scheduled on an invalidated bank
-- account.
CREATE INDEX payments_scheduled_bank ON payments (bank_account_id) WHERE state = 'scheduled';

-- Return rates count debits originated and returns received per day.
CREATE INDEX payments_originated ON payments (originated_on) WHERE originated_on IS NOT NULL;

CREATE INDEX exceptions_open ON exceptions (created_at) WHERE resolved_at IS NULL;

-- A trace number is unique per ODFI per day, not forever, so a returned
-- entry is named by entry_key: "payment <id>" when it matched one of
-- drafter's payments (a payment is returned once), otherwise its trace,
-- amount, account and code. An entry seen again in another file is applied
-- once. The tables are rebuilt because SQLite cannot drop the old UNIQUE
-- constraints on the trace.
CREATE TABLE returns_v2 (
	id              {{serial}},
	inbound_file_id BIGINT NOT NULL REFERENCES inbound_files (id),
	entry_key       TEXT NOT NULL UNIQUE,
	original_trace  TEXT NOT NULL,
	payment_id      BIGINT REFERENCES payments (id),
	code            TEXT NOT NULL,
	amount          BIGINT NOT NULL,
	action          TEXT NOT NULL,
	returned_on     {{date}} NOT NULL
);
INSERT INTO returns_v2 (inbound_file_id, entry_key, original_trace, payment_id, code, amount, action, returned_on)
	SELECT inbound_file_id, 'trace ' || original_trace, original_trace, payment_id, code, amount, action, returned_on FROM returns;
DROP TABLE returns;
ALTER TABLE returns_v2 RENAME TO returns;
CREATE INDEX returns_date ON returns (returned_on);
CREATE INDEX returns_trace ON returns (original_trace);
CREATE UNIQUE INDEX returns_payment ON returns (payment_id) WHERE payment_id IS NOT NULL;

CREATE TABLE corrections_v2 (
	id              {{serial}},
	inbound_file_id BIGINT NOT NULL REFERENCES inbound_files (id),
	entry_key       TEXT NOT NULL UNIQUE,
	original_trace  TEXT NOT NULL,
	change_code     TEXT NOT NULL,
	payment_id      BIGINT REFERENCES payments (id),
	bank_account_id TEXT REFERENCES bank_accounts (id),
	corrected_data  TEXT NOT NULL,
	action          TEXT NOT NULL,
	received_on     {{date}} NOT NULL
);
INSERT INTO corrections_v2 (inbound_file_id, entry_key, original_trace, change_code, payment_id, bank_account_id, corrected_data, action, received_on)
	SELECT inbound_file_id, 'trace ' || original_trace || ' ' || change_code, original_trace, change_code, payment_id, bank_account_id,
		corrected_data, action, received_on FROM corrections;
DROP TABLE corrections;
ALTER TABLE corrections_v2 RENAME TO corrections;
CREATE INDEX corrections_trace ON corrections (original_trace);
