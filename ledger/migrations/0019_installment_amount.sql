-- The installment an autopay payment was made for, kept when the installment
-- policy reduces its amount by a one-time payment for the same installment,
-- so that applying the policy again computes from it (0: amount is the
-- installment).
ALTER TABLE payments ADD COLUMN installment_amount BIGINT NOT NULL DEFAULT 0;
