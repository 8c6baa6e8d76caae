package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// A payment is originated when it has an originations record (migration
// 0039): one row a payment, appended in its file's allocation transaction,
// whose key is the payment, so that the database refuses a second
// origination. The payment row shows the origination (state originated,
// ach_file_id, trace_number, dates) only once its file is settled
// (SettleFile), in bulk and off the night's path to the bank: origination
// only stores the file, and the deliver job (every few minutes) or the
// first statements run after it settles the rows; until
// then it reads scheduled with no file, and whatever must be right before
// settlement reads the record: the next allocation's eligibility
// (notOriginated), cancels and amount changes, returns matching by trace,
// rebuilding a file.

// notOriginated is SQL for "the payment whose id is col has no
// originations record".
func notOriginated(col string) string {
	return `NOT EXISTS (SELECT 1 FROM originations og WHERE og.payment_id = ` + col + `)`
}

// originationLock is the PostgreSQL advisory lock between allocations and
// the writers that take a payment out of scheduled (cancels, amount
// changes). SQLite's one writer needs none.
const originationLock = 7261003

// lockOriginating takes, on PostgreSQL, the origination lock shared for an
// allocation's or a settlement's transaction: allocations (one per business
// date, see the date lock) and settlements run beside each other, and a
// writer that would cancel or change a scheduled payment, or apply an
// inbound file, waits for them to commit (lockScheduled).
func (s *Store) lockOriginating(ctx context.Context, tx *sql.Tx) error {
	if s.dialect.name != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared($1, 0)`, originationLock); err != nil {
		return fmt.Errorf("origination lock: %w", err)
	}
	return nil
}

// lockScheduled must be called, on both databases, by every transaction
// that moves scheduled payments out of scheduled or changes what they
// debit, before its first write. On PostgreSQL it takes the origination
// lock exclusively: the payment row no longer changes when the payment is
// allocated, so under READ COMMITTED a cancel and an allocation in flight
// together would each miss the other's write; with the lock, a statement
// after it sees every allocation committed before (its originations
// records), and an allocation sees every cancel committed before it. On
// both it bumps the scheduled-changes count (migration 0051), which tells
// an allocation whether any payment can have left scheduled since its
// payments were read.
func (s *Store) lockScheduled(ctx context.Context, tx *sql.Tx) error {
	if s.dialect.name == "postgres" {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, originationLock); err != nil {
			return fmt.Errorf("origination lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE scheduled_changes SET n = n + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("count a change of scheduled payments: %w", err)
	}
	return nil
}

// fileRecords is SQL that picks the originations records (alias o; ""
// for the table's own columns) of the file whose id is the parameter p:
// along the trace index, between the file's first and last trace
// (migration 0052), and of that file.
func fileRecords(o, p string) string {
	if o != "" {
		o += "."
	}
	return o + `trace_number BETWEEN (SELECT first_trace FROM ach_files WHERE id = ` + p + `) AND (SELECT last_trace FROM ach_files WHERE id = ` + p + `)
		AND ` + o + `ach_file_id = ` + p
}

// scheduledChanges is SQL for the scheduled-changes count (lockScheduled).
const scheduledChanges = `(SELECT n FROM scheduled_changes WHERE id = 1)`

// recordOriginations appends the originations records of a file's
// allocations. Every payment must still be scheduled and not originated,
// or the whole allocation fails (ErrPaymentTaken): a second record of a
// payment is refused by the table's key.
//
// That every payment is still scheduled is counted while the records are
// appended, on another connection. A writer that takes a payment out of
// scheduled (or changes what it debits) holds the origination lock
// exclusively on PostgreSQL, and SQLite has one writer; this transaction
// holds that lock (shared), or SQLite's, from before the count starts
// until it commits, so nothing the count reads changes in between, and a
// count on another connection sees what this transaction would (appending
// records writes no payment row). A dry run's one transaction counts in
// turn; on SQLite with no second connection (a database in memory), each
// record joins its payment instead. When the payments were read at a
// scheduled-changes count (readAt) that has not moved since, they are not
// counted: every such writer bumps it (lockScheduled), so none has
// committed since they were read, and none can before this transaction
// does.
func (s *Store) recordOriginations(ctx context.Context, tx *sql.Tx, conn *sql.Conn, f ACHFile, allocs []Allocation, readAt int64) error {
	// Appended in payment order, not trace order: the records' payment
	// key and each payment's row are then each visited once, page after
	// page, instead of at random (the file's order is by account); what
	// reads a file's records back orders them by trace.
	ordered := byPayment(allocs)
	ids := make([]int64, len(ordered))
	for i, a := range ordered {
		ids[i] = a.PaymentID
	}
	unchanged, err := s.scheduledUnchanged(ctx, tx, readAt)
	if err != nil {
		return err
	}
	// How the payments still scheduled are counted: not at all when no
	// writer took one out of scheduled since they were read; beside the
	// append on another connection; after it in this transaction; or (SQLite
	// without a second connection) by joining each record to its payment.
	beside, ok := s.besideReader()
	const (
		none = iota
		besideAppend
		afterAppend
		joined
	)
	how := besideAppend
	switch {
	case unchanged:
		how = none
	case !ok && s.dialect.name == "sqlite":
		how = joined
	case !ok:
		how = afterAppend
	}
	got, cerr := len(allocs), error(nil)
	counted := make(chan struct{})
	if how == besideAppend {
		go func() {
			defer close(counted)
			got, cerr = s.countScheduled(ctx, beside, ids)
		}()
	} else {
		close(counted)
	}
	if s.dialect.name == "sqlite" {
		var n int
		n, err = s.recordOriginationsSQLite(ctx, tx, f, ordered, how == joined)
		if how == joined {
			got = n
		}
	} else {
		err = s.copyOriginations(ctx, conn, f, ordered)
		if how == afterAppend && err == nil {
			got, cerr = s.countScheduled(ctx, tx, ids)
		}
	}
	<-counted
	if err != nil && isUniqueViolation(err) {
		if msg := err.Error(); strings.Contains(msg, "originations.payment_id") || strings.Contains(msg, "originations_pkey") {
			return fmt.Errorf("originate payments into file %s: a payment has an origination already: %w", f.IDModifier, ErrPaymentTaken)
		}
		return fmt.Errorf("originate payments into file %s: a trace number of the file is taken that day (the day's trace ranges overlap): %w", f.IDModifier, err)
	}
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("record originations: count the payments still scheduled: %w", cerr)
	}
	if got != len(allocs) {
		return fmt.Errorf("originate payments into file %s: %d of %d were still scheduled: %w", f.IDModifier, got, len(allocs), ErrPaymentTaken)
	}
	return nil
}

// byPayment returns allocs in payment id order, as pointers into allocs:
// it sorts the ids with their places and copies no allocation (a dozen
// words each). Sorting the allocations themselves moved them about many
// times (0.3 s of the writer's time a million), and a sorted copy still
// cost a write of each.
func byPayment(allocs []Allocation) []*Allocation {
	type place struct {
		id int64
		at int
	}
	order := make([]place, len(allocs))
	for i, a := range allocs {
		order[i] = place{a.PaymentID, i}
	}
	slices.SortFunc(order, func(a, b place) int { return cmp.Compare(a.id, b.id) })
	out := make([]*Allocation, len(allocs))
	for i, p := range order {
		out[i] = &allocs[p.at]
	}
	return out
}

// scheduledUnchanged says whether no transaction has taken a payment out of
// scheduled since the scheduled-changes count was readAt (0: unknown). tx
// holds the origination lock shared (PostgreSQL) or SQLite's write lock,
// so no such transaction commits before tx does.
func (s *Store) scheduledUnchanged(ctx context.Context, tx *sql.Tx, readAt int64) (bool, error) {
	if readAt == 0 {
		return false, nil
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT `+scheduledChanges).Scan(&n); err != nil {
		return false, fmt.Errorf("read the scheduled-changes count: %w", err)
	}
	return n == readAt, nil
}

