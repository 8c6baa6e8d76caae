package jobs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"runtime/debug"
	"strings"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/storage"
)

// InboundPrefix is where the bank's return and NOC files arrive in storage.
// The returns job moves each file it ingested into processed/ beside it.
const InboundPrefix = "ach/inbound/"

// ReceivedKey is where a copy of every inbound file received is kept,
// keyed by the sha256 of its bytes: the audit trail of what the bank sent.
func ReceivedKey(sha string) string { return "ach/received/" + sha + ".ach" }

// Ingest statuses of one inbound file.
const (
	IngestApplied          = "applied"
	IngestAlreadyProcessed = "already processed"
	IngestRejected         = "rejected"
	IngestAlreadyRejected  = "already rejected"
)

// Returns is the returns job: it ingests every new file under InboundPrefix
// (returns and NOCs), applies each entry once, and moves the file into
// processed/.
type Returns struct{}

// Name implements Job.
func (Returns) Name() string { return "returns" }

// Run implements Job.
func (Returns) Run(ctx context.Context, r *Run) (any, error) {
	in := r.Env.Ingester(r.Store, r.DryRun, r.Checkpoint)
	in.Log = r.Log
	sum := NewIngestSummary()
	objs, err := r.Env.Docs.List(ctx, InboundPrefix)
	if err != nil {
		return sum, fmt.Errorf("list %s: %w", InboundPrefix, err)
	}
	waiting := 0
	for _, o := range objs {
		if !inProcessedFolder(o.Key) {
			waiting++
		}
	}
	r.Expect(waiting)
	for _, o := range objs {
		if inProcessedFolder(o.Key) {
			continue
		}
		if err := r.CheckCancel(ctx); err != nil {
			return sum, err
		}
		r.Selected(1)
		if max := r.Env.maxInbound(); max > 0 && o.Size > max {
			// Left in the inbound folder, so a person sees it there.
			r.ItemFailed(o.Key, InboundTooLarge(o.Key, max))
			continue
		}
		fr, stop, err := in.storedFile(ctx, r, o.Key)
		if stop != nil {
			return sum, stop
		}
		if err != nil {
			// Nothing of the file was applied; it stays in the inbound folder
			// for the restart.
			r.ItemFailed(o.Key, err)
			continue
		}
		sum.Add(fr)
		if fr.Status == IngestRejected || fr.Status == IngestAlreadyRejected {
			r.ItemFailed(o.Key, fmt.Errorf("rejected: %s", fr.Error))
		} else {
			r.Done(1)
		}
		if r.DryRun {
			continue
		}
		// Recorded either way (applied or rejected): move it out of the way.
		if _, err := r.Env.Docs.MarkProcessed(ctx, o.Key); err != nil {
			return sum, fmt.Errorf("move %s to processed: %w", o.Key, err)
		}
		r.Checkpoint("inbound file moved to processed")
	}
	return sum, nil
}

// storedFile ingests the file under key in the documents store: read as a
// stream when the store can (its memory does not grow with the file),
// whole otherwise. stop is set when the store cannot be reached.
func (in *Ingester) storedFile(ctx context.Context, r *Run, key string) (fr FileIngest, stop, err error) {
	op, ok := r.Env.Docs.(storage.Opener)
	if !ok {
		data, _, err := r.Env.Docs.Get(ctx, key)
		if stop := r.DependStorage(err); stop != nil {
			return fr, stop, nil
		}
		if err != nil {
			return fr, nil, fmt.Errorf("read %s: %w", key, err)
		}
		fr, err = in.File(ctx, key, data, r.Date)
		return fr, nil, err
	}
	first, err := op.Open(ctx, key)
	if stop := r.DependStorage(err); stop != nil {
		return fr, stop, nil
	}
	if err != nil {
		return fr, nil, fmt.Errorf("read %s: %w", key, err)
	}
	open := func() (io.ReadCloser, error) {
		if rc := first; rc != nil {
			first = nil
			return rc, nil
		}
		return op.Open(ctx, key)
	}
	fr, err = in.FileFrom(ctx, key, open, r.Env.maxInbound(), r.Date)
	return fr, nil, err
}

// maxInbound is DRAFTER_MAX_INBOUND_FILE_BYTES, 0 without a config.
func (e *Env) maxInbound() int64 {
	if e.Config == nil {
		return 0
	}
	return int64(e.Config.MaxInboundFileBytes)
}

func inProcessedFolder(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == storage.ProcessedDir {
			return true
		}
	}
	return false
}

// ErrInboundTooLarge says an inbound file is larger than
// DRAFTER_MAX_INBOUND_FILE_BYTES.
var ErrInboundTooLarge = errors.New("larger than DRAFTER_MAX_INBOUND_FILE_BYTES")

