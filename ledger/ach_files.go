package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// ACH file statuses.
const (
	FileAllocated   = "allocated" // its payments are fixed; the bytes may not be stored yet
	FileStored      = "stored"
	FileTransmitted = "transmitted" // stored, and its transmission to the bank confirmed (MarkTransmitted)
)

// InStorage reports whether the file's bytes were stored: it is stored,
// or stored and since transmitted.
func (f ACHFile) InStorage() bool { return f.Status == FileStored || f.Status == FileTransmitted }

// ACHFile is one NACHA file drafter made.
type ACHFile struct {
	ID               int64       `json:"id"`
	BusinessDate     civil.Date  `json:"business_date"`
	EffectiveOn      civil.Date  `json:"effective_on"`
	IDModifier       string      `json:"id_modifier"`
	Status           string      `json:"status"`
	StorageKey       string      `json:"storage_key"`
	TraceStart       int         `json:"trace_start"`
	TraceEnd         int         `json:"trace_end"`
	OffsetTraceStart int         `json:"offset_trace_start,omitempty"`
	SHA256           string      `json:"sha256,omitempty"`
	Size             int64       `json:"size"`
	Batches          int         `json:"batches"`
	Entries          int         `json:"entries"`
	DebitTotal       money.Cents `json:"debit_total"`
	CreditTotal      money.Cents `json:"credit_total"`
	CreatedAt        time.Time   `json:"created_at"`
	// Settled: the payment rows of the file show their origination
	// (SettleFile); until then only the originations records do.
	Settled bool `json:"-"`
}

// Allocation is one payment put into a file, with its entry as originated.
type Allocation struct {
	PaymentID   int64
	TraceNumber string
	RDFIRouting string
	// AccountNumber is sealed into the payment's entry snapshot, bound to
	// the payment's row.
	AccountNumber   string
	TransactionCode int
	IndividualName  string
	IndividualID    string
	// Prenote marks the bank account's prenote sent, settling on the
	// file's effective date.
	Prenote       bool
	BankAccountID string
}

// FilePlan is what AllocateFile needs to know about the file.
type FilePlan struct {
	BusinessDate civil.Date
	EffectiveOn  civil.Date
	// NextModifier returns the modifier after prev ("" for the day's first).
	NextModifier func(prev string) (string, error)
	// StorageKey names where the file will be stored, from its modifier.
	StorageKey func(modifier string) string
	// Offsets is how many trace sequences to reserve for offset entries.
	Offsets int
	// ReadAt is the scheduled-changes count the payments were read at
	// (DuePayment.ReadAt, the same for all of them), or 0: when the count
	// has not moved by the allocation, no payment can have left scheduled
	// since, and the allocation does not count them again.
	ReadAt int64
}

// ErrPaymentTaken is returned when a payment being allocated is no longer
// scheduled: another process originated or cancelled it first.
var ErrPaymentTaken = errors.New("payment no longer scheduled")

