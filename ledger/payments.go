package ledger

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Payment states.
const (
	PaymentScheduled  = "scheduled"
	PaymentOriginated = "originated"
	PaymentSettled    = "settled"
	PaymentReturned   = "returned"
	PaymentCancelled  = "cancelled"
)

// Payment sources: what a payment instance was made from. (source,
// source_key) is unique, so making an instance twice makes one.
const (
	SourceAutopay   = "autopay"   // key: enrollment id + due date
	SourceScheduled = "scheduled" // key: the scheduled payment's id
	SourceRepresent = "represent" // key: original payment id + attempt
	SourcePrenote   = "prenote"   // key: bank account id + number MAC prefix
)

// NewPayment is a payment instance to create.
type NewPayment struct {
	Source, SourceKey string
	AccountID         string
	BankAccountID     string
	Kind              string // debit | prenote
	SEC               string
	Description       string
	Amount            money.Cents
	DueOn             civil.Date
	DraftOn           civil.Date
	Attempt           int
	OriginalPaymentID int64
}

var paymentInsertCols = []string{"source", "source_key", "account_id", "bank_account_id", "kind", "sec", "description",
	"amount", "due_on", "draft_on", "state", "attempt", "original_payment_id", "created_at"}

// InsertPayments creates payment instances, skipping any whose (source,
// source_key) exists. It returns how many it created.
func (s *Store) InsertPayments(ctx context.Context, ps []NewPayment) (int, error) {
	cols := len(paymentInsertCols)
	per := min(s.dialect.maxParams/cols, 500)
	created := 0
	t := now()
	for start := 0; start < len(ps); start += per {
		chunk := ps[start:min(start+per, len(ps))]
		args := make([]any, 0, len(chunk)*cols)
		for _, p := range chunk {
			var orig any
			if p.OriginalPaymentID != 0 {
				orig = p.OriginalPaymentID
			}
			attempt := max(p.Attempt, 1)
			args = append(args, p.Source, p.SourceKey, p.AccountID, p.BankAccountID, p.Kind, p.SEC, p.Description,
				p.Amount, p.DueOn, p.DraftOn, PaymentScheduled, attempt, orig, t)
		}
		res, err := s.q.ExecContext(ctx, `INSERT INTO payments (`+strings.Join(paymentInsertCols, ", ")+`) VALUES `+
			s.dialect.values(len(chunk), cols, 0)+` ON CONFLICT (source, source_key) DO NOTHING`, args...)
		if err != nil {
			return created, fmt.Errorf("insert payments: %w", err)
		}
		n, _ := res.RowsAffected()
		created += int(n)
	}
	return created, nil
}