// ReadInbound reads an inbound file of at most max bytes (no bound when max
// is 0). A larger one is refused with ErrInboundTooLarge after max+1 bytes,
// never read whole.
func ReadInbound(r io.Reader, name string, max int64) ([]byte, error) {
	if max <= 0 {
		max = math.MaxInt64 - 1
	}
	// A file that says its size is read into a buffer of that size: reading
	// by doubling would hold up to twice a large file, for a while, and
	// leave the process that much larger.
	var buf bytes.Buffer
	if f, ok := r.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() <= max {
			buf.Grow(int(fi.Size()) + bytes.MinRead)
		}
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	data := buf.Bytes()
	if int64(len(data)) > max {
		return nil, InboundTooLarge(name, max)
	}
	return data, nil
}

// InboundTooLarge is the error for an inbound file larger than max bytes:
// it wraps ErrInboundTooLarge and says what to do.
func InboundTooLarge(name string, max int64) error {
	return fmt.Errorf("%s: file: the file is %w (%d bytes); nothing was kept or applied: a day's returns are far smaller, so check what the bank sent, or raise the limit",
		name, ErrInboundTooLarge, max)
}

// Ingester applies inbound return and NOC files to the ledger.
type Ingester struct {
	Store    *ledger.Store
	Docs     storage.Store
	Calendar *CachedCalendar
	// FeeCaps caps the returned-payment fee by contract state
	// (DRAFTER_RETURNED_FEE_CAPS).
	FeeCaps map[string]money.Cents
	Log     zerolog.Logger
	// DryRun: compute and report; keep no copy (Store is then a dry-run store).
	DryRun bool
	// Checkpoint is called after every committed write.
	Checkpoint func(what string)
}

// Ingester returns an Ingester over st (the run's store) and the Env's
// storage and calendar. checkpoint may be nil.
func (e *Env) Ingester(st *ledger.Store, dryRun bool, checkpoint func(string)) *Ingester {
	if checkpoint == nil {
		checkpoint = func(what string) {
			if e.Crash != nil {
				e.Crash.Hit(what)
			}
		}
	}
	var caps map[string]money.Cents
	if e.Config != nil {
		caps = e.Config.ReturnedFeeCaps
	}
	return &Ingester{Store: st, Docs: e.Docs, Calendar: e.Calendar, FeeCaps: caps, Log: e.Log, DryRun: dryRun, Checkpoint: checkpoint}
}

// IngestCounts count what ingesting did. Entries applied from an earlier
// file count only in Duplicates.
type IngestCounts struct {
	Entries     int `json:"entries"`
	Returns     int `json:"returns"`
	Corrections int `json:"corrections"`
	Matched     int `json:"matched"`
	Unmatched   int `json:"unmatched"`
	Mismatched  int `json:"mismatched"`
	Dishonored  int `json:"dishonored_or_contested"`
	// Repeats are entries the same file holds twice (or more): each repeat
	// is held as an exception naming both lines, never applied.
	Repeats                 int            `json:"repeated_in_file"`
	Duplicates              int            `json:"duplicates"`
	ByCode                  map[string]int `json:"by_return_code"`
	ByChangeCode            map[string]int `json:"by_change_code"`
	Reversals               int            `json:"reversals_posted"`
	FeesAssessed            int            `json:"fees_assessed"`
	FeeTotal                money.Cents    `json:"fee_total_cents"`
	Represented             int            `json:"representments_scheduled"`
	AutopayStopped          int            `json:"autopay_stopped"`
	AutopaySuspended        int            `json:"autopay_suspended"`
	BankAccountsInvalidated int            `json:"bank_accounts_invalidated"`
	BankAccountsCorrected   int            `json:"bank_accounts_corrected"`
	AccountsFlagged         int            `json:"accounts_flagged"`
	PaymentsCancelled       int            `json:"scheduled_payments_cancelled"`
	Exceptions              int            `json:"exceptions"`
	Emails                  int            `json:"emails_queued"`
}

func (c *IngestCounts) add(o IngestCounts) {
	c.Entries += o.Entries
	c.Returns += o.Returns
	c.Corrections += o.Corrections
	c.Matched += o.Matched
	c.Unmatched += o.Unmatched
	c.Mismatched += o.Mismatched
	c.Dishonored += o.Dishonored
	c.Repeats += o.Repeats
	c.Duplicates += o.Duplicates
	for k, v := range o.ByCode {
		c.ByCode[k] += v
	}
	for k, v := range o.ByChangeCode {
		c.ByChangeCode[k] += v
	}
	c.Reversals += o.Reversals
	c.FeesAssessed += o.FeesAssessed
	c.FeeTotal += o.FeeTotal
	c.Represented += o.Represented
	c.AutopayStopped += o.AutopayStopped
	c.AutopaySuspended += o.AutopaySuspended
	c.BankAccountsInvalidated += o.BankAccountsInvalidated
	c.BankAccountsCorrected += o.BankAccountsCorrected
	c.AccountsFlagged += o.AccountsFlagged
	c.PaymentsCancelled += o.PaymentsCancelled
	c.Exceptions += o.Exceptions
	c.Emails += o.Emails
}

