-- A file allocated but never stored can be released by an operator when it
-- cannot be built from what its payments recorded: its payments go back to
-- scheduled, and the file keeps its modifier and trace sequences (never
-- used again that day) with who released it and why.
ALTER TABLE ach_files ADD COLUMN released_at {{ts}};
ALTER TABLE ach_files ADD COLUMN released_reason TEXT NOT NULL DEFAULT '';
