-- The account and kind of each return's payment, for the returns recorded
-- before migration 0042 (one look-up per return, not per payment; a
-- return of no payment of drafter's has neither). Run again, it finds
-- nothing left to fill.
UPDATE returns SET
	account_id = (SELECT p.account_id FROM payments p WHERE p.id = returns.payment_id),
	payment_kind = (SELECT p.kind FROM payments p WHERE p.id = returns.payment_id)
WHERE payment_id IS NOT NULL AND account_id IS NULL;
