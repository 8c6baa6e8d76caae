package sim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/statements"
)

// fullCheckEvery is how often (in nights) the checks that look only at
// what changed since the last night look at the whole history again; the
// last night is always checked in full.
const fullCheckEvery = 30

// marks are the highest row ids the incremental checks have seen: the
// next night's checks look at the rows after them (ids are serial, so new
// rows have higher ones), and a full check every fullCheckEvery nights
// looks at everything.
type marks struct {
	payment, ret, noc int64
	feeRet            int64 // the fee check's mark on returns
	outbox            int64
}

// full reports whether tonight's checks look at the whole history.
func (s *sim) full() bool { return s.night%fullCheckEvery == 0 || s.night == s.opt.Days }

// maxID is the highest id of table (0 when empty).
func (s *sim) maxID(ctx context.Context, table string) (int64, error) {
	var id int64
	err := s.env.Store.DB().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+table).Scan(&id)
	return id, err
}

// check holds the ledger to every invariant after night d; the first that
// is broken is returned as a *Violation. Checks that would read the whole
// history read what changed since the previous night's check (the rows
// after s.seen), and all of it every fullCheckEvery nights and on the last.
func (s *sim) check(ctx context.Context, d civil.Date) error {
	var next marks
	for _, x := range []struct {
		table string
		id    *int64
	}{{"payments", &next.payment}, {"returns", &next.ret}, {"corrections", &next.noc}, {"returns", &next.feeRet}, {"outbox", &next.outbox}} {
		id, err := s.maxID(ctx, x.table)
		if err != nil {
			return err
		}
		*x.id = id
	}
	if s.full() {
		s.seen = marks{}
		s.bank.newReturns, s.bank.newNOCs = map[int64]string{}, map[int64]string{}
	}
	s.returnsChecked = false
	if err := s.checkAll(ctx, d); err != nil {
		return err
	}
	if !s.returnsChecked {
		// Skipped during an outage: the next check looks from the
		// same marks.
		next.ret, next.noc = s.seen.ret, s.seen.noc
	}
	s.seen = next
	s.paymentMarks = append(s.paymentMarks, next.payment)
	return nil
}

func (s *sim) checkAll(ctx context.Context, d civil.Date) error {
	outage := s.active(FaultStorage) || s.active(FaultMail) || d.Before(s.serverDownUntil)
	checks := []struct {
		name string
		fn   func(context.Context, civil.Date) (string, error)
		skip bool
	}{
		{"runs-say-so", s.checkRuns, false},
		{"email-once", s.checkEmail, false},
		{"outbox-drains", s.checkOutbox, s.active(FaultMail)},
		{"told-in-order", s.checkToldInOrder, false},
		{"installment-debited-once", s.checkDebitOnce, false},
		{"installment-policy", s.checkPolicy, false},
		{"due-originated-or-held", s.checkDue, outage},
		{"reoriginated-later", s.checkVoided, outage},
		{"installment-made-on-its-draft-date", s.checkInstallmentsMade, outage},
		{"allocated-has-stored-file", s.checkAllocated, outage},
		{"deliver-settles-files", s.checkSettled, false},
		{"returns-applied-once", s.checkReturns, outage},
		{"dishonored-to-a-person", s.checkDishonors, outage},
		{"represent-limits", s.checkRepresent, false},
		{"fee-once-per-return", s.checkFees, false},
		{"statement-each-cycle", s.checkCycles, outage},
		{"lease-end-threshold", s.checkLeaseEnd, false},
		{"lease-end-advice", s.checkLeaseAdvice, false},
		{"lease-end-follows-extension", s.checkExtensions, outage},
		{"return-rates", s.checkRates, outage},
		{"customer-reactions", s.checkReactions, outage},
	}
	for _, c := range checks {
		if c.skip {
			continue
		}
		s.rep.Checks++
		detail, err := c.fn(ctx, d)
		if err != nil {
			return fmt.Errorf("check %s: %w", c.name, err)
		}
		if detail != "" {
			return s.violation(d, c.name, detail)
		}
	}
	return nil
}

// checkRuns: every run tonight says what it did: succeeded only with no
// failed item and exit 0; failed and partial with a non-zero exit and a
// reason. A killed child's run is not succeeded.
func (s *sim) checkRuns(ctx context.Context, d civil.Date) (string, error) {
	for _, o := range s.observed {
		r, err := s.env.Store.GetRun(ctx, o.run.ID)
		if err != nil {
			return "", err
		}
		st := o.run.Status
		switch {
		case o.exit == jobs.CrashExitCode:
			if st == ledger.RunSucceeded {
				return fmt.Sprintf("%s: the process was killed, yet run %d says succeeded", o.how, o.run.ID), nil
			}
		case st == ledger.RunSucceeded && (o.run.Failed > 0 || o.exit != 0):
			return fmt.Sprintf("%s: run %d (%s %s) is succeeded with %d failed items, exit %d", o.how, o.run.ID, r.Job, r.BusinessDate, o.run.Failed, o.exit), nil
		case (st == ledger.RunFailed || st == ledger.RunPartial) && o.exit == 0:
			return fmt.Sprintf("%s: run %d (%s %s) is %s but exits 0", o.how, o.run.ID, r.Job, r.BusinessDate, st), nil
		case st == ledger.RunFailed && o.run.Error == "":
			return fmt.Sprintf("%s: run %d (%s %s) is failed without a reason", o.how, o.run.ID, r.Job, r.BusinessDate), nil
		case st == ledger.RunSucceeded && o.run.Job == "deliver" && s.mail.down:
			return fmt.Sprintf("%s: run %d (deliver %s) is succeeded while the mail relay is down", o.how, o.run.ID, r.BusinessDate), nil
		case st == ledger.RunSucceeded && s.docs.down && o.run.Selected > 0 && o.run.Job != "deliver":
			return fmt.Sprintf("%s: run %d (%s %s) is succeeded with %d items while storage is down", o.how, o.run.ID, r.Job, r.BusinessDate, o.run.Selected), nil
		}
	}
	return "", nil
}

