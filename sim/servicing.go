package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

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
	months int        // extend: installments added
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
	// reacted are the accounts whose customers acted on what drafter told
	// them (changes dated the next night), by that night.
	reacted map[civil.Date]map[string]bool
}

func newServicing(accounts int, seed int64, first civil.Date, extra int) *servicing {
	s := &servicing{base: portfolio.GenerateOptions{Accounts: accounts + extra, Seed: seed, AsOf: first, Anchor: first, DrafterFrom: first.AddDays(-4)},
		initial: accounts, accounts: map[string]*portfolio.Account{}, changes: map[string][]change{}, opened: map[string]civil.Date{},
		reacted: map[civil.Date]map[string]bool{}}
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
		case "extend":
			// The servicing system extends the lease by months more
			// installments: a later maturity, and the books say so with
			// an adjustment (postings).
			// The maturity is the new term's last due date (as Generate
			// draws it), never before an installment.
			a.Contract.TermMonths += c.months
			a.Contract.MaturityDate = a.Contract.FirstDueDate.AddMonths(a.Contract.TermMonths - 1).OnDay(a.Contract.DueDay)
		case "stop":
			// The customer stops autopay (after a returned debit).
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
	// The customers who acted last night on what they were told: their
	// changes are in tonight's extract.
	for id := range s.reacted[d] {
		touched[id] = true
	}
	delete(s.reacted, d)
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
		case x < 90:
			c.kind = "onetime"
			inst := a.Contract.MonthlyPayment + a.Contract.MonthlyTax
			c.amount = inst
			if r.IntN(3) == 0 {
				c.amount = money.Cents(r.IntN(int(inst))/100+1) * 100
			}
			c.debit = d.AddDays(2 + r.IntN(6))
			if !portalAllows(&a, d, c.debit, draft) {
				continue
			}
		default:
			if a.Kind == portfolio.KindLease {
				// A lease near its end extended by one to six months.
				left := a.Contract.MaturityDate.DaysSince(d)
				if left < 10 || left > 100 || s.extended(id) {
					continue
				}
				c.kind, c.months = "extend", 1+r.IntN(6)
				break
			}
			if len(a.ScheduledPayments) > 0 {
				continue
			}
			c.kind = "payoff"
		}
		s.changes[id] = append(s.changes[id], c)
		touched[id] = true
	}
	// Leases near their end extended: a few tries a night among the
	// book, so that a short history has some.
	for range max(3, s.initial/500) {
		id := s.ids[r.IntN(s.initial)]
		a := s.current(id, d)
		if a.Status != "active" || touched[id] || a.Kind != portfolio.KindLease || s.extended(id) {
			continue
		}
		if left := a.Contract.MaturityDate.DaysSince(d); left < 10 || left > 100 {
			continue
		}
		s.changes[id] = append(s.changes[id], change{on: d, n: len(s.changes[id]) + 1, kind: "extend", months: 1 + r.IntN(6)})
		touched[id] = true
	}
	return touched
}

// importNight imports the servicing system's extract of the end of d: the
// whole book on the first night, then the accounts whose statement cycle
// ends that night and those that changed.
func (s *servicing) importNight(ctx context.Context, st *ledger.Store, d civil.Date, first bool, touched map[string]bool) (jobs.ImportReport, error) {
	// What drafter reported, for the accounts of the extract only: the
	// whole ledger's postings grow with the history.
	var posted map[string][]portfolio.Transaction
	var err error
	if first {
		posted, err = st.DrafterPostings(ctx, d)
	} else {
		posted, err = drafterPostings(ctx, st, d, cycleDays(d), touched)
	}
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
	opt.Postings = s.postings
	opt.AutopayStopped = s.autopayStopped
	return s.importExtract(ctx, st, d, opt)
}

// importAccounts imports the servicing system's extract of d for the
// given accounts only: a corrected extract an operator asked for.
func (s *servicing) importAccounts(ctx context.Context, st *ledger.Store, d civil.Date, ids map[string]bool) (jobs.ImportReport, error) {
	posted, err := drafterPostings(ctx, st, d, nil, ids)
	if err != nil {
		return jobs.ImportReport{}, err
	}
	opt := s.base
	opt.AsOf = d
	opt.Posted = posted
	opt.Amend = s.amend
	opt.Keep = func(a *portfolio.Account) bool { return s.inExtract(a.ID) && ids[a.ID] }
	opt.Postings = s.postings
	opt.AutopayStopped = s.autopayStopped
	return s.importExtract(ctx, st, d, opt)
}

func (s *servicing) importExtract(ctx context.Context, st *ledger.Store, d civil.Date, opt portfolio.GenerateOptions) (jobs.ImportReport, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(portfolio.Generate(pw, opt)) }()
	rep, err := jobs.ImportFile(ctx, st, pr, fmt.Sprintf("servicing-%s.jsonl", d), jobs.ImportOptions{})
	pr.CloseWithError(errors.New("import stopped"))
	if err != nil {
		return rep, fmt.Errorf("import the extract of %s: %w %v", d, err, rep.Errors)
	}
	return rep, nil
}

// cycleDays are the cycle days whose cycle ends on d: its day, and the
// later days a shorter month lacks on its last day.
func cycleDays(d civil.Date) []int {
	days := []int{d.Day}
	if d.Day == civil.DaysIn(d.Year, d.Month) {
		for x := d.Day + 1; x <= 31; x++ {
			days = append(days, x)
		}
	}
	return days
}

