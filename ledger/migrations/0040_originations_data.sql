-- Every payment originated before migration 0039 (originated, settled,
-- returned, re-presentments alike) gets its originations record from the
-- snapshot on its row, and its file counts as settled. The sealed number
-- is moved as it is: it is bound to the payment, which the record's key
-- names (see 0039). A payment whose file was released has no file and gets
-- none. The migration is one transaction: killed midway it leaves nothing,
-- and the next start runs it again whole. Rows already recorded (a ledger
-- a newer build wrote to) are left as they are.
INSERT INTO originations (payment_id, ach_file_id, business_date, effective_on, trace_number, rdfi_routing, number_enc, transaction_code,
	individual_name, individual_id)
SELECT p.id, p.ach_file_id, f.business_date, COALESCE(p.effective_on, f.effective_on), p.trace_number, p.rdfi_routing, p.number_enc,
	p.transaction_code, p.individual_name, p.individual_id
FROM payments p JOIN ach_files f ON f.id = p.ach_file_id
WHERE p.trace_number IS NOT NULL AND p.number_enc IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM originations o WHERE o.payment_id = p.id);
UPDATE ach_files SET settled_at = created_at WHERE settled_at IS NULL;