// checkEmail: no message is delivered twice (the relay counts each
// Message-ID as it is delivered and keeps the first repeat).
func (s *sim) checkEmail(ctx context.Context, d civil.Date) (string, error) {
	s.mail.mu.Lock()
	defer s.mail.mu.Unlock()
	if s.mail.repeat != "" {
		return fmt.Sprintf("message %s was delivered %d times", s.mail.repeat, s.mail.sent[s.mail.repeat]), nil
	}
	return "", nil
}

// checkToldInOrder: a payment's "we will debit" email is queued before
// its "returned" email, never after it (the outbox sends in the order
// queued, so the customer reads them in the order things happened). It
// looks at the "scheduled" emails queued since the last check.
func (s *sim) checkToldInOrder(ctx context.Context, d civil.Date) (string, error) {
	db := s.env.Store.DB()
	rows, err := db.QueryContext(ctx, `SELECT id, topic FROM outbox WHERE kind = 'payment_scheduled' AND id > $1 ORDER BY id`, s.seen.outbox)
	if err != nil {
		return "", err
	}
	scheduled := map[string]int64{} // the payment's "returned" topic -> the latest "scheduled" row
	for rows.Next() {
		var id int64
		var topic string
		if err := rows.Scan(&id, &topic); err != nil {
			rows.Close()
			return "", err
		}
		// payment:ID:scheduled:FILE
		if payment, _, ok := strings.Cut(topic, ":scheduled:"); ok {
			scheduled[payment+":returned"] = id
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	if len(scheduled) == 0 {
		return "", nil
	}
	in, arg := s.env.Store.InStrings("topic", 1, slices.Sorted(maps.Keys(scheduled)))
	returned, err := db.QueryContext(ctx, `SELECT topic, id FROM outbox WHERE kind = 'payment_returned' AND `+in+` ORDER BY id`, arg)
	if err != nil {
		return "", err
	}
	defer returned.Close()
	for returned.Next() {
		var topic string
		var id int64
		if err := returned.Scan(&topic, &id); err != nil {
			return "", err
		}
		if id < scheduled[topic] {
			return fmt.Sprintf("%s (outbox %d) was queued after %s (outbox %d): the customer is told of the debit after its return",
				strings.TrimSuffix(topic, ":returned")+":scheduled", scheduled[topic], topic, id), nil
		}
	}
	return "", returned.Err()
}

// checkOutbox: with the relay up and deliver succeeded tonight, nothing
// due is left queued.
func (s *sim) checkOutbox(ctx context.Context, d civil.Date) (string, error) {
	ok := false
	for _, o := range s.observed {
		if o.run.Job == "deliver" && o.run.Status == ledger.RunSucceeded {
			ok = true
		}
	}
	if !ok {
		return "", nil
	}
	var n int
	if err := s.env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1`,
		s.clock.Add(-1)).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return fmt.Sprintf("%d messages still queued and due after a succeeded deliver run with the relay up", n), nil
	}
	return "", nil
}

// checkDebitOnce: one live autopay debit per installment.
func (s *sim) checkDebitOnce(ctx context.Context, d civil.Date) (string, error) {
	var acct, due string
	var n int
	// The installments of the accounts with an autopay payment made since
	// the last check (all of them in a full check).
	err := s.env.Store.DB().QueryRowContext(ctx, `SELECT account_id, CAST(due_on AS TEXT), COUNT(*) FROM payments
		WHERE source = 'autopay' AND kind = 'debit' AND state <> 'cancelled'
		AND account_id IN (SELECT account_id FROM payments WHERE id > $1 AND source = 'autopay')
		GROUP BY account_id, due_on HAVING COUNT(*) > 1 LIMIT 1`, s.seen.payment).Scan(&acct, &due, &n)
	if err == nil {
		return fmt.Sprintf("%s: the installment due %s has %d autopay debits", acct, due, n), nil
	}
	if err.Error() == "sql: no rows in result set" {
		return "", nil
	}
	return "", err
}

// checkPolicy: each autopay debit in tonight's files is the installment
// less the customer's one-time payments for it (one-time-covers), or the
// installment (debit-both); never a debit when a one-time payment covers
// the installment. The window and the arithmetic are the simulation's own.
func (s *sim) checkPolicy(ctx context.Context, d civil.Date) (string, error) {
	db := s.env.Store.DB()
	// Tonight's files are few; their payments are found by their
	// originations records (a file's payment rows may not be settled
	// yet), each enrollment by its id (the payment's source key is
	// enrollment:due).
	rows, err := db.QueryContext(ctx, `SELECT p.account_id, CAST(p.due_on AS TEXT), p.amount, p.source_key
		FROM originations o JOIN payments p ON p.id = o.payment_id
		WHERE o.business_date = $1 AND p.source = 'autopay' AND p.kind = 'debit'`, d)
	if err != nil {
		return "", err
	}
	type debit struct {
		acct, enrollment string
		due              civil.Date
		amount, fixed    money.Cents
	}
	var ds []debit
	for rows.Next() {
		var x debit
		var due, key string
		if err := rows.Scan(&x.acct, &due, &x.amount, &key); err != nil {
			rows.Close()
			return "", err
		}
		x.due = civil.MustParse(due[:10])
		if i := strings.LastIndexByte(key, ':'); i > 0 {
			x.enrollment = key[:i]
		}
		ds = append(ds, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	covers := s.env.Config.InstallmentPolicy != string(jobs.DebitBoth)
	// A one-time payment cancelled, or returned and not presented again,
	// pays nothing; one presented again still pays the installment.
	unpaid := map[string]bool{}
	accts := map[string]bool{}
	for i, x := range ds {
		if err := db.QueryRowContext(ctx, `SELECT amount FROM autopay_enrollments WHERE id = $1`, x.enrollment).Scan(&ds[i].fixed); err != nil {
			return fmt.Sprintf("%s: autopay debit for the installment due %s names enrollment %q, which the ledger lacks (%v)", x.acct, x.due, x.enrollment, err), nil
		}
		if accts[x.acct] {
			continue
		}
		accts[x.acct] = true
		urows, err := db.QueryContext(ctx, `SELECT op.source_key FROM payments op WHERE op.account_id = $1 AND op.source = 'scheduled'
			AND (op.state = 'cancelled' OR (op.state = 'returned' AND NOT EXISTS (SELECT 1 FROM payments rp
				WHERE rp.original_payment_id = op.id AND rp.state IN ('scheduled', 'originated', 'settled'))))`, x.acct)
		if err != nil {
			return "", err
		}
		for urows.Next() {
			var k string
			if err := urows.Scan(&k); err != nil {
				urows.Close()
				return "", err
			}
			unpaid[k] = true
		}
		urows.Close()
		if err := urows.Err(); err != nil {
			return "", err
		}
	}
	for _, x := range ds {
		if _, ok := s.sys.accounts[x.acct]; !ok {
			continue
		}
		// The contract as the servicing system has it tonight: an
		// extended lease has more installments than it was drawn with.
		cur := s.sys.current(x.acct, d)
		c := &cur.Contract
		full := c.MonthlyPayment + c.MonthlyTax
		if x.fixed > 0 {
			full = x.fixed
		}
		after := c.OpenedOn
		dues := dueDates(c)
		for k, due := range dues {
			if due == x.due && k > 0 {
				after = dues[k-1]
			}
		}
		var oneTime money.Cents
		for _, sp := range cur.ScheduledPayments {
			if sp.DebitOn.After(after) && !sp.DebitOn.After(x.due) && !unpaid[sp.ID] {
				oneTime += sp.Amount
			}
		}
		want := full
		if covers {
			want = max(0, full-oneTime)
		}
		if x.amount != want {
			return fmt.Sprintf("%s: autopay debits %s for the installment due %s; the policy says %s (installment %s, one-time payments for it %s)",
				x.acct, x.amount, x.due, want, full, oneTime), nil
		}
	}
	return "", nil
}

// checkDue: no payment due by tonight is left scheduled without a reason.
func (s *sim) checkDue(ctx context.Context, d civil.Date) (string, error) {
	if !s.env.Calendar.IsBankingDay(d) {
		return "", nil
	}
	// Held: the bank account is invalid, or waits for its prenote.
	// Originated: it has its originations record (its row reads scheduled
	// until the file is settled).
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT p.id, p.account_id, p.source FROM payments p JOIN bank_accounts b ON b.id = p.bank_account_id
		WHERE p.state = 'scheduled' AND NOT EXISTS (SELECT 1 FROM originations o WHERE o.payment_id = p.id)
		AND p.draft_on <= $1 AND p.state_reason = '' AND b.status = 'active'
		AND `+originableHere+` ORDER BY p.id`, d)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var acct, src string
		if err := rows.Scan(&id, &acct, &src); err != nil {
			return "", err
		}
		if v, ok := s.voided[id]; ok && v.night == d {
			// Its file was voided after tonight's originate run: the next
			// one debits it (reoriginated-later holds it to that).
			continue
		}
		return fmt.Sprintf("payment %d (%s, %s) was due by %s and is neither originated nor held with a reason", id, acct, src, d), nil
	}
	return "", rows.Err()
}

