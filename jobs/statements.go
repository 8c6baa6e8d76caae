package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/statements"
	"github.com/drafterhq/drafter/storage"
)

// Statements renders the monthly statement of every active account whose
// cycle ends on the business date, stores it under
// statements/ACCOUNT/YYYY-MM.pdf, records it with its new balance and queues
// its email in the same transaction. A statement recorded before is
// re-rendered and checked by sha256 instead of stored again, so a rerun
// repeats nothing. A statement that does not reconcile with the servicing
// system is held: not stored, not sent, an exception and a failed item.
type Statements struct {
	// AllAccounts treats every active account as due on the date, whatever
	// its cycle day: the benchmark's mode (`drafter bench statements`).
	AllAccounts bool
	// Workers is how many goroutines render (default GOMAXPROCS).
	Workers int
}

// Name implements Job.
func (Statements) Name() string { return "statements" }

// documentChunk is how many accounts are read, rendered and recorded per
// commit.
const documentChunk = 500

// uploaders is how many documents are put to storage at once: storage is
// bound by fsync or network round trips, not by CPU.
const uploaders = 16

// DocumentSummary is what a statements or lease-end run did.
type DocumentSummary struct {
	BusinessDate civil.Date `json:"business_date"`
	Selected     int        `json:"selected"`
	// Stored: new documents stored and recorded (their email queued).
	Stored int `json:"stored"`
	// Verified: recorded before, re-rendered and identical.
	Verified int `json:"verified"`
	// Restored: recorded before but missing from storage, stored again.
	Restored int `json:"restored"`
	// AlreadySent: recorded on an earlier business date (a lease-end
	// threshold sent before); left alone.
	AlreadySent int `json:"already_sent"`
	// Rendered: documents a dry run rendered without storing them.
	Rendered int `json:"rendered,omitempty"`
	Failed   int `json:"failed"`
	// Held: statements that do not reconcile with the servicing system:
	// not stored, not sent, an exception each; the run ends partial.
	Held         int            `json:"held,omitempty"`
	EmailsQueued int            `json:"emails_queued"`
	Bytes        int64          `json:"bytes"`
	ByKind       map[string]int `json:"by_kind,omitempty"`
	Seconds      float64        `json:"seconds"`
	PerSecond    float64        `json:"per_second"`
}

// Run implements Job: the whole run in this process (a dry run, or one
// account). Other runs are worked chunk by chunk (see ChunkedJob).
func (j Statements) Run(ctx context.Context, r *Run) (any, error) { return RunLocal(ctx, r, j) }

// WorkChunk implements ChunkedJob: render, store, record and queue the
// statements of the due accounts in the span.
func (j Statements) WorkChunk(ctx context.Context, r *Run, span ledger.ChunkSpan) (any, error) {
	d := r.Date
	// The rows of tonight's files (statements follow originate, often
	// before a deliver run) are settled first: a statement reads the
	// debits from their originations records either way, and everything
	// else it reads of the payments then says the same.
	var settled int
	if err := settleFiles(ctx, r, &settled); err != nil {
		return nil, err
	}
	f := ledger.StatementFilter{Date: d, AllAccounts: j.AllAccounts, AccountID: scopeAccount(r.Scope), Through: span.Through}
	lender := LenderFromConfig(r.Env.Config)
	sched := ScheduleFromEnv(r.Env)
	period := fmt.Sprintf("%04d-%02d", d.Year, int(d.Month))
	next := func(ctx context.Context, after string) ([]*docItem, string, error) {
		if after < span.After {
			after = span.After
		}
		accts, err := r.Store.StatementAccounts(ctx, f, after, documentChunk)
		if err != nil || len(accts) == 0 {
			return nil, "", err
		}
		acts, err := activityFor(ctx, r.Store, accts, d)
		if err != nil {
			return nil, "", err
		}
		items := make([]*docItem, len(accts))
		for i, a := range accts {
			a, act := a, acts[a.ID]
			it := &docItem{account: a.ID, recipient: a.Email, date: d, mailKind: ledger.MailStatementReady,
				key:        ledger.DocumentKey{AccountID: a.ID, Kind: ledger.DocStatement, Period: period},
				storageKey: StatementKey(a.ID, d),
			}
			it.render = func() ([]byte, error) {
				s, err := computeStatement(a, act, d, sched)
				if err != nil {
					return nil, err
				}
				it.newBalance = &s.NewBalance
				return statements.RenderStatement(s, lender)
			}
			items[i] = it
		}
		return items, accts[len(accts)-1].ID, nil
	}
	return runDocuments(ctx, r, j.Workers, next)
}

