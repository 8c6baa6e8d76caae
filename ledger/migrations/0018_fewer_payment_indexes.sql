-- Each index on payments whose rows change when a payment is originated
-- costs a write per payment originated. Two go:
--
-- The file order: origination now reads a day's payment ids in file order
-- once (sorting them) and whole rows in id order. The index made every
-- origination a delete in random order.
DROP INDEX payments_file_order;
-- The scheduled payments of a bank account: the few queries that want them
-- (cancelling a returned bank account's payments, finding the bank
-- accounts that need a prenote) go through the account's payments.
DROP INDEX payments_scheduled_bank;