// originableHere is the bank account's side of a payment originate would
// take now: a debit on a verified account, or a prenote it needs.
const originableHere = `((p.kind = 'debit' AND b.prenote = 'verified') OR (p.kind = 'prenote' AND b.prenote = 'required'))`

// checkVoided: the payments of a file voided after a missed cutoff are
// debited once, later: by the first originate run after the void, in a
// file that is not voided, for an effective date after the night of the
// void; the bank takes that entry (and, held by take, never a second).
// One held for a reason (a bank account invalid since, a prenote) or
// cancelled waits as any payment would.
func (s *sim) checkVoided(ctx context.Context, d civil.Date) (string, error) {
	ids := slices.Sorted(maps.Keys(s.voided))
	for _, id := range ids {
		v := s.voided[id]
		var state, reason string
		var originable bool
		err := s.env.Store.DB().QueryRowContext(ctx, `SELECT p.state, p.state_reason, b.status = 'active' AND `+originableHere+`
			FROM payments p JOIN bank_accounts b ON b.id = p.bank_account_id WHERE p.id = $1`, id).Scan(&state, &reason, &originable)
		if err != nil {
			return "", fmt.Errorf("voided payment %d: %w", id, err)
		}
		rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT f.storage_key, CAST(f.business_date AS TEXT), CAST(f.effective_on AS TEXT), f.released_at IS NOT NULL
			FROM originations o JOIN ach_files f ON f.id = o.ach_file_id WHERE o.payment_id = $1`, id)
		if err != nil {
			return "", err
		}
		type orig struct {
			key, date, eff string
			released       bool
		}
		var origs []orig
		for rows.Next() {
			var o orig
			if err := rows.Scan(&o.key, &o.date, &o.eff, &o.released); err != nil {
				rows.Close()
				return "", err
			}
			origs = append(origs, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
		switch {
		case len(origs) > 1:
			return fmt.Sprintf("payment %d, voided with %s on %s, is originated %d times", id, v.file, v.night, len(origs)), nil
		case len(origs) == 1:
			o := origs[0]
			eff := civil.MustParse(o.eff[:10])
			if o.released || o.key == v.file || !eff.After(v.night) {
				return fmt.Sprintf("payment %d, voided with %s on %s, is originated again in %s (business date %s, effective %s, voided %v): want a live file effective after the void",
					id, v.file, v.night, o.key, o.date[:10], eff, o.released), nil
			}
			if s.bank.received[id] == o.key {
				delete(s.voided, id) // debited once, later: done
			}
		case state == "cancelled" || state == "returned" || reason != "" || !originable:
			delete(s.voided, id)
		case d.After(v.night) && s.env.Calendar.IsBankingDay(d):
			return fmt.Sprintf("payment %d, voided with %s on %s, is still %s after the originate run of %s", id, v.file, v.night, state, d), nil
		}
	}
	return "", nil
}

// checkAllocated: no file stays allocated without its stored bytes.
func (s *sim) checkAllocated(ctx context.Context, d civil.Date) (string, error) {
	var n int
	if err := s.env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM ach_files WHERE status = 'allocated' AND released_at IS NULL`).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return fmt.Sprintf("%d files are allocated (payments fixed) with no stored file after the runbook", n), nil
	}
	return "", nil
}