// Finish implements ChunkedJob: the statements job has no single step; its
// summary adds up the chunks'.
func (j Statements) Finish(ctx context.Context, r *Run, results []json.RawMessage) (any, error) {
	return sumDocuments(r, results)
}

// DecodeSummary implements ChunkedJob.
func (Statements) DecodeSummary(b []byte) (any, error) {
	var s DocumentSummary
	return &s, json.Unmarshal(b, &s)
}

// sumDocuments adds up the document summaries of a run's chunks. The rate
// is over the run's wall time when several chunks made it.
func sumDocuments(r *Run, results []json.RawMessage) (*DocumentSummary, error) {
	sum := &DocumentSummary{BusinessDate: r.Date, ByKind: map[string]int{}}
	for _, b := range results {
		var c DocumentSummary
		if err := json.Unmarshal(b, &c); err != nil {
			return sum, fmt.Errorf("chunk result: %w", err)
		}
		sum.Selected += c.Selected
		sum.Stored += c.Stored
		sum.Verified += c.Verified
		sum.Restored += c.Restored
		sum.AlreadySent += c.AlreadySent
		sum.Rendered += c.Rendered
		sum.Failed += c.Failed
		sum.Held += c.Held
		sum.EmailsQueued += c.EmailsQueued
		sum.Bytes += c.Bytes
		for k, n := range c.ByKind {
			sum.ByKind[k] += n
		}
		sum.Seconds += c.Seconds
	}
	if len(results) > 1 && !r.StartedAt.IsZero() {
		sum.Seconds = time.Since(r.StartedAt).Seconds()
	}
	if sum.Seconds > 0 {
		sum.PerSecond = float64(sum.Stored+sum.Verified+sum.Restored+sum.Rendered) / sum.Seconds
	}
	return sum, nil
}

// StatementKey is where an account's statement for the cycle ending on d is
// stored.
func StatementKey(account string, d civil.Date) string {
	return fmt.Sprintf("statements/%s/%04d-%02d.pdf", account, d.Year, int(d.Month))
}

func scopeAccount(scope string) string {
	a, _ := strings.CutPrefix(scope, "account:")
	if a == scope {
		return ""
	}
	return a
}

// activityFor reads the activity of the accounts from the earliest day any
// of their cycles (or their snapshots) needs through d.
func activityFor(ctx context.Context, st *ledger.Store, accts []ledger.DocumentAccount, d civil.Date) (map[string]*ledger.Activity, error) {
	from := d
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.ID
		from = minDate(from, a.CycleStart(d))
	}
	return st.AccountActivity(ctx, ids, from, d)
}

func minDate(a, b civil.Date) civil.Date {
	if b.Before(a) {
		return b
	}
	return a
}

// LenderFromConfig is the lender printed on documents. The address setting
// is one line ("PO Box 1000, Wilmington, DE 19899"); its first comma
// separates the street from the city line.
func LenderFromConfig(c *config.Config) statements.Lender {
	var addr []string
	if street, rest, ok := strings.Cut(c.LenderAddress, ", "); ok {
		addr = []string{street, rest}
	} else if c.LenderAddress != "" {
		addr = []string{c.LenderAddress}
	}
	return statements.Lender{Name: c.LenderName, Address: addr, Phone: c.LenderPhone, Website: c.LenderWebsite, PaymentAddress: addr}
}

func customerOf(a ledger.DocumentAccount) statements.Customer {
	return statements.Customer{Name: strings.TrimSpace(a.FirstName + " " + a.LastName),
		Address: statements.Address{Line1: a.Line1, Line2: a.Line2, City: a.City, State: a.State, PostalCode: a.PostalCode}}
}

func vehicleOf(a ledger.DocumentAccount) string {
	if a.VehicleYear == 0 {
		return strings.TrimSpace(a.VehicleMake + " " + a.VehicleModel)
	}
	return strings.TrimSpace(fmt.Sprintf("%d %s %s", a.VehicleYear, a.VehicleMake, a.VehicleModel))
}

