package portfolio

import (
	"slices"
	"strconv"
	"time"

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
	day    int // dayNumber(on)
	order  int
	kind   string
	amount money.Cents
	tag    string // the transaction id is the account id, "-", tag and k (or the date for interest)
	k      int
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
	asOf, anchor := g.opt.AsOf, g.opt.anchor()
	fromDay, anchorDay := dayNumber(g.opt.drafterFrom()), dayNumber(anchor)
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
	evs := g.evs[:0]
	asOfDay, openedDay := dayNumber(asOf), dayNumber(c.OpenedOn)
	add := func(e simEvent) {
		if e.day <= asOfDay && e.day >= openedDay {
			evs = append(evs, e)
		}
	}
	defer func() { g.evs = evs[:0] }()
	ap := a.Autopay
	drafterPays := ap != nil && ap.Status == "active"
	stopDay := 0 // autopay stopped on this day: drafter paid before it
	if g.opt.AutopayStopped != nil && ap != nil && !drafterPays {
		if on := g.opt.AutopayStopped(a); !on.IsZero() {
			stopDay = dayNumber(on)
		}
	}
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
		ks := k + 1
		dueDay := dayNumber(due)
		add(simEvent{day: dueDay, order: evDue, kind: "due", amount: inst})
		add(simEvent{day: dueDay + c.GraceDays + 1, order: evLateFee, kind: "late_fee", amount: c.LateFee, tag: "L", k: ks, desc: "Late fee", listed: true})
		byAutopay := ap != nil && !due.Before(ap.StartsOn)
		payOn, amount, desc := dueDay, inst, "Payment, thank you"
		if byAutopay {
			payOn, desc = dueDay-ap.DaysBeforeDue, "Autopay payment"
			if ap.Amount > 0 {
				amount = ap.Amount
			}
		}
		switch {
		case payOn >= fromDay && byAutopay && (drafterPays || payOn < stopDay):
			continue // drafter debits it
		case payOn >= fromDay && scheduledFor(k):
			continue // the customer's one-time payment through drafter pays it
		case f.delinquent && k == lastK && payOn < fromDay:
			continue
		}
		add(simEvent{day: payOn, kind: "payment", amount: amount, tag: "P", k: ks, desc: desc, listed: true})
		if f.returned && k == retK && dueDay+5 < fromDay && dueDay+5 < anchorDay {
			add(simEvent{day: dueDay + 2, kind: "returned_payment", amount: amount, tag: "R", k: ks, desc: "Returned payment (R01 insufficient funds)", listed: true})
			if c.ReturnedPaymentFee > 0 {
				add(simEvent{day: dueDay + 2, kind: "returned_payment_fee", amount: c.ReturnedPaymentFee, tag: "RF", k: ks, desc: "Returned payment fee", listed: true})
			}
			add(simEvent{day: dueDay + 5, kind: "payment", amount: amount, tag: "W", k: ks, desc: "Payment (web), thank you", listed: true})
		}
	}
	for _, t := range g.opt.Posted[a.ID] {
		add(simEvent{day: dayNumber(t.PostedOn), kind: t.Kind, amount: t.Amount})
	}
	if g.opt.Postings != nil {
		for i, p := range g.opt.Postings(a, asOf) {
			add(simEvent{day: dayNumber(p.On), kind: p.Kind, amount: p.Amount, tag: "X", k: i + 1, desc: p.Description, listed: p.Listed})
		}
	}
	historyFrom := asOfDay - historyDays
	for m := civil.New(c.OpenedOn.Year, c.OpenedOn.Month, 1); !m.After(asOf); m = m.AddMonths(1) {
		ce := dayNumber(m.OnDay(c.CycleDay))
		if ce <= openedDay || ce > asOfDay {
			continue
		}
		if a.Kind == KindLoan {
			add(simEvent{day: ce, order: evInterest, kind: "interest", tag: "I", desc: "Interest", listed: true})
		}
		if ce > historyFrom && ce != asOfDay {
			add(simEvent{day: ce, order: evPoint})
		}
	}
	add(simEvent{day: asOfDay, order: evPoint})
	if openedDay > historyFrom && openedDay < asOfDay {
		add(simEvent{day: openedDay, order: evPoint}) // the opening balance
	}
	// Events of a day keep the order they were added in.
	for i := range evs {
		evs[i].k = evs[i].k<<20 | i
	}
	slices.SortFunc(evs, func(x, y simEvent) int {
		if x.day != y.day {
			return x.day - y.day
		}
		if x.order != y.order {
			return x.order - y.order
		}
		return x.k&(1<<20-1) - y.k&(1<<20-1)
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
	accrued := openedDay // interest is accrued through the end of this day
	accrue := func(through int) {
		if a.Kind == KindLoan && through > accrued {
			if principal > 0 {
				units += int64(principal) * int64(c.APRBasisPoints) * int64(through-accrued)
			}
			accrued = through
		}
	}
	arrears := func() money.Cents { return money.Cents(max(0, dueSum-toInstallments)) }
	for _, e := range evs {
		e.k >>= 20
		accrue(e.day - 1)
		posted := true
		switch e.kind {
		case "payment":
			toFees := min(e.amount, max(0, fees))
			fees -= toFees
			left := e.amount - toFees
			n := min(left, max(0, interest))
			interest -= n
			principal -= left - n
			// A payment counts in full toward the installments, whatever
			// the books' order: a fee it paid never leaves an installment
			// short (no late fee on a late fee).
			toInstallments += int64(e.amount)
		case "returned_payment":
			principal += e.amount
			toInstallments -= int64(e.amount)
		case "returned_payment_fee":
			fees += e.amount
		case "adjustment":
			principal += e.amount
		case "late_fee":
			if e.order == evLateFee && (arrears() == 0 || e.amount == 0) {
				posted = false
				break
			}
			fees += e.amount
		case "interest":
			accrue(e.day)
			e.amount = money.Cents((units + perCent/2) / perCent)
			units -= int64(e.amount) * perCent
			interest += e.amount
			posted = e.amount > 0
		case "due":
			dueSum += int64(e.amount)
		}
		if e.order == evPoint {
			accrue(e.day)
			b.History = append(b.History, BalancePoint{On: dateOf(e.day), Balance: principal + interest + fees, Principal: principal,
				FeesDue: max(0, fees), PastDue: arrears()})
		}
		if posted && e.listed && e.day > historyFrom {
			on := dateOf(e.day)
			id := a.ID + "-" + e.tag + strconv.Itoa(e.k)
			if e.tag == "I" {
				id = a.ID + "-I" + on.String()
			}
			a.Transactions = append(a.Transactions, Transaction{ID: id, PostedOn: on, Kind: e.kind, Amount: e.amount, Description: e.desc})
		}
	}
	accrue(asOfDay)
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

// dayNumber is the number of days from 1970-01-01 to d, by integer
// arithmetic (H. Hinnant's days_from_civil): the simulation counts days
// for every event, and time.Date is slow at it.
func dayNumber(d civil.Date) int {
	y, m := d.Year, int(d.Month)
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d.Day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOf is the date dayNumber gives n for.
func dateOf(n int) civil.Date {
	z := n + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return civil.Date{Year: y, Month: time.Month(m), Day: d}
}