// checkSettled: origination writes only the originations records; the
// deliver job settles the stored files' payment rows from them
// (ledger.SettleFile) before it sends anything, every few minutes in
// production. After tonight's last succeeded deliver run, unless an
// originate run came after it, no stored file is left unsettled; and the
// payment rows of every settled file (of the last ten nights, all of them
// in a full check) say what their records say: no longer scheduled, the
// file, trace number, dates and transaction code.
func (s *sim) checkSettled(ctx context.Context, d civil.Date) (string, error) {
	delivered, how := false, ""
	for _, o := range s.observed {
		switch {
		case o.run.Job == "deliver" && o.run.Status == ledger.RunSucceeded:
			delivered, how = true, o.how
		case o.run.Job == "originate":
			delivered = false
		}
	}
	if delivered {
		files, err := s.env.Store.UnsettledFiles(ctx)
		if err != nil {
			return "", err
		}
		if len(files) > 0 {
			return fmt.Sprintf("%d stored files are not settled after a succeeded deliver run (%s), the first %s", len(files), how, files[0].StorageKey), nil
		}
	}
	q := `SELECT o.payment_id, f.storage_key FROM originations o JOIN ach_files f ON f.id = o.ach_file_id JOIN payments p ON p.id = o.payment_id
		WHERE f.settled_at IS NOT NULL AND (p.state = 'scheduled' OR p.ach_file_id IS NULL OR p.ach_file_id <> o.ach_file_id
			OR p.trace_number IS NULL OR p.trace_number <> o.trace_number OR p.originated_on IS NULL OR p.originated_on <> o.business_date
			OR p.effective_on IS NULL OR p.effective_on <> o.effective_on OR p.transaction_code <> o.transaction_code)`
	var args []any
	if !s.full() {
		q += ` AND o.business_date >= $1`
		args = append(args, d.AddDays(-10))
	}
	var id int64
	var key string
	err := s.env.Store.DB().QueryRowContext(ctx, q+` ORDER BY o.payment_id LIMIT 1`, args...).Scan(&id, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("payment %d of %s, a settled file, does not show its originations record on its row", id, key), nil
}

// checkReturns: each return and NOC the bank sent is applied once, to the
// payment it was about, and nothing else is. Incremental: what the bank
// sent since the last check against the ledger's rows for those payments,
// and the ledger's new rows against what the bank sent; in full, both
// sides whole.
func (s *sim) checkReturns(ctx context.Context, d civil.Date) (string, error) {
	db := s.env.Store.DB()
	got, err := pairs(ctx, s.env.Store, `SELECT payment_id, code FROM returns WHERE payment_id IS NOT NULL AND id > $1`, s.seen.ret)
	if err != nil {
		return "", err
	}
	sent := s.bank.sentReturns
	if s.seen.ret > 0 {
		sent = s.bank.newReturns
	}
	for _, p := range slices.Sorted(maps.Keys(sent)) {
		code := sent[p]
		have, ok := got[p]
		if !ok && s.seen.ret > 0 {
			// Applied before the last check, or not at all.
			if err := db.QueryRowContext(ctx, `SELECT code FROM returns WHERE payment_id = $1`, p).Scan(&have); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return "", err
			}
		}
		if have != code {
			return fmt.Sprintf("the bank returned payment %d (%s); the ledger has %q", p, code, have), nil
		}
	}
	for _, p := range slices.Sorted(maps.Keys(got)) {
		if _, ok := s.bank.sentReturns[p]; !ok {
			return fmt.Sprintf("payment %d has a return %s the bank never sent", p, got[p]), nil
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM returns WHERE payment_id IS NULL AND id > $1`, s.seen.ret).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return fmt.Sprintf("%d returns matched no payment", n), nil
	}
	nocs, err := pairs(ctx, s.env.Store, `SELECT payment_id, change_code FROM corrections WHERE payment_id IS NOT NULL AND id > $1`, s.seen.noc)
	if err != nil {
		return "", err
	}
	sentNOCs := s.bank.sentNOCs
	if s.seen.noc > 0 {
		sentNOCs = s.bank.newNOCs
	}
	for _, p := range slices.Sorted(maps.Keys(sentNOCs)) {
		code := sentNOCs[p]
		have, ok := nocs[p]
		if !ok && s.seen.noc > 0 {
			if err := db.QueryRowContext(ctx, `SELECT change_code FROM corrections WHERE payment_id = $1`, p).Scan(&have); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return "", err
			}
		}
		if have != code {
			return fmt.Sprintf("the bank sent a NOC %s for payment %d; the ledger has %q", code, p, have), nil
		}
	}
	for _, p := range slices.Sorted(maps.Keys(nocs)) {
		if _, ok := s.bank.sentNOCs[p]; !ok {
			return fmt.Sprintf("payment %d has a NOC %s the bank never sent", p, nocs[p]), nil
		}
	}
	if s.seen.noc == 0 && len(nocs) != len(s.bank.sentNOCs) {
		return fmt.Sprintf("%d NOCs applied, the bank sent %d", len(nocs), len(s.bank.sentNOCs)), nil
	}
	var p int64
	err = db.QueryRowContext(ctx, `SELECT p.id FROM payments p JOIN returns r ON r.payment_id = p.id WHERE r.id > $1 AND p.state <> 'returned' LIMIT 1`, s.seen.ret).Scan(&p)
	if err == nil {
		return fmt.Sprintf("payment %d has a return but is not returned", p), nil
	}
	s.bank.newReturns, s.bank.newNOCs = map[int64]string{}, map[int64]string{}
	s.returnsChecked = true
	return "", nil
}

// checkDishonors: every dishonored or contested return the bank sent is
// recorded once, as an exception for a person (kind return_dishonored or
// return_contested, reference code:original trace:its own trace:the
// file's creation date), and
// changed nothing else: the payment, its return, its fees and its emails
// are as they were when the bank sent it. Those sent since the last check
// (all of them in a full one); and no such exception the bank never sent.
func (s *sim) checkDishonors(ctx context.Context, d civil.Date) (string, error) {
	b := s.bank
	db := s.env.Store.DB()
	from := len(b.dishonored) - b.uncheckedDishonors
	if s.full() {
		from = 0
	}
	// An original trace is unique per origination day only: the same
	// code and trace may be sent for two payments, each its own exception.
	want := map[string]int{}
	for _, x := range b.dishonored {
		want[x.kind+" "+x.code+":"+x.trace+":"]++
	}
	for _, x := range b.dishonored[from:] {
		refs, err := strs(ctx, db, `SELECT reference FROM exceptions WHERE kind = $1 AND reference LIKE $2`, x.kind, x.code+":"+x.trace+":%")
		if err != nil {
			return "", err
		}
		if n := want[x.kind+" "+x.code+":"+x.trace+":"]; len(refs) != n || !slices.Contains(refs, x.reference) {
			return fmt.Sprintf("the bank sent %s for payment %d (original trace %s) on %s; drafter recorded %d %s exceptions for it (%s), want %d, one of them %s",
				x.code, x.payment, x.trace, x.on, len(refs), x.kind, strings.Join(refs, ", "), n, x.reference), nil
		}
		now, err := dishonorFacts(ctx, s.env.Store, x.payment)
		if err != nil {
			return "", err
		}
		if now != x.before {
			return fmt.Sprintf("the %s the bank sent on %s changed payment %d: before it %s; now %s", x.code, x.on, x.payment, x.before, now), nil
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM exceptions WHERE kind IN ('return_dishonored', 'return_contested')`).Scan(&n); err != nil {
		return "", err
	}
	if n != len(b.dishonored) {
		return fmt.Sprintf("%d dishonored and contested return exceptions, the bank sent %d", n, len(b.dishonored)), nil
	}
	b.uncheckedDishonors = 0
	s.rep.DishonorsChecked = len(b.dishonored)
	return "", nil
}

// dishonorFacts is what a dishonored or contested return about payment
// must leave as it is, in words: the payment's state, its return, the
// transactions drafter posted about it (the reversal, the fee) and the
// emails queued about it.
func dishonorFacts(ctx context.Context, st *ledger.Store, payment int64) (string, error) {
	db := st.DB()
	var state, reason string
	if err := db.QueryRowContext(ctx, `SELECT state, state_reason FROM payments WHERE id = $1`, payment).Scan(&state, &reason); err != nil {
		return "", fmt.Errorf("payment %d: %w", payment, err)
	}
	ret, err := strs(ctx, db, `SELECT code || ' ' || action || ' ' || CAST(amount AS TEXT) || ' ' || CAST(returned_on AS TEXT) || ' file ' || CAST(inbound_file_id AS TEXT)
		FROM returns WHERE payment_id = $1 ORDER BY id`, payment)
	if err != nil {
		return "", err
	}
	txns, err := strs(ctx, db, `SELECT t.id || ' ' || t.kind || ' ' || CAST(t.amount AS TEXT) || ' ' || CAST(t.posted_on AS TEXT) FROM transactions t
		WHERE t.source = 'drafter' AND t.account_id = (SELECT account_id FROM payments WHERE id = $1) AND t.id LIKE $2 ORDER BY t.id`,
		payment, fmt.Sprintf("%%:%d", payment))
	if err != nil {
		return "", err
	}
	emails, err := strs(ctx, db, `SELECT topic || ' ' || kind FROM outbox WHERE topic LIKE $1 ORDER BY topic`, fmt.Sprintf("payment:%d:%%", payment))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("state %s (%s); returns [%s]; transactions [%s]; emails [%s]", state, reason,
		strings.Join(ret, "; "), strings.Join(txns, "; "), strings.Join(emails, "; ")), nil
}

// strs is the one text column of q's rows.
func strs(ctx context.Context, db *sql.DB, q string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func pairs(ctx context.Context, st *ledger.Store, q string, args ...any) (map[int64]string, error) {
	rows, err := st.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			return nil, err
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("payment %d twice in %q", id, q)
		}
		out[id] = v
	}
	return out, rows.Err()
}

