-- Documents drafter rendered, the email it owes customers, and the run
-- ledger.

CREATE TABLE documents (
	id            {{serial}},
	account_id    TEXT NOT NULL REFERENCES accounts (id),
	kind          TEXT NOT NULL,
	period        TEXT NOT NULL,
	document_date {{date}} NOT NULL,
	storage_key   TEXT NOT NULL,
	sha256        TEXT NOT NULL,
	size          BIGINT NOT NULL,
	created_at    {{ts}} NOT NULL,
	UNIQUE (account_id, kind, period)
);

-- outbox: one row per message, unique per (what it is about, recipient).
CREATE TABLE outbox (
	id              {{serial}},
	topic           TEXT NOT NULL,
	recipient       TEXT NOT NULL,
	kind            TEXT NOT NULL,
	account_id      TEXT NOT NULL REFERENCES accounts (id),
	payload         TEXT NOT NULL,
	status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at {{ts}} NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      {{ts}} NOT NULL,
	sent_at         {{ts}},
	UNIQUE (topic, recipient)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- runs: Spring Batch's job repository. A run is job + business date +
-- scope; attempt counts reruns of the same identity.
CREATE TABLE runs (
	id            {{serial}},
	job           TEXT NOT NULL,
	business_date {{date}} NOT NULL,
	scope         TEXT NOT NULL DEFAULT '',
	attempt       INTEGER NOT NULL,
	dry_run       {{bool}} NOT NULL DEFAULT FALSE,
	status        TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial')),
	trigger       TEXT NOT NULL,
	triggered_by  TEXT NOT NULL DEFAULT '',
	reason        TEXT NOT NULL DEFAULT '',
	params        TEXT NOT NULL DEFAULT '{}',
	selected      INTEGER NOT NULL DEFAULT 0,
	done          INTEGER NOT NULL DEFAULT 0,
	skipped       INTEGER NOT NULL DEFAULT 0,
	failed        INTEGER NOT NULL DEFAULT 0,
	summary       TEXT NOT NULL DEFAULT '{}',
	error         TEXT NOT NULL DEFAULT '',
	owner         TEXT NOT NULL DEFAULT '',
	started_at    {{ts}} NOT NULL,
	heartbeat_at  {{ts}} NOT NULL,
	finished_at   {{ts}},
	UNIQUE (job, business_date, scope, attempt, dry_run)
);

CREATE TABLE run_items (
	run_id BIGINT NOT NULL REFERENCES runs (id),
	item   TEXT NOT NULL,
	status TEXT NOT NULL,
	error  TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, item)
);

-- audit: every operator action, who, what, when and why.
CREATE TABLE audit (
	id     {{serial}},
	at     {{ts}} NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT ''
);
