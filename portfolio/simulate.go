package portfolio

import (
	"slices"
	"strconv"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// historyDays is how far back an extract's balance history and its listed
// transactions reach: three statement cycles.
const historyDays = 100

// accountFlags are the random turns of an account's history, drawn once
// whatever the extract date.
type accountFlags struct {
	delinquent bool // the last installment due by the anchor went unpaid
	returned   bool // an earlier payment was returned unpaid, with a fee
}

func (g *generator) flags(a *Account) accountFlags {
	f := accountFlags{delinquent: g.pct(pctDelinquent), returned: g.pct(pctReturned)}
	switch {
	case a.Kind == KindLoan && g.pct(2):
		a.Status = "paid_off"
	case a.Kind == KindLease && g.pct(1):
		a.Status = "closed"
	}
	return f
}

// Order of a day's events.
const (
	evMoney    = iota // payments, returns, fees
	evLateFee         // a late fee when an installment is still unpaid after its grace days
	evInterest        // loans: interest accrued since the last cycle date is posted
	evPoint           // the end of a day the history records
	evDue             // an installment falls due (unpaid from the next day on)
)

type simEvent struct {
	on     civil.Date
	order  int
	kind   string
	amount money.Cents
	id     string
	desc   string
	listed bool // the servicing system's own posting, listed in the extract
}

// simulate is the servicing system's books of the account from the day it
// opened to the end of AsOf: installments fall due on the due dates;
// customers pay them (by autopay before drafter took over, or by check),
// drafter's debits and returns arrive as Posted reports them, and late
// fees follow unpaid installments after the grace days. Loans accrue
// simple interest daily on the principal (actual/365), posted on each
// statement cycle date; payments go to fees, then posted interest, then
// principal. It sets the balance snapshot, the balance history of the last
// cycles and the transactions the servicing system posted in them.
func (g *generator) simulate(a *Account, f accountFlags) {
	c := &a.Contract
	asOf, anchor, from := g.opt.AsOf, g.opt.anchor(), g.opt.drafterFrom()
	b := &a.Balance
	b.AsOf = asOf
	inst := c.MonthlyPayment + c.MonthlyTax
	if a.Status != "active" {
		// Paid off or closed: nothing owed, nothing to state.
		b.PaymentsMade = c.TermMonths
		if a.Kind == KindLease {
			b.Principal = 0
		}
		return
	}
	var evs []simEvent
	add := func(e simEvent) {
		if !e.on.After(asOf) && !e.on.Before(c.OpenedOn) {
			evs = append(evs, e)
		}
	}
	ap := a.Autopay
	drafterPays := ap != nil && ap.Status == "active"
	// The last installment due by the anchor, and the one a return hit.
	lastK := -1
	for k := 0; k < c.TermMonths && !dueDate(c, k).After(anchor); k++ {
		lastK = k
	}
	retK := max(lastK-1, 0)
	scheduledFor := func(k int) bool {
		due := dueDate(c, k)
		prev := c.OpenedOn
		if k > 0 {
			prev = dueDate(c, k-1)
		}
		for _, sp := range a.ScheduledPayments {
			if sp.DebitOn.After(prev) && !sp.DebitOn.After(due) {
				return true
			}
		}
		return false
	}
	for k := 0; k < c.TermMonths; k++ {
		due := dueDate(c, k)
		if due.After(asOf) {
			break
		}
		ks := strconv.Itoa(k + 1)
		add(simEvent{on: due, order: evDue, kind: "due", amount: inst})
		add(simEvent{on: due.AddDays(c.GraceDays + 1), order: evLateFee, kind: "late_fee", amount: c.LateFee, id: a.ID + "-L" + ks, desc: "Late fee", listed: true})
		byAutopay := ap != nil && !due.Before(ap.StartsOn)
		payOn, amount, desc := due, inst, "Payment, thank you"
		if byAutopay {
			payOn, desc = due.AddDays(-ap.DaysBeforeDue), "Autopay payment"
			if ap.Amount > 0 {
				amount = ap.Amount
			}
		}
		switch {
		case !payOn.Before(from) && byAutopay && drafterPays:
			continue // drafter debits it
		case !payOn.Before(from) && scheduledFor(k):
			continue // the customer's one-time payment through drafter pays it
		case f.delinquent && k == lastK && payOn.Before(from):
			continue
		}
		add(simEvent{on: payOn, kind: "payment", amount: amount, id: a.ID + "-P" + ks, desc: desc, listed: true})
		if f.returned && k == retK && due.AddDays(5).Before(from) && due.AddDays(5).Before(anchor) {
			add(simEvent{on: due.AddDays(2), kind: "returned_payment", amount: amount, id: a.ID + "-R" + ks, desc: "Returned payment (R01 insufficient funds)", listed: true})
			if c.ReturnedPaymentFee > 0 {
				add(simEvent{on: due.AddDays(2), kind: "returned_payment_fee", amount: c.ReturnedPaymentFee, id: a.ID + "-RF" + ks, desc: "Returned payment fee", listed: true})
			}
			add(simEvent{on: due.AddDays(5), kind: "payment", amount: amount, id: a.ID + "-W" + ks, desc: "Payment (web), thank you", listed: true})
		}
	}
	for _, t := range g.opt.Posted[a.ID] {
		add(simEvent{on: t.PostedOn, kind: t.Kind, amount: t.Amount})
	}
	historyFrom := asOf.AddDays(-historyDays)
	for m := civil.New(c.OpenedOn.Year, c.OpenedOn.Month, 1); !m.After(asOf); m = m.AddMonths(1) {
		ce := m.OnDay(c.CycleDay)
		if !ce.After(c.OpenedOn) || ce.After(asOf) {
			continue
		}
		if a.Kind == KindLoan {
			add(simEvent{on: ce, order: evInterest, kind: "interest", id: a.ID + "-I" + ce.String(), desc: "Interest", listed: true})
		}
		if ce.After(historyFrom) && ce != asOf {
			add(simEvent{on: ce, order: evPoint})
		}
	}
	add(simEvent{on: asOf, order: evPoint})
	if c.OpenedOn.After(historyFrom) && c.OpenedOn.Before(asOf) {
		add(simEvent{on: c.OpenedOn, order: evPoint}) // the opening balance
	}
	slices.SortStableFunc(evs, func(x, y simEvent) int {
		if x.on != y.on {
			return x.on.Compare(y.on)
		}
		return x.order - y.order
	})

	// The books. Interest accrues in units of cents x basis points x days,
	// posted to the cent (half up) with the rest carried.
	const perCent = 10000 * 365
	var principal, interest, fees money.Cents
	var units, dueSum, toInstallments int64
	if a.Kind == KindLoan {
		principal = c.AmountFinanced
	} else {
		principal = money.Cents(c.TermMonths) * inst
	}
	accrued := c.OpenedOn // interest is accrued through the end of this day
	accrue := func(through civil.Date) {
		if a.Kind == KindLoan && through.After(accrued) {
			if principal > 0 {
				units += int64(principal) * int64(c.APRBasisPoints) * int64(through.DaysSince(accrued))
			}
			accrued = through
		}
	}
	arrears := func() money.Cents { return money.Cents(max(0, dueSum-toInstallments)) }
	for _, e := range evs {
		accrue(e.on.AddDays(-1))
		posted := true
		switch e.kind {
		case "payment":
			toFees := min(e.amount, max(0, fees))
			fees -= toFees
			left := e.amount - toFees
			n := min(left, max(0, interest))
			interest -= n
			principal -= left - n
			toInstallments += int64(left) // what did not go to fees
		case "returned_payment":
			principal += e.amount
			toInstallments -= int64(e.amount)
		case "returned_payment_fee":
			fees += e.amount
		case "late_fee":
			if e.order == evLateFee && (arrears() == 0 || e.amount == 0) {
				posted = false
				break
			}
			fees += e.amount
		case "interest":
			accrue(e.on)
			e.amount = money.Cents((units + perCent/2) / perCent)
			units -= int64(e.amount) * perCent
			interest += e.amount
			posted = e.amount > 0
		case "due":
			dueSum += int64(e.amount)
		}
		if e.order == evPoint {
			accrue(e.on)
			b.History = append(b.History, BalancePoint{On: e.on, Balance: principal + interest + fees, Principal: principal,
				FeesDue: max(0, fees), PastDue: arrears()})
		}
		if posted && e.listed && e.on.After(historyFrom) {
			a.Transactions = append(a.Transactions, Transaction{ID: e.id, PostedOn: e.on, Kind: e.kind, Amount: e.amount, Description: e.desc})
		}
	}
	accrue(asOf)
	b.FeesDue, b.PastDue = max(0, fees), arrears()
	made := 0
	for k := 0; k < c.TermMonths && !dueDate(c, k).After(asOf); k++ {
		made++
	}
	if inst > 0 {
		made -= int((b.PastDue + inst - 1) / inst)
	}
	b.PaymentsMade = max(0, made)
	if a.Kind == KindLoan {
		b.Principal = max(0, principal)
		b.AccruedInterest = max(0, interest+money.Cents((units+perCent/2)/perCent))
	} else {
		b.Principal = money.Cents(c.TermMonths-b.PaymentsMade) * c.MonthlyPayment
	}
}