// checkRepresent: re-presentments only after R01/R09, at most two, within
// 180 days of the original settlement.
func (s *sim) checkRepresent(ctx context.Context, d civil.Date) (string, error) {
	// The originals re-presented since the last check (all in a full
	// one), with the effective date of their entry from their
	// originations record.
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT o.id, COUNT(*), MAX(CAST(p.draft_on AS TEXT)), COALESCE(CAST(og.effective_on AS TEXT), ''),
			COALESCE((SELECT r.code FROM returns r WHERE r.payment_id = o.id), '')
		FROM payments p JOIN payments o ON o.id = p.original_payment_id LEFT JOIN originations og ON og.payment_id = o.id
		WHERE p.source = 'represent'
		AND o.id IN (SELECT original_payment_id FROM payments WHERE id > $1 AND source = 'represent')
		GROUP BY o.id, og.effective_on`, s.seen.payment)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		var last, eff, code string
		if err := rows.Scan(&id, &n, &last, &eff, &code); err != nil {
			return "", err
		}
		switch {
		case n > 2:
			return fmt.Sprintf("payment %d was re-presented %d times", id, n), nil
		case code != "R01" && code != "R09":
			return fmt.Sprintf("payment %d was re-presented after %q", id, code), nil
		case eff != "" && civil.MustParse(last[:10]).DaysSince(civil.MustParse(eff[:10])) > 180:
			return fmt.Sprintf("payment %d was re-presented on %s, more than 180 days after %s", id, last[:10], eff[:10]), nil
		}
	}
	return "", rows.Err()
}

// checkFees: a returned-payment fee only after R01/R09, once per return,
// within the contract's fee.
func (s *sim) checkFees(ctx context.Context, d civil.Date) (string, error) {
	// A fee is posted with its return: the fees of the returns since the
	// last check (every fee in a full one).
	q := `SELECT t.id, t.amount, a.returned_payment_fee FROM transactions t JOIN accounts a ON a.id = t.account_id
		WHERE t.source = 'drafter' AND t.kind = 'returned_payment_fee'`
	var args []any
	if s.seen.feeRet > 0 {
		q += ` AND t.id IN (SELECT 'return-fee:' || CAST(r.payment_id AS TEXT) FROM returns r WHERE r.id > $1 AND r.payment_id IS NOT NULL)`
		args = append(args, s.seen.feeRet)
	}
	rows, err := s.env.Store.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return "", err
	}
	type fee struct {
		id       string
		amt, cap money.Cents
	}
	var fs []fee
	for rows.Next() {
		var f fee
		if err := rows.Scan(&f.id, &f.amt, &f.cap); err != nil {
			rows.Close()
			return "", err
		}
		fs = append(fs, f)
	}
	rows.Close()
	codes, err := pairs(ctx, s.env.Store, `SELECT payment_id, code FROM returns WHERE payment_id IS NOT NULL AND id > $1`, s.seen.feeRet)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		pid, err := strconv.ParseInt(strings.TrimPrefix(f.id, "return-fee:"), 10, 64)
		if err != nil {
			return fmt.Sprintf("fee %s names no payment", f.id), nil
		}
		if c := codes[pid]; c != "R01" && c != "R09" {
			return fmt.Sprintf("fee %s after return %q", f.id, c), nil
		}
		if f.amt > f.cap {
			return fmt.Sprintf("fee %s of %s over the contract's %s", f.id, f.amt, f.cap), nil
		}
	}
	return "", nil
}

// checkStatements: tonight's statements state the servicing system's
// balance, start from the previous statement's and add up.
func (s *sim) checkStatements(ctx context.Context, d civil.Date) (string, error) {
	// Tonight's statements are among the documents made since the last
	// night's check (document ids are serial).
	mark := s.stmtMark
	next, err := s.maxID(ctx, "documents")
	if err != nil {
		return "", err
	}
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT d.account_id, d.new_balance, r.balance FROM documents d
		LEFT JOIN record_balances r ON r.account_id = d.account_id AND r.on_date = d.document_date
		WHERE d.id > $2 AND d.kind = 'statement' AND d.document_date = $1`, d, mark)
	if err != nil {
		return "", err
	}
	stated := map[string]money.Cents{}
	var bad string
	for rows.Next() {
		var id string
		var nb, rec *money.Cents
		if err := rows.Scan(&id, &nb, &rec); err != nil {
			rows.Close()
			return "", err
		}
		if nb == nil || rec == nil || *nb != *rec {
			if bad == "" {
				bad = fmt.Sprintf("%s: statement of %s states %v, the servicing system %v", id, d, nb, rec)
			}
			continue
		}
		stated[id] = *nb
	}
	rows.Close()
	if bad != "" {
		return bad, nil
	}
	prev, err := s.previousStatements(ctx, d, mark)
	if err != nil {
		return "", err
	}
	ids := slices.Sorted(maps.Keys(stated))
	computed, errs, err := jobs.StatementsFor(ctx, s.env, ids, d)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if e := errs[id]; e != nil {
			return fmt.Sprintf("%s: sent on %s, but computed again it is %v", id, d, e), nil
		}
		st := computed[id]
		if p, ok := prev[id]; ok && st.PreviousBalance != p {
			return fmt.Sprintf("%s: statement of %s starts from %s; the previous statement ended at %s", id, d, st.PreviousBalance, p), nil
		}
		sum := st.PreviousBalance
		for _, l := range st.Lines {
			sum += l.Amount
		}
		if sum != st.NewBalance {
			return fmt.Sprintf("%s: statement of %s: previous balance %s and its lines make %s, new balance %s", id, d, st.PreviousBalance, sum, st.NewBalance), nil
		}
	}
	s.stmtMark = next
	return "", nil
}

