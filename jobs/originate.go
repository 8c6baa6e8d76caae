package jobs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/storage"
)

// Originate turns the payments that fall due into NACHA debit files:
// it makes the payment instances (autopay, one-time, prenotes), originates
// every eligible scheduled payment into the day's files exactly once, and
// stores each file. It writes each payment's origination as its
// originations record only: the payment rows are settled from the records
// afterwards, in bulk and off the night's path to the bank, by the deliver
// job (every few minutes) or by the first statements run that reads them
// (see ledger.SettleFile).
type Originate struct{}

// Name implements Job.
func (Originate) Name() string { return "originate" }

// autopayLookbackDays is how far back a run makes autopay instances whose
// draft date it missed (a night the job did not run); each is made once.
const autopayLookbackDays = 5

// allocateAttempts is how many times a file is read and allocated again
// when a payment in it changes in between.
const allocateAttempts = 3

// autopayPage is how many enrollments are read and instanced per commit.
const autopayPage = 5000

// OriginateSummary is what an originate run did.
type OriginateSummary struct {
	BusinessDate     civil.Date     `json:"business_date"`
	EffectiveDate    civil.Date     `json:"effective_date"`
	Created          int            `json:"payments_created"`
	PrenotesCreated  int            `json:"prenotes_created"`
	PrenotesVerified int            `json:"prenotes_verified"`
	Files            []FileSummary  `json:"files"`
	Batches          int            `json:"batches"`
	Entries          int            `json:"entries"`
	Prenotes         int            `json:"prenotes"`
	DebitTotal       money.Cents    `json:"debit_total_cents"`
	Skipped          map[string]int `json:"skipped_by_reason"`
	// Reduced and Covered count the autopay payments whose debit the
	// installment policy reduced by a one-time payment, or cancelled.
	Reduced int `json:"autopay_reduced"`
	Covered int `json:"autopay_covered"`
	// Held counts the payments held because their entries cannot be made
	// (each also in Skipped by reason, with an exception).
	Held int `json:"held"`
}

// FileSummary is one file of the day.
type FileSummary struct {
	Modifier   string      `json:"id_modifier"`
	Key        string      `json:"storage_key"`
	SHA256     string      `json:"sha256"`
	Batches    int         `json:"batches"`
	Entries    int         `json:"entries"`
	DebitTotal money.Cents `json:"debit_total_cents"`
	Stored     string      `json:"stored"` // new | unchanged | already | dry-run
}

// Run implements Job: the whole run in this process (a dry run). Other
// runs make their autopay instances chunk by chunk and originate once
// after the last chunk (see ChunkedJob).
func (o Originate) Run(ctx context.Context, r *Run) (any, error) { return RunLocal(ctx, r, o) }

// instancesResult is what a chunk of originate did.
type instancesResult struct {
	Created int `json:"payments_created"`
}

// WorkChunk implements ChunkedJob: the autopay payment instances of the
// accounts in the span. Each has a unique source key: making one twice
// makes one.
func (o Originate) WorkChunk(ctx context.Context, r *Run, span ledger.ChunkSpan) (any, error) {
	cfg, cal, st := r.Env.Config, r.Env.Calendar, r.Store
	d := r.Date
	eff := cal.NextBankingDay(d)
	res := &instancesResult{}
	after := span.After
	for {
		es, err := st.ActiveAutopayIn(ctx, span, after, autopayPage)
		if err != nil {
			return res, err
		}
		if len(es) == 0 {
			break
		}
		var ps []ledger.NewPayment
		for _, e := range es {
			lead := e.DaysBeforeDue
			if lead == 0 {
				lead = cfg.DraftLeadDays
			}
			for _, in := range AutopayInstallments(e.FirstDueOn, e.MaturityOn, e.StartsOn, e.DueDay, lead, d.AddDays(-autopayLookbackDays), eff, cal) {
				ps = append(ps, ledger.NewPayment{Source: ledger.SourceAutopay, SourceKey: e.ID + ":" + in.DueOn.String(),
					AccountID: e.AccountID, BankAccountID: e.BankAccountID, Kind: "debit", SEC: "PPD", Description: "AUTOPAY",
					Amount: AutopayAmount(e.Amount, e.MonthlyPayment, e.MonthlyTax), DueOn: in.DueOn, DraftOn: in.DraftOn})
			}
		}
		n, err := st.InsertPayments(ctx, ps)
		if err != nil {
			return res, err
		}
		res.Created += n
		r.Checkpoint("autopay instances")
		after = es[len(es)-1].AccountID
	}
	return res, nil
}