// ScheduleOneTimePayments makes payment instances of the one-time payments
// customers scheduled to be debited on or before through.
func (s *Store) ScheduleOneTimePayments(ctx context.Context, through civil.Date) (int, error) {
	res, err := s.q.ExecContext(ctx, `INSERT INTO payments (source, source_key, account_id, bank_account_id, kind, sec, description,
			amount, due_on, draft_on, state, attempt, created_at)
		SELECT 'scheduled', sp.id, sp.account_id, sp.bank_account_id, 'debit',
			CASE sp.channel WHEN 'phone' THEN 'TEL' ELSE 'WEB' END, 'PAYMENT', sp.amount, sp.debit_on, sp.debit_on, 'scheduled', 1, $2
		FROM scheduled_payments sp WHERE sp.debit_on <= $1
		ON CONFLICT (source, source_key) DO NOTHING`, through, now())
	if err != nil {
		return 0, fmt.Errorf("schedule one-time payments: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SchedulePrenotes makes a zero-dollar prenote for every active bank account
// that needs one and has a debit waiting (an active autopay enrollment or a
// scheduled payment). The key includes the number's MAC, so new details get
// a new prenote.
func (s *Store) SchedulePrenotes(ctx context.Context, on civil.Date) (int, error) {
	res, err := s.q.ExecContext(ctx, schedulePrenotesSQL, on, now())
	if err != nil {
		return 0, fmt.Errorf("schedule prenotes: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// schedulePrenotesSQL makes the prenote of each active bank account that
// needs one and will be debited (an active enrollment uses it, or a
// scheduled debit does). It reads only the bank accounts waiting for a
// prenote, and each one's enrollments and payments by index (migration
// 0048; TestNightlyQueriesUseIndexes).
const schedulePrenotesSQL = `INSERT INTO payments (source, source_key, account_id, bank_account_id, kind, sec, description,
		amount, draft_on, state, attempt, created_at)
	SELECT 'prenote', b.id || ':' || SUBSTR(b.number_mac, 1, 16), b.account_id, b.id, 'prenote', 'PPD', 'PRENOTE', 0, $1, 'scheduled', 1, $2
	FROM bank_accounts b
	WHERE b.prenote = 'required' AND b.status = 'active'
	  AND (EXISTS (SELECT 1 FROM autopay_enrollments e WHERE e.bank_account_id = b.id AND e.status = 'active')
	    OR EXISTS (SELECT 1 FROM payments p WHERE p.account_id = b.account_id AND p.bank_account_id = b.id
			AND p.state = 'scheduled' AND p.kind = 'debit'))
	ON CONFLICT (source, source_key) DO NOTHING`

// verifyPrenotesSQL marks verified the bank accounts whose prenote settled
// by $1, reading only those with a prenote sent (migration 0048).
const verifyPrenotesSQL = `UPDATE bank_accounts SET prenote = 'verified'
	WHERE prenote = 'sent' AND status = 'active' AND prenote_settles_on <= $1`

// AutopayEnrollment is an active enrollment with what origination needs of
// its account.
type AutopayEnrollment struct {
	ID             string
	AccountID      string
	BankAccountID  string
	StartsOn       civil.Date
	DaysBeforeDue  int
	Amount         money.Cents // zero: the monthly payment plus tax
	MonthlyPayment money.Cents
	MonthlyTax     money.Cents
	FirstDueOn     civil.Date
	DueDay         int
	MaturityOn     civil.Date
}

// DuePayment is a scheduled payment due for origination, with its bank
// account as it is now.
type DuePayment struct {
	ID            int64
	AccountID     string
	BankAccountID string
	Kind          string
	SEC           string
	Description   string
	Amount        money.Cents
	Routing       string
	NumberEnc     []byte
	AccountType   string
	HolderName    string
	// IndividualID is what a C09 NOC asked the entries to carry ('' for
	// the account id).
	IndividualID string
	// Source and SourceKey name where the payment came from (its place in
	// file order, with the fields above).
	Source, SourceKey string
	// Waiting, from DueAfter, is why the payment cannot be originated now
	// (holdReason: "waiting for prenote", ...), '' when it can, "-" when it
	// is not to be, nor counted as waiting (originated already, or of no
	// kind drafter makes).
	Waiting string
	// ReadAt, from DueAfter, is the scheduled-changes count its page was
	// read at (FilePlan.ReadAt); 0 when read otherwise (Originable).
	ReadAt int64
}

// Key is the payment's place in file order.
func (p DuePayment) Key() FileOrderKey {
	return FileOrderKey{SEC: p.SEC, Description: p.Description, AccountID: p.AccountID, Source: p.Source, SourceKey: p.SourceKey}
}

// holdReason is SQL for why a scheduled payment cannot be originated now
// (” when it can), from its bank account: p is payments, b bank_accounts.
const holdReason = `CASE
	WHEN b.status <> 'active' THEN 'bank account invalid'
	WHEN p.kind = 'debit' AND b.prenote = 'required' THEN 'waiting for prenote'
	WHEN p.kind = 'debit' AND b.prenote = 'sent' THEN 'prenote settling'
	WHEN p.kind = 'prenote' AND b.prenote <> 'required' THEN 'prenote not needed'
	ELSE '' END`

// canOriginate is SQL for "the scheduled payment can be originated now, as
// its bank account stands": p is payments, b bank_accounts.
const canOriginate = `b.status = 'active' AND ((p.kind = 'debit' AND b.prenote = 'verified') OR (p.kind = 'prenote' AND b.prenote = 'required'))`

// originable is SQL for a scheduled payment due on or before $1 that can be
// originated now: p is payments, b bank_accounts. A payment allocated to a
// file whose payments are not settled yet reads scheduled; its
// originations record says it is not.
var originable = `p.state = 'scheduled' AND p.draft_on <= $1 AND ` + canOriginate + ` AND ` + notOriginated("p.id")

// fileOrder is the order of a day's payments in its files: by SEC code,
// company entry description, account and source key.
const fileOrder = `p.sec, p.description, p.account_id, p.source, p.source_key`

// OriginableIDs returns the ids of the scheduled payments due on or before
// through that can be originated now, in file order (DueAfter's, page by
// page).
func (s *Store) OriginableIDs(ctx context.Context, through civil.Date) ([]int64, error) {
	const page = 10000
	var ids []int64
	var after *FileOrderKey
	for {
		ps, err := s.DueAfter(ctx, through, after, page, true)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Waiting == "" {
				ids = append(ids, p.ID)
			}
		}
		if len(ps) < page {
			return ids, nil
		}
		k := ps[len(ps)-1].Key()
		after = &k
	}
}

// FileOrderKey is a payment's place in file order (fileOrder): unique,
// since (source, source key) is.
type FileOrderKey struct {
	SEC, Description, AccountID, Source, SourceKey string
}

// DueAfter returns the day's due payments not originated yet (scheduled,
// due on or before through, with no originations record) that come after
// after in file order (from the first when after is nil), at most limit of
// them, in that order: those that can be originated now, and those that
// wait for their bank account, with Waiting saying why (on PostgreSQL, some
// originated already may be among them, waiting "-"). A page shorter than
// limit is the last.
//
// With mayBeOriginated false the caller knows that no due payment has an
// originations record but those on pages it read before (no file was
// unsettled, OriginationsUnsettled, when it began reading), and the page
// looks up no record for each payment, most of what a page costs on
// SQLite once records are appended while it reads. A payment that another
// process originates meanwhile (a run of another business date) is then
// refused by the records' key when it is allocated again (ErrPaymentTaken),
// never originated twice.
//
// Each page is one short read along the scheduled payments' file-order
// index (migration 0050), so the first file can be allocated as soon as
// its payments are read, without sorting the whole day first, and memory
// holds a page. A page reads what is committed when it is read: a payment
// that becomes due behind the pages read is found by the run's next pass
// (when it falls due before the pass's look at the due index after its
// last page, Originate's gather), or by the next run;
// one cancelled after its page was read is refused by its allocation
// (ErrPaymentTaken).
func (s *Store) DueAfter(ctx context.Context, through civil.Date, after *FileOrderKey, limit int, mayBeOriginated bool) ([]DuePayment, error) {
	if limit < 1 {
		return nil, nil
	}
	args := []any{through}
	if after != nil {
		args = append(args, after.SEC, after.Description, after.AccountID, after.Source, after.SourceKey)
	}
	out, ok, err := s.duePage(ctx, args, after != nil, limit, mayBeOriginated, true)
	if err != nil || ok {
		return out, err
	}
	// A field holds the separator: the page is read again, a field a
	// column (what it holds then is as good a page: it is read later).
	out, _, err = s.duePage(ctx, args, after != nil, limit, mayBeOriginated, false)
	return out, err
}

// dueSep separates the text fields of a page's row packed into one column
// (dueAfterSQL): the ASCII unit separator.
const dueSep = '\x1f'

// duePage reads a page of DueAfter. Packed, each row's text fields come in
// one column, split here: a page costs a column per field to read through
// the driver otherwise (its type, its copy, its conversion), on SQLite
// most of what a page takes beyond walking the index; it returns false,
// and no page, when a row's text does not split into its fields (a field
// holds dueSep). Not packed, a field a column, and always true.
func (s *Store) duePage(ctx context.Context, args []any, after bool, limit int, records, packed bool) ([]DuePayment, bool, error) {
	rows, err := s.sideReader().QueryContext(ctx, dueAfterSQL(s.dialect.name, after, limit, records, packed), args...)
	if err != nil {
		return nil, false, fmt.Errorf("select due payments: %w", err)
	}
	defer rows.Close()
	out := make([]DuePayment, 0, min(limit, 1<<17))
	var text string
	for rows.Next() {
		// Scanned in place: a page's rows are not copied again.
		out = append(out, DuePayment{})
		p := &out[len(out)-1]
		if packed {
			err = rows.Scan(&p.ID, &p.Amount, &p.NumberEnc, &p.ReadAt, &text)
		} else {
			err = rows.Scan(&p.ID, &p.AccountID, &p.BankAccountID, &p.Kind, &p.SEC, &p.Description, &p.Amount, &p.Source, &p.SourceKey,
				&p.Routing, &p.NumberEnc, &p.AccountType, &p.HolderName, &p.IndividualID, &p.Waiting, &p.ReadAt)
		}
		if err != nil {
			return nil, false, fmt.Errorf("select due payments: %w", err)
		}
		if packed && !unpackDue(text, p) {
			return nil, false, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("select due payments: %w", err)
	}
	return out, true, nil
}

// unpackDue splits a packed row's text (dueAfterSQL) into p's text
// fields, which share its bytes; false when it does not hold exactly as
// many fields.
func unpackDue(packed string, p *DuePayment) bool {
	fields := [...]*string{&p.AccountID, &p.BankAccountID, &p.Kind, &p.SEC, &p.Description, &p.Source, &p.SourceKey,
		&p.Routing, &p.AccountType, &p.HolderName, &p.IndividualID, &p.Waiting}
	for _, f := range fields[:len(fields)-1] {
		i := strings.IndexByte(packed, dueSep)
		if i < 0 {
			return false
		}
		*f, packed = packed[:i], packed[i+1:]
	}
	if strings.IndexByte(packed, dueSep) >= 0 {
		return false
	}
	*fields[len(fields)-1] = packed
	return true
}

// DueIDs returns the ids, in id order, of the scheduled payments due on or
// before through, originated or not (a payment reads scheduled until the
// deliver job settles it): after a run's pass, a caller that knows which of
// them the pass read finds those that became due behind its pages without
// looking up a record for each. It reads only the due index.
func (s *Store) DueIDs(ctx context.Context, through civil.Date) ([]int64, error) {
	rows, err := s.sideReader().QueryContext(ctx, `SELECT p.id FROM payments p
		WHERE p.state = 'scheduled' AND p.draft_on <= $1 ORDER BY p.id`, through)
	if err != nil {
		return nil, fmt.Errorf("select due payment ids: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("select due payment ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select due payment ids: %w", err)
	}
	return ids, nil
}

// dueAfterSQL is DueAfter's query: $1 the date due by, $2-$6 the key to
// start after (with after); with records, each payment's originations
// record is looked up. Packed, its columns are the id, amount, sealed
// number and scheduled-changes count, then the text fields in one column
// (unpackDue's order, separated by dueSep, in one call: a chain of ||
// makes a string at each step); otherwise a field a column (duePage's
// order).
func dueAfterSQL(dialect string, after bool, limit int, records, packed bool) string {
	const cols = `p.id, p.account_id, p.bank_account_id, p.kind, p.sec, p.description, p.amount, p.source, p.source_key`
	reason := `CASE WHEN ` + canOriginate + ` THEN '' ELSE COALESCE(NULLIF(` + holdReason + `, ''), '-') END`
	if dialect == "postgres" {
		reason = `CASE WHEN b.originated THEN '-' ELSE ` + reason + ` END`
	}
	list := `p.id, p.account_id, p.bank_account_id, p.kind, p.sec, p.description, p.amount, p.source, p.source_key,
		b.routing, b.number_enc, b.type, b.holder_name, b.individual_id, ` + reason + `, ` + scheduledChanges
	if packed {
		texts := []string{"p.account_id", "p.bank_account_id", "p.kind", "p.sec", "p.description", "p.source", "p.source_key",
			"b.routing", "b.type", "b.holder_name", "b.individual_id", reason}
		list = `p.id, p.amount, b.number_enc, ` + scheduledChanges + `, concat_ws('` + string(dueSep) + `', ` + strings.Join(texts, `, `) + `)`
	}
	where := `p.state = 'scheduled' AND p.draft_on <= $1`
	if after {
		where += ` AND (` + fileOrder + `) > ($2, $3, $4, $5, $6)`
	}
	lim := strconv.Itoa(limit)
	if dialect == "postgres" {
		// Planned so that no statistics can make it read more than the
		// page: the page of scheduled due payments along the index, with
		// nothing in its WHERE whose selectivity the planner could guess
		// low (the records' check, so estimated, turned it into a sort of
		// the whole day for every page), then each one's record and bank
		// account looked up by key (OFFSET 0 keeps the lateral subquery
		// from being flattened into a join the planner could reorder), so
		// the rows come out in the index's order. A payment of the page
		// that has its record already comes back waiting "-": it still
		// counts in the page, so that a short page is the last.
		originated := `false`
		if records {
			originated = `EXISTS (SELECT 1 FROM originations og WHERE og.payment_id = p.id)`
		}
		return `SELECT ` + list + `
			FROM (SELECT ` + cols + ` FROM payments p WHERE ` + where + ` ORDER BY ` + fileOrder + ` LIMIT ` + lim + `) p
			CROSS JOIN LATERAL (SELECT *, ` + originated + ` AS originated
				FROM bank_accounts b WHERE b.id = p.bank_account_id OFFSET 0) b ORDER BY ` + fileOrder
	}
	// SQLite walks the index (covering, migration 0050) in order and
	// stops at the limit.
	if records {
		where += ` AND ` + notOriginated("p.id")
	}
	return `SELECT ` + list + ` FROM payments p JOIN bank_accounts b ON b.id = p.bank_account_id
		WHERE ` + where + ` ORDER BY ` + fileOrder + ` LIMIT ` + lim
}

// CountDue counts the day's due payments not originated yet (DueAfter's,
// all pages): a run's progress total. With mayBeOriginated false (see
// DueAfter) it looks up no records.
func (s *Store) CountDue(ctx context.Context, through civil.Date, mayBeOriginated bool) (int, error) {
	var n int
	q := `SELECT count(*) FROM payments p WHERE p.state = 'scheduled' AND p.draft_on <= $1`
	if mayBeOriginated {
		q += ` AND ` + notOriginated("p.id")
	}
	err := s.sideReader().QueryRowContext(ctx, q, through).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count due payments: %w", err)
	}
	return n, nil
}

// Originable returns the payments among ids that can still be originated on
// or before through, in the order of ids; those no longer eligible (taken,
// cancelled, or their bank account changed) are left out. It reads what is
// committed and may run beside an allocation (the next file's payments are
// read while this one's are written): the allocation refuses a payment
// that changed in between (ErrPaymentTaken).
func (s *Store) Originable(ctx context.Context, through civil.Date, ids []int64) ([]DuePayment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	// Asked for in id order, the rows are read in table order.
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	in, arg := s.dialect.inInt64s("p.id", 2, sorted)
	rows, err := s.sideReader().QueryContext(ctx, `SELECT p.id, p.account_id, p.bank_account_id, p.kind, p.sec, p.description, p.amount,
			b.routing, b.number_enc, b.type, b.holder_name, b.individual_id
		FROM payments p JOIN bank_accounts b ON b.id = p.bank_account_id
		WHERE `+in+` AND `+originable, through, arg)
	if err != nil {
		return nil, fmt.Errorf("select payments to originate: %w", err)
	}
	defer rows.Close()
	byID := make(map[int64]DuePayment, len(ids))
	for rows.Next() {
		var p DuePayment
		if err := rows.Scan(&p.ID, &p.AccountID, &p.BankAccountID, &p.Kind, &p.SEC, &p.Description, &p.Amount,
			&p.Routing, &p.NumberEnc, &p.AccountType, &p.HolderName, &p.IndividualID); err != nil {
			return nil, err
		}
		byID[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]DuePayment, 0, len(byID))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// int64sJSON writes ids as a JSON array, for SQLite's json_each.
func int64sJSON(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}

// VerifyPrenotes marks verified the bank accounts whose prenote settled on or
// before settledBy without a return or NOC (which would have marked them
// invalid or corrected them first).
func (s *Store) VerifyPrenotes(ctx context.Context, settledBy civil.Date) (int, error) {
	res, err := s.q.ExecContext(ctx, verifyPrenotesSQL, settledBy)
	if err != nil {
		return 0, fmt.Errorf("verify prenotes: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// PaymentCounts counts payments by state: a payment whose file is not
// settled yet counts as originated, as its originations record says.
func (s *Store) PaymentCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT CASE WHEN p.state = 'scheduled' AND EXISTS (SELECT 1 FROM originations og WHERE og.payment_id = p.id) THEN 'originated' ELSE p.state END AS st,
		COUNT(*) FROM payments p GROUP BY st`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// PaymentHold is a due payment that cannot be originated as it stands: its
// entry breaks a NACHA rule, or its bank account number cannot be opened.
// It stays scheduled, so that the first run after the data is fixed
// originates it; the exception tells a person what to fix.
type PaymentHold struct {
	PaymentID int64
	AccountID string
	// Reason is short and shared by every hold of its kind, for counting.
	Reason string
	// Field names what is wrong, Detail says what and what to do.
	Field, Detail string
}

// HoldPayments records an exception for each held payment, once per payment
// and field however often it is held, and returns how many are new.
func (s *Store) HoldPayments(ctx context.Context, holds []PaymentHold) (int, error) {
	if len(holds) == 0 {
		return 0, nil
	}
	exs := make([]Exception, len(holds))
	for i, h := range holds {
		exs[i] = Exception{Kind: "payment_held", Reference: fmt.Sprintf("payment:%d:%s", h.PaymentID, h.Field),
			Detail: fmt.Sprintf("account %s: payment %d held (%s): %s", h.AccountID, h.PaymentID, h.Reason, h.Detail)}
	}
	return s.insertExceptions(ctx, s.q, exs, now())
}