// previousStatements returns, for the accounts with a statement on d, the
// new balance of their statement before it.
func (s *sim) previousStatements(ctx context.Context, d civil.Date, mark int64) (map[string]money.Cents, error) {
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT p.account_id, p.new_balance, CAST(p.document_date AS TEXT) FROM documents p
		WHERE p.account_id IN (SELECT t.account_id FROM documents t WHERE t.id > $2 AND t.kind = 'statement' AND t.document_date = $1)
		AND p.kind = 'statement' AND p.document_date < $1 AND p.new_balance IS NOT NULL`, d, mark)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out, on := map[string]money.Cents{}, map[string]string{}
	for rows.Next() {
		var id, date string
		var b money.Cents
		if err := rows.Scan(&id, &b, &date); err != nil {
			return nil, err
		}
		if date > on[id] {
			out[id], on[id] = b, date
		}
	}
	return out, rows.Err()
}

// checkCycles: every cycle that ended is stated by the morning after: a
// statement, or one held with an exception (never silently skipped).
func (s *sim) checkCycles(ctx context.Context, d civil.Date) (string, error) {
	for c := s.checkedThrough.AddDays(1); !c.After(d); c = c.AddDays(1) {
		if c.Before(s.opt.Start) {
			continue
		}
		// Only the accounts whose cycle can end on c (its day, or a
		// later day in a shorter month).
		var days []string
		for _, x := range cycleDays(c) {
			days = append(days, strconv.Itoa(x))
		}
		rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT a.id, a.cycle_day FROM accounts a
			JOIN record_balances r ON r.account_id = a.id AND r.on_date = $1
			WHERE a.cycle_day IN (`+strings.Join(days, ", ")+`) AND a.status = 'active'
			AND NOT EXISTS (SELECT 1 FROM documents x WHERE x.account_id = a.id AND x.kind = 'statement' AND x.document_date = $1)
			AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.kind = 'statement_held' AND e.reference = a.id || ' statement ' || $2)`,
			c, fmt.Sprintf("%04d-%02d", c.Year, int(c.Month)))
		if err != nil {
			return "", err
		}
		var missing []string
		for rows.Next() {
			var id string
			var day int
			if err := rows.Scan(&id, &day); err != nil {
				rows.Close()
				return "", err
			}
			if fs, ok := s.firstSeen[id]; ok && !fs.After(c) && ledger.CycleEndsOn(day, c) {
				missing = append(missing, id)
			}
		}
		rows.Close()
		if len(missing) > 0 {
			return fmt.Sprintf("%d accounts whose cycle ended on %s have no statement and no held exception the morning after (first %s)", len(missing), c, missing[0]), nil
		}
		s.checkedThrough = c
	}
	return "", nil
}