// DecodeSummary implements ChunkedJob.
func (Originate) DecodeSummary(b []byte) (any, error) {
	var s OriginateSummary
	return &s, json.Unmarshal(b, &s)
}

// Finish implements ChunkedJob: once every account's instances are made,
// the one-time payments and prenotes of the day, then origination into
// the day's files and their storage. Allocation is serialized per business
// date in the ledger and repeats nothing, so a finisher that died is
// simply followed by another.
func (o Originate) Finish(ctx context.Context, r *Run, results []json.RawMessage) (any, error) {
	cfg, cal, st := r.Env.Config, r.Env.Calendar, r.Store
	d := r.Date
	eff := cal.NextBankingDay(d)
	sum := &OriginateSummary{BusinessDate: d, EffectiveDate: eff, Skipped: map[string]int{}}
	for _, b := range results {
		var c instancesResult
		if err := json.Unmarshal(b, &c); err != nil {
			return sum, fmt.Errorf("chunk result: %w", err)
		}
		sum.Created += c.Created
	}
	n, err := st.ScheduleOneTimePayments(ctx, eff)
	if err != nil {
		return sum, err
	}
	sum.Created += n
	r.Checkpoint("one-time payments")
	if err := o.applyInstallmentPolicy(ctx, r, eff, sum); err != nil {
		return sum, err
	}
	// A prenote that settled PrenoteWaitDays banking days before the
	// effective date without a return or NOC makes the account live.
	if sum.PrenotesVerified, err = st.VerifyPrenotes(ctx, cal.AddBankingDays(eff, -cfg.PrenoteWaitDays)); err != nil {
		return sum, err
	}
	r.Checkpoint("prenotes verified")
	if sum.PrenotesCreated, err = st.SchedulePrenotes(ctx, d); err != nil {
		return sum, err
	}
	r.Checkpoint("prenotes scheduled")
	// Fresh planner statistics: the night's instances (and a first import)
	// can change these tables faster than autovacuum notices, and a planner
	// that thinks them small joins the day's payments to their bank
	// accounts by full scans.
	if err := st.Analyze(ctx, "payments", "bank_accounts"); err != nil {
		return sum, err
	}

	// 2. Originate: every eligible due payment into the day's files, one
	// file at a time, so memory holds the day's ids and a few files'
	// payments however many the day has: the one allocated, the next
	// (read ahead), and the bytes of one waiting to be stored and one
	// being stored. Each file allocated is handed to a storer that stores
	// it while the next one is allocated. A dry run shares one
	// transaction, so it does all of it in turn.
	restore := collectLess() // memory for collector time, while the pass runs
	storer := newFileStorer(ctx, o, r, !r.DryRun)
	_, err = o.allocate(storer.ctx, r, d, eff, sum, storer.store)
	stored, serr := storer.wait()
	restore()
	if serr != nil {
		// The storer's failure is the cause; allocation only saw the
		// cancel that followed it.
		err = serr
	}
	if err != nil {
		return sum, err
	}

	// 3. Build and store every file of the day the storer did not:
	// those allocated by an interrupted run, or stored before (checked). The
	// bytes come from the ledger alone, so a rebuild after a crash is
	// byte-identical and storage reports it unchanged.
	files, err := st.DayFiles(ctx, d)
	if err != nil {
		return sum, err
	}
	for _, f := range files {
		fs, ok := stored[f.ID]
		if !ok {
			if fs, err = o.storeFile(ctx, r, f, nil); err != nil {
				return sum, err
			}
		}
		sum.Files = append(sum.Files, fs)
		sum.Batches += fs.Batches
		sum.Entries += fs.Entries
		sum.DebitTotal += fs.DebitTotal
	}
	return sum, nil
}

// applyInstallmentPolicy sets what each autopay payment about to be
// originated debits when the customer also scheduled one-time payments for
// the same installment (AutopayDebit under the configured policy): reduced
// by them, cancelled when they pay it in full. It computes from the
// installment each time, so applying it again changes nothing.
func (o Originate) applyInstallmentPolicy(ctx context.Context, r *Run, eff civil.Date, sum *OriginateSummary) error {
	st := r.Store
	policy := InstallmentPolicy(r.Env.Config.InstallmentPolicy)
	ins, err := st.AutopayInstallments(ctx, eff)
	if err != nil {
		return err
	}
	for _, in := range ins {
		oneTime, ids := OneTimeForInstallment(in.FirstDueOn, in.DueDay, in.DueOn, in.OpenedOn, in.OneTime)
		amount := AutopayDebit(policy, in.Installment, oneTime)
		if amount == in.Amount {
			continue
		}
		reason := fmt.Sprintf("covered by one-time payment %s", ids)
		changed, err := st.SetAutopayAmount(ctx, in.PaymentID, in.Installment, amount, reason)
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if amount == 0 {
			sum.Covered++
		} else {
			sum.Reduced++
		}
		r.Log.Info().Int64("payment_id", in.PaymentID).Str("account", in.AccountID).Int64("installment_cents", int64(in.Installment)).
			Int64("one_time_cents", int64(oneTime)).Int64("debit_cents", int64(amount)).Str("policy", string(policy)).
			Msg("autopay debit set by the installment policy")
	}
	r.Checkpoint("installment policy applied")
	return nil
}