func odometerUpTo(rs []ledger.OdometerReading, d civil.Date) []statements.OdometerReading {
	var out []statements.OdometerReading
	for _, r := range rs {
		if !r.On.After(d) {
			out = append(out, statements.OdometerReading{On: r.On, Miles: r.Miles})
		}
	}
	return out
}

// HeldStatement is a statement that must not be sent: the exception that
// tells a person why, with the figures.
type HeldStatement struct {
	Exception ledger.Exception
}

func (h *HeldStatement) Error() string { return "statement held: " + h.Exception.Detail }

// heldKind is the exception kind of a held statement.
const heldKind = "statement_held"

func heldStatement(a ledger.DocumentAccount, end civil.Date, detail string) *HeldStatement {
	return &HeldStatement{Exception: ledger.Exception{Kind: heldKind,
		Reference: fmt.Sprintf("%s statement %04d-%02d", a.ID, end.Year, int(end.Month)), Detail: detail}}
}

// ScheduleFromEnv is the autopay schedule origination uses, from the
// configuration and the calendar. The installment policy is OneTimeCovers
// until the configuration carries one (DRAFTER_INSTALLMENT_POLICY, which
// origination will read too): then it must come from there.
func ScheduleFromEnv(e *Env) AutopaySchedule {
	return AutopaySchedule{LeadDays: e.Config.DraftLeadDays, Policy: InstallmentPolicy(e.Config.InstallmentPolicy), Calendar: e.Calendar}
}

// StatementInput maps an account and its activity to the statement of the
// cycle ending on end. Its previous balance is the new balance of the
// account's previous statement, or for the first one the servicing system's
// balance on the day before the cycle; its new balance is the servicing
// system's balance on end. Its lines are the transactions the servicing
// system posted in the cycle and drafter's own: its debits by effective
// date, their returns and its fees. Its autopay debit is NextAutopayDebit
// as of end. A *HeldStatement error says the statement cannot be made
// (the servicing system's balance is missing).
func StatementInput(a ledger.DocumentAccount, act *ledger.Activity, end civil.Date, sched AutopaySchedule) (statements.StatementInput, error) {
	if act == nil {
		act = &ledger.Activity{}
	}
	start := a.CycleStart(end)
	in := statements.StatementInput{
		AccountID: a.ID,
		Customer:  customerOf(a),
		Terms: statements.Terms{Kind: a.Kind, Vehicle: vehicleOf(a), TermMonths: a.TermMonths, FirstDueDate: a.FirstDueOn,
			DueDay: a.DueDay, MonthlyPayment: a.MonthlyPayment, MonthlyTax: a.MonthlyTax, MaturityDate: a.MaturityOn,
			LateFee: a.LateFee, GraceDays: a.GraceDays, APRBasisPoints: a.APRBasisPoints,
			MileageAllowancePerYear: a.MileageAllowancePerYear, StartOdometer: a.StartOdometer},
		CycleStart: start,
		CycleEnd:   end,
		Odometer:   odometerUpTo(act.Odometer, end),
		NOCAccount: act.NOCAccount,
	}
	inCycle := func(t ledger.Transaction) bool { return !t.PostedOn.Before(start) && !t.PostedOn.After(end) }
	for _, ts := range [][]ledger.Transaction{act.Imported, act.Drafter} {
		for _, t := range ts {
			if inCycle(t) {
				in.Transactions = append(in.Transactions, statements.Transaction{PostedOn: t.PostedOn, Kind: statements.TxKind(t.Kind), Amount: t.Amount, Description: t.Description})
			}
		}
	}
	if ap := act.Autopay; ap.Active && a.Status == "active" {
		in.Autopay = statements.AutopayDebit{Active: true, MaskedAccount: ap.MaskedAccount}
		e := ledger.AutopayEnrollment{ID: ap.EnrollmentID, AccountID: a.ID, BankAccountID: ap.BankAccountID, StartsOn: ap.StartsOn,
			DaysBeforeDue: ap.DaysBeforeDue, Amount: ap.Amount, MonthlyPayment: a.MonthlyPayment, MonthlyTax: a.MonthlyTax,
			FirstDueOn: a.FirstDueOn, DueDay: a.DueDay, MaturityOn: a.MaturityOn}
		if n, ok := NextAutopayDebit(e, a.OpenedOn, act.OneTime, end, sched); ok {
			in.Autopay.DueOn, in.Autopay.DebitOn, in.Autopay.Amount, in.Autopay.Covered = n.DueOn, n.DraftOn, n.Amount, n.Scheduled-n.Amount
		}
	}
	rec, ok := act.Records[end]
	if !ok {
		return in, heldStatement(a, end, fmt.Sprintf("account %s: the servicing system's balance on the statement date %s is not in the ledger (latest extract as of %s): import the extract of %s with its balance history (balance.history, see docs/portfolio-format.md), then run the statements job again",
			a.ID, end, a.BalanceAsOf, end))
	}
	in.Record = statements.Record{Balance: rec.Balance, Principal: rec.Principal, FeesDue: rec.FeesDue, PastDue: rec.PastDue}
	prevEnd := start.AddDays(-1)
	if !a.OpenedOn.Before(start) {
		// The first cycle of a new account opens with its opening balance.
		prevEnd = a.OpenedOn
	}
	if act.Previous != nil {
		in.PreviousBalance = act.Previous.NewBalance
		return in, nil
	}
	prev, ok := act.Records[prevEnd]
	if !ok {
		return in, heldStatement(a, end, fmt.Sprintf("account %s: no earlier statement, and the servicing system's balance on %s, before the cycle, is not in the ledger: import an extract whose balance.history covers %s, then run the statements job again",
			a.ID, prevEnd, prevEnd))
	}
	in.PreviousBalance = prev.Balance
	return in, nil
}