// AllocateFile creates the day's next file and originates the payments in it,
// in one transaction: each payment gets its originations record (file,
// trace number and entry snapshot), and prenoted bank accounts are marked
// sent. Nothing is allocated twice: the record's key is the payment, so the
// database refuses a second origination, and a payment that is no longer
// scheduled fails the whole transaction (ErrPaymentTaken). The payment rows
// themselves are settled later, in bulk (SettleFile).
//
// assign is called inside the transaction with the file as it will be
// recorded (modifier, key, trace sequences; no id yet); it returns the
// allocations in trace order and a check, called last before the
// transaction commits, that returns an error (which allocates nothing) when
// the file they make cannot be built: a committed allocation always
// builds. The check may work while the allocation is written.
func (s *Store) AllocateFile(ctx context.Context, plan FilePlan, n int, assign func(f ACHFile) ([]Allocation, func() error, error)) (ACHFile, error) {
	var f ACHFile
	err := s.inConnTx(ctx, func(tx *sql.Tx, conn *sql.Conn) (rerr error) {
		if s.dialect.name == "postgres" {
			// One allocator per business date at a time, across processes.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7261002, $1)`, dateKey(plan.BusinessDate)); err != nil {
				return err
			}
		}
		if err := s.lockOriginating(ctx, tx); err != nil {
			return err
		}
		var prevMod string
		var lastSeq int
		err := tx.QueryRowContext(ctx, `SELECT id_modifier, trace_end FROM ach_files WHERE business_date = $1 ORDER BY id DESC LIMIT 1`,
			plan.BusinessDate).Scan(&prevMod, &lastSeq)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		mod, err := plan.NextModifier(prevMod)
		if err != nil {
			return err
		}
		// Trace sequences run on across days (from the newest file of any
		// day), not from 1 each morning: a return names its entry by trace
		// alone, and an unauthorized one may come 60 days later, so a
		// sequence that came back every day (a customer's autopay sits at
		// the same place in each month's file) would name two payments.
		// They wrap at seven digits, where a day's files must still fit.
		var newest int
		err = tx.QueryRowContext(ctx, `SELECT trace_end FROM ach_files ORDER BY id DESC LIMIT 1`).Scan(&newest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		first := max(newest, lastSeq) + 1
		span := n + plan.Offsets
		if first+span-1 > ach.MaxTraceSequence {
			// Past the last sequence: from the day's own last one (1
			// for a day's first file).
			first = lastSeq + 1
		}
		offsetStart := 0
		end := first + n - 1
		if plan.Offsets > 0 {
			offsetStart = end + 1
			end += plan.Offsets
		}
		t := now()
		key := plan.StorageKey(mod)
		allocs, check, err := assign(ACHFile{BusinessDate: plan.BusinessDate, EffectiveOn: plan.EffectiveOn, IDModifier: mod, Status: FileAllocated,
			StorageKey: key, TraceStart: first, TraceEnd: end, OffsetTraceStart: offsetStart})
		if err != nil {
			return err
		}
		if check != nil {
			// Whatever else fails first, the check is waited for.
			defer func() {
				if cerr := check(); cerr != nil && rerr == nil {
					rerr = cerr
				}
			}()
		}
		if len(allocs) != n {
			return fmt.Errorf("allocate file: %d allocations for %d payments", len(allocs), n)
		}
		// The bounds of the records' traces, by which a file's records are
		// found (fileRecords).
		var firstTrace, lastTrace any
		if n > 0 {
			lo, hi := allocs[0].TraceNumber, allocs[0].TraceNumber
			for _, a := range allocs[1:] {
				lo, hi = min(lo, a.TraceNumber), max(hi, a.TraceNumber)
			}
			firstTrace, lastTrace = lo, hi
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO ach_files (business_date, effective_on, id_modifier, status, storage_key, trace_start, trace_end, offset_trace_start,
				created_at, first_trace, last_trace)
			VALUES ($1, $2, $3, 'allocated', $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
			plan.BusinessDate, plan.EffectiveOn, mod, key, first, end, offsetStart, t, firstTrace, lastTrace).Scan(&f.ID); err != nil {
			return fmt.Errorf("insert ach file: %w", err)
		}
		f = ACHFile{ID: f.ID, BusinessDate: plan.BusinessDate, EffectiveOn: plan.EffectiveOn, IDModifier: mod, Status: FileAllocated,
			StorageKey: key, TraceStart: first, TraceEnd: end, OffsetTraceStart: offsetStart, CreatedAt: t}
		if err := s.recordOriginations(ctx, tx, conn, f, allocs, plan.ReadAt); err != nil {
			return err
		}
		// The file's count of debits (fileDebits of the records just
		// appended), which the return rates divide by, is kept now: the
		// records do not change, and counting them back when the file is
		// stored walked the file's records by trace, a random read of the
		// table on SQLite (a second a million).
		debits := 0
		for _, a := range allocs {
			if isDebitCode(a.TransactionCode) {
				debits++
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ach_file_debits (ach_file_id, debits) VALUES ($1, $2)`, f.ID, debits); err != nil {
			return fmt.Errorf("keep the debit count of file %s: %w", f.IDModifier, err)
		}
		for _, a := range allocs {
			if !a.Prenote {
				continue
			}
			// Still waiting for its prenote, as when the payment was read.
			res, err := tx.ExecContext(ctx, `UPDATE bank_accounts SET prenote = 'sent', prenote_settles_on = $2 WHERE id = $1 AND prenote = 'required'`,
				a.BankAccountID, plan.EffectiveOn)
			if err != nil {
				return fmt.Errorf("mark prenote sent for bank account %s: %w", a.BankAccountID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("prenote of bank account %s: sent or no longer needed since it was read: %w", a.BankAccountID, ErrPaymentTaken)
			}
		}
		return nil
	})
	return f, err
}

func dateKey(d civil.Date) int { return d.Year*10000 + int(d.Month)*100 + d.Day }

const achFileSelect = `SELECT id, business_date, effective_on, id_modifier, status, storage_key, trace_start, trace_end, offset_trace_start,
	sha256, size, batches, entries, debit_total, credit_total, created_at, settled_at FROM ach_files`

func scanACHFile(row rowScanner) (ACHFile, error) {
	var f ACHFile
	var settled sql.NullTime
	err := row.Scan(&f.ID, &f.BusinessDate, &f.EffectiveOn, &f.IDModifier, &f.Status, &f.StorageKey, &f.TraceStart, &f.TraceEnd,
		&f.OffsetTraceStart, &f.SHA256, &f.Size, &f.Batches, &f.Entries, &f.DebitTotal, &f.CreditTotal, &f.CreatedAt, &settled)
	f.Settled = settled.Valid
	return f, err
}

// DayFiles returns the files of a business date in modifier order, but
// those released (see ReleaseFile).
func (s *Store) DayFiles(ctx context.Context, d civil.Date) ([]ACHFile, error) {
	return queryAll(ctx, s.q, scanACHFile, achFileSelect+` WHERE business_date = $1 AND released_at IS NULL ORDER BY id`, d)
}

// FileByKey returns the file stored (or to be stored) at key, released or
// not, or ErrNotFound.
func (s *Store) FileByKey(ctx context.Context, key string) (ACHFile, error) {
	f, err := scanACHFile(s.q.QueryRowContext(ctx, achFileSelect+` WHERE storage_key = $1`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return f, ErrNotFound
	}
	return f, err
}

// ErrFileNotReleasable is returned for a file that may have reached the
// bank (stored or transmitted), or was released before.
var ErrFileNotReleasable = errors.New("file cannot be released")

// ReleaseFile undoes the allocation of a file that was never stored, in one
// transaction recorded in the audit log with who and why: its payments go
// back to scheduled without their originations records, file, trace number
// and entry snapshot,
// prenotes it carried are required again, and their queued "payment
// scheduled" emails are withdrawn. The file row stays, released, so its
// modifier and trace sequences are never used again that day. This is the
// repair for a file whose allocation cannot be built (a ledger left so by
// an earlier version); the next originate run allocates the payments again,
// holding any whose entries still cannot be made. A stored file may have
// gone to the bank and is never released (ErrFileNotReleasable).
func (s *Store) ReleaseFile(ctx context.Context, id int64, by, reason string) (released int, err error) {
	return s.releaseFile(ctx, id, by, reason, false)
}

// ErrNotHeld is returned by VoidHeldFile for a file that is not held by a
// missed cutoff: no open cutoff_missed exception names it, or it has a
// transmission (it may be at the bank).
var ErrNotHeld = errors.New("file is not held by a missed cutoff")

// VoidHeldFile voids a stored file held because the bank's cutoff passed
// before it was sent (an open exception of kind cutoff_missed names it),
// in one transaction recorded in the audit log: its payments go back to
// scheduled, as ReleaseFile puts them, so the next originate run
// allocates them into a new file with that run's effective date; the file
// is released, so no transmit run sends it; the exception is resolved with
// the reason. A file with a transmission, even one only begun, may be at
// the bank and is never voided (ErrNotHeld); BeginTransmission refuses a
// released file, so the two cannot both happen.
func (s *Store) VoidHeldFile(ctx context.Context, id int64, by, reason string) (released int, err error) {
	return s.releaseFile(ctx, id, by, reason, true)
}

func (s *Store) releaseFile(ctx context.Context, id int64, by, reason string, held bool) (released int, err error) {
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		f, err := scanACHFile(tx.QueryRowContext(ctx, achFileSelect+` WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if s.dialect.name == "postgres" {
			// Not while the day's allocator holds the date.
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7261002, $1)`, dateKey(f.BusinessDate)); err != nil {
				return err
			}
		}
		var status string
		var releasedAt sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT status, released_at FROM ach_files WHERE id = $1`, id).Scan(&status, &releasedAt); err != nil {
			return err
		}
		if releasedAt.Valid {
			return fmt.Errorf("file %s was released %s: %w", f.StorageKey, releasedAt.Time.Format(time.RFC3339), ErrFileNotReleasable)
		}
		var exceptionID int64
		if held {
			// The file row first, locked: a transmission begun meanwhile
			// waits for this transaction and then finds it released.
			if _, err := tx.ExecContext(ctx, `UPDATE ach_files SET released_reason = released_reason WHERE id = $1`, id); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM transmissions WHERE ach_file_id = $1`, id).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("file %s has a transmission recorded: it may be at the bank, so it is never voided: %w", f.StorageKey, ErrNotHeld)
			}
			err := tx.QueryRowContext(ctx, `SELECT id FROM exceptions WHERE kind = 'cutoff_missed' AND reference = $1 AND resolved_at IS NULL
				ORDER BY id LIMIT 1`, f.StorageKey).Scan(&exceptionID)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("file %s: no open cutoff_missed exception names it (only a file held by a missed cutoff is re-originated): %w", f.StorageKey, ErrNotHeld)
			}
			if err != nil {
				return err
			}
		} else if status != FileAllocated {
			return fmt.Errorf("file %s is %s: it may have gone to the bank, so its payments stay originated: %w", f.StorageKey, status, ErrFileNotReleasable)
		}
		// The file's payments are those its originations records name,
		// settled (originated) or not yet (still reading scheduled).
		var other int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
			WHERE `+fileRecords("o", "$1")+` AND p.state NOT IN ('originated', 'scheduled')`, id).Scan(&other); err != nil {
			return err
		}
		if other > 0 {
			return fmt.Errorf("file %s: %d of its payments are no longer originated (returned or settled): %w", f.StorageKey, other, ErrFileNotReleasable)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bank_accounts SET prenote = 'required', prenote_settles_on = NULL
			WHERE prenote = 'sent' AND id IN (SELECT p.bank_account_id FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE `+fileRecords("o", "$1")+` AND p.kind = 'prenote')`, id); err != nil {
			return fmt.Errorf("release file %s: prenotes: %w", f.StorageKey, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE kind = 'payment_scheduled' AND status = 'queued'
			AND (topic IN (SELECT 'payment:' || CAST(payment_id AS TEXT) || ':scheduled:' || CAST(ach_file_id AS TEXT) FROM originations WHERE `+fileRecords("", "$1")+`)
				OR topic IN (SELECT 'payment:' || CAST(payment_id AS TEXT) || ':scheduled' FROM originations WHERE `+fileRecords("", "$1")+`))`, id); err != nil {
			return fmt.Errorf("release file %s: withdraw emails: %w", f.StorageKey, err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE payments SET state = 'scheduled', ach_file_id = NULL, trace_number = NULL, originated_on = NULL,
			effective_on = NULL, rdfi_routing = '', number_enc = NULL, transaction_code = 0, individual_name = '', individual_id = ''
			WHERE id IN (SELECT payment_id FROM originations WHERE `+fileRecords("", "$1")+`) AND state IN ('originated', 'scheduled')`, id)
		if err != nil {
			return fmt.Errorf("release file %s: payments: %w", f.StorageKey, err)
		}
		n, _ := res.RowsAffected()
		released = int(n)
		// The release is the one undo of an origination, audited below:
		// the records go, so the next run may originate the payments again.
		if _, err := tx.ExecContext(ctx, `DELETE FROM originations WHERE `+fileRecords("", "$1"), id); err != nil {
			return fmt.Errorf("release file %s: originations: %w", f.StorageKey, err)
		}
		// Nor did it originate any debit (its count is kept from its
		// allocation on).
		if _, err := tx.ExecContext(ctx, `DELETE FROM ach_file_debits WHERE ach_file_id = $1`, id); err != nil {
			return fmt.Errorf("release file %s: debit count: %w", f.StorageKey, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ach_files SET released_at = $2, released_reason = $3 WHERE id = $1`, id, now(), reason); err != nil {
			return fmt.Errorf("release file %s: %w", f.StorageKey, err)
		}
		if !held {
			return audit(ctx, tx, by, "release-file", f.StorageKey, fmt.Sprintf("%d payments back to scheduled: %s", released, reason))
		}
		resolution := fmt.Sprintf("re-originated: file voided, never sent; %d payments back to scheduled for the next originate run: %s", released, reason)
		if _, err := tx.ExecContext(ctx, `UPDATE exceptions SET resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1`,
			exceptionID, now(), by, resolution); err != nil {
			return fmt.Errorf("resolve exception %d: %w", exceptionID, err)
		}
		return audit(ctx, tx, by, "bank-reoriginate", f.StorageKey, resolution)
	})
	return released, err
}

// FileEntry is a payment in a file as originated, decrypted.
type FileEntry struct {
	PaymentID       int64
	AccountID       string
	Kind            string
	SEC             string
	Description     string
	Amount          money.Cents
	TraceNumber     string
	RDFIRouting     string
	AccountNumber   string
	TransactionCode int
	IndividualName  string
	// IndividualID is the entry's Individual Identification Number.
	IndividualID string
}

// TraceSequence returns the 7-digit sequence of the entry's trace number.
func (e FileEntry) TraceSequence() int {
	if len(e.TraceNumber) != 15 {
		return 0
	}
	n, _ := strconv.Atoi(e.TraceNumber[8:])
	return n
}

// FileEntries returns the entries of a file in trace order, decrypted, from
// the file's originations records: settled or not, a file rebuilds the same.
func (s *Store) FileEntries(ctx context.Context, fileID int64) ([]FileEntry, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT p.id, p.account_id, p.kind, p.sec, p.description, p.amount, o.trace_number, o.rdfi_routing, o.number_enc,
			o.transaction_code, o.individual_name, CASE WHEN o.individual_id = '' THEN p.account_id ELSE o.individual_id END
		FROM originations o JOIN payments p ON p.id = o.payment_id WHERE `+fileRecords("o", "$1")+` ORDER BY o.trace_number`, fileID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []FileEntry
	for rows.Next() {
		var e FileEntry
		var enc []byte
		if err := rows.Scan(&e.PaymentID, &e.AccountID, &e.Kind, &e.SEC, &e.Description, &e.Amount, &e.TraceNumber, &e.RDFIRouting, &enc,
			&e.TransactionCode, &e.IndividualName, &e.IndividualID); err != nil {
			return nil, err
		}
		if e.AccountNumber, err = s.cipher.openRow(enc, paymentRow(e.PaymentID)); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// FileTotals are what was built into a file.
type FileTotals struct {
	SHA256      string
	Size        int64
	Batches     int
	Entries     int
	DebitTotal  money.Cents
	CreditTotal money.Cents
}

// MarkFileStored records that a file's bytes are in storage. A file
// transmitted already (its copy rebuilt after it went missing from
// storage) stays transmitted. A file allocated by an earlier release,
// without its count of debits (ach_file_debits, kept by allocation today),
// gets it in the same transaction: the return rates divide by it, and
// counting it here spares their first reader counting 60 days of
// payments.
func (s *Store) MarkFileStored(ctx context.Context, id int64, t FileTotals) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE ach_files SET status = CASE WHEN status = 'transmitted' THEN status ELSE 'stored' END, sha256 = $2, size = $3, batches = $4, entries = $5,
			debit_total = $6, credit_total = $7, stored_at = $8 WHERE id = $1 AND released_at IS NULL`,
			id, t.SHA256, t.Size, t.Batches, t.Entries, t.DebitTotal, t.CreditTotal, now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("mark file %d stored: it was released while it was stored; its payments are scheduled again", id)
		}
		// Allocation keeps the count; a file allocated by an earlier
		// release has none yet.
		var kept int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ach_file_debits WHERE ach_file_id = $1`, id).Scan(&kept); err != nil || kept > 0 {
			return err
		}
		debits, err := fileDebits(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("mark file %d stored: count its debits: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ach_file_debits (ach_file_id, debits) VALUES ($1, $2)`, id, debits); err != nil {
			return fmt.Errorf("mark file %d stored: keep its debit count: %w", id, err)
		}
		return nil
	})
}

// OpenNumber opens the account number sealed in the number_enc column of
// table ("bank_accounts" or "payments") in the row with primary key id (a
// payment's id in decimal). A number sealed for another row does not open
// (ErrNotThisRow).
func (s *Store) OpenNumber(table, id string, enc []byte) (string, error) {
	return s.cipher.openRow(enc, rowOf(table, id))
}

// SealNumber seals an account number for the number_enc column of table in
// the row with primary key id, as OpenNumber opens it.
func (s *Store) SealNumber(table, id, number string) []byte {
	return s.cipher.sealRow(number, rowOf(table, id))
}
