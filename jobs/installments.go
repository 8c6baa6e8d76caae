package jobs

import (
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
)

// InstallmentPolicy says what autopay does when the customer has also
// scheduled a one-time payment for the same installment.
type InstallmentPolicy string

// The installment policies (DRAFTER_INSTALLMENT_POLICY, checked by config).
const (
	// OneTimeCovers: the one-time payment pays the installment first; the
	// autopay debit is reduced by it, to nothing when it pays in full.
	OneTimeCovers InstallmentPolicy = "one-time-covers"
	// DebitBoth: autopay debits the installment whatever else the customer
	// pays.
	DebitBoth InstallmentPolicy = "debit-both"
)

// AutopayDebit is what autopay debits for an installment of amount
// installment when the customer's one-time payments for the same
// installment come to oneTime, under policy. Zero means no debit.
func AutopayDebit(policy InstallmentPolicy, installment, oneTime money.Cents) money.Cents {
	if policy == DebitBoth || oneTime <= 0 {
		return installment
	}
	return max(0, installment-oneTime)
}

// InstallmentWindow is the span of debit dates whose one-time payments
// count toward the installment due on due: after the contract's previous
// due date, through due. The first installment's window opens on the day
// after opened.
func InstallmentWindow(firstDue civil.Date, dueDay int, due, opened civil.Date) (after, through civil.Date) {
	if !due.After(firstDue) {
		return opened, due
	}
	prev := civil.Date{Year: due.Year, Month: due.Month, Day: 1}.AddMonths(-1).OnDay(dueDay)
	return prev, due
}

// OneTimeForInstallment sums the one-time payments that count toward the
// installment due on due (those debited in its InstallmentWindow) and names
// them.
func OneTimeForInstallment(firstDue civil.Date, dueDay int, due, opened civil.Date, ps []ledger.OneTimePayment) (money.Cents, string) {
	after, through := InstallmentWindow(firstDue, dueDay, due, opened)
	var sum money.Cents
	var ids []string
	for _, p := range ps {
		if p.DebitOn.After(after) && !p.DebitOn.After(through) {
			sum += p.Amount
			ids = append(ids, p.ID)
		}
	}
	return sum, strings.Join(ids, ", ")
}