// allocate originates every eligible due payment into the day's files, one
// file's worth at a time, and passes each file allocated, built, to stored.
// A payment whose entry cannot be made is held (see screen): it is counted
// once in the summary by reason, its exception recorded, and every other
// payment goes on. A file holds the next FileEntryLimit payments in file
// order that are not held, wherever the held ones fall, so a run that
// resumes after a crash makes the same files as one that did not stop.
// The next file's payments are read and screened while this one's are
// allocated (except in a dry run, whose one transaction does one thing at
// a time): reading is one database session's work, writing another's.
func (o Originate) allocate(ctx context.Context, r *Run, d, eff civil.Date, sum *OriginateSummary, stored func(allocatedFile) error) (int, error) {
	originated := 0
	held := map[int64]bool{}
	var seen []int64 // the ids a pass read, but those that wait
	var left []int64 // the ids due after a pass's last page that it did not read, nil if not looked for
	for pass := 1; ; pass++ {
		// A pass reads the day's due payments in file order, a file's
		// worth at a time. A later pass only finds payments that became
		// due behind the pages read while the one before allocated: it
		// reads the pages only if there are any (usually none). The held
		// ones were read, and held, before.
		skip := maps.Clone(held)
		// A payment read scheduled may have an originations record only
		// in a file not settled yet: this run's (read on its earlier
		// pages, so never on a later page of this pass), or one there
		// before the run (a run that stopped midway) or since (a run of
		// another business date, whose records the allocation's key
		// refuses a second of). The first pass looks up each payment's
		// record only when the run began with such a file; a later pass
		// reads from the start again, past this run's own files.
		mayBeOriginated := true
		if pass == 1 {
			var err error
			if mayBeOriginated, err = r.Store.OriginationsUnsettled(ctx); err != nil {
				return originated, err
			}
		} else {
			more, err := o.anyLeft(ctx, r, eff, skip, seen, left)
			if err != nil || !more {
				return originated, err
			}
		}
		counted := o.expect(ctx, r, eff, len(skip), mayBeOriginated, !r.DryRun)
		before := originated
		seen, left = seen[:0], nil
		next, stop := o.gather(ctx, r, eff, skip, mayBeOriginated, !r.DryRun, &seen, &left)
		err := func() error {
			for {
				g, ok := next()
				if !ok {
					return nil
				}
				// Between two files, never inside one's allocation: a
				// cancel stops here, and a resume allocates the next file
				// as this run would have.
				if err := r.CheckCancel(ctx); err != nil {
					return err
				}
				if g.err != nil {
					return fmt.Errorf("allocate file: %w", g.err)
				}
				if pass == 1 {
					// Those that wait (for a prenote, a valid bank
					// account) are counted once, on the first pass.
					for reason, n := range g.waiting {
						sum.Skipped[reason] += n
						r.Skipped(n)
						r.Selected(n)
					}
				}
				if err := o.hold(ctx, r, sum, held, g.holds); err != nil {
					return err
				}
				if len(g.entries) == 0 {
					continue
				}
				a, err := o.allocateEntries(ctx, r, d, eff, sum, held, g.entries)
				if err != nil {
					return fmt.Errorf("allocate file: %w", err)
				}
				if a.payments == 0 {
					continue
				}
				r.Checkpoint("file allocated")
				sum.Prenotes += a.prenotes
				originated += a.payments
				r.Selected(a.payments)
				r.Done(a.payments)
				r.Log.Info().Int("payments", a.payments).Int("originated", originated).Msg("file allocated")
				if err := stored(a); err != nil {
					return err
				}
			}
		}()
		stop()
		counted()
		if err != nil {
			return originated, err
		}
		if originated == before {
			return originated, nil
		}
	}
}

