package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Inbound file statuses: a file the bank sent is recorded once (its sha256
// is unique), applied whole or rejected whole.
const (
	InboundApplied  = "applied"
	InboundRejected = "rejected"
)

// ErrAlreadyProcessed is returned when an inbound file with the same bytes
// was applied before: nothing is applied again.
var ErrAlreadyProcessed = errors.New("already processed")

// InboundFile is a return or NOC file the bank sent, as recorded.
type InboundFile struct {
	ID          int64     `json:"id"`
	SHA256      string    `json:"sha256"`
	Name        string    `json:"name"`
	StorageKey  string    `json:"storage_key"`
	Status      string    `json:"status"`
	Returns     int       `json:"returns"`
	Corrections int       `json:"corrections"`
	Error       string    `json:"error,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
}

// InboundFileBySHA returns the inbound file recorded with the sha256, or
// ErrNotFound.
func (s *Store) InboundFileBySHA(ctx context.Context, sha string) (InboundFile, error) {
	var f InboundFile
	err := s.q.QueryRowContext(ctx, `SELECT id, sha256, name, storage_key, status, returns, corrections, error, received_at
		FROM inbound_files WHERE sha256 = $1`, sha).Scan(&f.ID, &f.SHA256, &f.Name, &f.StorageKey, &f.Status, &f.Returns,
		&f.Corrections, &f.Error, &f.ReceivedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("inbound file %s: %w", sha, ErrNotFound)
	}
	return f, err
}

// Exception is something that needs a person: an unmatched or mismatched
// entry, a refused NOC, a rejected file. (Kind, Reference) is unique, so
// recording one twice records it once.
type Exception struct {
	ID        int64      `json:"id"`
	Kind      string     `json:"kind"`
	Reference string     `json:"reference"`
	Detail    string     `json:"detail"`
	Raw       string     `json:"raw,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Resolved  *time.Time `json:"resolved_at,omitempty"`
	// ResolvedBy and Resolution are who resolved it and what they did.
	ResolvedBy string `json:"resolved_by,omitempty"`
	Resolution string `json:"resolution,omitempty"`
}

// ErrAlreadyResolved is returned when resolving an exception resolved before.
var ErrAlreadyResolved = errors.New("exception already resolved")

// RejectInbound records a malformed file as rejected, with its exception,
// in one transaction. It reports false when the file was recorded before
// (nothing changes).
func (s *Store) RejectInbound(ctx context.Context, f InboundFile, ex Exception) (bool, error) {
	recorded := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		t := now()
		res, err := tx.ExecContext(ctx, `INSERT INTO inbound_files (sha256, name, storage_key, status, error, received_at)
			VALUES ($1, $2, $3, 'rejected', $4, $5) ON CONFLICT (sha256) DO NOTHING`, f.SHA256, f.Name, f.StorageKey, f.Error, t)
		if err != nil {
			return fmt.Errorf("record rejected file: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		recorded = true
		_, err = s.insertExceptions(ctx, tx, []Exception{ex}, t)
		return err
	})
	return recorded, err
}

// ReturnTarget is an originated payment an inbound entry names by trace
// number, with what applying a return or a NOC to it needs.
type ReturnTarget struct {
	PaymentID     int64
	Trace         string
	AccountID     string
	BankAccountID string
	Kind          string // debit | prenote
	SEC           string
	Description   string
	State         string
	Amount        money.Cents
	DueOn         civil.Date
	EffectiveOn   civil.Date
	OriginatedOn  civil.Date
	Attempt       int
	// RootID is the first presentment of the payment's chain (the payment
	// itself when it is not a re-presentment); RootEffectiveOn its
	// settlement date, from which NACHA's 180 days run.
	RootID          int64
	RootEffectiveOn civil.Date
	// OriginatedRouting and OriginatedNumber are the entry as sent (plain:
	// never log it).
	OriginatedRouting string
	OriginatedNumber  string
	// The bank account as it is now (plain number: never log it).
	Bank BankAccount
	// ReturnedPaymentFee is the contract's fee (0: none), and ContractState
	// the state whose law governs the contract (its fee caps).
	ReturnedPaymentFee money.Cents
	ContractState      string
	Email              string
	// Returned: a return of this payment is on file already.
	Returned bool
}

// lookupChunk bounds the traces of one IN list.
const lookupChunk = 500

// returnTargets returns, by trace, the payments the traces name: a trace
// is unique per day only, so there may be several, newest first.
func (s *Store) returnTargets(ctx context.Context, q querier, traces []string) (map[string][]ReturnTarget, error) {
	out := make(map[string][]ReturnTarget, len(traces))
	for start := 0; start < len(traces); start += lookupChunk {
		chunk := traces[start:min(start+lookupChunk, len(traces))]
		args := make([]any, len(chunk))
		for i, t := range chunk {
			args[i] = t
		}
		// By the originations record, whose trace a file's payments have
		// from the moment it is allocated, settled or not.
		rows, err := q.QueryContext(ctx, s.dialect.rebind(`SELECT og.trace_number, p.id, p.account_id, p.bank_account_id, p.kind, p.sec, p.description,
				CASE WHEN p.state = 'scheduled' THEN 'originated' ELSE p.state END, p.amount, p.due_on, og.effective_on, og.business_date, p.attempt,
				COALESCE(o.id, p.id), COALESCE(oo.effective_on, o.effective_on, og.effective_on),
				og.rdfi_routing, og.number_enc, a.returned_payment_fee, a.contract_state, c.email,
				b.id, b.account_id, b.routing, b.number_enc, b.last4, b.type, b.holder_name, b.prenote, b.prenote_settles_on, b.status, b.status_reason,
				CASE WHEN r.id IS NULL THEN 0 ELSE 1 END
			FROM originations og
			JOIN payments p ON p.id = og.payment_id
			JOIN accounts a ON a.id = p.account_id
			JOIN customers c ON c.id = a.customer_id
			JOIN bank_accounts b ON b.id = p.bank_account_id
			LEFT JOIN payments o ON o.id = p.original_payment_id
			LEFT JOIN originations oo ON oo.payment_id = p.original_payment_id
			LEFT JOIN returns r ON r.payment_id = p.id
			WHERE og.trace_number IN `+s.dialect.values(1, len(chunk), 0)+`
			ORDER BY og.business_date DESC, p.id DESC`), args...)
		if err != nil {
			return nil, fmt.Errorf("select returned payments: %w", err)
		}
		for rows.Next() {
			var t ReturnTarget
			var penc, benc []byte
			var returned int
			b := &t.Bank
			if err := rows.Scan(&t.Trace, &t.PaymentID, &t.AccountID, &t.BankAccountID, &t.Kind, &t.SEC, &t.Description,
				&t.State, &t.Amount, &t.DueOn, &t.EffectiveOn, &t.OriginatedOn, &t.Attempt, &t.RootID, &t.RootEffectiveOn,
				&t.OriginatedRouting, &penc, &t.ReturnedPaymentFee, &t.ContractState, &t.Email,
				&b.ID, &b.AccountID, &b.Routing, &benc, &b.Last4, &b.Type, &b.HolderName, &b.Prenote, &b.PrenoteSettlesOn, &b.Status, &b.StatusReason,
				&returned); err != nil {
				rows.Close()
				return nil, err
			}
			t.Returned = returned == 1
			if t.OriginatedNumber, err = s.cipher.openRow(penc, paymentRow(t.PaymentID)); err != nil {
				rows.Close()
				return nil, err
			}
			if b.AccountNumber, err = s.cipher.openRow(benc, bankAccountRow(b.ID)); err != nil {
				rows.Close()
				return nil, err
			}
			out[t.Trace] = append(out[t.Trace], t)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ReturnApply is one returned entry and everything applying it does. Only
// OriginalTrace, Code, Amount, ReturnedOn and Action are required; an
// unmatched or mismatched entry has no PaymentID and is recorded only.
type ReturnApply struct {
	// EntryKey names the returned entry, unique across files: see
	// ReturnEntryKey.
	EntryKey      string
	OriginalTrace string
	PaymentID     int64 // 0: not matched to a payment; recorded, nothing applied
	AccountID     string
	BankAccountID string
	Code          string
	Amount        money.Cents
	ReturnedOn    civil.Date
	// SentOn is the day the bank sent the return: its file's creation
	// date (the file header). The return rates count it on that day;
	// ReturnedOn when zero.
	SentOn civil.Date
	Action string // what was done, in words
	// Reverse posts a 'returned_payment' transaction of Amount.
	Reverse            bool
	ReverseDescription string
	// Fee > 0 posts a 'returned_payment_fee' transaction.
	Fee            money.Cents
	FeeDescription string
	// Represent is the re-presentment to schedule.
	Represent *NewPayment
	// InvalidateBankAccount marks BankAccountID invalid (status_reason Code)
	// and cancels its scheduled payments.
	InvalidateBankAccount bool
	// Autopay is "suspended" (enrollments on BankAccountID), "stopped"
	// (every enrollment of AccountID) or "" (unchanged). Scheduled autopay
	// payments of a suspended or stopped enrollment are cancelled.
	Autopay string
	// CancelRepresentments cancels AccountID's scheduled re-presentments
	// (no new debit without a new authorization).
	CancelRepresentments bool
	// Review flags the account for a person, unless it is flagged already.
	Review    string
	Exception *Exception
	Notify    *QueuedEmail
}

// QueuedEmail is an outbox row to queue: one email to one customer.
type QueuedEmail struct {
	Topic, Recipient, Kind, AccountID, Payload string
}

// CorrectionApply is one notification of change and what applying it does.
type CorrectionApply struct {
	// EntryKey names the corrected entry and change code, unique across
	// files.
	EntryKey      string
	OriginalTrace string
	ChangeCode    string
	PaymentID     int64  // 0 when unmatched
	BankAccountID string // "" when unmatched
	CorrectedData string // masked text
	Action        string
	ReceivedOn    civil.Date
	// Change is the bank account update to make; nil records only.
	Change    *BankAccountChange
	Exception *Exception
}

// BankAccountChange is what a NOC corrects; empty fields stay as they are.
// AccountNumber is plain: the store encrypts it.
type BankAccountChange struct {
	Routing       string
	AccountNumber string
	Type          string // checking | savings
	IndividualID  string
}

// InboundPlan is everything one inbound file does, decided from the ledger
// as it was read inside the applying transaction.
type InboundPlan struct {
	File        InboundFile
	Returns     []ReturnApply
	Corrections []CorrectionApply
	// Exceptions are recorded whatever else happens (dishonored returns,
	// entries repeated inside the file).
	Exceptions []Exception
}

// InboundResult counts what applying an inbound file changed: entries that
// were applied before (in another file) count nowhere but in Duplicates.
type InboundResult struct {
	FileID                  int64
	Returns                 []ReturnApply // applied now
	Corrections             []CorrectionApply
	Duplicates              int
	Reversals               int
	Fees                    int
	FeeTotal                money.Cents
	Represented             int
	BankAccountsInvalidated int
	AutopaySuspended        int
	AutopayStopped          int
	AccountsFlagged         int
	PaymentsCancelled       int
	BankAccountsCorrected   int
	Exceptions              int
	Notified                int
}

// ApplyInbound applies one inbound file in one transaction: the file is
// recorded (ErrAlreadyProcessed when it was applied before), decide is
// called with the payments the traces name, as the transaction sees them,
// and every return, correction, exception, posting, re-presentment and
// email it plans is written, each at most once across files through the
// unique keys. A failure rolls back everything, so a file is applied whole
// or not at all.
func (s *Store) ApplyInbound(ctx context.Context, traces []string, decide func(map[string][]ReturnTarget) (InboundPlan, error)) (InboundResult, error) {
	var res InboundResult
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res = InboundResult{}
		// Before any write: the file may cancel scheduled payments.
		if err := s.lockScheduled(ctx, tx); err != nil {
			return err
		}
		targets, err := s.returnTargets(ctx, tx, traces)
		if err != nil {
			return err
		}
		plan, err := decide(targets)
		if err != nil {
			return err
		}
		t := now()
		if res.FileID, err = s.recordInbound(ctx, tx, plan.File, len(plan.Returns), len(plan.Corrections), t); err != nil {
			return err
		}
		part, err := s.applyPart(ctx, tx, res.FileID, plan, t)
		res = part
		return err
	})
	return res, err
}

// InboundPart applies one part of an inbound file inside
// ApplyInboundParts' transaction, as ApplyInbound applies a whole file,
// and returns what the part changed (Returns and Corrections included).
type InboundPart func(traces []string, decide func(map[string][]ReturnTarget) (InboundPlan, error)) (InboundResult, error)

// ApplyInboundParts applies one inbound file f in one transaction, part by
// part, so that a large file is never held whole: feed calls apply once
// per part (its entries' traces, and the plan for them). The file is
// recorded first (ErrAlreadyProcessed when it was applied before); an
// error from feed or from any part rolls back everything. A part is
// decided from the ledger as the parts before it left it. The result
// counts all parts; its Returns and Corrections are empty (each part's
// result has its own). feed may be called again when the transaction is
// retried.
func (s *Store) ApplyInboundParts(ctx context.Context, f InboundFile, feed func(apply InboundPart) error) (InboundResult, error) {
	var res InboundResult
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res = InboundResult{}
		// Before any write: the file may cancel scheduled payments.
		if err := s.lockScheduled(ctx, tx); err != nil {
			return err
		}
		if s.dialect.name == "sqlite" {
			// The connection's page cache (64 MiB, for origination) fills up
			// in a file of hundreds of thousands of returns; a quarter of it
			// keeps the apply's memory small, at some cost in time. It is
			// given back to the connection after.
			if _, err := tx.ExecContext(ctx, `PRAGMA cache_size = -16384`); err != nil {
				return fmt.Errorf("bound the page cache: %w", err)
			}
			defer tx.ExecContext(ctx, `PRAGMA cache_size = -65536`)
		}
		t := now()
		var err error
		if res.FileID, err = s.recordInbound(ctx, tx, f, 0, 0, t); err != nil {
			return err
		}
		var returns, corrections int
		apply := func(traces []string, decide func(map[string][]ReturnTarget) (InboundPlan, error)) (InboundResult, error) {
			targets, err := s.returnTargets(ctx, tx, traces)
			if err != nil {
				return InboundResult{}, err
			}
			plan, err := decide(targets)
			if err != nil {
				return InboundResult{}, err
			}
			returns += len(plan.Returns)
			corrections += len(plan.Corrections)
			part, err := s.applyPart(ctx, tx, res.FileID, plan, t)
			if err != nil {
				return InboundResult{}, err
			}
			res.add(part)
			return part, nil
		}
		if err := feed(apply); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE inbound_files SET returns = $1, corrections = $2 WHERE id = $3`,
			returns, corrections, res.FileID); err != nil {
			return fmt.Errorf("record inbound file: %w", err)
		}
		return nil
	})
	return res, err
}

// add adds a part's counts.
func (r *InboundResult) add(o InboundResult) {
	r.Duplicates += o.Duplicates
	r.Reversals += o.Reversals
	r.Fees += o.Fees
	r.FeeTotal += o.FeeTotal
	r.Represented += o.Represented
	r.BankAccountsInvalidated += o.BankAccountsInvalidated
	r.AutopaySuspended += o.AutopaySuspended
	r.AutopayStopped += o.AutopayStopped
	r.AccountsFlagged += o.AccountsFlagged
	r.PaymentsCancelled += o.PaymentsCancelled
	r.BankAccountsCorrected += o.BankAccountsCorrected
	r.Exceptions += o.Exceptions
	r.Notified += o.Notified
}

// recordInbound records an inbound file as applied and returns its id;
// ErrAlreadyProcessed when it was applied before. A file rejected before
// (say, by an older drafter) is applied when it now parses.
func (s *Store) recordInbound(ctx context.Context, tx *sql.Tx, f InboundFile, returns, corrections int, t time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO inbound_files (sha256, name, storage_key, status, returns, corrections, error, received_at)
		VALUES ($1, $2, $3, 'applied', $4, $5, '', $6)
		ON CONFLICT (sha256) DO UPDATE SET status = 'applied', error = '', name = excluded.name, storage_key = excluded.storage_key,
			returns = excluded.returns, corrections = excluded.corrections, received_at = excluded.received_at
		WHERE inbound_files.status = 'rejected'
		RETURNING id`, f.SHA256, f.Name, f.StorageKey, returns, corrections, t).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrAlreadyProcessed
	}
	if err != nil {
		return 0, fmt.Errorf("record inbound file: %w", err)
	}
	return id, nil
}