// checkLeaseEnd: a notice of threshold N is sent when N days are left, or
// on the lease's first night in drafter when fewer are; never after
// maturity.
//
// Each notice made since the last check is held to its own date (a
// backfill makes notices of earlier nights).
func (s *sim) checkLeaseEnd(ctx context.Context, night civil.Date) (string, error) {
	next, err := s.maxID(ctx, "documents")
	if err != nil {
		return "", err
	}
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT x.account_id, x.kind, x.period, CAST(x.document_date AS TEXT)
		FROM documents x WHERE x.id > $1 AND x.kind LIKE 'lease_end_%'`, s.noticeMark)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind, mat, on string
		if err := rows.Scan(&id, &kind, &mat, &on); err != nil {
			return "", err
		}
		d := civil.MustParse(on[:10])
		// The notice is for the maturity the servicing system had on its
		// date, or, made late (a backfill, a resume), on the night it was
		// made: a lease extended since has a later one.
		if _, ok := s.sys.accounts[id]; ok {
			then, now := s.sys.current(id, d).Contract.MaturityDate, s.sys.current(id, night).Contract.MaturityDate
			if then.String() != mat && now.String() != mat {
				return fmt.Sprintf("%s: %s notice of %s (made on %s) is for maturity %s; the servicing system's maturity was %s that day and is %s", id, kind, d, night, mat, then, now), nil
			}
		}
		n, err := strconv.Atoi(strings.TrimPrefix(kind, ledger.DocLeaseEndPrefix))
		if err != nil {
			return fmt.Sprintf("%s: lease-end notice kind %q", id, kind), nil
		}
		left := civil.MustParse(mat[:10]).DaysSince(d)
		switch {
		case left < 0:
			return fmt.Sprintf("%s: %d-day notice sent on %s, %d days after maturity", id, n, d, -left), nil
		case left > n:
			return fmt.Sprintf("%s: %d-day notice sent on %s with %d days left", id, n, d, left), nil
		case left < n && s.maturitySince(id, night).Before(d) && !s.downSince(civil.MustParse(mat[:10]).AddDays(-n), d):
			// Late only if drafter had this maturity before the notice's
			// date and no outage kept it from sending.
			return fmt.Sprintf("%s: %d-day notice sent on %s with %d days left, late (drafter had the lease and its maturity since %s)", id, n, d, left, s.maturitySince(id, night)), nil
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	s.noticeMark = next
	return "", nil
}

// checkRates: the return rates drafter reports over the last 60 days are
// the bank's own count.
func (s *sim) checkRates(ctx context.Context, d civil.Date) (string, error) {
	from := d.AddDays(-59)
	debits, byCode, err := s.env.Store.ReturnCounts(ctx, from, d)
	if err != nil {
		return "", err
	}
	bd, bc := s.bank.counts(from, d)
	if debits != bd || !maps.Equal(byCode, bc) {
		return fmt.Sprintf("drafter counts %d debits and returns %v over %s..%s; the bank %d and %v", debits, byCode, from, d, bd, bc), nil
	}
	return "", nil
}

// downSince reports whether storage was down on a night in [from, to): a
// notice due then is sent at the first run that can store it.
func (s *sim) downSince(from, to civil.Date) bool {
	for d := from; d.Before(to); d = d.AddDays(1) {
		if s.storageDown[d] {
			return true
		}
	}
	return false
}

// checkLeaseAdvice: each lease-end email delivered since the last check
// tells the days left on its notice's date ("ends today", "ends in 1
// day", "ended on"), whatever threshold sent it.
func (s *sim) checkLeaseAdvice(ctx context.Context, d civil.Date) (string, error) {
	s.mail.mu.Lock()
	subjects := s.mail.subjects
	s.mail.subjects = nil
	s.mail.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(subjects)) {
		subject := subjects[id]
		var kind, acct, mat, on string
		doc, ok, err := s.emailDocument(ctx, strings.Trim(id, "<>"))
		if err != nil {
			return "", err
		}
		if !ok {
			continue // not a document's email
		}
		// The notice's own maturity (its period): the email tells what
		// the notice it links tells, even for a lease extended since.
		// The days are counted from the notice's date.
		err = s.env.Store.DB().QueryRowContext(ctx, `SELECT x.kind, x.account_id, x.period, CAST(x.document_date AS TEXT)
			FROM documents x WHERE x.id = $1`, doc).Scan(&kind, &acct, &mat, &on)
		if err != nil || !strings.HasPrefix(kind, ledger.DocLeaseEndPrefix) {
			continue // not a notice's email
		}
		s.rep.NoticeEmails++
		left := civil.MustParse(mat[:10]).DaysSince(civil.MustParse(on[:10]))
		want := fmt.Sprintf("ends in %d days", left)
		switch {
		case left == 1:
			want = "ends in 1 day"
		case left == 0:
			want = "ends today"
		case left < 0:
			want = "ended on"
		}
		if !strings.Contains(subject, want) {
			return fmt.Sprintf("%s: the %s email of the notice of %s (for maturity %s) says %q; want %q", acct, kind, on[:10], mat[:10], subject, want), nil
		}
	}
	return "", nil
}

// checkInstallmentsMade: every installment of an active enrollment whose
// draft date (the servicing system's terms: days before the due date,
// back to a banking day) came in the last banking days has its autopay
// payment: originated, or held, or cancelled by the policy, but made.
func (s *sim) checkInstallmentsMade(ctx context.Context, d civil.Date) (string, error) {
	cal := s.env.Calendar
	active := map[string]bool{}
	rows, err := s.env.Store.DB().QueryContext(ctx, `SELECT id FROM autopay_enrollments WHERE status = 'active'`)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		active[id] = true
	}
	rows.Close()
	// An enrollment drafter suspended (a return) or the customer stopped
	// owes nothing while it is not active: one active again is held to
	// the installments drafting after it came back, as a new one is.
	for id := range s.activeSince {
		if !active[id] {
			delete(s.activeSince, id)
		}
	}
	for id := range active {
		if _, ok := s.activeSince[id]; !ok {
			s.activeSince[id] = d
		}
	}
	if !cal.IsBankingDay(d) {
		return "", nil
	}
	made := map[string]bool{}
	// An autopay payment is made a few days before its draft date: the
	// ones drafting since d-12 are among those made in the last 30
	// nights (payment ids are serial).
	var since int64
	if n := len(s.paymentMarks) - 30; n >= 0 {
		since = s.paymentMarks[n]
	}
	rows, err = s.env.Store.DB().QueryContext(ctx, `SELECT source_key FROM payments WHERE id > $2 AND source = 'autopay' AND draft_on >= $1`, d.AddDays(-12), since)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return "", err
		}
		made[k] = true
	}
	rows.Close()
	from := cal.AddBankingDays(d, -2)
	for _, id := range s.sys.ids {
		seen, ok := s.firstSeen[id]
		if !ok || seen.After(d.AddDays(-6)) {
			continue
		}
		a := s.sys.current(id, d)
		ap := a.Autopay
		if a.Status != "active" || ap == nil || ap.Status != "active" || !active[ap.ID] {
			continue
		}
		lead := ap.DaysBeforeDue
		if lead == 0 {
			lead = s.env.Config.DraftLeadDays
		}
		for _, due := range dueDates(&a.Contract) {
			if due.Before(ap.StartsOn) || due.After(d.AddDays(lead+10)) {
				continue
			}
			draft := cal.PreviousOrSameBankingDay(due.AddDays(-lead))
			if draft.Before(from) || draft.After(d) || !draft.After(seen.AddDays(6)) || !draft.After(s.activeSince[ap.ID].AddDays(6)) {
				continue
			}
			if !made[ap.ID+":"+due.String()] {
				return fmt.Sprintf("%s: the installment due %s drafts on %s (enrollment %s, %d days before); no autopay payment was made for it", id, due, draft, ap.ID, lead), nil
			}
		}
	}
	return "", nil
}

// emailDocument finds the document an email delivered is about: the
// outbox row by its id (the Message-ID is outbox-ID.…@…, see
// ledger/outbox.go), else by the Message-ID itself; its topic names the
// document.
func (s *sim) emailDocument(ctx context.Context, messageID string) (int64, bool, error) {
	db := s.env.Store.DB()
	var topic string
	err := sql.ErrNoRows
	if rest, ok := strings.CutPrefix(messageID, "outbox-"); ok {
		if n, _, ok := strings.Cut(rest, "."); ok {
			if id, perr := strconv.ParseInt(n, 10, 64); perr == nil {
				err = db.QueryRowContext(ctx, `SELECT topic FROM outbox WHERE id = $1 AND message_id = $2`, id, messageID).Scan(&topic)
			}
		}
	}
	if errors.Is(err, sql.ErrNoRows) {
		err = db.QueryRowContext(ctx, `SELECT topic FROM outbox WHERE message_id = $1`, messageID).Scan(&topic)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	n, ok := strings.CutPrefix(topic, "document:")
	if !ok {
		return 0, false, nil
	}
	id, err := strconv.ParseInt(n, 10, 64)
	return id, err == nil, nil
}

// extension is a threshold notice an extended lease is owed for its new
// maturity date.
type extension struct {
	account  string
	days     int        // the threshold
	maturity civil.Date // the new maturity date
}

// noteExtensions records the notices owed for the leases the servicing
// system extended on d: each threshold whose day for the new maturity is
// d or later.
func (s *sim) noteExtensions(d civil.Date, touched map[string]bool) {
	ts := s.env.Config.LeaseEndDays
	if len(ts) == 0 {
		ts = statements.LeaseEndThresholds
	}
	for _, id := range slices.Sorted(maps.Keys(touched)) {
		cs := s.sys.changes[id]
		if len(cs) == 0 || cs[len(cs)-1].kind != "extend" || cs[len(cs)-1].on != d {
			continue
		}
		m := s.sys.current(id, d).Contract.MaturityDate
		s.rep.Extensions++
		for _, n := range ts {
			if !m.AddDays(-n).Before(d) {
				s.owed = append(s.owed, extension{account: id, days: n, maturity: m})
			}
		}
	}
}

// checkExtensions: a lease extended gets each threshold's notice for its
// new maturity date by that threshold's day.
func (s *sim) checkExtensions(ctx context.Context, d civil.Date) (string, error) {
	keep := s.owed[:0]
	for _, x := range s.owed {
		if x.maturity.AddDays(-x.days).After(d) {
			keep = append(keep, x)
			continue
		}
		var n int
		if err := s.env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM documents WHERE account_id = $1 AND kind = $2 AND period = $3`,
			x.account, jobs.LeaseEndKind(x.days), x.maturity.String()).Scan(&n); err != nil {
			return "", err
		}
		if n != 1 {
			return fmt.Sprintf("%s: extended to mature on %s; its %d-day notice for that date was due on %s and there are %d", x.account, x.maturity, x.days, x.maturity.AddDays(-x.days), n), nil
		}
	}
	s.owed = slices.Clip(keep)
	return "", nil
}

// maturitySince is the night drafter first had the lease's maturity as of
// d: the night the lease entered the extract, or its last extension.
func (s *sim) maturitySince(id string, d civil.Date) civil.Date {
	since := s.firstSeen[id]
	for _, c := range s.sys.changes[id] {
		if c.kind == "extend" && !c.on.After(d) {
			since = c.on
		}
	}
	return since
}