// besideReader returns a connection pool other than the one an allocation
// writes on, whose reads see what is committed, and false when there is
// none: in a dry run (one transaction), or on SQLite without its second
// connection.
func (s *Store) besideReader() (querier, bool) {
	if s.tx != nil {
		return nil, false
	}
	if s.dialect.name == "postgres" {
		return s.db, true
	}
	if s.side == nil {
		return nil, false
	}
	q := s.sideReader()
	return q, q != s.q
}

// countScheduled counts the payments among ids (in id order) that are
// scheduled.
func (s *Store) countScheduled(ctx context.Context, q querier, ids []int64) (int, error) {
	in, arg := s.dialect.inInt64s("id", 1, ids)
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments WHERE `+in+` AND state = 'scheduled'`, arg).Scan(&n)
	return n, err
}

// copyOriginations appends the file's records on PostgreSQL with COPY in
// its binary format, in the allocation's transaction on conn: the rows
// stream in one command, with no statement to parse or plan and no join,
// each field encoded straight into the stream (originationsCopy).
func (s *Store) copyOriginations(ctx context.Context, conn *sql.Conn, f ACHFile, allocs []*Allocation) error {
	var ad []byte
	seal := func(dst []byte, a *Allocation) []byte {
		ad = s.cipher.appendPaymentAD(ad[:0], a.PaymentID)
		return s.cipher.appendSealed(dst, a.AccountNumber, ad)
	}
	err := conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("record originations: driver connection is %T, not pgx", dc)
		}
		_, err := pc.Conn().PgConn().CopyFrom(ctx, newOriginationsCopy(f, allocs, seal),
			`COPY originations (`+originationsCopyColumns+`) FROM STDIN (FORMAT binary)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("record originations: %w", err)
	}
	return nil
}

