-- replaced_details is "<number MAC>|<routing>" of the bank details a NOC
-- corrected ('' when none did). A reimport that still carries those details
-- keeps the correction instead of putting the wrong details back.
ALTER TABLE bank_accounts ADD COLUMN replaced_details TEXT NOT NULL DEFAULT '';
