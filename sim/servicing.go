package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
)

// change is one of the servicing system's own changes to an account: it
// applies to every extract from its date on.
type change struct {
	on     civil.Date
	kind   string // bank, enroll, onetime, payoff
	n      int    // the change's number on the account (ids)
	amount money.Cents
	number string     // bank: the new account number
	debit  civil.Date // onetime: the debit date
}

// servicing is the servicing system of record: the generated portfolio,
// the customers' changes the simulation drew for it night by night, and
// its nightly extract, imported through drafter's real import.
type servicing struct {
	base     portfolio.GenerateOptions
	initial  int                           // accounts on the first night
	accounts map[string]*portfolio.Account // as drawn, before any change
	ids      []string                      // in extract order
	changes  map[string][]change
	opened   map[string]civil.Date // the night an account entered the extract
	added    int                   // accounts added after the first night
}

func newServicing(accounts int, seed int64, first civil.Date, extra int) *servicing {
	s := &servicing{base: portfolio.GenerateOptions{Accounts: accounts + extra, Seed: seed, AsOf: first, Anchor: first, DrafterFrom: first.AddDays(-4)},
		initial: accounts, accounts: map[string]*portfolio.Account{}, changes: map[string][]change{}, opened: map[string]civil.Date{}}
	for a := range portfolio.Generated(s.base) {
		a := a
		s.accounts[a.ID] = &a
		s.ids = append(s.ids, a.ID)
	}
	return s
}

// inExtract reports whether the account is one the servicing system has
// by night d.
func (s *servicing) inExtract(id string) bool {
	_, ok := s.opened[id]
	return ok
}

// amend applies the account's changes up to asOf.
func (s *servicing) amend(a *portfolio.Account, asOf civil.Date) {
	for _, c := range s.changes[a.ID] {
		if c.on.After(asOf) {
			break
		}
		switch c.kind {
		case "bank":
			if len(a.BankAccounts) == 0 {
				continue
			}
			ba := a.BankAccounts[0]
			ba.ID = a.ID + "-B" + strconv.Itoa(10+c.n)
			ba.AccountNumber = c.number
			ba.Prenote = "required"
			ba.Status = "active"
			a.BankAccounts = append(a.BankAccounts, ba)
			if a.Autopay != nil {
				a.Autopay.BankAccountID = ba.ID
			}
		case "enroll":
			ba := activeBank(a)
			if ba == "" || a.Autopay != nil {
				continue
			}
			ap := &portfolio.Autopay{ID: a.ID + "-AP", BankAccountID: ba, AuthorizedOn: c.on, Status: "active"}
			ap.StartsOn = firstDueAfter(&a.Contract, c.on.AddDays(10))
			if ap.StartsOn.Before(c.on.AddDays(10)) {
				continue // no installment left to enroll
			}
			a.Autopay = ap
		case "onetime":
			ba := activeBank(a)
			if ba == "" {
				continue
			}
			a.ScheduledPayments = append(a.ScheduledPayments, portfolio.ScheduledPayment{ID: a.ID + "-S" + strconv.Itoa(c.n),
				BankAccountID: ba, Amount: c.amount, DebitOn: c.debit, Channel: "web", AuthorizedAt: c.on.String() + "T12:00:00Z"})
		case "payoff":
			a.Status = "paid_off"
			if a.Autopay != nil {
				a.Autopay.Status = "stopped"
			}
		}
	}
}

func activeBank(a *portfolio.Account) string {
	for i := len(a.BankAccounts) - 1; i >= 0; i-- {
		if a.BankAccounts[i].Status == "active" {
			if a.Autopay != nil && a.Autopay.BankAccountID != a.BankAccounts[i].ID && a.Autopay.Status == "active" {
				continue // a one-time payment from the autopay account, as customers do
			}
			return a.BankAccounts[i].ID
		}
	}
	return ""
}

// firstDueAfter is the contract's first due date on or after d.
func firstDueAfter(c *portfolio.Contract, d civil.Date) civil.Date {
	for k := 0; k < c.TermMonths; k++ {
		due := c.FirstDueDate.AddMonths(k).OnDay(c.DueDay)
		if !due.Before(d) {
			return due
		}
	}
	return c.MaturityDate
}

// dueDates lists the contract's due dates.
func dueDates(c *portfolio.Contract) []civil.Date {
	out := make([]civil.Date, 0, c.TermMonths)
	for k := 0; k < c.TermMonths; k++ {
		out = append(out, c.FirstDueDate.AddMonths(k).OnDay(c.DueDay))
	}
	return out
}

