-- Origination reads a day's due payments in file order a page at a time
-- (DueAfter), along this index: the first file is allocated as soon as its
-- payments are read, instead of after the whole day is read and sorted
-- (2.5-2.8 s at a million payments, before any file could start), and each
-- page is one walk of the index instead of a lookup by id a payment.
-- Migration 0018 dropped an index like it because settling an originated
-- payment (a random index delete each) was on the path to the bank; it is
-- not any more: the deliver job settles the payment rows after the files
-- are stored. Partial: only scheduled payments, so it holds about a day's.
{{sqlite}}CREATE INDEX payments_file_order ON payments (sec, description, account_id, source, source_key, draft_on, kind, bank_account_id, amount) WHERE state = 'scheduled';
{{postgres}}CREATE INDEX payments_file_order ON payments (sec, description, account_id, source, source_key) WHERE state = 'scheduled';
