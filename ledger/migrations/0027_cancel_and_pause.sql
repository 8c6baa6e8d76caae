-- Cancel and pause. A run may end cancelled: an operator stopped it at a
-- safe point (a chunk or an item boundary); what it did stays done and
-- `drafter resume` finishes it. The runs table's status check gains
-- 'cancelled'. PostgreSQL replaces the check; SQLite cannot alter a check,
-- so it rebuilds the table, keeping its rows and ids (the foreign keys of
-- run_items, run_chunks and run_events name the table, and find it again).
{{postgres}} ALTER TABLE runs DROP CONSTRAINT runs_status_check;
{{postgres}} ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'cancelled'));
{{sqlite}} PRAGMA defer_foreign_keys = ON;
{{sqlite}} CREATE TABLE runs_copy AS SELECT * FROM runs;
{{sqlite}} CREATE TABLE runs_new (id INTEGER PRIMARY KEY AUTOINCREMENT, job TEXT NOT NULL, business_date TEXT NOT NULL, scope TEXT NOT NULL DEFAULT '', attempt INTEGER NOT NULL, dry_run INTEGER NOT NULL DEFAULT FALSE, status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial', 'cancelled')), trigger TEXT NOT NULL, triggered_by TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL DEFAULT '', params TEXT NOT NULL DEFAULT '{}', selected INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0, summary TEXT NOT NULL DEFAULT '{}', error TEXT NOT NULL DEFAULT '', owner TEXT NOT NULL DEFAULT '', started_at TIMESTAMP NOT NULL, heartbeat_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, UNIQUE (job, business_date, scope, attempt, dry_run));
{{sqlite}} DROP TABLE runs;
{{sqlite}} ALTER TABLE runs_new RENAME TO runs;
{{sqlite}} INSERT INTO runs SELECT * FROM runs_copy;
{{sqlite}} DROP TABLE runs_copy;

-- run_cancels: a cancel asked for a running run, by whom and why. The
-- run's workers, in any process, look for it at each chunk and item
-- boundary and stop there; the run then ends cancelled. Resuming the run
-- removes it.
CREATE TABLE run_cancels (
	run_id       BIGINT PRIMARY KEY REFERENCES runs (id),
	requested_at {{ts}} NOT NULL,
	requested_by TEXT NOT NULL,
	reason       TEXT NOT NULL
);

-- schedule_pauses: a job the schedule does not fire while its row exists
-- (who paused it, when and why). Every replica's scheduler reads it before
-- each fire; the audit table keeps each pause and resume.
CREATE TABLE schedule_pauses (
	job       TEXT PRIMARY KEY,
	paused_at {{ts}} NOT NULL,
	paused_by TEXT NOT NULL,
	reason    TEXT NOT NULL
);
