package jobs_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/statements"
)

var reconcileAccounts = flag.Int("reconcile.accounts", 5000, "accounts in TestStatementsReconcileOverThreeCycles")

// stated is what a sent statement said autopay will debit.
type stated struct {
	account, enrollment string
	statement           civil.Date
	debit               statements.AutopayNotice
}

// TestStatementsReconcileOverThreeCycles runs a generated portfolio
// through three monthly cycles, night by night as production does: the
// returns job applies what the simulated bank sent back (returns, fees,
// re-presentments), the servicing system closes its books with what
// drafter reported and its extract is imported, originate files the
// debits, the statements job renders. Then:
//
//   - every sent statement's new balance is the servicing system's balance
//     on its date, its previous balance the account's previous statement's
//     new balance (or the servicing system's on the day before the first
//     cycle), and its lines add up from one to the other; none is held;
//   - for every account on autopay, the debit a statement says autopay
//     will make (amount and date) is the one originate makes.
//
// After the first night's full extract, each night imports the accounts
// whose cycle ends that night: the only ones whose balance a statement
// reads, as a servicing system's delta extract would carry.
func TestStatementsReconcileOverThreeCycles(t *testing.T) {
	if testing.Short() {
		t.Skip("three monthly cycles of a 5,000-account portfolio; not in -short")
	}
	ctx := context.Background()
	began := time.Now()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// The database and the 15,000 statements (about 1.3 GB) on a
		// memory file system: the same SQLite and the same files, without
		// waiting on the disk for each fsync.
		t.Setenv("TMPDIR", "/dev/shm")
	}
	env := testEnv(t, "sqlite", nil)
	first := civil.MustParse("2026-11-02")
	last := first.AddMonths(3).AddDays(-1)
	sys := jobs.ServicingSystem{Portfolio: portfolio.GenerateOptions{Accounts: *reconcileAccounts, Seed: 21, Anchor: first,
		DrafterFrom: first.AddDays(-4)}}
	bank := jobs.BankOptions{Seed: 21}

	newBalance := map[string]money.Cents{} // each account's latest statement
	var debits []stated
	sent, heldTotal, returns, fees, lines := 0, 0, 0, 0, 0
	statementsPerAccount := map[string]int{}
	seconds := map[string]float64{}
	for d := first; !d.After(last); d = d.AddDays(1) {
		var keep func(*portfolio.Account) bool
		if d != first {
			keep = func(a *portfolio.Account) bool { return ledger.CycleEndsOn(a.Contract.CycleDay, d) }
		}
		rep, err := jobs.SimulateNight(ctx, env, sys, d, bank, keep)
		if err != nil {
			t.Fatal(err)
		}
		for step, sec := range rep.Seconds {
			seconds[step] += sec
		}
		if rep.Returns != nil {
			returns += rep.Returns.Returns
		}
		st := rep.Statements
		if st.Failed != 0 || st.Held != 0 {
			exs, _ := env.Store.Exceptions(ctx, false)
			for _, e := range exs {
				t.Errorf("%s: %s", e.Kind, e.Detail)
			}
			t.Fatalf("night %s: %+v: %d failed, %d held; want every statement sent", d, st, st.Failed, st.Held)
		}
		heldTotal += st.Held
		docs := statementBalances(t, env.Store, d)
		if len(docs) != st.Stored {
			t.Fatalf("night %s: %d statements stored, %d recorded with a balance", d, st.Stored, len(docs))
		}
		records := recordBalances(t, env.Store, d)
		ids := make([]string, 0, len(docs))
		for id := range docs {
			ids = append(ids, id)
		}
		computed, errs, err := jobs.StatementsFor(ctx, env, ids, d)
		if err != nil {
			t.Fatal(err)
		}
		for id, err := range errs {
			t.Fatalf("%s on %s: sent, but computed again it is %v", id, d, err)
		}
		for id, nb := range docs {
			s := computed[id]
			rec, ok := records[id]
			if !ok || nb != rec {
				t.Errorf("%s on %s: new balance %s, the servicing system's %s (recorded %v)", id, d, nb, rec, ok)
			}
			if s.NewBalance != nb {
				t.Errorf("%s on %s: recorded new balance %s, statement %s", id, d, nb, s.NewBalance)
			}
			if prev, ok := newBalance[id]; ok && s.PreviousBalance != prev {
				t.Errorf("%s on %s: previous balance %s, the previous statement's new balance %s", id, d, s.PreviousBalance, prev)
			}
			sum := s.PreviousBalance
			for _, l := range s.Lines {
				sum += l.Amount
				if l.Kind == statements.TxReturnedPaymentFee {
					fees++
				}
			}
			lines += len(s.Lines)
			if sum != s.NewBalance {
				t.Errorf("%s on %s: previous balance %s and the lines make %s, new balance %s", id, d, s.PreviousBalance, sum, s.NewBalance)
			}
			newBalance[id] = nb
			statementsPerAccount[id]++
			sent++
			if s.Autopay.Active && s.Autopay.Amount > 0 {
				debits = append(debits, stated{account: id, statement: d, debit: s.Autopay})
			}
		}
	}
	full := 0
	for _, n := range statementsPerAccount {
		if n == 3 {
			full++
		}
	}
	if full < *reconcileAccounts*8/10 || returns == 0 || fees == 0 {
		t.Errorf("%d accounts with three statements of %d, %d returns, %d returned-payment fees: the portfolio did not exercise the cycles", full, *reconcileAccounts, returns, fees)
	}

	// The debits the statements announced, as originate makes them: run
	// the nights up to the last announced debit date.
	lastDebit := last
	for _, s := range debits {
		if s.debit.DebitOn.After(lastDebit) {
			lastDebit = s.debit.DebitOn
		}
	}
	for d := last.AddDays(1); d.Before(lastDebit); d = d.AddDays(1) {
		if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	made := autopayPayments(t, env.Store)
	stopped := stoppedAutopay(t, env.Store)
	matched, policy := 0, 0
	for _, s := range debits {
		p, ok := made[s.account+" "+s.debit.DueOn.String()]
		switch {
		case !ok && stopped[s.account]:
			continue // a return stopped autopay after the statement
		case !ok:
			t.Errorf("%s: the statement of %s says autopay debits %s on %s for %s; originate made no debit", s.account, s.statement, s.debit.Amount, s.debit.DebitOn, s.debit.DueOn)
		case p.draftOn != s.debit.DebitOn:
			t.Errorf("%s: the statement of %s says autopay debits on %s; originate drafts on %s", s.account, s.statement, s.debit.DebitOn, p.draftOn)
		case p.amount != s.debit.Amount:
			t.Errorf("%s: the statement of %s says autopay debits %s; originate debits %s", s.account, s.statement, s.debit.Amount, p.amount)
		case !p.effectiveOn.IsZero() && p.effectiveOn != s.debit.DebitOn:
			t.Errorf("%s: debit announced for %s settles on %s", s.account, s.debit.DebitOn, p.effectiveOn)
		default:
			matched++
			if p.oneTime {
				policy++
			}
		}
	}
	if matched < len(debits)*9/10 {
		t.Errorf("%d of %d announced debits matched what originate made", matched, len(debits))
	}
	t.Logf("%d accounts, 3 cycles (%s..%s): %d statements sent, %d held, %d lines; %d returns, %d returned-payment fees; %d announced autopay debits, %d as originated (%d of them reduced or covered by a one-time payment); %s",
		*reconcileAccounts, first, last, sent, heldTotal, lines, returns, fees, len(debits), matched, policy, time.Since(began).Round(time.Second))
	t.Logf("seconds by step over the nights: %v", seconds)
}

