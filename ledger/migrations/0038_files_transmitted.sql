-- ach_files.status 'transmitted' was in the schema from the start, but a
-- file confirmed sent to the bank (transmissions.state 'sent') stayed
-- 'stored', so drafter_ach_files{status="stored"} counted files the bank
-- already had. MarkTransmitted now sets it; this sets it for the files
-- sent before.
UPDATE ach_files SET status = 'transmitted'
WHERE status = 'stored' AND id IN (SELECT ach_file_id FROM transmissions WHERE state = 'sent');