// current is the account as the servicing system has it on d.
func (s *servicing) current(id string, d civil.Date) portfolio.Account {
	a := *s.accounts[id]
	a.BankAccounts = append([]portfolio.BankAccount(nil), a.BankAccounts...)
	a.ScheduledPayments = append([]portfolio.ScheduledPayment(nil), a.ScheduledPayments...)
	if a.Autopay != nil {
		ap := *a.Autopay
		a.Autopay = &ap
	}
	s.amend(&a, d)
	return a
}

// customers draws the night's changes: new accounts, bank account changes,
// new enrollments, one-time payments and payoffs. calendar gives autopay's
// draft dates: a customer schedules a one-time payment for an installment
// only while its autopay debit is still days away, as a portal allows.
func (s *servicing) customers(r *rand.Rand, d civil.Date, first bool, draft func(due civil.Date, before int) civil.Date) (touched map[string]bool) {
	touched = map[string]bool{}
	if first {
		for _, id := range s.ids[:s.initial] {
			s.opened[id] = d
		}
		return touched
	}
	// A few new accounts a night.
	for n := r.IntN(3); n > 0 && s.initial+s.added < len(s.ids); n-- {
		id := s.ids[s.initial+s.added]
		s.added++
		s.opened[id] = d
		touched[id] = true
	}
	events := max(1, s.initial/200)
	for range events {
		id := s.ids[r.IntN(s.initial)]
		a := s.current(id, d)
		if a.Status != "active" || touched[id] {
			continue
		}
		n := len(s.changes[id]) + 1
		c := change{on: d, n: n}
		switch x := r.IntN(100); {
		case x < 25:
			if len(a.BankAccounts) == 0 {
				continue
			}
			c.kind = "bank"
			b := make([]byte, 10)
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			c.number = string(b)
		case x < 45:
			if a.Autopay != nil || a.Contract.MaturityDate.Before(d.AddDays(45)) {
				continue
			}
			c.kind = "enroll"
		case x < 95:
			c.kind = "onetime"
			inst := a.Contract.MonthlyPayment + a.Contract.MonthlyTax
			c.amount = inst
			if r.IntN(3) == 0 {
				c.amount = money.Cents(r.IntN(int(inst))/100+1) * 100
			}
			c.debit = d.AddDays(2 + r.IntN(6))
			if ap := a.Autopay; ap != nil && ap.Status == "active" {
				// Only for an installment whose autopay debit is days away.
				ok := true
				for _, due := range dueDates(&a.Contract) {
					dr := draft(due, ap.DaysBeforeDue)
					if !due.Before(c.debit) && dr.Before(d.AddDays(5)) && !dr.Before(d) {
						ok = false
					}
					if due.After(c.debit.AddDays(40)) {
						break
					}
				}
				if !ok {
					continue
				}
			}
		default:
			if a.Kind != portfolio.KindLoan || len(a.ScheduledPayments) > 0 {
				continue
			}
			c.kind = "payoff"
		}
		s.changes[id] = append(s.changes[id], c)
		touched[id] = true
	}
	return touched
}

// importNight imports the servicing system's extract of the end of d: the
// whole book on the first night, then the accounts whose statement cycle
// ends that night and those that changed.
func (s *servicing) importNight(ctx context.Context, st *ledger.Store, d civil.Date, first bool, touched map[string]bool) (jobs.ImportReport, error) {
	posted, err := st.DrafterPostings(ctx, d)
	if err != nil {
		return jobs.ImportReport{}, err
	}
	opt := s.base
	opt.AsOf = d
	opt.Posted = posted
	opt.Amend = s.amend
	opt.Keep = func(a *portfolio.Account) bool {
		if !s.inExtract(a.ID) {
			return false
		}
		return first || touched[a.ID] || ledger.CycleEndsOn(a.Contract.CycleDay, d)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(portfolio.Generate(pw, opt)) }()
	rep, err := jobs.ImportFile(ctx, st, pr, fmt.Sprintf("servicing-%s.jsonl", d), jobs.ImportOptions{})
	pr.CloseWithError(errors.New("import stopped"))
	if err != nil {
		return rep, fmt.Errorf("import the extract of %s: %w %v", d, err, rep.Errors)
	}
	return rep, nil
}