// drafterPostings is what drafter reported to the servicing system by the
// end of d (as ledger's DrafterPostings: its debits on their effective
// dates, here by their originations records, its returns and fees), for
// the accounts whose cycle day is one of days and the accounts named.
func drafterPostings(ctx context.Context, st *ledger.Store, d civil.Date, days []int, ids map[string]bool) (map[string][]portfolio.Transaction, error) {
	out := map[string][]portfolio.Transaction{}
	var cond []string
	args := []any{d}
	if len(days) > 0 {
		ds := make([]string, len(days))
		for i, x := range days {
			ds[i] = strconv.Itoa(x)
		}
		cond = append(cond, `account_id IN (SELECT id FROM accounts WHERE cycle_day IN (`+strings.Join(ds, ", ")+`))`)
	}
	if len(ids) > 0 {
		in, arg := st.InStrings("account_id", len(args)+1, slices.Sorted(maps.Keys(ids)))
		args = append(args, arg)
		cond = append(cond, in)
	}
	if len(cond) == 0 {
		return out, nil
	}
	where := "(" + strings.Join(cond, " OR ") + ")"
	db := st.DB()
	// A debit is drafter's once it has its originations record, on the
	// record's effective date: the payment rows of a file stored after the
	// last deliver run (an originate run resumed late) are not settled
	// yet. (account_id is the payment's: the record has none.)
	rows, err := db.QueryContext(ctx, `SELECT p.account_id, p.id, CAST(o.effective_on AS TEXT), p.amount
		FROM payments p JOIN originations o ON o.payment_id = p.id
		WHERE p.kind = 'debit' AND p.state IN ('scheduled', 'originated', 'settled', 'returned') AND o.effective_on <= $1 AND `+where+`
		ORDER BY p.account_id, o.effective_on, p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("select drafter's payments: %w", err)
	}
	for rows.Next() {
		var acct, on string
		var id int64
		t := portfolio.Transaction{Kind: "payment"}
		if err := rows.Scan(&acct, &id, &on, &t.Amount); err != nil {
			rows.Close()
			return nil, err
		}
		t.PostedOn = civil.MustParse(on[:10])
		t.ID = "payment:" + strconv.FormatInt(id, 10)
		out[acct] = append(out[acct], t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `SELECT account_id, id, CAST(posted_on AS TEXT), kind, amount FROM transactions
		WHERE source = 'drafter' AND posted_on <= $1 AND `+where+` ORDER BY account_id, posted_on, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("select drafter's transactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var acct, on string
		var t portfolio.Transaction
		if err := rows.Scan(&acct, &t.ID, &on, &t.Kind, &t.Amount); err != nil {
			return nil, err
		}
		t.PostedOn = civil.MustParse(on[:10])
		out[acct] = append(out[acct], t)
	}
	return out, rows.Err()
}

// portalAllows reports whether the portal takes a one-time payment made on
// d for debit on debit: only for an installment whose autopay debit is
// still days away.
func portalAllows(a *portfolio.Account, d, debit civil.Date, draft func(due civil.Date, before int) civil.Date) bool {
	ap := a.Autopay
	if ap == nil || ap.Status != "active" {
		return true
	}
	for _, due := range dueDates(&a.Contract) {
		dr := draft(due, ap.DaysBeforeDue)
		if !due.Before(debit) && dr.Before(d.AddDays(5)) && !dr.Before(d) {
			return false
		}
		if due.After(debit.AddDays(40)) {
			break
		}
	}
	return true
}

// react records a customer's change dated the night after d, in answer to
// what drafter told them on d.
func (s *servicing) react(id string, d civil.Date, c change) {
	c.on = d.AddDays(1)
	c.n = len(s.changes[id]) + 1
	s.changes[id] = append(s.changes[id], c)
	if s.reacted[c.on] == nil {
		s.reacted[c.on] = map[string]bool{}
	}
	s.reacted[c.on][id] = true
}

// extended reports whether the lease was extended already.
func (s *servicing) extended(id string) bool {
	for _, c := range s.changes[id] {
		if c.kind == "extend" {
			return true
		}
	}
	return false
}

// postings are the servicing system's adjustments for the account's
// extensions by asOf: a lease's balance is its installments left, so an
// extension adds months of installments on the day it is made. Generate
// counts the extended term from the opening, so an unlisted adjustment
// there takes the added months back out of the history before it.
func (s *servicing) postings(a *portfolio.Account, asOf civil.Date) []portfolio.Posting {
	var out []portfolio.Posting
	for _, c := range s.changes[a.ID] {
		if c.on.After(asOf) {
			break
		}
		if c.kind != "extend" {
			continue
		}
		add := money.Cents(c.months) * (a.Contract.MonthlyPayment + a.Contract.MonthlyTax)
		out = append(out, portfolio.Posting{On: a.Contract.OpenedOn, Kind: "adjustment", Amount: -add},
			portfolio.Posting{On: c.on, Kind: "adjustment", Amount: add, Description: fmt.Sprintf("Lease extended %d months", c.months), Listed: true})
	}
	return out
}

// autopayStopped is the day the customer stopped the account's autopay
// (zero when they did not).
func (s *servicing) autopayStopped(a *portfolio.Account) civil.Date {
	for _, c := range s.changes[a.ID] {
		if c.kind == "stop" && !c.on.After(a.Balance.AsOf) {
			return c.on
		}
	}
	return civil.Date{}
}