// anyLeft says whether a due payment that can be originated now is left
// after a pass that read seen: one that became due, or whose bank account
// became ready, behind the pass's pages. Those in skip were held before.
// left is those due after the pass's last page that it did not read
// (gather), or nil to look for them now.
func (o Originate) anyLeft(ctx context.Context, r *Run, eff civil.Date, skip map[int64]bool, seen, left []int64) (bool, error) {
	if left == nil {
		due, err := r.Store.DueIDs(ctx, eff)
		if err != nil {
			return false, err
		}
		left = notRead(due, seen, skip)
	}
	// Most of those left wait for their bank account (a prenote); the
	// rest were originated by an earlier run, or are new.
	for len(left) > 0 {
		n := min(len(left), r.Env.Config.FileEntryLimit)
		ps, err := r.Store.Originable(ctx, eff, left[:n])
		if err != nil || len(ps) > 0 {
			return len(ps) > 0, err
		}
		left = left[n:]
	}
	return false, nil
}

// notRead returns the ids of due (in place) that are neither in seen
// (which it sorts) nor in skip.
func notRead(due, seen []int64, skip map[int64]bool) []int64 {
	slices.Sort(seen)
	return slices.DeleteFunc(due, func(id int64) bool {
		_, read := slices.BinarySearch(seen, id)
		return read || skip[id]
	})
}

// expect sets the run's progress total as a pass starts: what it selected
// so far and what the pass will (the due payments not originated yet, less
// those held before). Beside (on another connection, while the first page
// is read), or before the pass; wait returns once it is set (or failed:
// the total is only progress, and the pass goes on without it).
func (o Originate) expect(ctx context.Context, r *Run, eff civil.Date, held int, mayBeOriginated, beside bool) (wait func()) {
	base := r.Counts().Selected
	count := func() {
		n, err := r.Store.CountDue(ctx, eff, mayBeOriginated)
		if err != nil {
			r.Log.Warn().Err(err).Msg("counting the due payments for progress")
			return
		}
		r.Expect(base + n - held)
	}
	if !beside {
		count()
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		count()
	}()
	return func() { <-done }
}

// gathered is the next file's worth of due payments, read and screened:
// the entries to allocate, the payments to hold and how many wait, by
// reason.
type gathered struct {
	entries []screenedEntry
	holds   []ledger.PaymentHold
	waiting map[string]int
	err     error
}

