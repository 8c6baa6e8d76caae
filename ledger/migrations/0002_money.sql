-- What drafter does with money: payments, the NACHA files that carry them,
-- and what the bank sends back.

CREATE TABLE ach_files (
	id            {{serial}},
	business_date {{date}} NOT NULL,
	id_modifier   TEXT NOT NULL,
	-- allocated: its payments are fixed; stored: the bytes are in storage.
	status        TEXT NOT NULL CHECK (status IN ('allocated', 'stored', 'transmitted')),
	effective_on  {{date}} NOT NULL,
	storage_key   TEXT NOT NULL,
	-- trace sequences trace_start..trace_end are this file's, offsets from
	-- offset_trace_start; a day's files never share a sequence.
	trace_start        INTEGER NOT NULL,
	trace_end          INTEGER NOT NULL,
	offset_trace_start INTEGER NOT NULL DEFAULT 0,
	sha256        TEXT NOT NULL DEFAULT '',
	size          BIGINT NOT NULL DEFAULT 0,
	batches       INTEGER NOT NULL DEFAULT 0,
	entries       INTEGER NOT NULL DEFAULT 0,
	debit_total   BIGINT NOT NULL DEFAULT 0,
	credit_total  BIGINT NOT NULL DEFAULT 0,
	created_at    {{ts}} NOT NULL,
	stored_at     {{ts}},
	UNIQUE (business_date, id_modifier)
);

-- payments: one row per debit (or prenote). A payment is originated exactly
-- once: ach_file_id and trace_number are set in the same transaction that
-- moves it to originated.
CREATE TABLE payments (
	id                  {{serial}},
	source              TEXT NOT NULL,
	source_key          TEXT NOT NULL,
	account_id          TEXT NOT NULL REFERENCES accounts (id),
	bank_account_id     TEXT NOT NULL REFERENCES bank_accounts (id),
	kind                TEXT NOT NULL CHECK (kind IN ('debit', 'prenote')),
	sec                 TEXT NOT NULL,
	description         TEXT NOT NULL,
	amount              BIGINT NOT NULL,
	due_on              {{date}},
	draft_on            {{date}} NOT NULL,
	state               TEXT NOT NULL CHECK (state IN ('scheduled', 'originated', 'settled', 'returned', 'cancelled')),
	state_reason        TEXT NOT NULL DEFAULT '',
	attempt             INTEGER NOT NULL DEFAULT 1,
	original_payment_id BIGINT REFERENCES payments (id),
	ach_file_id         BIGINT REFERENCES ach_files (id),
	trace_number        TEXT,
	originated_on       {{date}},
	effective_on        {{date}},
	-- The entry as originated, copied when the payment is allocated to a
	-- file, so that rebuilding the file gives the same bytes whatever
	-- happens to the bank account later.
	rdfi_routing        TEXT NOT NULL DEFAULT '',
	number_enc          {{blob}},
	transaction_code    INTEGER NOT NULL DEFAULT 0,
	individual_name     TEXT NOT NULL DEFAULT '',
	created_at          {{ts}} NOT NULL,
	UNIQUE (source, source_key)
);
CREATE UNIQUE INDEX payments_trace ON payments (trace_number) WHERE trace_number IS NOT NULL;
CREATE INDEX payments_due ON payments (state, draft_on);
CREATE INDEX payments_file ON payments (ach_file_id);
CREATE INDEX payments_account ON payments (account_id);

-- inbound_files: every file the bank sent, processed once (sha256).
CREATE TABLE inbound_files (
	id          {{serial}},
	sha256      TEXT NOT NULL UNIQUE,
	name        TEXT NOT NULL,
	storage_key TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL CHECK (status IN ('applied', 'rejected')),
	returns     INTEGER NOT NULL DEFAULT 0,
	corrections INTEGER NOT NULL DEFAULT 0,
	error       TEXT NOT NULL DEFAULT '',
	received_at {{ts}} NOT NULL
);

-- returns: one row per returned entry; the original trace is unique, so an
-- entry seen again in another file is applied once.
CREATE TABLE returns (
	id              {{serial}},
	inbound_file_id BIGINT NOT NULL REFERENCES inbound_files (id),
	original_trace  TEXT NOT NULL UNIQUE,
	payment_id      BIGINT REFERENCES payments (id),
	code            TEXT NOT NULL,
	amount          BIGINT NOT NULL,
	action          TEXT NOT NULL,
	returned_on     {{date}} NOT NULL
);
CREATE INDEX returns_date ON returns (returned_on);

CREATE TABLE corrections (
	id              {{serial}},
	inbound_file_id BIGINT NOT NULL REFERENCES inbound_files (id),
	original_trace  TEXT NOT NULL,
	change_code     TEXT NOT NULL,
	payment_id      BIGINT REFERENCES payments (id),
	bank_account_id TEXT REFERENCES bank_accounts (id),
	corrected_data  TEXT NOT NULL,
	action          TEXT NOT NULL,
	received_on     {{date}} NOT NULL,
	UNIQUE (original_trace, change_code)
);

-- exceptions: anything that needs a person, with the raw record.
CREATE TABLE exceptions (
	id          {{serial}},
	kind        TEXT NOT NULL,
	reference   TEXT NOT NULL,
	detail      TEXT NOT NULL,
	raw         TEXT NOT NULL DEFAULT '',
	created_at  {{ts}} NOT NULL,
	resolved_at {{ts}},
	UNIQUE (kind, reference)
);