// FileIngest is what ingesting one file did.
type FileIngest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	// Key is where the copy of the file is kept (ReceivedKey).
	Key    string `json:"kept_as,omitempty"`
	Status string `json:"status"` // applied | already processed | rejected | already rejected
	Error  string `json:"error,omitempty"`
	// Notes say what drafter mended to read the file (ach.Inbound.Notes).
	Notes []string `json:"notes,omitempty"`
	IngestCounts
}

// IngestSummary is what ingesting a set of files did, file by file and in
// total.
type IngestSummary struct {
	Files    []FileIngest `json:"files"`
	Rejected int          `json:"files_rejected"`
	IngestCounts
}

// NewIngestSummary returns an empty summary.
func NewIngestSummary() *IngestSummary {
	return &IngestSummary{Files: []FileIngest{}, IngestCounts: newCounts()}
}

func newCounts() IngestCounts {
	return IngestCounts{ByCode: map[string]int{}, ByChangeCode: map[string]int{}}
}

// Add adds one file's result.
func (s *IngestSummary) Add(f FileIngest) {
	s.Files = append(s.Files, f)
	if f.Status == IngestRejected || f.Status == IngestAlreadyRejected {
		s.Rejected++
	}
	s.IngestCounts.add(f.IngestCounts)
}

// File ingests one inbound file received as name, processing it on the
// business date on (the return date: re-presentments are drafted after
// it). A file is applied once and whole: the same bytes again report
// IngestAlreadyProcessed; a malformed file is recorded as rejected with an
// exception naming the line and field, and nothing from it is applied.
// The error is for failures of the ledger or storage only; the file can be
// ingested again after one.
func (in *Ingester) File(ctx context.Context, name string, data []byte, on civil.Date) (FileIngest, error) {
	b := data
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return in.ingest(ctx, name, &data, open, false, on)
}

// FileFrom is File for a file open opens (one on disk), at most max bytes
// (0: no bound): its bytes are read whole once, to keep the copy, and let
// go before it is read again, twice, record by record, so that the memory
// ingest takes does not grow with the file.
func (in *Ingester) FileFrom(ctx context.Context, name string, open func() (io.ReadCloser, error), max int64, on civil.Date) (FileIngest, error) {
	r, err := open()
	if err != nil {
		return FileIngest{Name: printable(name, 200)}, fmt.Errorf("read %s: %w", name, err)
	}
	data, err := ReadInbound(r, name, max)
	r.Close()
	if err != nil {
		return FileIngest{Name: printable(name, 200)}, err
	}
	return in.ingest(ctx, name, &data, open, true, on)
}

