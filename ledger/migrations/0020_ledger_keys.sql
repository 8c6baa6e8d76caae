-- ledger_keys: the encryption keys the ledger has been used with, by
-- version; never a key. check_value is an HMAC of a fixed label under a key
-- derived from the master key: every command that opens the ledger with a
-- key compares it and refuses another key before touching data.
-- mac_key_enc is the ledger's MAC key (of bank_accounts.number_mac, and so
-- of the prenote source keys and NOC markers built from it) sealed under
-- the version's key: rotate-key re-encrypts numbers but keeps their MACs.
-- state: one 'current' row; one 'rotating' row while `drafter rotate-key`
-- is not finished (cursor_table/cursor_id: the last row re-encrypted);
-- 'retired' for keys rotated away.
CREATE TABLE ledger_keys (
	version      INTEGER PRIMARY KEY,
	check_value  {{blob}} NOT NULL,
	mac_key_enc  {{blob}} NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('current', 'rotating', 'retired')),
	cursor_table TEXT NOT NULL DEFAULT '',
	cursor_id    TEXT NOT NULL DEFAULT '',
	rows_done    BIGINT NOT NULL DEFAULT 0,
	created_at   {{ts}} NOT NULL,
	completed_at {{ts}}
);
CREATE UNIQUE INDEX ledger_keys_state ON ledger_keys (state) WHERE state IN ('current', 'rotating');
