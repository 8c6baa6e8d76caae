-- operators: the named people who use the admin API and the console, with
-- their role. A token is shown once when it is made; only its SHA-256 is
-- kept, so the table cannot be used to sign in.
CREATE TABLE operators (
	id           {{serial}},
	name         TEXT NOT NULL UNIQUE,
	role         TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	token_sha256 TEXT NOT NULL UNIQUE,
	status       TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
	created_at   {{ts}} NOT NULL,
	created_by   TEXT NOT NULL DEFAULT '',
	rotated_at   {{ts}},
	last_seen_at {{ts}}
);

-- console_sessions: a signed-in browser. The cookie holds a random id; only
-- its SHA-256 is kept. Kept in the database so that every replica serves
-- every session and signing out ends it everywhere.
CREATE TABLE console_sessions (
	id_sha256    TEXT PRIMARY KEY,
	operator_id  BIGINT NOT NULL REFERENCES operators (id),
	csrf         TEXT NOT NULL,
	created_at   {{ts}} NOT NULL,
	last_seen_at {{ts}} NOT NULL,
	expires_at   {{ts}} NOT NULL
);
CREATE INDEX console_sessions_operator ON console_sessions (operator_id);
