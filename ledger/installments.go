package ledger

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// AutopayInstallment is a scheduled autopay payment about to be originated
// whose account also has one-time payments debited on or before its due
// date: what applying the installment policy to it needs.
type AutopayInstallment struct {
	PaymentID int64
	AccountID string
	DueOn     civil.Date
	// Installment is what the payment was made for; Amount what it debits now.
	Installment money.Cents
	Amount      money.Cents
	FirstDueOn  civil.Date
	DueDay      int
	OpenedOn    civil.Date
	// OneTime are the account's one-time payments debited on or before
	// DueOn that are neither cancelled nor returned.
	OneTime []OneTimePayment
}

// oneTimeCounts is SQL for a one-time payment (sp, a scheduled_payments
// row) that counts toward an installment: not cancelled, and not returned
// unpaid, unless it is being presented again (R01/R09): a re-presentment
// still in flight or settled debits it after all, and autopay must not
// debit the installment beside it. Origination and the documents that say
// what autopay will debit read one-time payments through it alike.
const oneTimeCounts = `NOT EXISTS (SELECT 1 FROM payments op WHERE op.source = 'scheduled' AND op.source_key = sp.id
	AND (op.state = 'cancelled' OR (op.state = 'returned' AND NOT EXISTS (SELECT 1 FROM payments rp
		WHERE rp.source = 'represent' AND rp.original_payment_id = op.id AND rp.state NOT IN ('cancelled', 'returned')))))`

// OneTimePayment is a payment the customer scheduled once (portal, phone).
type OneTimePayment struct {
	ID      string
	Amount  money.Cents
	DebitOn civil.Date
}

// autopayInstallmentsSQL reads each scheduled autopay payment drafted by $1
// with the one-time payments of its account debited by its due date: the
// one-time payments by account (migration 0049), not every one-time
// payment ever made up to that date for each autopay payment
// (TestNightlyQueriesUseIndexes).
const autopayInstallmentsSQL = `SELECT p.id, p.account_id, p.due_on, CASE WHEN p.installment_amount = 0 THEN p.amount ELSE p.installment_amount END, p.amount,
		a.first_due_on, a.due_day, a.opened_on, sp.id, sp.amount, sp.debit_on
	FROM payments p
	JOIN accounts a ON a.id = p.account_id
	JOIN scheduled_payments sp ON sp.account_id = p.account_id AND sp.debit_on <= p.due_on
	WHERE p.source = 'autopay' AND p.state = 'scheduled' AND p.kind = 'debit' AND p.draft_on <= $1 AND ` + oneTimeCounts + `
	ORDER BY p.id, sp.debit_on, sp.id`

// AutopayInstallments returns the scheduled autopay payments drafted on or
// before through whose accounts have one-time payments debited on or before
// their due dates, in payment id order.
func (s *Store) AutopayInstallments(ctx context.Context, through civil.Date) ([]AutopayInstallment, error) {
	type row struct {
		AutopayInstallment
		one OneTimePayment
	}
	rows, err := queryAll(ctx, s.q, func(r rowScanner) (row, error) {
		var x row
		return x, r.Scan(&x.PaymentID, &x.AccountID, &x.DueOn, &x.Installment, &x.Amount, &x.FirstDueOn, &x.DueDay, &x.OpenedOn,
			&x.one.ID, &x.one.Amount, &x.one.DebitOn)
	}, autopayInstallmentsSQL, through)
	if err != nil {
		return nil, fmt.Errorf("select autopay installments with one-time payments: %w", err)
	}
	var out []AutopayInstallment
	for _, x := range rows {
		if n := len(out); n == 0 || out[n-1].PaymentID != x.PaymentID {
			out = append(out, x.AutopayInstallment)
		}
		last := &out[len(out)-1]
		last.OneTime = append(last.OneTime, x.one)
	}
	return out, nil
}

// SetAutopayAmount sets what a scheduled autopay payment debits, keeping
// the installment it was made for; an amount of zero cancels it with reason
// and queues the email that tells the customer autopay will not debit this
// installment, in one transaction. A payment no longer scheduled is left as
// it is (false).
func (s *Store) SetAutopayAmount(ctx context.Context, paymentID int64, installment, amount money.Cents, reason string) (bool, error) {
	changed := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockScheduled(ctx, tx); err != nil {
			return err
		}
		q := `UPDATE payments SET installment_amount = $2, amount = $3 WHERE id = $1 AND state = 'scheduled' AND ` + notOriginated("payments.id")
		args := []any{paymentID, installment, amount}
		if amount == 0 {
			q = `UPDATE payments SET installment_amount = $2, state = 'cancelled', state_reason = $3 WHERE id = $1 AND state = 'scheduled' AND ` +
				notOriginated("payments.id")
			args = []any{paymentID, installment, reason}
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		changed = true
		if amount != 0 {
			return nil
		}
		t := now()
		_, err = tx.ExecContext(ctx, `INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
			SELECT 'payment:' || CAST(p.id AS TEXT) || ':covered', c.email, 'autopay_covered', p.account_id,
				'{"payment_id":' || CAST(p.id AS TEXT) || '}', 'queued', $2, $2
			FROM payments p JOIN accounts a ON a.id = p.account_id JOIN customers c ON c.id = a.customer_id
			WHERE p.id = $1
			ON CONFLICT (topic, recipient) DO NOTHING`, paymentID, t)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("set autopay payment %d amount: %w", paymentID, err)
	}
	return changed, nil
}
