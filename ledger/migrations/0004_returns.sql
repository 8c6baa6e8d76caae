-- Returns and notifications of change.

-- individual_id is the Individual Identification Number to send for the
-- bank account's entries when a NOC (C09) corrected it; '' means the
-- default (the loan or lease account id).
ALTER TABLE bank_accounts ADD COLUMN individual_id TEXT NOT NULL DEFAULT '';

-- Re-presentments are found through their original payment.
CREATE INDEX payments_original ON payments (original_payment_id) WHERE original_payment_id IS NOT NULL;

-- A return cancels the payments still scheduled on an invalidated bank
-- account.
CREATE INDEX payments_scheduled_bank ON payments (bank_account_id) WHERE state = 'scheduled';

-- Return rates count debits originated and returns received per day.
CREATE INDEX payments_originated ON payments (originated_on) WHERE originated_on IS NOT NULL;

CREATE INDEX exceptions_open ON exceptions (created_at) WHERE resolved_at IS NULL;
