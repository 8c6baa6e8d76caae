package jobs

import (
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
)

// AutopaySchedule is what decides an enrollment's debits besides the
// enrollment and the contract: the lead days of enrollments without their
// own (DRAFTER_DRAFT_LEAD_DAYS), the installment policy and the banking
// calendar.
type AutopaySchedule struct {
	LeadDays int
	Policy   InstallmentPolicy
	Calendar banking
}

// NextDebit is the next debit of an autopay enrollment.
type NextDebit struct {
	Installment
	// Amount is what will be debited: the enrollment's amount less what
	// the customer's one-time payments for the installment cover under the
	// policy. Zero: nothing will be debited for the installment.
	Amount money.Cents
	// Scheduled is the enrollment's amount before the policy (its fixed
	// amount, or the monthly payment plus tax); OneTime the one-time
	// payments scheduled for the installment.
	Scheduled money.Cents
	OneTime   money.Cents
}

// nextDebitHorizon is how far after the date NextAutopayDebit looks for a
// draft date: beyond any monthly schedule's next one.
const nextDebitHorizon = 70

// NextAutopayDebit is the first debit the enrollment e of an account opened
// on opened makes after asOf (its draft date is after asOf), as origination
// makes it: AutopayInstallments for the dates (lead days, banking-day
// moves), AutopayAmount for the amount, and AutopayDebit with the one-time
// payments whose debit date is in the installment's InstallmentWindow. ok is
// false when the enrollment has no installment left to debit.
//
// Documents and emails that say what autopay will debit take it from here;
// they never work out an amount or a date of their own.
func NextAutopayDebit(e ledger.AutopayEnrollment, opened civil.Date, oneTime []ledger.OneTimePayment, asOf civil.Date, s AutopaySchedule) (NextDebit, bool) {
	lead := e.DaysBeforeDue
	if lead == 0 {
		lead = s.LeadDays
	}
	ins := AutopayInstallments(e.FirstDueOn, e.MaturityOn, e.StartsOn, e.DueDay, lead, asOf, asOf.AddDays(nextDebitHorizon), s.Calendar)
	if len(ins) == 0 {
		return NextDebit{}, false
	}
	next := ins[0]
	for _, in := range ins[1:] {
		if in.DraftOn.Before(next.DraftOn) {
			next = in
		}
	}
	n := NextDebit{Installment: next, Scheduled: AutopayAmount(e.Amount, e.MonthlyPayment, e.MonthlyTax)}
	n.OneTime, _ = OneTimeForInstallment(e.FirstDueOn, e.DueDay, next.DueOn, opened, oneTime)
	policy := s.Policy
	if policy == "" {
		policy = OneTimeCovers
	}
	n.Amount = AutopayDebit(policy, n.Scheduled, n.OneTime)
	return n, true
}