// computeStatement is the statement of the cycle ending on end, or a
// *HeldStatement error when it must not be sent.
func computeStatement(a ledger.DocumentAccount, act *ledger.Activity, end civil.Date, sched AutopaySchedule) (statements.Statement, error) {
	in, err := StatementInput(a, act, end, sched)
	if err != nil {
		return statements.Statement{}, err
	}
	s, err := statements.ComputeStatement(in)
	var u *statements.Unreconciled
	if errors.As(err, &u) {
		return s, heldStatement(a, end, fmt.Sprintf("account %s, statement of %s: the previous balance %s plus the cycle's transactions comes to %s, but the servicing system's balance is %s (difference %s); the statement is held, not sent: find the transaction one side lacks, correct it, and run the statements job again",
			a.ID, end, u.Previous, u.Computed, u.Record, u.Difference))
	}
	if err != nil {
		return s, fmt.Errorf("compute statement: %w", err)
	}
	return s, nil
}

// RenderStatementFor computes and renders one account's statement for the
// cycle ending on d from the ledger, as the statements job would, without
// storing or recording it.
func RenderStatementFor(ctx context.Context, env *Env, account string, d civil.Date) ([]byte, error) {
	st := env.Store
	a, err := st.DocumentAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	if !IsCycleEnd(a.CycleDay, d) {
		prev, next := CycleEnds(a.CycleDay, d)
		return nil, &NotCycleEndError{Account: account, Date: d, CycleDay: a.CycleDay, Before: prev, After: next}
	}
	acts, err := activityFor(ctx, st, []ledger.DocumentAccount{a}, d)
	if err != nil {
		return nil, err
	}
	s, err := computeStatement(a, acts[a.ID], d, ScheduleFromEnv(env))
	if err != nil {
		return nil, err
	}
	return statements.RenderStatement(s, LenderFromConfig(env.Config))
}

// docItem is one document on its way through the pipeline.
type docItem struct {
	account, recipient string
	key                ledger.DocumentKey
	storageKey         string
	date               civil.Date
	mailKind           string
	render             func() ([]byte, error)
	newBalance         *money.Cents // a statement's, recorded with it
	held               *HeldStatement

	existing *ledger.Document
	pdf      []byte // between rendering and storing
	sha      string
	size     int64
	outcome  string // stored | unchanged | verified | restored | already | rendered
	err      error
	wg       *sync.WaitGroup
}

// Outcomes of a document.
const (
	outStored    = "stored"    // new, put to storage
	outUnchanged = "unchanged" // new to the ledger, its bytes already in storage (a crash between the two)
	outVerified  = "verified"
	outRestored  = "restored"
	outAlready   = "already"
	outRendered  = "rendered" // dry run
)