// gather reads the day's due payments in file order (DueAfter) and screens
// them, a file's worth (FileEntryLimit entries; held and waiting payments,
// and those in skip, not counted) at a time: next returns each, and false
// after the last (or after an error, which the last carries). So a file
// holds the next FileEntryLimit payments in file order that are not held,
// and a run that resumes after a crash makes the same files as one that did
// not stop. Ahead, a goroutine reads at most one file ahead of the
// allocation; otherwise next reads when called. stop ends the reading
// early and waits for it; it must be called. skip is only read; the ids
// read (but those that wait) are appended to seen, which is the caller's
// again once stop returns. mayBeOriginated is DueAfter's.
//
// Ahead, once the last page is read and its file taken, the goroutine
// reads the ids due then (DueIDs) and puts those the pass did not read,
// nor skipped, in *left, for the next pass's anyLeft, while the last file
// is allocated: a payment that becomes due behind the pages before that
// read is found by the next pass, as one that becomes due after it is by
// the next run (as after any read). (Those held in this pass were read.)
// *left stays nil when the reading stopped early or failed, or the pass
// read no entry to allocate (it is the last).
func (o Originate) gather(ctx context.Context, r *Run, eff civil.Date, skip map[int64]bool, mayBeOriginated, ahead bool, seen, left *[]int64) (next func() (gathered, bool), stop func()) {
	limit := r.Env.Config.FileEntryLimit
	var after *ledger.FileOrderKey
	done := false
	read := func(ctx context.Context) (gathered, bool) {
		if done {
			return gathered{}, false
		}
		g := gathered{waiting: map[string]int{}}
		for !done && len(g.entries) < limit {
			want := limit - len(g.entries)
			page, err := r.Store.DueAfter(ctx, eff, after, want, mayBeOriginated)
			if err != nil {
				done, g.err = true, err
				return g, true
			}
			if len(page) < want {
				done = true
			}
			if len(page) > 0 {
				k := page[len(page)-1].Key()
				after = &k
			}
			due := page[:0]
			for _, p := range page {
				if p.Waiting == "" || p.Waiting == "-" {
					*seen = append(*seen, p.ID)
				}
				switch {
				case skip[p.ID], p.Waiting == "-":
				case p.Waiting != "":
					g.waiting[p.Waiting]++
				default:
					due = append(due, p)
				}
			}
			entries, holds := screen(r.Env.Config, r.Store, due)
			if g.entries == nil {
				g.entries = entries // a file's first page: no copy
			} else {
				g.entries = append(g.entries, entries...)
			}
			g.holds = append(g.holds, holds...)
		}
		return g, true
	}
	if !ahead {
		return func() (gathered, bool) { return read(ctx) }, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	files := make(chan gathered, 1)
	go func() {
		defer close(files)
		failed, entries := false, false
		for {
			g, ok := read(ctx)
			if !ok {
				break
			}
			failed = failed || g.err != nil
			entries = entries || len(g.entries) > 0
			select {
			case files <- g:
			case <-ctx.Done():
				return
			}
		}
		// A pass that handed on no entry originates nothing, and is the
		// run's last: no next pass looks at what is left.
		if failed || !entries {
			return
		}
		due, err := r.Store.DueIDs(ctx, eff)
		if err != nil {
			return
		}
		if *left = notRead(due, *seen, skip); *left == nil {
			*left = []int64{}
		}
	}()
	next = func() (gathered, bool) {
		g, ok := <-files
		return g, ok
	}
	stop = func() {
		cancel()
		for range files {
			// What was read ahead is dropped.
		}
	}
	return next, stop
}

// hold records the payments held in this run once each: the summary counts
// them by reason, and each gets its exception.
func (o Originate) hold(ctx context.Context, r *Run, sum *OriginateSummary, held map[int64]bool, holds []ledger.PaymentHold) error {
	var fresh []ledger.PaymentHold
	for _, h := range holds {
		if held[h.PaymentID] {
			continue
		}
		held[h.PaymentID] = true
		fresh = append(fresh, h)
		sum.Skipped[h.Reason]++
		sum.Held++
		r.Log.Warn().Int64("payment_id", h.PaymentID).Str("account", h.AccountID).Str("reason", h.Reason).Str("field", h.Field).
			Msg("payment held: its entry cannot be made")
	}
	if len(fresh) == 0 {
		return nil
	}
	r.Selected(len(fresh))
	r.Skipped(len(fresh))
	if _, err := r.Store.HoldPayments(ctx, fresh); err != nil {
		return err
	}
	r.Checkpoint("payments held")
	return nil
}

// allocateEntries allocates screened entries into the day's next file.
// When another process cancels (or takes) one of them between the read and
// the allocation, the whole allocation is rolled back, and the payments are
// read, screened and allocated again, up to allocateAttempts times. A dry
// run's one transaction cannot be rolled back in part: it stops at the
// first.
func (o Originate) allocateEntries(ctx context.Context, r *Run, d, eff civil.Date, sum *OriginateSummary, held map[int64]bool, entries []screenedEntry) (allocatedFile, error) {
	for attempt := 1; ; attempt++ {
		a, err := o.allocateFile(ctx, r, d, eff, entries)
		if !errors.Is(err, ledger.ErrPaymentTaken) || attempt == allocateAttempts || r.DryRun {
			return a, err
		}
		r.Log.Warn().Err(err).Int("attempt", attempt).Msg("a payment changed while its file was allocated; reading the file's payments again")
		ids := make([]int64, len(entries))
		for i, e := range entries {
			ids[i] = e.entry.PaymentID
		}
		chunk, err := r.Store.Originable(ctx, eff, ids)
		if err != nil {
			return allocatedFile{}, err
		}
		var holds []ledger.PaymentHold
		entries, holds = screen(r.Env.Config, r.Store, chunk)
		if err := o.hold(ctx, r, sum, held, holds); err != nil {
			return allocatedFile{}, err
		}
		if len(entries) == 0 {
			return allocatedFile{}, nil
		}
	}
}

// screenedEntry is a due payment's entry that the NACHA build accepts (all
// but its trace number, which allocation assigns), with what its
// allocation records beside it from the payment: its bank account, the
// individual id a C09 NOC asked for (empty for none), and the scheduled-changes
// count its page was read at (ledger.DuePayment.ReadAt). It carries no more
// of the payment: a file's worth of them is copied from page to file.
type screenedEntry struct {
	entry         ledger.FileEntry
	bankAccountID string
	individualID  string
	readAt        int64
}

// screen makes each due payment's entry as the file will carry it and
// checks it by the build's own rules (ach.CheckEntry), before anything is
// allocated: what passes builds; what does not is held with a reason
// naming the field and what to do.
func screen(cfg configView, st numberOpener, chunk []ledger.DuePayment) ([]screenedEntry, []ledger.PaymentHold) {
	out := make([]screenedEntry, 0, len(chunk))
	var holds []ledger.PaymentHold
	for _, p := range chunk {
		number, err := st.OpenNumber("bank_accounts", p.BankAccountID, p.NumberEnc)
		if err != nil {
			holds = append(holds, ledger.PaymentHold{PaymentID: p.ID, AccountID: p.AccountID, Reason: "account number cannot be decrypted",
				Field: "AccountNumber", Detail: fmt.Sprintf("bank account %s: %v; import the bank account again from the servicing system "+
					"with the ledger's encryption key; the payment is debited on the first originate run after that", p.BankAccountID, err)})
			continue
		}
		e := ledger.FileEntry{PaymentID: p.ID, AccountID: p.AccountID, Kind: p.Kind, SEC: p.SEC, Description: p.Description,
			Amount: p.Amount, RDFIRouting: p.Routing, AccountNumber: number, TransactionCode: transactionCode(p.Kind, p.AccountType),
			IndividualName: entryName(p.HolderName), IndividualID: cmp.Or(p.IndividualID, p.AccountID)}
		if err := ach.CheckEntry(achEntry(e, 1)); err != nil {
			field := "entry"
			var be *ach.BuildEntryError
			if errors.As(err, &be) {
				field, err = be.Field, be.Err
			}
			holds = append(holds, ledger.PaymentHold{PaymentID: p.ID, AccountID: p.AccountID, Reason: holdReason(field), Field: field,
				Detail: fmt.Sprintf("bank account %s: %s: %v; correct it in the servicing system and import again; "+
					"the payment is debited on the first originate run after that", p.BankAccountID, field, err)})
			continue
		}
		out = append(out, screenedEntry{entry: e, bankAccountID: p.BankAccountID, individualID: p.IndividualID, readAt: p.ReadAt})
	}
	return out, holds
}

// numberOpener opens stored account numbers.
type numberOpener interface {
	OpenNumber(table, id string, enc []byte) (string, error)
}

// holdReason is the summary's reason for an entry refused on field.
func holdReason(field string) string {
	switch field {
	case "RDFIRouting":
		return "routing number invalid"
	case "AccountNumber":
		return "account number invalid"
	case "IndividualName":
		return "holder name unusable"
	case "Amount":
		return "amount invalid"
	default:
		return "entry invalid: " + field
	}
}

// entryName is a holder name as an entry carries it, and as the entry
// snapshot keeps it: what the file will show, fixed at allocation, so that
// a rebuild never depends on how a later version spells names.
func entryName(holder string) string {
	name, _ := ach.EntryName(holder)
	return name
}

// allocateFile originates the screened payments, in this order, into the
// day's next file, and builds the file inside the allocation's transaction:
// a file that does not build allocates nothing. It returns the file with
// its entries as allocated (what FileEntries reads back from the ledger,
// without reading it back) and its bytes.
func (o Originate) allocateFile(ctx context.Context, r *Run, d, eff civil.Date, chunk []screenedEntry) (allocatedFile, error) {
	cfg, st := r.Env.Config, r.Store
	offsets := 0
	if cfg.OffsetRouting != "" {
		offsets = distinctBatches(chunk)
	}
	plan := ledger.FilePlan{BusinessDate: d, EffectiveOn: eff, Offsets: offsets, ReadAt: readAt(chunk),
		NextModifier: nextModifier, StorageKey: func(mod string) string { return FileKey(d, mod) }}
	var a allocatedFile
	f, err := st.AllocateFile(ctx, plan, len(chunk), func(f ledger.ACHFile) ([]ledger.Allocation, func() error, error) {
		allocs := make([]ledger.Allocation, len(chunk))
		entries := make([]ledger.FileEntry, len(chunk))
		for i := range chunk {
			c := &chunk[i]
			trace, err := ach.Trace(cfg.ODFIRouting, f.TraceStart+i)
			if err != nil {
				return nil, nil, err
			}
			entries[i] = c.entry
			e := &entries[i]
			e.TraceNumber = trace
			allocs[i] = ledger.Allocation{PaymentID: e.PaymentID, TraceNumber: trace, RDFIRouting: e.RDFIRouting, AccountNumber: e.AccountNumber,
				TransactionCode: e.TransactionCode, IndividualName: e.IndividualName, IndividualID: c.individualID,
				Prenote: e.Kind == "prenote", BankAccountID: c.bankAccountID}
		}
		// The file is built while the allocation is written (the build is
		// this process's work, the writes the database's), and the
		// transaction commits only once it built.
		done := make(chan error, 1)
		go func() {
			built, err := buildFile(cfg, f, entries)
			if err == nil {
				a = allocatedFile{built: &built}
			}
			done <- err
		}()
		return allocs, func() error { return <-done }, nil
	})
	if err != nil {
		return allocatedFile{}, err
	}
	a.file = f
	a.payments = len(chunk)
	for _, c := range chunk {
		if c.entry.Kind == "prenote" {
			a.prenotes++
		}
	}
	return a, nil
}

// readAt is the scheduled-changes count the chunk's payments were all read
// at (ledger.FilePlan.ReadAt), or 0: they were read on pages between which
// a writer changed scheduled payments, or read again by id (Originable,
// after a refused allocation), which reads no count.
func readAt(chunk []screenedEntry) int64 {
	if len(chunk) == 0 {
		return 0
	}
	n := chunk[0].readAt
	for _, c := range chunk {
		if c.readAt != n {
			return 0
		}
	}
	return n
}

// fileStorer builds and stores allocated files, beside the
// allocation or (not concurrent) in its turn. The first error stops it and
// cancels ctx, so that allocation stops too.
type fileStorer struct {
	ctx    context.Context
	cancel context.CancelFunc
	o      Originate
	r      *Run
	files  chan allocatedFile
	done   chan struct{}
	stored map[int64]FileSummary
	err    error
}

func newFileStorer(ctx context.Context, o Originate, r *Run, concurrent bool) *fileStorer {
	fs := &fileStorer{o: o, r: r, stored: map[int64]FileSummary{}}
	fs.ctx, fs.cancel = context.WithCancel(ctx)
	if concurrent {
		// One file waits while the next is allocated: memory holds at
		// most three files' entries.
		fs.files, fs.done = make(chan allocatedFile, 1), make(chan struct{})
		go func() {
			defer close(fs.done)
			for a := range fs.files {
				if fs.err == nil {
					fs.put(a)
				}
			}
		}()
	}
	return fs
}

// allocatedFile is a file just allocated: how many payments (prenotes
// among them) it originated, and the bytes built in the allocation's
// transaction. Its entries are not kept: memory holds the bytes alone.
type allocatedFile struct {
	file     ledger.ACHFile
	payments int
	prenotes int
	built    *ach.Built
}

// store takes a file just allocated.
func (fs *fileStorer) store(a allocatedFile) error {
	if fs.files == nil {
		fs.put(a)
		return fs.err
	}
	select {
	case fs.files <- a:
		return nil
	case <-fs.ctx.Done():
		return fs.ctx.Err()
	}
}

func (fs *fileStorer) put(a allocatedFile) {
	sum, err := fs.o.storeFile(fs.ctx, fs.r, a.file, a.built)
	if err != nil {
		fs.err = err
		fs.cancel()
		return
	}
	fs.stored[a.file.ID] = sum
}

// wait returns what was stored and the first error, once the storer is done.
func (fs *fileStorer) wait() (map[int64]FileSummary, error) {
	if fs.files != nil {
		close(fs.files)
		<-fs.done
	}
	fs.cancel()
	return fs.stored, fs.err
}

// storeFile stores a file unless it is stored: built is its bytes as built
// when it was allocated, or nil to build them from the ledger's entries.
func (o Originate) storeFile(ctx context.Context, r *Run, f ledger.ACHFile, built *ach.Built) (FileSummary, error) {
	fs := FileSummary{Modifier: f.IDModifier, Key: f.StorageKey, SHA256: f.SHA256, Batches: f.Batches, Entries: f.Entries, DebitTotal: f.DebitTotal}
	if f.InStorage() {
		// Stored before: only check it is still there.
		obj, err := r.Env.Docs.Stat(ctx, f.StorageKey)
		if err == nil && obj.SHA256 == f.SHA256 {
			fs.Stored = "already"
			return fs, nil
		}
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fs, fmt.Errorf("check stored file %s: %w", f.StorageKey, err)
		}
		r.Log.Warn().Str("key", f.StorageKey).Msg("stored file missing from storage; rebuilding it from the ledger")
	}
	if built == nil {
		entries, err := r.Store.FileEntries(ctx, f.ID)
		if err != nil {
			return fs, err
		}
		b, err := buildFile(r.Env.Config, f, entries)
		if err != nil {
			return fs, fmt.Errorf("%w; if the file cannot be built from what its payments recorded, see `drafter release-file --help`", err)
		}
		built = &b
	}
	sha := sha256.Sum256(built.File)
	fs.SHA256 = hex.EncodeToString(sha[:])
	fs.Batches, fs.Entries, fs.DebitTotal = built.Summary.Batches, built.Summary.Entries, built.Summary.DebitTotal
	if f.InStorage() && f.SHA256 != fs.SHA256 {
		return fs, fmt.Errorf("file %s rebuilt with sha256 %s, but %s was recorded: the ledger changed under an originated file", f.StorageKey, fs.SHA256, f.SHA256)
	}
	if r.DryRun {
		// Nothing is put to storage; the file is marked stored only in
		// the dry run's transaction, so a step simulated after this one
		// (transmit) sees it as a real run would.
		fs.Stored = "dry-run"
		return fs, r.Store.MarkFileStored(ctx, f.ID, ledger.FileTotals{SHA256: fs.SHA256, Size: int64(len(built.File)), Batches: fs.Batches,
			Entries: fs.Entries, DebitTotal: fs.DebitTotal, CreditTotal: built.Summary.CreditTotal})
	}
	res, err := r.Env.Docs.Put(ctx, f.StorageKey, built.File, storage.PutOptions{ContentType: "text/plain",
		Metadata: map[string]string{"business-date": f.BusinessDate.String(), "id-modifier": f.IDModifier}})
	if err != nil {
		return fs, fmt.Errorf("store %s: %w", f.StorageKey, err)
	}
	r.Checkpoint("file put")
	fs.Stored = "new"
	if res.Unchanged {
		fs.Stored = "unchanged"
	}
	if err := r.Store.MarkFileStored(ctx, f.ID, ledger.FileTotals{SHA256: fs.SHA256, Size: int64(len(built.File)), Batches: fs.Batches,
		Entries: fs.Entries, DebitTotal: fs.DebitTotal, CreditTotal: built.Summary.CreditTotal}); err != nil {
		return fs, err
	}
	r.Checkpoint("file marked stored")
	r.Log.Info().Str("key", f.StorageKey).Int("entries", fs.Entries).Int64("debit_total_cents", int64(fs.DebitTotal)).
		Str("stored", fs.Stored).Msg("file stored")
	return fs, nil
}