// originationsPerStatement is how many records one SQLite INSERT carries:
// binding is per row either way, but a statement per row costs its own
// step and reset.
const originationsPerStatement = 1000

// recordOriginationsSQLite appends the records with multi-row INSERTs in a
// prepared statement: each row's own columns in a VALUES list, the file's
// (its id and dates) bound once. With join, each row is joined to its
// payment, still scheduled, and it returns how many were: fewer than
// allocations is a payment taken since it was read (SQLite's one writer
// means nothing changes while this runs).
func (s *Store) recordOriginationsSQLite(ctx context.Context, tx *sql.Tx, f ACHFile, allocs []*Allocation, join bool) (int, error) {
	const cols = 7
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	// A second record of a payment (or a trace taken) fails the whole
	// allocation anyway: OR ROLLBACK says so to SQLite, which then keeps
	// no statement journal to undo one statement alone (a tenth of the
	// work). Not in a dry run, whose one transaction must outlive it.
	conflict := "OR ROLLBACK"
	if s.tx != nil {
		conflict = ""
	}
	scheduled := ""
	if join {
		scheduled = ` JOIN payments p ON p.id = v.column1 WHERE p.state = 'scheduled'`
	}
	args := make([]any, 0, 3+cols*originationsPerStatement)
	recorded := 0
	for start := 0; start < len(allocs); start += originationsPerStatement {
		chunk := allocs[start:min(start+originationsPerStatement, len(allocs))]
		args = append(args[:0], f.ID, f.BusinessDate.String(), f.EffectiveOn.String())
		for _, a := range chunk {
			args = append(args, a.PaymentID, a.TraceNumber, a.RDFIRouting,
				s.cipher.sealRow(a.AccountNumber, paymentRow(a.PaymentID)), a.TransactionCode, a.IndividualName, a.IndividualID)
		}
		q := `INSERT ` + conflict + ` INTO originations (payment_id, ach_file_id, business_date, effective_on, trace_number, rdfi_routing, number_enc,
			transaction_code, individual_name, individual_id)
			SELECT v.column1, ?1, ?2, ?3, v.column2, v.column3, v.column4, v.column5, v.column6, v.column7
			FROM (VALUES ` + s.dialect.values(len(chunk), cols, 0) + `) AS v` + scheduled
		var res sql.Result
		var err error
		if len(chunk) == originationsPerStatement {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return recorded, fmt.Errorf("record originations: %w", err)
				}
			}
			res, err = full.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return recorded, fmt.Errorf("record originations of payments %d to %d: %w", chunk[0].PaymentID, chunk[len(chunk)-1].PaymentID, err)
		}
		n, _ := res.RowsAffected()
		recorded += int(n)
	}
	return recorded, nil
}