type docChunk struct {
	items []*docItem
	wg    sync.WaitGroup
}

// docSource reads the next chunk of documents after the keyset cursor; no
// items means the end.
type docSource func(ctx context.Context, after string) (items []*docItem, cursor string, err error)

// runDocuments is the pipeline both document jobs share. One goroutine (the
// caller's) reads and writes the database; workers render on every core;
// uploaders put to storage. At most two chunks are in flight (one being
// rendered while the next is read, or the last one recorded), so memory is
// flat however many accounts there are.
func runDocuments(ctx context.Context, r *Run, workers int, next docSource) (*DocumentSummary, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	sum := &DocumentSummary{BusinessDate: r.Date, ByKind: map[string]int{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	work := make(chan *docItem, 2*workers)
	upload := make(chan *docItem, 2*uploaders)
	feed := make(chan *docChunk, 1)
	var pool sync.WaitGroup
	go func() {
		defer close(work)
		for c := range feed {
			for i, it := range c.items {
				select {
				case work <- it:
				case <-ctx.Done():
					for _, rest := range c.items[i:] {
						rest.wg.Done()
					}
					goto nextChunk
				}
			}
		nextChunk:
		}
	}()
	for range workers {
		pool.Add(1)
		go func() {
			defer pool.Done()
			for it := range work {
				if ctx.Err() == nil && renderItem(ctx, r, it) {
					upload <- it
					continue
				}
				it.wg.Done()
			}
		}()
	}
	var up sync.WaitGroup
	for range uploaders {
		up.Add(1)
		go func() {
			defer up.Done()
			for it := range upload {
				if ctx.Err() == nil {
					storeItem(ctx, r, it)
				}
				it.pdf = nil
				it.wg.Done()
			}
		}()
	}
	stop := func() {
		close(feed)
		pool.Wait()
		close(upload)
		up.Wait()
	}

	var pending *docChunk
	after := ""
	var runErr error
	for {
		var c *docChunk
		items, cursor, err := next(ctx, after)
		if err == nil {
			err = attachExisting(ctx, r, items)
		}
		if err != nil {
			runErr = err
		} else if len(items) > 0 {
			after = cursor
			c = &docChunk{items: items}
			var todo []*docItem
			for _, it := range items {
				it.wg = &c.wg
				if it.outcome == "" {
					todo = append(todo, it)
				}
			}
			c.wg.Add(len(todo))
			feed <- &docChunk{items: todo}
		}
		if pending != nil && runErr == nil {
			pending.wg.Wait()
			if err := recordChunk(ctx, r, pending.items, sum, start); err != nil {
				runErr = err
			}
		}
		if runErr == nil {
			runErr = r.Stopped()
		}
		if runErr == nil && c != nil && r.CheckCancel(ctx) != nil {
			// A cancel: the page in flight is finished and recorded,
			// then the run stops between two pages.
			c.wg.Wait()
			runErr = recordChunk(ctx, r, c.items, sum, start)
			if runErr == nil {
				runErr = r.CheckCancel(ctx)
			}
		}
		if runErr != nil || c == nil {
			break
		}
		pending = c
	}
	if runErr != nil {
		cancel()
	}
	stop()
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.PerSecond = float64(sum.Stored+sum.Verified+sum.Restored+sum.Rendered) / sum.Seconds
	}
	return sum, runErr
}

// attachExisting looks up which of the items are recorded already. One
// recorded on another business date (a lease-end threshold sent on an
// earlier day) is left alone; one recorded for this date is verified.
func attachExisting(ctx context.Context, r *Run, items []*docItem) error {
	keys := make([]ledger.DocumentKey, len(items))
	for i, it := range items {
		keys[i] = it.key
	}
	have, err := r.Store.Documents(ctx, keys)
	if err != nil {
		return err
	}
	for _, it := range items {
		if d, ok := have[it.key]; ok {
			it.existing = &d
			it.storageKey = d.StorageKey // the ledger is the record of where
			if d.DocumentDate != it.date {
				it.outcome = outAlready
			}
		}
	}
	return nil
}

// renderItem renders and checks one document; true means it goes on to
// storage.
func renderItem(ctx context.Context, r *Run, it *docItem) bool {
	pdf, err := it.render()
	var held *HeldStatement
	if errors.As(err, &held) {
		it.held = held
		return false
	}
	if err != nil {
		it.err = err
		return false
	}
	h := sha256.Sum256(pdf)
	it.sha, it.size = hex.EncodeToString(h[:]), int64(len(pdf))
	if it.existing != nil && it.existing.SHA256 != it.sha {
		// The account changed since its document was made (a resumed
		// or rerun run after a new extract). The recorded document is
		// what was sent: intact in storage, it stands as verified; only
		// one that storage lost, and that can no longer be made again
		// byte for byte, is an error.
		if obj, err := r.Env.Docs.Stat(ctx, it.storageKey); err == nil && obj.SHA256 == it.existing.SHA256 {
			it.outcome = outVerified
			return false
		}
		it.err = fmt.Errorf("document %s was recorded with sha256 %s but renders now as %s: the ledger changed after it was sent; it is left as recorded (rerun with a new period or ask an engineer)",
			it.storageKey, it.existing.SHA256, it.sha)
		return false
	}
	if r.DryRun {
		it.outcome = outRendered
		if it.existing != nil {
			it.outcome = outVerified
		} else {
			r.dryDocs.add(it.storageKey, it.sha)
		}
		return false
	}
	it.pdf = pdf
	return true
}

// storeItem puts a rendered document to storage: a new one, or a recorded
// one that storage lost.
func storeItem(ctx context.Context, r *Run, it *docItem) {
	if err := r.Stopped(); err != nil {
		it.err = err
		return
	}
	// DeferSync: recordChunk syncs storage once for the chunk before the
	// ledger records any of its documents.
	opts := storage.PutOptions{ContentType: "application/pdf", DeferSync: true, Metadata: map[string]string{
		"account": it.account, "kind": strings.ReplaceAll(it.key.Kind, "_", "-"), "period": it.key.Period}}
	if it.existing != nil {
		obj, err := r.Env.Docs.Stat(ctx, it.storageKey)
		if err == nil && obj.SHA256 == it.sha {
			it.outcome = outVerified
			return
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			it.err = fmt.Errorf("check stored %s: %w", it.storageKey, err)
			return
		}
		// The ledger is the record: what it recorded goes back in place.
		opts.Replace = true
	}
	call := r.CallBegins()
	res, err := r.Env.Docs.Put(ctx, it.storageKey, it.pdf, opts)
	if errors.Is(err, storage.ErrConflict) && it.existing == nil {
		// Bytes under the key that the ledger never recorded: a run
		// killed between its put and its record, resumed after the
		// ledger changed (a new extract). Nobody was told of them (no
		// record, no email), so what the ledger says now replaces them;
		// storage keeps the old bytes as a previous version.
		opts.Replace = true
		res, err = r.Env.Docs.Put(ctx, it.storageKey, it.pdf, opts)
		if err == nil {
			r.Log.Warn().Str("key", it.storageKey).Str("previous", res.PreviousKey).
				Msg("storage held an unrecorded earlier render of this document (an interrupted run); replaced it, the old bytes kept")
		}
	}
	r.DependStorageSince(call, err)
	if err != nil {
		it.err = fmt.Errorf("store %s: %w", it.storageKey, err)
		return
	}
	r.Checkpoint("document put")
	switch {
	case it.existing != nil:
		it.outcome = outRestored
		r.Log.Warn().Str("key", it.storageKey).Msg("recorded document was missing from storage; stored it again")
	case res.Unchanged:
		it.outcome = outUnchanged
	default:
		it.outcome = outStored
	}
}

// recordChunk records a rendered chunk's new documents with their emails
// in one transaction and counts the chunk.
func recordChunk(ctx context.Context, r *Run, items []*docItem, sum *DocumentSummary, start time.Time) error {
	// The chunk's puts deferred their folder syncs: make them durable before
	// the ledger says the documents are stored.
	if err := storage.Sync(ctx, r.Env.Docs); err != nil {
		return err
	}
	var news []ledger.NewDocument
	var held []ledger.Exception
	done, skipped, rendered := 0, 0, 0
	for _, it := range items {
		sum.Selected++
		r.Selected(1)
		if it.held != nil {
			// Held, not sent: no document, no email; an exception for a
			// person, and a failed item, so the run ends partial and is
			// listed as needing attention.
			sum.Held++
			held = append(held, it.held.Exception)
			r.ItemFailed(it.key.AccountID+" "+it.key.Kind+" "+it.key.Period, it.held)
			continue
		}
		if it.err != nil {
			sum.Failed++
			r.ItemFailed(it.key.AccountID+" "+it.key.Kind+" "+it.key.Period, it.err)
			continue
		}
		switch it.outcome {
		case outStored, outUnchanged:
			news = append(news, ledger.NewDocument{DocumentKey: it.key, DocumentDate: it.date, StorageKey: it.storageKey,
				SHA256: it.sha, Size: it.size, Recipient: it.recipient, MailKind: it.mailKind, NewBalance: it.newBalance})
			sum.Bytes += it.size
			sum.ByKind[it.key.Kind]++
		case outVerified:
			sum.Verified++
			done++
		case outRestored:
			sum.Restored++
			done++
		case outAlready:
			sum.AlreadySent++
			skipped++
		case outRendered:
			// Recorded in the dry run's transaction (rolled back at its
			// end): the steps simulated after it see the document and its
			// email, as they would after a real run.
			news = append(news, ledger.NewDocument{DocumentKey: it.key, DocumentDate: it.date, StorageKey: it.storageKey,
				SHA256: it.sha, Size: it.size, Recipient: it.recipient, MailKind: it.mailKind, NewBalance: it.newBalance})
			rendered++
			sum.Rendered++
			sum.Bytes += it.size
			sum.ByKind[it.key.Kind]++
		default:
			// Not processed: the run was cancelled.
			return fmt.Errorf("document %s: %w", it.storageKey, context.Cause(ctx))
		}
	}
	if len(held) > 0 {
		if _, err := r.Store.AddExceptions(ctx, held); err != nil {
			return err
		}
		r.Log.Warn().Int("held", len(held)).Msg("statements held: they do not reconcile with the servicing system (see the exceptions)")
	}
	if len(news) > 0 {
		recorded, err := r.Store.RecordDocuments(ctx, news)
		if err != nil {
			return err
		}
		r.Checkpoint("documents recorded")
		sum.EmailsQueued += len(recorded)
		sum.Stored += len(news) - rendered
		done += len(news)
	}
	r.Done(done)
	r.Skipped(skipped)
	el := time.Since(start).Seconds()
	total := sum.Stored + sum.Verified + sum.Restored + sum.Rendered
	r.Log.Info().Int("batch_size", len(items)).Int("documents", total).Int("failed", sum.Failed).
		Float64("documents_per_s", float64(int(float64(total)/max(el, 1e-9)*10))/10).Msg("progress")
	return nil
}

// IsCycleEnd reports whether a statement cycle with the given cycle day
// ends on d: on the cycle day, or on the month's last day when the month
// is shorter (the rule the statements job selects accounts by).
func IsCycleEnd(cycleDay int, d civil.Date) bool {
	return cycleEnd(cycleDay, d.Year, d.Month) == d
}

// CycleEnds returns the cycle's last statement date before d and its first
// after d.
func CycleEnds(cycleDay int, d civil.Date) (before, after civil.Date) {
	first := civil.New(d.Year, d.Month, 1)
	for i := -1; i <= 1; i++ {
		m := first.AddMonths(i)
		e := cycleEnd(cycleDay, m.Year, m.Month)
		if e.Before(d) {
			before = e
		}
		if e.After(d) && after.IsZero() {
			after = e
		}
	}
	return before, after
}

func cycleEnd(cycleDay, y int, m time.Month) civil.Date {
	return civil.New(y, m, min(cycleDay, civil.DaysIn(y, m)))
}

// NotCycleEndError refuses a statement for a date its account's cycle does
// not end on: such a statement would cover a made-up period.
type NotCycleEndError struct {
	Account       string
	Date          civil.Date
	CycleDay      int
	Before, After civil.Date
}

func (e *NotCycleEndError) Error() string {
	return fmt.Sprintf("account %s: %s is not a statement date: its cycle ends on day %d of each month (the last day of a shorter month); the nearest statement dates are %s and %s",
		e.Account, e.Date, e.CycleDay, e.Before, e.After)
}