// buildFile builds the NACHA bytes of an allocated file from its entries in
// trace order.
func buildFile(cfg configView, f ledger.ACHFile, entries []ledger.FileEntry) (ach.Built, error) {
	spec := ach.FileSpec{IDModifier: f.IDModifier[0], CreationDate: f.BusinessDate, CreationTime: "2100", EffectiveDate: f.EffectiveOn,
		OffsetTraceSequence: f.OffsetTraceStart}
	spec.Entries = make([]ach.Entry, len(entries))
	for i, e := range entries {
		spec.Entries[i] = achEntry(e, e.TraceSequence())
	}
	built, err := ach.BuildFile(originator(cfg), spec)
	if err != nil {
		return built, fmt.Errorf("build %s: %w", f.StorageKey, err)
	}
	return built, nil
}

// achEntry is the NACHA entry of a payment as originated, with trace
// sequence seq: the one mapping the screen before allocation and the build
// share.
func achEntry(e ledger.FileEntry, seq int) ach.Entry {
	pt := ""
	if e.SEC == "WEB" || e.SEC == "TEL" {
		pt = "S"
	}
	return ach.Entry{SEC: e.SEC, Description: e.Description, TransactionCode: e.TransactionCode, RDFIRouting: e.RDFIRouting,
		AccountNumber: e.AccountNumber, Amount: e.Amount, IndividualID: e.IndividualID, IndividualName: e.IndividualName,
		TraceSequence: seq, PaymentType: pt}
}

// FileKey is where a day's file is stored.
func FileKey(d civil.Date, mod string) string {
	return fmt.Sprintf("ach/outbound/%s/drafter-%s-%s.ach", d, d, mod)
}

func nextModifier(prev string) (string, error) {
	if prev == "" {
		return "A", nil
	}
	m, err := ach.NextModifier(prev[0])
	if err != nil {
		return "", err
	}
	return string(m), nil
}

func transactionCode(kind, accountType string) int {
	code := 27 // checking debit
	if accountType == "savings" {
		code = 37
	}
	if kind == "prenote" {
		code++ // 28, 38: prenote debits
	}
	return code
}

func distinctBatches(ps []screenedEntry) int {
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.entry.SEC+"|"+p.entry.Description] = true
	}
	return len(seen)
}
