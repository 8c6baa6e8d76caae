-- What a worker did with its chunk, written in the same statement that marks
-- the chunk done: the run's counts, a job-specific result (JSON) and the
-- worker's time, so whichever process completes the last chunk can sum a run
-- that several processes worked.
ALTER TABLE run_chunks ADD COLUMN items_selected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_chunks ADD COLUMN items_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_chunks ADD COLUMN items_skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_chunks ADD COLUMN items_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_chunks ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE run_chunks ADD COLUMN work_ms BIGINT NOT NULL DEFAULT 0;
