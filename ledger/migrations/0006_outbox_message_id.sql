-- outbox.message_id is the Message-ID a row is sent with: set when the row
-- is first claimed and kept, so a resend after a crash carries the same
-- Message-ID and a receiving system can drop the duplicate.
ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