// statementBalances returns the new balances of the statements recorded on d.
func statementBalances(t *testing.T, st *ledger.Store, d civil.Date) map[string]money.Cents {
	t.Helper()
	rows, err := st.DB().Query(`SELECT account_id, new_balance FROM documents WHERE kind = 'statement' AND document_date = $1`, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]money.Cents{}
	for rows.Next() {
		var id string
		var b money.Cents
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

// recordBalances returns the servicing system's balances on d.
func recordBalances(t *testing.T, st *ledger.Store, d civil.Date) map[string]money.Cents {
	t.Helper()
	rows, err := st.DB().Query(`SELECT account_id, balance FROM record_balances WHERE on_date = $1`, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]money.Cents{}
	for rows.Next() {
		var id string
		var b money.Cents
		if err := rows.Scan(&id, &b); err != nil {
			t.Fatal(err)
		}
		out[id] = b
	}
	return out
}

type madeDebit struct {
	amount      money.Cents
	draftOn     civil.Date
	effectiveOn civil.Date // zero until originated
	oneTime     bool       // the account has a one-time payment for the installment
}

// autopayPayments returns the autopay debits originate made, by account
// and due date.
func autopayPayments(t *testing.T, st *ledger.Store) map[string]madeDebit {
	t.Helper()
	oneTime := map[string][]civil.Date{}
	rows, err := st.DB().Query(`SELECT account_id, debit_on FROM scheduled_payments`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var on civil.Date
		if err := rows.Scan(&id, &on); err != nil {
			t.Fatal(err)
		}
		oneTime[id] = append(oneTime[id], on)
	}
	rows.Close()
	// An autopay payment the installment policy cancelled debits nothing;
	// one cancelled otherwise (autopay stopped) was not made. The effective
	// date is its originations record's: the last nights' rows are not
	// settled (no deliver run follows them).
	rows, err = st.DB().Query(`SELECT p.account_id, p.due_on, p.draft_on, o.effective_on,
			CASE WHEN p.state = 'cancelled' THEN 0 ELSE p.amount END, a.first_due_on, a.due_day, a.opened_on
		FROM payments p JOIN accounts a ON a.id = p.account_id LEFT JOIN originations o ON o.payment_id = p.id
		WHERE p.source = 'autopay' AND NOT (p.state = 'cancelled' AND p.installment_amount = 0)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]madeDebit{}
	for rows.Next() {
		var id string
		var due, firstDue, opened civil.Date
		var eff *civil.Date
		var dueDay int
		var m madeDebit
		if err := rows.Scan(&id, &due, &m.draftOn, &eff, &m.amount, &firstDue, &dueDay, &opened); err != nil {
			t.Fatal(err)
		}
		if eff != nil {
			m.effectiveOn = *eff
		}
		after, through := jobs.InstallmentWindow(firstDue, dueDay, due, opened)
		for _, on := range oneTime[id] {
			m.oneTime = m.oneTime || (on.After(after) && !on.After(through))
		}
		out[id+" "+due.String()] = m
	}
	return out
}

// stoppedAutopay returns the accounts whose enrollment is no longer active.
func stoppedAutopay(t *testing.T, st *ledger.Store) map[string]bool {
	t.Helper()
	rows, err := st.DB().Query(`SELECT account_id FROM autopay_enrollments WHERE status <> 'active'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out[id] = true
	}
	return out
}
