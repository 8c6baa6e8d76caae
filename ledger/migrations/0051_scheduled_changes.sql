-- How many transactions have taken scheduled payments out of scheduled (or
-- changed what they debit): each such writer bumps n as it takes the
-- origination lock (lockScheduled), in its own transaction. Origination
-- reads n with each page of due payments and again inside a file's
-- allocation, under the lock; when n has not moved, none of the file's
-- payments can have left scheduled since they were read, and the
-- allocation skips counting them (0.4-1 s a file of 100,000 on
-- PostgreSQL). One row, starting at 1 (0 means "not read").
CREATE TABLE scheduled_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL);
INSERT INTO scheduled_changes (id, n) VALUES (1, 1);
