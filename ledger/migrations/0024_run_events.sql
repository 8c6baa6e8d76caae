-- run_events: the timeline of a run's attempts, one row per event: started
-- (how and by whom, rerun of which run and why), crash detected (when, by
-- whom), resumed (by whom, from which status), finished (status, counts).
CREATE TABLE run_events (
	id     {{serial}},
	run_id BIGINT NOT NULL REFERENCES runs (id),
	at     {{ts}} NOT NULL,
	event  TEXT NOT NULL,
	actor  TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX run_events_run ON run_events (run_id, id);
