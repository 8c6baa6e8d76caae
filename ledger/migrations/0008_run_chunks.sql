-- run_chunks: a run split into ranges of accounts that workers claim under a
-- lease. A chunk whose lease ran out (its worker died or hung) is claimed by
-- another worker and redone; every item in it is idempotent.
CREATE TABLE run_chunks (
	run_id      BIGINT NOT NULL REFERENCES runs (id),
	chunk       INTEGER NOT NULL,
	first_key   TEXT NOT NULL,
	last_key    TEXT NOT NULL,
	status      TEXT NOT NULL CHECK (status IN ('pending', 'claimed', 'done')),
	owner       TEXT NOT NULL DEFAULT '',
	lease_until {{ts}},
	claims      INTEGER NOT NULL DEFAULT 0,
	done_at     {{ts}},
	PRIMARY KEY (run_id, chunk)
);
CREATE INDEX run_chunks_claimable ON run_chunks (run_id, status, lease_until);