// SettleFile makes the payment rows of a file show their origination, from
// its originations records, in one transaction: state originated (a
// payment returned meanwhile stays returned), file, trace number, dates and
// transaction code; the rest of the entry snapshot (routing, sealed
// number, name, individual id) stays in the record alone, which is what
// reads it (FileEntries, returns). It marks the file settled; the file's
// "payment scheduled" emails are queued afterwards, by the deliver job
// (QueuePaymentEmails). It reports whether it settled anything: a settled
// or released file is left as it is, so settling again changes nothing.
func (s *Store) SettleFile(ctx context.Context, id int64) (bool, error) {
	settled := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		// Before any write: an inbound file's apply (returns) writes the
		// same payment rows in another order, under the lock held
		// exclusively; sharing it here, the two never hold a row each
		// that the other waits for.
		if err := s.lockOriginating(ctx, tx); err != nil {
			return err
		}
		var at sql.NullTime
		var releasedAt sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT settled_at, released_at FROM ach_files WHERE id = $1`, id).Scan(&at, &releasedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("settle file %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("settle file %d: %w", id, err)
		}
		if at.Valid || releasedAt.Valid {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payments SET state = CASE WHEN state = 'scheduled' THEN 'originated' ELSE state END,
				ach_file_id = o.ach_file_id, trace_number = o.trace_number, originated_on = o.business_date, effective_on = o.effective_on,
				transaction_code = o.transaction_code
			FROM originations o
			WHERE `+fileRecords("o", "$1")+` AND payments.id = o.payment_id AND payments.ach_file_id IS NULL`, id); err != nil {
			return fmt.Errorf("settle file %d: payments: %w", id, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ach_files SET settled_at = $2 WHERE id = $1`, id, now()); err != nil {
			return fmt.Errorf("settle file %d: %w", id, err)
		}
		settled = true
		return nil
	})
	return settled, err
}

// QueuedEmails is one file whose "payment scheduled" emails were queued.
type QueuedEmails struct {
	File   string // storage key
	Emails int
}

// QueuePaymentEmails queues the "payment scheduled" email of every debit
// of the next settled file whose emails are not queued yet, derived from
// the file's originations records: one outbox row a payment and file (the
// outbox's unique topic, payment:ID:scheduled:FILE, and recipient), due at
// at. A payment is in a second file only when its first was voided before
// it reached the bank (bank reoriginate): the customer told the first
// file's date is told the new one. The rows and the file's mark
// are one transaction, so a file is queued once however often this runs,
// and a run killed midway queues the rest next time. A released file is
// never queued (its payments went back to scheduled): the mark takes the
// file's row first, as a release does, so the two never interleave. It
// reports ok false once no file is left. With transmitted, only files
// whose transmission to the bank is confirmed are queued: where drafter
// sends the files itself, a customer is told of a debit once its file is
// at the bank, never of one that a missed cutoff holds back.
// A payment already returned when its file's emails are queued (the
// deliver job did not run between: its process was down) is told nothing
// more: its "returned" email, queued by the returns job, says what
// happened, and a "we will debit" arriving after it would be false.
func (s *Store) QueuePaymentEmails(ctx context.Context, at time.Time, transmitted bool) (q QueuedEmails, ok bool, err error) {
	ready := `settled_at IS NOT NULL`
	if transmitted {
		ready += ` AND status = '` + FileTransmitted + `'`
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id, storage_key FROM ach_files
			WHERE emails_queued_at IS NULL AND `+ready+` AND released_at IS NULL ORDER BY id LIMIT 1`).Scan(&id, &q.File)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("files awaiting payment emails: %w", err)
		}
		res, err := tx.ExecContext(ctx, `UPDATE ach_files SET emails_queued_at = $2
			WHERE id = $1 AND emails_queued_at IS NULL AND released_at IS NULL`, id, at)
		if err != nil {
			return fmt.Errorf("file %s: mark payment emails queued: %w", q.File, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// Queued or released since the read: look again.
			q, ok = QueuedEmails{}, true
			return nil
		}
		res, err = tx.ExecContext(ctx, `INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
			SELECT 'payment:' || CAST(p.id AS TEXT) || ':scheduled:' || CAST(o.ach_file_id AS TEXT), c.email, 'payment_scheduled', p.account_id,
				'{"payment_id":' || CAST(p.id AS TEXT) || '}', 'queued', $2, $2
			FROM originations o JOIN payments p ON p.id = o.payment_id JOIN accounts a ON a.id = p.account_id JOIN customers c ON c.id = a.customer_id
			WHERE `+fileRecords("o", "$1")+` AND p.kind = 'debit' AND p.state <> '`+PaymentReturned+`'
			ON CONFLICT (topic, recipient) DO NOTHING`, id, at)
		if err != nil {
			return fmt.Errorf("file %s: queue payment emails: %w", q.File, err)
		}
		n, _ := res.RowsAffected()
		q.Emails, ok = int(n), true
		return nil
	})
	return q, ok, err
}