// applyPart writes what plan decides for the inbound file fileID.
func (s *Store) applyPart(ctx context.Context, tx *sql.Tx, fileID int64, plan InboundPlan, t time.Time) (InboundResult, error) {
	res := InboundResult{FileID: fileID}
	if err := s.applyReturns(ctx, tx, &res, plan.Returns, t); err != nil {
		return res, err
	}
	if err := s.applyCorrections(ctx, tx, &res, plan.Corrections); err != nil {
		return res, err
	}
	var exs []Exception
	exs = append(exs, plan.Exceptions...)
	for _, r := range res.Returns {
		if r.Exception != nil {
			exs = append(exs, *r.Exception)
		}
	}
	for _, c := range res.Corrections {
		if c.Exception != nil {
			exs = append(exs, *c.Exception)
		}
	}
	n, err := s.insertExceptions(ctx, tx, exs, t)
	res.Exceptions = n
	return res, err
}

// applyReturns records the returns and applies those recorded now.
func (s *Store) applyReturns(ctx context.Context, tx *sql.Tx, res *InboundResult, rs []ReturnApply, t time.Time) error {
	// 1. Record: the original trace is unique, so an entry applied from
	// another file is not returned here and is skipped below.
	cols := []string{"inbound_file_id", "entry_key", "original_trace", "payment_id", "code", "amount", "action", "returned_on", "sent_on"}
	rows := make([][]any, 0, len(rs))
	for _, r := range rs {
		var pid any
		if r.PaymentID != 0 {
			pid = r.PaymentID
		}
		sent := r.SentOn
		if sent.IsZero() {
			sent = r.ReturnedOn
		}
		rows = append(rows, []any{res.FileID, r.EntryKey, r.OriginalTrace, pid, r.Code, r.Amount, r.Action, r.ReturnedOn, sent})
	}
	inserted := map[string]bool{}
	err := s.insertRows(ctx, tx, "returns", cols, rows, ` ON CONFLICT DO NOTHING RETURNING entry_key`, func(r *sql.Rows) error {
		var key string
		if err := r.Scan(&key); err != nil {
			return err
		}
		inserted[key] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("record returns: %w", err)
	}
	for _, r := range rs {
		if inserted[r.EntryKey] {
			delete(inserted, r.EntryKey) // an entry twice in the plan applies once
			res.Returns = append(res.Returns, r)
		} else {
			res.Duplicates++
		}
	}
	if err := s.returnsOfPayments(ctx, tx, res.Returns); err != nil {
		return err
	}

	// 2. Payments returned, by code.
	byCode := map[string][]any{}
	var codes []string
	var txns, fees, outbox [][]any
	var represent []NewPayment
	for _, r := range res.Returns {
		if r.PaymentID == 0 {
			continue
		}
		if _, ok := byCode[r.Code]; !ok {
			codes = append(codes, r.Code)
		}
		byCode[r.Code] = append(byCode[r.Code], r.PaymentID)
		if r.Reverse {
			txns = append(txns, []any{fmt.Sprintf("return:%d", r.PaymentID), r.AccountID, r.ReturnedOn, "returned_payment", r.Amount, r.ReverseDescription, "drafter"})
		}
		if r.Fee > 0 {
			fees = append(fees, []any{fmt.Sprintf("return-fee:%d", r.PaymentID), r.AccountID, r.ReturnedOn, "returned_payment_fee", r.Fee, r.FeeDescription, "drafter"})
			res.FeeTotal += r.Fee
		}
		if r.Represent != nil {
			represent = append(represent, *r.Represent)
		}
		if m := r.Notify; m != nil {
			outbox = append(outbox, []any{m.Topic, m.Recipient, m.Kind, m.AccountID, m.Payload, "queued", t, t})
		}
	}
	for _, code := range codes {
		ids := byCode[code]
		for start := 0; start < len(ids); start += lookupChunk {
			chunk := ids[start:min(start+lookupChunk, len(ids))]
			args := append([]any{code}, chunk...)
			if _, err := tx.ExecContext(ctx, s.dialect.rebind(`UPDATE payments SET state = 'returned', state_reason = $1
				WHERE state <> 'returned' AND id IN `+s.dialect.values(1, len(chunk), 1)), args...); err != nil {
				return fmt.Errorf("mark payments returned: %w", err)
			}
		}
	}
	txCols := []string{"id", "account_id", "posted_on", "kind", "amount", "description", "source"}
	var n int
	if n, err = s.insertCount(ctx, tx, "transactions", txCols, txns, ` ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("post returned payments: %w", err)
	}
	res.Reversals = n
	if n, err = s.insertCount(ctx, tx, "transactions", txCols, fees, ` ON CONFLICT (id) DO NOTHING`); err != nil {
		return fmt.Errorf("post returned payment fees: %w", err)
	}
	res.Fees = n
	prows := make([][]any, len(represent))
	for i, p := range represent {
		var orig any
		if p.OriginalPaymentID != 0 {
			orig = p.OriginalPaymentID
		}
		prows[i] = []any{p.Source, p.SourceKey, p.AccountID, p.BankAccountID, p.Kind, p.SEC, p.Description,
			p.Amount, p.DueOn, p.DraftOn, PaymentScheduled, max(p.Attempt, 1), orig, t}
	}
	if n, err = s.insertCount(ctx, tx, "payments", paymentInsertCols, prows, ` ON CONFLICT (source, source_key) DO NOTHING`); err != nil {
		return fmt.Errorf("schedule re-presentments: %w", err)
	}
	res.Represented = n

	// 3. The bank account, autopay and the account: rarer, one statement
	// per change, prepared once.
	if err := s.applyAccountActions(ctx, tx, res); err != nil {
		return err
	}

	// 4. Emails, last: the payload says what was done.
	outCols := []string{"topic", "recipient", "kind", "account_id", "payload", "status", "next_attempt_at", "created_at"}
	if n, err = s.insertCount(ctx, tx, "outbox", outCols, outbox, ` ON CONFLICT (topic, recipient) DO NOTHING`); err != nil {
		return fmt.Errorf("queue payment returned emails: %w", err)
	}
	res.Notified = n
	return nil
}

// returnsOfPayments copies each just recorded return's payment's account
// and kind onto the return, in the transaction that records it: the
// console's rates and lists read a window's returns from their own index
// (returns_day) without looking up every payment. Migration 0043 did the
// same for the returns recorded before.
func (s *Store) returnsOfPayments(ctx context.Context, tx *sql.Tx, rs []ReturnApply) error {
	keys := make([]any, 0, len(rs))
	for _, r := range rs {
		if r.PaymentID != 0 {
			keys = append(keys, r.EntryKey)
		}
	}
	for start := 0; start < len(keys); start += lookupChunk {
		chunk := keys[start:min(start+lookupChunk, len(keys))]
		if _, err := tx.ExecContext(ctx, s.dialect.rebind(`UPDATE returns SET
				account_id = (SELECT p.account_id FROM payments p WHERE p.id = returns.payment_id),
				payment_kind = (SELECT p.kind FROM payments p WHERE p.id = returns.payment_id)
			WHERE payment_id IS NOT NULL AND entry_key IN `+s.dialect.values(1, len(chunk), 0)), chunk...); err != nil {
			return fmt.Errorf("record returns: their payments' accounts: %w", err)
		}
	}
	return nil
}

// applyAccountActions invalidates bank accounts, suspends or stops
// autopay, flags accounts and cancels the scheduled payments that must not
// be originated any more.
func (s *Store) applyAccountActions(ctx context.Context, tx *sql.Tx, res *InboundResult) error {
	type stmt struct {
		q     string
		st    *sql.Stmt
		count *int
	}
	stmts := map[string]*stmt{
		"invalidate": {q: `UPDATE bank_accounts SET status = 'invalid', status_reason = $2 WHERE id = $1 AND status = 'active'`,
			count: &res.BankAccountsInvalidated},
		"cancel bank": {q: `UPDATE payments SET state = 'cancelled', state_reason = $2
			WHERE account_id = (SELECT account_id FROM bank_accounts WHERE id = $1) AND bank_account_id = $1 AND state = 'scheduled'
			  AND ` + notOriginated("payments.id"),
			count: &res.PaymentsCancelled},
		"suspend": {q: `UPDATE autopay_enrollments SET status = 'suspended', status_reason = $2 WHERE bank_account_id = $1 AND status = 'active'`,
			count: &res.AutopaySuspended},
		"stop": {q: `UPDATE autopay_enrollments SET status = 'stopped', status_reason = $2 WHERE account_id = $1 AND status <> 'stopped'`,
			count: &res.AutopayStopped},
		"cancel autopay": {q: `UPDATE payments SET state = 'cancelled', state_reason = $2
			WHERE account_id = $1 AND state = 'scheduled' AND source = 'autopay' AND ` + notOriginated("payments.id") + `
			  AND EXISTS (SELECT 1 FROM autopay_enrollments e WHERE e.account_id = payments.account_id AND e.status <> 'active'
			    AND SUBSTR(payments.source_key, 1, LENGTH(e.id) + 1) = e.id || ':')`,
			count: &res.PaymentsCancelled},
		"cancel represent": {q: `UPDATE payments SET state = 'cancelled', state_reason = $2 WHERE account_id = $1 AND state = 'scheduled' AND source = 'represent'
			AND ` + notOriginated("payments.id"),
			count: &res.PaymentsCancelled},
		"review": {q: `UPDATE accounts SET review = $2 WHERE id = $1 AND review = ''`, count: &res.AccountsFlagged},
	}
	defer func() {
		for _, s := range stmts {
			if s.st != nil {
				s.st.Close()
			}
		}
	}()
	// Each change is made once per bank account or account and file: the
	// statements are idempotent, and a day of returns names the same
	// account many times.
	done := map[string]bool{}
	exec := func(name string, args ...any) error {
		key := name + "\x00" + fmt.Sprint(args[0])
		if done[key] {
			return nil
		}
		done[key] = true
		st := stmts[name]
		if st.st == nil {
			p, err := tx.PrepareContext(ctx, st.q)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			st.st = p
		}
		r, err := st.st.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		n, _ := r.RowsAffected()
		*st.count += int(n)
		return nil
	}
	for _, r := range res.Returns {
		if r.PaymentID == 0 {
			continue
		}
		reason := "returned " + r.Code
		if r.InvalidateBankAccount {
			if err := exec("invalidate", r.BankAccountID, r.Code); err != nil {
				return err
			}
		}
		switch r.Autopay {
		case "suspended":
			if err := exec("suspend", r.BankAccountID, r.Code); err != nil {
				return err
			}
		case "stopped":
			if err := exec("stop", r.AccountID, r.Code); err != nil {
				return err
			}
		}
		if r.Review != "" {
			if err := exec("review", r.AccountID, r.Review); err != nil {
				return err
			}
		}
		// Cancel after the changes above, so that a re-presentment planned
		// in this same file for an account that is now stopped is cancelled
		// too.
		if r.InvalidateBankAccount {
			if err := exec("cancel bank", r.BankAccountID, "bank account invalid: "+reason); err != nil {
				return err
			}
		}
		if r.Autopay != "" {
			if err := exec("cancel autopay", r.AccountID, "autopay "+r.Autopay+": "+reason); err != nil {
				return err
			}
		}
		if r.CancelRepresentments {
			if err := exec("cancel represent", r.AccountID, "no new debit without a new authorization: "+reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyCorrections records the NOCs and applies those recorded now.
func (s *Store) applyCorrections(ctx context.Context, tx *sql.Tx, res *InboundResult, cs []CorrectionApply) error {
	for _, c := range cs {
		var pid, bid any
		if c.PaymentID != 0 {
			pid = c.PaymentID
		}
		if c.BankAccountID != "" {
			bid = c.BankAccountID
		}
		r, err := tx.ExecContext(ctx, `INSERT INTO corrections (inbound_file_id, entry_key, original_trace, change_code, payment_id, bank_account_id, corrected_data, action, received_on)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (entry_key) DO NOTHING`,
			res.FileID, c.EntryKey, c.OriginalTrace, c.ChangeCode, pid, bid, c.CorrectedData, c.Action, c.ReceivedOn)
		if err != nil {
			return fmt.Errorf("record correction %s %s: %w", c.ChangeCode, c.OriginalTrace, err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			res.Duplicates++
			continue
		}
		res.Corrections = append(res.Corrections, c)
		if c.Change == nil || c.BankAccountID == "" {
			continue
		}
		if err := s.changeBankAccount(ctx, tx, c.BankAccountID, *c.Change); err != nil {
			return err
		}
		res.BankAccountsCorrected++
	}
	return nil
}

// changeBankAccount writes a NOC's corrected data to a bank account, the
// account number encrypted with the store's cipher.
func (s *Store) changeBankAccount(ctx context.Context, tx *sql.Tx, id string, ch BankAccountChange) error {
	var sets []string
	var args []any
	set := func(col string, v any) {
		args = append(args, v)
		sets = append(sets, fmt.Sprintf("%s = $%d", col, len(args)+1))
	}
	if ch.Routing != "" {
		set("routing", ch.Routing)
	}
	if ch.AccountNumber != "" {
		set("number_enc", s.cipher.sealRow(ch.AccountNumber, bankAccountRow(id)))
		set("number_mac", s.cipher.MAC(ch.AccountNumber))
		set("last4", Last4(ch.AccountNumber))
	}
	if ch.Type != "" {
		set("type", ch.Type)
	}
	if ch.IndividualID != "" {
		set("individual_id", ch.IndividualID)
	}
	if len(sets) == 0 {
		return nil
	}
	// Remember the details the servicing system gave, so that a reimport
	// still carrying them keeps the correction (see Importer).
	sets = append(sets, `replaced_details = CASE WHEN replaced_details = '' THEN number_mac || '|' || routing ELSE replaced_details END`)
	if _, err := tx.ExecContext(ctx, `UPDATE bank_accounts SET `+strings.Join(sets, ", ")+` WHERE id = $1`, append([]any{id}, args...)...); err != nil {
		return fmt.Errorf("correct bank account %s: %w", id, err)
	}
	return nil
}

func (s *Store) insertExceptions(ctx context.Context, q querier, exs []Exception, t time.Time) (int, error) {
	rows := make([][]any, len(exs))
	for i, e := range exs {
		rows[i] = []any{e.Kind, e.Reference, e.Detail, e.Raw, t}
	}
	n, err := s.insertCount(ctx, q, "exceptions", []string{"kind", "reference", "detail", "raw", "created_at"}, rows,
		` ON CONFLICT (kind, reference) DO NOTHING`)
	if err != nil {
		return n, fmt.Errorf("record exceptions: %w", err)
	}
	return n, nil
}

// insertCount inserts rows with multi-row statements and returns how many
// rows were inserted.
func (s *Store) insertCount(ctx context.Context, q querier, table string, cols []string, rows [][]any, suffix string) (int, error) {
	total := 0
	for _, chunk := range s.rowChunks(cols, rows) {
		res, err := q.ExecContext(ctx, s.insertSQL(table, cols, len(chunk))+suffix, flatten(chunk)...)
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}

// insertRows inserts rows with multi-row statements whose suffix has a
// RETURNING clause, calling scan for every row returned.
func (s *Store) insertRows(ctx context.Context, q querier, table string, cols []string, rows [][]any, suffix string, scan func(*sql.Rows) error) error {
	for _, chunk := range s.rowChunks(cols, rows) {
		rs, err := q.QueryContext(ctx, s.insertSQL(table, cols, len(chunk))+suffix, flatten(chunk)...)
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := scan(rs); err != nil {
				rs.Close()
				return err
			}
		}
		if err := rs.Close(); err != nil {
			return err
		}
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertSQL(table string, cols []string, n int) string {
	return `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES ` + s.dialect.values(n, len(cols), 0)
}

func (s *Store) rowChunks(cols []string, rows [][]any) [][][]any {
	per := max(min(s.dialect.maxParams/len(cols), 1000), 1)
	var out [][][]any
	for start := 0; start < len(rows); start += per {
		out = append(out, rows[start:min(start+per, len(rows))])
	}
	return out
}

func flatten(rows [][]any) []any {
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	out := make([]any, 0, n)
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

const exceptionSelect = `SELECT id, kind, reference, detail, raw, created_at, resolved_at, resolved_by, resolution FROM exceptions`

func scanException(row rowScanner) (Exception, error) {
	var e Exception
	var resolved sql.NullTime
	if err := row.Scan(&e.ID, &e.Kind, &e.Reference, &e.Detail, &e.Raw, &e.CreatedAt, &resolved, &e.ResolvedBy, &e.Resolution); err != nil {
		return e, err
	}
	if resolved.Valid {
		e.Resolved = &resolved.Time
	}
	return e, nil
}

// Exceptions returns the exceptions, oldest first: open ones only unless all.
func (s *Store) Exceptions(ctx context.Context, all bool) ([]Exception, error) {
	q := exceptionSelect
	if !all {
		q += ` WHERE resolved_at IS NULL`
	}
	out, err := queryAll(ctx, s.q, scanException, q+` ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("select exceptions: %w", err)
	}
	return out, nil
}

// debitsOriginated counts the debit payments of the files of business
// dates from through through. A stored file's count is kept in
// ach_file_debits when MarkFileStored marks it stored; a file stored
// by an earlier release, without its count, is counted the first time it is
// read, and kept then (not by a read-only store: it counts every time); a
// file still being allocated is counted every time. A released file (its
// payments scheduled again, before it was sent) originated nothing.
func (s *Store) debitsOriginated(ctx context.Context, from, through civil.Date) (int, error) {
	type fileCount struct {
		id, debits int64
		known      bool
		stored     bool
	}
	files, err := queryAll(ctx, s.q, func(row rowScanner) (fileCount, error) {
		var f fileCount
		var n sql.NullInt64
		var status string
		err := row.Scan(&f.id, &status, &n)
		f.debits, f.known, f.stored = n.Int64, n.Valid, status != "allocated"
		return f, err
	}, `SELECT f.id, f.status, c.debits FROM ach_files f LEFT JOIN ach_file_debits c ON c.ach_file_id = f.id
		WHERE f.business_date >= $1 AND f.business_date <= $2 AND f.released_at IS NULL`, from, through)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, f := range files {
		if !f.known {
			if f.debits, err = fileDebits(ctx, s.q, f.id); err != nil {
				return 0, err
			}
			if f.stored && !s.InDryRun() && !s.readOnly {
				if _, err := s.q.ExecContext(ctx, `INSERT INTO ach_file_debits (ach_file_id, debits) VALUES ($1, $2) ON CONFLICT (ach_file_id) DO NOTHING`,
					f.id, f.debits); err != nil {
					return 0, err
				}
			}
		}
		total += int(f.debits)
	}
	return total, nil
}

// fileDebits counts the debit entries originated in a file: what the
// return rates divide by. It is the one definition MarkFileStored and
// debitsOriginated share, and it reads the originations record, which
// holds a file's entries from its allocation on (its payment rows are
// settled only after the file is stored). isDebitCode is the same rule
// for one record (the codes named once, below).
func fileDebits(ctx context.Context, q querier, fileID int64) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM originations WHERE `+fileRecords("", "$1")+` AND transaction_code IN (`+debitCodesSQL+`)`, fileID).Scan(&n)
	return n, err
}

// The transaction codes of a debit entry, which fileDebits counts: not a
// prenote (28, 38).
const (
	checkingDebit = 27
	savingsDebit  = 37
)

// debitCodesSQL is the debit codes as an SQL list.
var debitCodesSQL = strconv.Itoa(checkingDebit) + ", " + strconv.Itoa(savingsDebit)

// isDebitCode says whether a record's transaction code is a debit entry.
func isDebitCode(code int) bool { return code == checkingDebit || code == savingsDebit }

// ResolveException marks an open exception resolved by by, with what was
// done about it, and records it in the audit log, in one transaction. It
// returns ErrNotFound for no such exception and ErrAlreadyResolved (with
// the exception as resolved) for one resolved before; resolving changes
// nothing else: the person's fix (a corrected bank account, a call to the
// bank) is theirs to make.
func (s *Store) ResolveException(ctx context.Context, id int64, by, resolution string) (Exception, error) {
	var e Exception
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE exceptions SET resolved_at = $2, resolved_by = $3, resolution = $4
			WHERE id = $1 AND resolved_at IS NULL`, id, now(), by, resolution)
		if err != nil {
			return fmt.Errorf("resolve exception %d: %w", id, err)
		}
		n, _ := res.RowsAffected()
		if e, err = scanException(tx.QueryRowContext(ctx, exceptionSelect+` WHERE id = $1`, id)); errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if n == 0 {
			return ErrAlreadyResolved
		}
		return audit(ctx, tx, by, "resolve exception", fmt.Sprintf("exception %d (%s %s)", id, e.Kind, e.Reference), resolution)
	})
	return e, err
}

// ReturnCounts counts, for the business dates from through through, the
// debit entries originated and the returns the bank sent on those days
// (their files' creation dates, sent_on: a file applied late still counts
// on the day it was sent) for drafter's payments by return code: what
// NACHA's return rates are computed from.
func (s *Store) ReturnCounts(ctx context.Context, from, through civil.Date) (debits int, byCode map[string]int, err error) {
	if debits, err = s.debitsOriginated(ctx, from, through); err != nil {
		return 0, nil, fmt.Errorf("count debits: %w", err)
	}
	// The payment's kind is on the return (migration 0042): the window's
	// returns are read from returns_sent alone (migration 0044).
	rows, err := s.q.QueryContext(ctx, `SELECT code, COUNT(*) FROM returns
		WHERE sent_on >= $1 AND sent_on <= $2 AND payment_kind = 'debit' GROUP BY code`, from, through)
	if err != nil {
		return 0, nil, fmt.Errorf("count returns: %w", err)
	}
	defer rows.Close()
	byCode = map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return 0, nil, err
		}
		byCode[code] = n
	}
	return debits, byCode, rows.Err()
}
