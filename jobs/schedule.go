package jobs

import (
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// banking is the part of the calendar the scheduling rules need.
type banking interface {
	PreviousOrSameBankingDay(d civil.Date) civil.Date
}

// Installment is one due date of a contract and the date its autopay debit
// is drafted (meant to settle).
type Installment struct {
	DueOn   civil.Date
	DraftOn civil.Date
}

// DraftDate is when an autopay debit for a due date settles: daysBefore days
// before the due date, moved back to the banking day before when that is a
// weekend or holiday (a customer is never drafted late because of one).
func DraftDate(due civil.Date, daysBefore int, cal banking) civil.Date {
	return cal.PreviousOrSameBankingDay(due.AddDays(-daysBefore))
}

// DueDates returns the contract's due dates from the first due date up to and
// including the maturity date that fall in [from, through]. A due day of 29
// to 31 falls on the last day of shorter months.
func DueDates(firstDue, maturity civil.Date, dueDay int, from, through civil.Date) []civil.Date {
	var out []civil.Date
	m := civil.Date{Year: from.Year, Month: from.Month, Day: 1}
	for ; !m.After(through); m = m.AddMonths(1) {
		due := m.OnDay(dueDay)
		if due.Before(firstDue) || due.After(maturity) || due.Before(from) || due.After(through) {
			continue
		}
		out = append(out, due)
	}
	return out
}

// AutopayInstallments returns the installments of an enrollment whose draft
// date falls in (after, through]. Draft dates can be up to daysBefore plus a
// holiday weekend ahead of the due date, so due dates are searched a little
// past through.
func AutopayInstallments(firstDue, maturity, startsOn civil.Date, dueDay, daysBefore int, after, through civil.Date, cal banking) []Installment {
	var out []Installment
	for _, due := range DueDates(firstDue, maturity, dueDay, after.AddDays(-5), through.AddDays(daysBefore+7)) {
		if due.Before(startsOn) {
			continue
		}
		draft := DraftDate(due, daysBefore, cal)
		if draft.After(after) && !draft.After(through) {
			out = append(out, Installment{DueOn: due, DraftOn: draft})
		}
	}
	return out
}

// AutopayAmount is what an enrollment debits: its fixed amount, or the
// monthly payment plus tax.
func AutopayAmount(fixed, payment, tax money.Cents) money.Cents {
	if fixed > 0 {
		return fixed
	}
	return payment + tax
}