// ingest ingests the file whose bytes *data holds and open reads again;
// *data is set to nil once the copy is kept, and with release the memory
// of a large file is given back then.
func (in *Ingester) ingest(ctx context.Context, name string, data *[]byte, open func() (io.ReadCloser, error), release bool, on civil.Date) (FileIngest, error) {
	sum := sha256.Sum256(*data)
	sha := hex.EncodeToString(sum[:])
	name = printable(name, 200)
	fr := FileIngest{Name: name, SHA256: sha, IngestCounts: newCounts()}
	log := in.Log.With().Str("file", name).Str("sha256", sha).Logger()
	prev, err := in.Store.InboundFileBySHA(ctx, sha)
	switch {
	case err == nil && prev.Status == ledger.InboundApplied:
		fr.Status, fr.Key = IngestAlreadyProcessed, prev.StorageKey
		log.Info().Int64("inbound_file", prev.ID).Msg("inbound file already processed")
		return fr, nil
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		return fr, err
	}
	fr.Key = ReceivedKey(sha)
	if !in.DryRun {
		if _, err := in.Docs.Put(ctx, fr.Key, *data, storage.PutOptions{ContentType: "text/plain",
			Metadata: map[string]string{"received-as": printable(path.Base(name), 100), "business-date": on.String()}}); err != nil {
			return fr, fmt.Errorf("keep a copy of %s: %w", name, err)
		}
		in.Checkpoint("inbound file kept")
	}
	size := len(*data)
	*data = nil
	if release && size > releaseInboundBytes {
		// Give the bytes' memory back now: the runtime would otherwise keep
		// it for the whole apply.
		debug.FreeOSMemory()
	}
	read := func(each func(ach.InboundEntry) error) (ach.Inbound, error) {
		r, err := open()
		if err != nil {
			return ach.Inbound{}, fmt.Errorf("read %s: %w", name, err)
		}
		defer r.Close()
		return ach.ReadInbound(r, name, each)
	}
	// Read twice: first to check the whole file (a problem anywhere refuses
	// it, and some show only at its end), then, inside the transaction, to
	// apply it part by part. Neither holds more than a part of the entries.
	entries := 0
	parsed, perr := read(func(ach.InboundEntry) error { entries++; return nil })
	var pe *ach.ParseError
	if perr != nil && !errors.As(perr, &pe) {
		return fr, perr
	}
	if perr != nil {
		fr.Status, fr.Error = IngestRejected, printable(perr.Error(), 2000)
		if prev.Status == ledger.InboundRejected {
			fr.Status = IngestAlreadyRejected
			return fr, nil
		}
		ex := ledger.Exception{Kind: "inbound_rejected", Reference: sha,
			Detail: fr.Error + ". Nothing from this file was applied; ask the bank for a corrected file.",
			Raw:    rawRecord(open, perr)}
		recorded, err := in.Store.RejectInbound(ctx, ledger.InboundFile{SHA256: sha, Name: name, StorageKey: fr.Key, Error: fr.Error}, ex)
		if err != nil {
			return fr, err
		}
		in.Checkpoint("inbound file rejected")
		if recorded {
			fr.Exceptions = 1
		}
		log.Warn().Str("error", fr.Error).Msg("inbound file rejected")
		return fr, nil
	}
	if parsed.SHA256 != sha {
		return fr, fmt.Errorf("read %s: %w", name, errInboundChanged)
	}
	fr.Notes = parsed.Notes
	for _, n := range parsed.Notes {
		log.Warn().Str("note", n).Msg("inbound file mended to be read")
	}
	file := ledger.InboundFile{SHA256: sha, Name: name, StorageKey: fr.Key}
	res, err := in.Store.ApplyInboundParts(ctx, file, func(apply ledger.InboundPart) error {
		// Called again when the transaction is retried: count afresh.
		counted := FileIngest{IngestCounts: newCounts()}
		part := parsed
		flush := func() error {
			if len(part.Returns)+len(part.Corrections) == 0 {
				return nil
			}
			traces := make([]string, 0, len(part.Returns)+len(part.Corrections))
			for _, r := range part.Returns {
				traces = append(traces, r.OriginalTrace)
			}
			for _, c := range part.Corrections {
				traces = append(traces, c.OriginalTrace)
			}
			res, err := apply(traces, func(targets map[string][]ledger.ReturnTarget) (ledger.InboundPlan, error) {
				plan := PlanInbound(part, targets, on, in.Calendar, in.FeeCaps)
				plan.File = file
				for _, ex := range plan.Exceptions {
					if ex.Kind == "inbound_repeat" {
						counted.Repeats++
					} else {
						counted.Dishonored++
					}
				}
				return plan, nil
			})
			if err != nil {
				return err
			}
			countApplied(&counted, res)
			part.Returns, part.Corrections = part.Returns[:0], part.Corrections[:0]
			return nil
		}
		again, err := read(func(e ach.InboundEntry) error {
			if e.Return != nil {
				part.Returns = append(part.Returns, *e.Return)
			} else {
				part.Corrections = append(part.Corrections, *e.Correction)
			}
			if len(part.Returns)+len(part.Corrections) >= inboundPartEntries {
				return flush()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if again.SHA256 != sha {
			return errInboundChanged // rolls back what the parts wrote
		}
		if err := flush(); err != nil {
			return err
		}
		fr.IngestCounts = counted.IngestCounts
		return nil
	})
	if errors.Is(err, ledger.ErrAlreadyProcessed) {
		fr.IngestCounts = newCounts()
		fr.Entries = entries
		fr.Status = IngestAlreadyProcessed
		return fr, nil
	}
	if err != nil {
		return fr, fmt.Errorf("apply %s: %w", name, err)
	}
	in.Checkpoint("inbound file applied")
	fr.Status = IngestApplied
	fr.Entries = entries
	fr.Duplicates = res.Duplicates
	fr.Reversals, fr.FeesAssessed, fr.FeeTotal, fr.Represented = res.Reversals, res.Fees, res.FeeTotal, res.Represented
	fr.AutopayStopped, fr.AutopaySuspended = res.AutopayStopped, res.AutopaySuspended
	fr.BankAccountsInvalidated, fr.BankAccountsCorrected = res.BankAccountsInvalidated, res.BankAccountsCorrected
	fr.AccountsFlagged, fr.PaymentsCancelled = res.AccountsFlagged, res.PaymentsCancelled
	fr.Exceptions, fr.Emails = res.Exceptions, res.Notified
	log.Info().Int64("inbound_file", res.FileID).Int("entries", fr.Entries).Int("matched", fr.Matched).Int("unmatched", fr.Unmatched).
		Int("duplicates", fr.Duplicates).Int("representments", fr.Represented).Int("exceptions", fr.Exceptions).Msg("inbound file applied")
	return fr, nil
}

// errInboundChanged says a file read more than once changed between reads.
var errInboundChanged = errors.New("the file changed while it was read; nothing from it was applied: ingest it again once it is complete")

// releaseInboundBytes is the size above which FileFrom gives back the
// memory of a file's bytes once its copy is kept.
const releaseInboundBytes = 8 << 20

// inboundPartEntries is how many entries of an inbound file are decided
// and written at once, inside the file's one transaction.
var inboundPartEntries = 1000

// countApplied counts a part's applied returns and corrections.
func countApplied(fr *FileIngest, res ledger.InboundResult) {
	for _, r := range res.Returns {
		fr.Returns++
		switch {
		case r.PaymentID != 0:
			fr.Matched++
			fr.ByCode[r.Code]++
		case r.Exception != nil && r.Exception.Kind == "return_mismatch":
			fr.Mismatched++
		default:
			fr.Unmatched++
		}
	}
	for _, c := range res.Corrections {
		fr.Corrections++
		fr.ByChangeCode[c.ChangeCode]++
		switch {
		case c.PaymentID != 0:
			fr.Matched++
		case c.Exception != nil && c.Exception.Kind == "noc_mismatch":
			fr.Mismatched++
		default:
			fr.Unmatched++
		}
	}
}

// PlanInbound decides what every entry of a parsed inbound file does,
// given the payments its traces name (targets, by original trace, newest
// first: a trace is unique per origination day only) and the
// business date the file is processed on, with the lender's returned-fee
// caps by state. It is pure: the policy lives in package ach, and this
// maps it onto the ledger.
func PlanInbound(in ach.Inbound, targets map[string][]ledger.ReturnTarget, on civil.Date, cal *CachedCalendar, feeCaps map[string]money.Cents) ledger.InboundPlan {
	var plan ledger.InboundPlan
	for _, e := range in.Returns {
		p, _ := ach.ReturnPolicy(e.Code)
		if e.RepeatOf != 0 {
			plan.Exceptions = append(plan.Exceptions, repeatException(in, e.Line, e.RepeatOf, e.Code, e.OriginalTrace, e.Raw))
			continue
		}
		if e.Kind != ach.KindReturn {
			// A dishonored or contested return is about a return, not a
			// debit: it names the original trace again, so it never goes
			// into returns (whose trace is unique); a person settles it.
			// Its reference names the day the bank made the file: an
			// original trace is unique within its origination day only,
			// and the bank's own traces start again in each file, so two
			// different dishonors could share code and both traces.
			plan.Exceptions = append(plan.Exceptions, ledger.Exception{Kind: "return_" + string(e.Kind),
				Reference: e.Code + ":" + e.OriginalTrace + ":" + e.Trace + ":" + in.Created.String(),
				Detail: fmt.Sprintf("%s %s (%s) for original trace %s, line %d of %s. %s", e.Code, p.Title, e.Kind, e.OriginalTrace, e.Line,
					in.File, p.Why),
				Raw: e.Raw})
			continue
		}
		r := planReturn(in.File, e, p, targets, on, cal, feeCaps)
		// The return rates count a return on the day the bank sent it.
		r.SentOn = in.Created
		plan.Returns = append(plan.Returns, r)
	}
	for _, c := range in.Corrections {
		if c.RepeatOf != 0 {
			plan.Exceptions = append(plan.Exceptions, repeatException(in, c.Line, c.RepeatOf, c.ChangeCode, c.OriginalTrace, c.Raw))
			continue
		}
		plan.Corrections = append(plan.Corrections, planCorrection(in.File, c, targets, on))
	}
	return plan
}

// repeatException holds an entry the file already holds on an earlier line:
// a bank sends one return or NOC per original entry, so a second one is a
// mistake of the bank's (or a file joined twice) for a person to look at;
// the first is applied as usual.
func repeatException(in ach.Inbound, line, first int, code, trace, raw string) ledger.Exception {
	return ledger.Exception{Kind: "inbound_repeat", Reference: fmt.Sprintf("%s line %d", in.SHA256, line), Raw: raw,
		Detail: fmt.Sprintf("%s for original trace %s on line %d of %s repeats the entry on line %d of the same file; only line %d was applied: ask the bank whether the entry was meant twice",
			code, trace, line, in.File, first, first)}
}

func planReturn(file string, e ach.ReturnEntry, p ach.Policy, targets map[string][]ledger.ReturnTarget, on civil.Date, cal *CachedCalendar, feeCaps map[string]money.Cents) ledger.ReturnApply {
	key := fmt.Sprintf("trace %s %d ****%s %s", e.OriginalTrace, e.Amount, e.AccountNumberLast4, e.Code)
	ra := ledger.ReturnApply{EntryKey: key, OriginalTrace: e.OriginalTrace, Code: e.Code, Amount: e.Amount, ReturnedOn: on}
	where := fmt.Sprintf("line %d of %s", e.Line, file)
	t, problem, ok := pickTarget(targets[e.OriginalTrace], true, e.Amount, e.AccountNumberSHA256, e.AccountNumberLast4, e.OriginalRDFI, on)
	if !ok {
		ra.Action = "unmatched: held for review"
		ra.Exception = &ledger.Exception{Kind: "return_unmatched", Reference: key, Raw: e.Raw,
			Detail: fmt.Sprintf("%s return of %s for original trace %s (%s): drafter originated no entry with this trace; find the payment and apply the return by hand",
				e.Code, e.Amount, e.OriginalTrace, where)}
		return ra
	}
	if problem != "" {
		ra.Action = "mismatch: held for review"
		ra.Exception = &ledger.Exception{Kind: "return_mismatch", Reference: key, Raw: e.Raw,
			Detail: fmt.Sprintf("%s return for trace %s (%s) names payment %d, but %s; nothing was applied", e.Code, e.OriginalTrace, where, t.PaymentID, problem)}
		return ra
	}
	ra.EntryKey = fmt.Sprintf("payment %d", t.PaymentID)
	ra.PaymentID, ra.AccountID, ra.BankAccountID = t.PaymentID, t.AccountID, t.BankAccountID
	debit := t.Kind == "debit" && t.Amount > 0
	var actions []string
	if debit {
		ra.Reverse = true
		ra.ReverseDescription = fmt.Sprintf("Returned payment (%s %s)", e.Code, p.Title)
		actions = append(actions, "payment reversed")
	}
	if fee, capped := ach.ReturnedPaymentFee(t.ReturnedPaymentFee, t.ContractState, feeCaps); p.FeeEligible && debit && fee > 0 {
		ra.Fee = fee
		ra.FeeDescription = fmt.Sprintf("Returned payment fee (%s)", e.Code)
		action := "fee " + fee.String()
		if capped {
			action += fmt.Sprintf(" (the contract's %s, capped in %s)", t.ReturnedPaymentFee, t.ContractState)
		}
		actions = append(actions, action)
	}
	var retry civil.Date
	if p.Represent && debit {
		ok, why := ach.RepresentmentDecision(e.Code, t.Attempt, t.RootEffectiveOn, on)
		draft := cal.NextBankingDay(on)
		if deadline := ach.RepresentmentDeadline(t.RootEffectiveOn); ok && draft.After(deadline) {
			ok, why = false, fmt.Sprintf("the next banking day %s is after the re-presentment deadline %s", draft, deadline)
		}
		if ok && t.Bank.Status != "active" {
			ok, why = false, "the bank account is "+t.Bank.Status
		}
		if ok {
			retry = draft
			ra.Represent = &ledger.NewPayment{Source: ledger.SourceRepresent, SourceKey: fmt.Sprintf("%d:%d", t.RootID, t.Attempt+1),
				AccountID: t.AccountID, BankAccountID: t.BankAccountID, Kind: "debit", SEC: t.SEC, Description: "RETRY PYMT",
				Amount: t.Amount, DueOn: t.DueOn, DraftOn: draft, Attempt: t.Attempt + 1, OriginalPaymentID: t.RootID}
			actions = append(actions, fmt.Sprintf("re-presented on %s (attempt %d of %d)", draft, t.Attempt+1, ach.MaxPresentments))
		} else {
			actions = append(actions, "not re-presented: "+why)
		}
	}
	if p.InvalidateBankAccount {
		ra.InvalidateBankAccount = true
		actions = append(actions, "bank account invalid")
	}
	if p.StopAutopay {
		ra.Autopay = "stopped"
		if p.InvalidateBankAccount && !p.FlagForReview {
			// The details are wrong, not the authorization: autopay resumes
			// when the customer gives new ones.
			ra.Autopay = "suspended"
		}
		actions = append(actions, "autopay "+ra.Autopay)
	}
	if p.NeedsNewAuthorization || p.StopAutopay {
		ra.CancelRepresentments = true
	}
	if p.FlagForReview {
		ra.Review = fmt.Sprintf("%s %s: payment %d returned %s", e.Code, p.Title, t.PaymentID, on)
		actions = append(actions, "account flagged")
	}
	if p.Exception {
		ra.Exception = &ledger.Exception{Kind: "return_review", Reference: ra.EntryKey, Raw: e.Raw,
			Detail: fmt.Sprintf("%s %s on payment %d of account %s (%s). %s", e.Code, p.Title, t.PaymentID, t.AccountID, where, p.Why)}
		actions = append(actions, "exception")
	}
	if p.NotifyCustomer && debit && t.Email != "" {
		// What the deliver job needs to compose mail.PaymentReturned.
		payload := ledger.OutboxReturnPayload{PaymentID: t.PaymentID, Code: e.Code, RetryDate: retry, AutopayStopped: ra.Autopay != "", Fee: ra.Fee}
		b, _ := json.Marshal(payload)
		ra.Notify = &ledger.QueuedEmail{Topic: fmt.Sprintf("payment:%d:returned", t.PaymentID), Recipient: t.Email,
			Kind: "payment_returned", AccountID: t.AccountID, Payload: string(b)}
	}
	ra.Action = strings.Join(actions, "; ")
	if ra.Action == "" {
		ra.Action = "recorded"
	}
	return ra
}

// pickTarget chooses the payment an entry is about among those its trace
// names (newest first): the newest originated by on whose amount (when
// checked), account and RDFI match, preferring one not returned yet. When
// none matches, it returns the newest with the mismatch in words; ok is
// false when the trace names no payment originated by on. When two
// payments not yet returned match alike (a trace that came round again:
// sequences wrap after ten million entries), the entry cannot tell which
// one the bank means: a return is a problem for a person, never a guess
// (a NOC corrects the bank account, the same for both).
func pickTarget(cands []ledger.ReturnTarget, checkAmount bool, amount money.Cents, accountSHA, last4, rdfi string, on civil.Date) (t ledger.ReturnTarget, problem string, ok bool) {
	var first *ledger.ReturnTarget
	var match, other *ledger.ReturnTarget
	for i := range cands {
		c := &cands[i]
		if c.OriginatedOn.After(on) {
			continue // a return never comes before its entry
		}
		if first == nil {
			first = c
		}
		if returnMismatch(checkAmount, amount, accountSHA, last4, rdfi, *c) != "" {
			continue
		}
		switch {
		case match == nil || (match.Returned && !c.Returned):
			match = c
		case !c.Returned && !match.Returned && other == nil:
			other = c
		}
	}
	switch {
	case match != nil && other != nil && checkAmount:
		return *match, fmt.Sprintf("the trace also names payment %d, of the same account and amount (originated on %s and %s): which one the bank returned cannot be told from the entry",
			other.PaymentID, other.OriginatedOn, match.OriginatedOn), true
	case match != nil:
		return *match, "", true
	case first != nil:
		return *first, returnMismatch(checkAmount, amount, accountSHA, last4, rdfi, *first), true
	}
	return t, "", false
}

// returnMismatch says how an entry differs from a payment its trace
// names ("" when it does not): amount, account number, RDFI.
func returnMismatch(checkAmount bool, amount money.Cents, accountSHA, last4, rdfi string, t ledger.ReturnTarget) string {
	switch {
	case checkAmount && amount != t.Amount:
		return fmt.Sprintf("the amount %s differs from the payment's %s", amount, t.Amount)
	case accountSHA != ach.AccountNumberSHA256(t.OriginatedNumber):
		return fmt.Sprintf("the account ****%s is not the payment's ****%s", last4, ledger.Last4(t.OriginatedNumber))
	case len(t.OriginatedRouting) >= 8 && rdfi != t.OriginatedRouting[:8]:
		return fmt.Sprintf("the original RDFI %s is not the payment's %s", rdfi, t.OriginatedRouting[:8])
	}
	return ""
}

func planCorrection(file string, c ach.Correction, targets map[string][]ledger.ReturnTarget, on civil.Date) ledger.CorrectionApply {
	pol, _ := ach.CorrectionPolicy(c.ChangeCode)
	ref := fmt.Sprintf("trace %s ****%s %s", c.OriginalTrace, c.AccountNumberLast4, c.ChangeCode)
	ca := ledger.CorrectionApply{EntryKey: ref, OriginalTrace: c.OriginalTrace, ChangeCode: c.ChangeCode, CorrectedData: c.CorrectedData.Text, ReceivedOn: on}
	where := fmt.Sprintf("line %d of %s", c.Line, file)
	t, problem, ok := pickTarget(targets[c.OriginalTrace], false, 0, c.AccountNumberSHA256, c.AccountNumberLast4, c.OriginalRDFI, on)
	if !ok {
		ca.Action = "unmatched: held for review"
		ca.Exception = &ledger.Exception{Kind: "noc_unmatched", Reference: ref, Raw: c.Raw,
			Detail: fmt.Sprintf("%s %s for original trace %s (%s): drafter originated no entry with this trace", c.ChangeCode, pol.Title, c.OriginalTrace, where)}
		return ca
	}
	if problem != "" {
		ca.Action = "mismatch: held for review"
		ca.Exception = &ledger.Exception{Kind: "noc_mismatch", Reference: ref, Raw: c.Raw,
			Detail: fmt.Sprintf("%s for trace %s (%s) names payment %d, but %s; nothing was changed", c.ChangeCode, c.OriginalTrace, where, t.PaymentID, problem)}
		return ca
	}
	ref = fmt.Sprintf("payment %d %s", t.PaymentID, c.ChangeCode)
	ca.EntryKey = ref
	ca.PaymentID, ca.BankAccountID = t.PaymentID, t.BankAccountID
	review := func(kind, why string) {
		ca.Action = "review: " + why
		ca.Exception = &ledger.Exception{Kind: kind, Reference: ref, Raw: c.Raw,
			Detail: fmt.Sprintf("%s %s for bank account %s of account %s (payment %d, %s): %s", c.ChangeCode, pol.Title, t.BankAccountID,
				t.AccountID, t.PaymentID, where, why)}
	}
	switch pol.Action {
	case ach.CorrectionRefused:
		review("noc_refused", fmt.Sprintf("the bank refused our NOC %s. %s", c.RefusedChangeCode, pol.Why))
		ca.Action = "refused"
		return ca
	case ach.CorrectionReview:
		review("noc_review", pol.Why)
		return ca
	}
	if t.Bank.Routing != t.OriginatedRouting || t.Bank.AccountNumber != t.OriginatedNumber {
		review("noc_stale", "the bank account changed after the entry was sent; check the correction against the new details before applying it")
		return ca
	}
	d := c.CorrectedData
	ch := &ledger.BankAccountChange{Routing: d.RoutingNumber, AccountNumber: d.AccountNumber.Reveal(), IndividualID: d.IndividualID}
	if d.TransactionCode != 0 {
		switch d.TransactionCode / 10 {
		case 2:
			ch.Type = "checking"
		case 3:
			ch.Type = "savings"
		default:
			review("noc_review", fmt.Sprintf("transaction code %d is a general ledger or loan account; drafter debits checking and savings accounts only", d.TransactionCode))
			return ca
		}
	}
	var parts []string
	if ch.Routing != "" {
		parts = append(parts, "routing "+ch.Routing)
	}
	if ch.AccountNumber != "" {
		parts = append(parts, "account number "+d.AccountNumber.String())
	}
	if ch.Type != "" {
		parts = append(parts, "type "+ch.Type)
	}
	if ch.IndividualID != "" {
		parts = append(parts, "individual id "+ch.IndividualID)
	}
	ca.Change = ch
	ca.Action = "applied: " + strings.Join(parts, ", ")
	return ca
}

// rawRecord returns the record a parse error names, account number masked,
// for the exception a person reads ("" when the error names no line).
func rawRecord(open func() (io.ReadCloser, error), err error) string {
	var pe *ach.ParseError
	if !errors.As(err, &pe) || pe.Line < 1 {
		return ""
	}
	// Lines end in LF, CRLF or CR; a file without any is 94-byte records.
	breaks := false
	scan := func(each func(c byte) bool) {
		r, err := open()
		if err != nil {
			return
		}
		defer r.Close()
		br := bufio.NewReader(r)
		for {
			c, err := br.ReadByte()
			if err != nil || !each(c) {
				return
			}
		}
	}
	scan(func(c byte) bool { breaks = c == '\r' || c == '\n'; return !breaks })
	line, n, prevCR := 1, 0, false
	var rec []byte
	scan(func(c byte) bool {
		if breaks {
			if c == '\n' && prevCR {
				prevCR = false
				return true
			}
			prevCR = c == '\r'
			if c == '\r' || c == '\n' {
				line++
				return line <= pe.Line
			}
		} else if n > 0 && n%94 == 0 {
			line++
			if line > pe.Line {
				return false
			}
		}
		n++
		if line == pe.Line && len(rec) < 200 {
			rec = append(rec, c)
		}
		return true
	})
	if line < pe.Line {
		return ""
	}
	return printable(maskRecord(string(rec)), 200)
}

// maskRecord masks the account numbers a NACHA record may hold: the DFI
// account number of an entry (positions 13-29) and the corrected data of a
// NOC addenda (positions 36-64), keeping the last four characters.
func maskRecord(rec string) string {
	b := []byte(rec)
	maskRange := func(from, to int) {
		to = min(to, len(b))
		keep := 0
		for i := to - 1; i >= from; i-- {
			if b[i] == ' ' {
				continue
			}
			if keep < 4 {
				keep++
				continue
			}
			b[i] = '*'
		}
	}
	switch {
	case len(b) > 0 && b[0] == '6':
		maskRange(12, 29)
	case len(b) > 3 && string(b[:3]) == "798":
		maskRange(35, 64)
	}
	return string(b)
}

// printable keeps s to printable ASCII (others become '?') and at most n
// bytes: file names and errors from outside input go into the database
// and logs.
func printable(s string, n int) string {
	b := []byte(s)
	if len(b) > n {
		b = b[:n]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}