// OriginationsUnsettled says whether any file is unsettled (allocated,
// stored or sent, not released, its payment rows not settled): only such a
// file's records name payments that still read scheduled. With none, a
// run's first pass over the due payments needs no record looked up for
// each (DueAfter's mayBeOriginated).
func (s *Store) OriginationsUnsettled(ctx context.Context) (bool, error) {
	var any bool
	err := s.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM ach_files WHERE settled_at IS NULL AND released_at IS NULL)`).Scan(&any)
	if err != nil {
		return false, fmt.Errorf("look for unsettled files: %w", err)
	}
	return any, nil
}

// UnsettledFiles lists the files stored (or sent) whose payment rows are
// not settled yet, oldest first: every file an originate run stored since
// the last settlement (see SettleFile). Released files are left out.
func (s *Store) UnsettledFiles(ctx context.Context) ([]ACHFile, error) {
	fs, err := queryAll(ctx, s.q, scanACHFile, achFileSelect+` WHERE settled_at IS NULL AND released_at IS NULL AND status IN ($1, $2) ORDER BY id`,
		FileStored, FileTransmitted)
	if err != nil {
		return nil, fmt.Errorf("files stored and not settled: %w", err)
	}
	return fs, nil
}

// SettleStoredFiles settles every file that is stored (or sent) but whose
// payment rows are not settled yet (UnsettledFiles), oldest first, a file
// a transaction, and calls settled (when not nil) after each it settled.
// It returns how many it settled; none, when they were settled already,
// for one small query. Stopped midway, it leaves the rest to the next call.
func (s *Store) SettleStoredFiles(ctx context.Context, settled func(ACHFile)) (int, error) {
	files, err := s.UnsettledFiles(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		ok, err := s.SettleFile(ctx, f.ID)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		n++
		if settled != nil {
			settled(f)
		}
	}
	return n, nil
}
