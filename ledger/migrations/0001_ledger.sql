-- The servicing ledger as imported from the servicing system. Imported rows
-- keep the servicing system's ids as their keys, so a reimport upserts.

CREATE TABLE customers (
	id            TEXT PRIMARY KEY,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	email         TEXT NOT NULL,
	phone         TEXT NOT NULL DEFAULT '',
	address_line1 TEXT NOT NULL,
	address_line2 TEXT NOT NULL DEFAULT '',
	city          TEXT NOT NULL,
	state         TEXT NOT NULL,
	postal_code   TEXT NOT NULL
);

CREATE TABLE accounts (
	id                         TEXT PRIMARY KEY,
	customer_id                TEXT NOT NULL REFERENCES customers (id),
	kind                       TEXT NOT NULL CHECK (kind IN ('loan', 'lease')),
	status                     TEXT NOT NULL,
	contract_state             TEXT NOT NULL,
	opened_on                  {{date}} NOT NULL,
	term_months                INTEGER NOT NULL,
	monthly_payment            BIGINT NOT NULL,
	monthly_tax                BIGINT NOT NULL DEFAULT 0,
	first_due_on               {{date}} NOT NULL,
	due_day                    INTEGER NOT NULL CHECK (due_day BETWEEN 1 AND 31),
	cycle_day                  INTEGER NOT NULL CHECK (cycle_day BETWEEN 1 AND 31),
	maturity_on                {{date}} NOT NULL,
	late_fee                   BIGINT NOT NULL DEFAULT 0,
	grace_days                 INTEGER NOT NULL DEFAULT 0,
	returned_payment_fee       BIGINT NOT NULL DEFAULT 0,
	amount_financed            BIGINT NOT NULL DEFAULT 0,
	apr_bps                    INTEGER NOT NULL DEFAULT 0,
	capitalized_cost           BIGINT NOT NULL DEFAULT 0,
	money_factor_millionths    INTEGER NOT NULL DEFAULT 0,
	residual_value             BIGINT NOT NULL DEFAULT 0,
	mileage_allowance_per_year INTEGER NOT NULL DEFAULT 0,
	excess_mileage_rate        BIGINT NOT NULL DEFAULT 0,
	purchase_option_fee        BIGINT NOT NULL DEFAULT 0,
	disposition_fee            BIGINT NOT NULL DEFAULT 0,
	start_odometer             INTEGER NOT NULL DEFAULT 0,
	vehicle_vin                TEXT NOT NULL DEFAULT '',
	vehicle_year               INTEGER NOT NULL DEFAULT 0,
	vehicle_make               TEXT NOT NULL DEFAULT '',
	vehicle_model              TEXT NOT NULL DEFAULT '',
	balance_as_of              {{date}} NOT NULL,
	principal                  BIGINT NOT NULL,
	accrued_interest           BIGINT NOT NULL DEFAULT 0,
	fees_due                   BIGINT NOT NULL DEFAULT 0,
	past_due                   BIGINT NOT NULL DEFAULT 0,
	payments_made              INTEGER NOT NULL DEFAULT 0,
	-- review is why a person must look at the account ('' when none); set
	-- by drafter (an unauthorized return), never by a reimport.
	review                     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX accounts_cycle ON accounts (cycle_day);
CREATE INDEX accounts_maturity ON accounts (kind, maturity_on);

CREATE TABLE bank_accounts (
	id                  TEXT PRIMARY KEY,
	account_id          TEXT NOT NULL REFERENCES accounts (id),
	routing             TEXT NOT NULL,
	-- number_enc is AES-256-GCM(nonce || ciphertext); number_mac an HMAC of
	-- the plain number for matching without decrypting; last4 for display.
	number_enc          {{blob}} NOT NULL,
	number_mac          TEXT NOT NULL,
	last4               TEXT NOT NULL,
	type                TEXT NOT NULL CHECK (type IN ('checking', 'savings')),
	holder_name         TEXT NOT NULL,
	prenote             TEXT NOT NULL CHECK (prenote IN ('required', 'sent', 'verified')),
	prenote_settles_on  {{date}},
	status              TEXT NOT NULL CHECK (status IN ('active', 'invalid')),
	status_reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bank_accounts_account ON bank_accounts (account_id);

CREATE TABLE autopay_enrollments (
	id              TEXT PRIMARY KEY,
	account_id      TEXT NOT NULL REFERENCES accounts (id),
	bank_account_id TEXT NOT NULL REFERENCES bank_accounts (id),
	authorized_on   {{date}} NOT NULL,
	starts_on       {{date}} NOT NULL,
	days_before_due INTEGER NOT NULL DEFAULT 0,
	amount          BIGINT NOT NULL DEFAULT 0,
	status          TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'stopped')),
	status_reason   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX autopay_account ON autopay_enrollments (account_id);

CREATE TABLE scheduled_payments (
	id              TEXT PRIMARY KEY,
	account_id      TEXT NOT NULL REFERENCES accounts (id),
	bank_account_id TEXT NOT NULL REFERENCES bank_accounts (id),
	amount          BIGINT NOT NULL,
	debit_on        {{date}} NOT NULL,
	channel         TEXT NOT NULL CHECK (channel IN ('web', 'phone')),
	authorized_at   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX scheduled_payments_debit ON scheduled_payments (debit_on);

CREATE TABLE odometer_readings (
	account_id TEXT NOT NULL REFERENCES accounts (id),
	read_on    {{date}} NOT NULL,
	miles      INTEGER NOT NULL,
	source     TEXT NOT NULL,
	PRIMARY KEY (account_id, read_on)
);

-- transactions are posted ledger lines: imported ones keep the servicing
-- system's id; drafter's own (a returned payment, a fee) have an id made
-- from what caused them, so posting twice is impossible.
CREATE TABLE transactions (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL REFERENCES accounts (id),
	posted_on   {{date}} NOT NULL,
	kind        TEXT NOT NULL,
	amount      BIGINT NOT NULL,
	description TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transactions_account ON transactions (account_id, posted_on);
