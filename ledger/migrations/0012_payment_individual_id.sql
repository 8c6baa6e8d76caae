-- The Individual Identification Number of an entry as originated: the
-- account id, or what a C09 notification of change asked for.
ALTER TABLE payments ADD COLUMN individual_id TEXT NOT NULL DEFAULT '';
