-- transmissions: each NACHA file sent to the bank, once. A row is written
-- 'renaming' after the file is uploaded under its temporary name and
-- verified, before the rename that hands it to the bank, and becomes
-- 'sent' once the final name is seen; a rerun that finds a 'renaming' row
-- finishes it instead of uploading again.
CREATE TABLE transmissions (
	ach_file_id BIGINT PRIMARY KEY REFERENCES ach_files (id),
	remote_name TEXT NOT NULL,
	bytes       BIGINT NOT NULL,
	sha256      TEXT NOT NULL,
	state       TEXT NOT NULL CHECK (state IN ('renaming', 'sent')),
	-- how: uploaded (this run renamed it), found (a rerun found the final
	-- name with the right size), taken (the final name was gone after the
	-- rename: the bank picked it up).
	how         TEXT NOT NULL DEFAULT '',
	run_id      BIGINT NOT NULL,
	started_at  {{ts}} NOT NULL,
	sent_at     {{ts}}
);
