package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// The console's reads: each is one indexed query bounded by a page size,
// so that a page renders in the same time at any ledger size.

// LatestRuns returns, per job and business date from from through
// through, the latest run of the whole date (not dry, not scoped).
func (s *Store) LatestRuns(ctx context.Context, from, through civil.Date) (map[string]map[civil.Date]Run, error) {
	runs, err := queryAll(ctx, s.q, scanRun, runSelect+` WHERE business_date >= $1 AND business_date <= $2 AND NOT dry_run AND scope = ''
		ORDER BY id`, from, through)
	if err != nil {
		return nil, fmt.Errorf("latest runs: %w", err)
	}
	out := map[string]map[civil.Date]Run{}
	for _, r := range runs {
		if out[r.Job] == nil {
			out[r.Job] = map[civil.Date]Run{}
		}
		out[r.Job][r.BusinessDate] = r
	}
	return out, nil
}

// FirstRunDates returns, per job, the earliest business date it has a run
// for: before it, a date the schedule would fire on was not yet drafter's.
func (s *Store) FirstRunDates(ctx context.Context) (map[string]civil.Date, error) {
	out := map[string]civil.Date{}
	err := s.each(ctx, `SELECT job, MIN(business_date) FROM runs WHERE NOT dry_run GROUP BY job`, nil, func(scan func(...any) error) error {
		var job string
		var d civil.Date
		if err := scan(&job, &d); err != nil {
			return err
		}
		out[job] = d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("first runs: %w", err)
	}
	return out, nil
}

// RunItemsFirst returns the first limit recorded items of a run in item
// order, and whether it has more: a run that failed for a million
// accounts is grouped on its page from a bounded read (counting them all
// would read the million).
func (s *Store) RunItemsFirst(ctx context.Context, runID int64, limit int) ([]RunItem, bool, error) {
	items, err := queryAll(ctx, s.q, func(row rowScanner) (RunItem, error) {
		var it RunItem
		err := row.Scan(&it.Item, &it.Status, &it.Error)
		return it, err
	}, `SELECT item, status, error FROM run_items WHERE run_id = $1 ORDER BY item LIMIT $2`, runID, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("items of run %d: %w", runID, err)
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// ItemGroup is the failed items of a run that failed the same way.
type ItemGroup struct {
	// Error is the error with the item's account and hashes replaced.
	Error       string
	Count       int
	First, Last string
}

var (
	hexRun = regexp.MustCompile(`\b[0-9a-f]{8,}\b`)
	// tempSuffix is the random part of a temporary file's name
	// (os.CreateTemp: a decimal number of any length) in storage's errors.
	tempSuffix = regexp.MustCompile(`(\.tmp-\S*-)[0-9]+\b`)
)

// ErrorKind is an item's error with the item's account, any hash and any
// temporary file's random suffix replaced, so that the same failure of
// many accounts reads as one kind.
func ErrorKind(it RunItem) string {
	msg := it.Error
	if acct, _, _ := strings.Cut(it.Item, " "); len(acct) >= 3 {
		msg = strings.ReplaceAll(msg, acct, "<account>")
	}
	msg = tempSuffix.ReplaceAllString(msg, "${1}<hash>")
	return hexRun.ReplaceAllString(msg, "<hash>")
}

// GroupFailedItems groups failed items by ErrorKind, the largest group first.
func GroupFailedItems(items []RunItem) []ItemGroup {
	idx := map[string]int{}
	var gs []ItemGroup
	for _, it := range items {
		k := ErrorKind(it)
		i, ok := idx[k]
		if !ok {
			i = len(gs)
			idx[k] = i
			gs = append(gs, ItemGroup{Error: k, First: it.Item})
		}
		gs[i].Count++
		gs[i].Last = it.Item
	}
	sort.SliceStable(gs, func(i, j int) bool { return gs[i].Count > gs[j].Count })
	return gs
}

// ExceptionFilter narrows ListExceptions.
type ExceptionFilter struct {
	Kind string
	// Code matches the reference or the detail (a return code such as R03,
	// a trace, an account).
	Code string
	// Before keeps exceptions created before this instant (an age filter).
	Before time.Time
	All    bool // resolved ones too
	// AfterID pages: exceptions with a larger id.
	AfterID int64
	Limit   int
}

// ListExceptions returns exceptions in id order under the filter.
func (s *Store) ListExceptions(ctx context.Context, f ExceptionFilter) ([]Exception, error) {
	q := exceptionSelect + ` WHERE id > $1 AND ($2 = '' OR kind = $2) AND ($3 = '' OR reference LIKE $3 OR detail LIKE $3)`
	code := ""
	if f.Code != "" {
		code = "%" + f.Code + "%"
	}
	args := []any{f.AfterID, f.Kind, code}
	if !f.All {
		q += ` AND resolved_at IS NULL`
	}
	if !f.Before.IsZero() {
		args = append(args, f.Before.UTC())
		q += fmt.Sprintf(` AND created_at < $%d`, len(args))
	}
	args = append(args, limitOf(f.Limit))
	q += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	out, err := queryAll(ctx, s.q, scanException, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list exceptions: %w", err)
	}
	return out, nil
}

// OpenExceptionKinds counts open exceptions by kind.
func (s *Store) OpenExceptionKinds(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.each(ctx, `SELECT kind, COUNT(*) FROM exceptions WHERE resolved_at IS NULL GROUP BY kind`, nil, func(scan func(...any) error) error {
		var k string
		var n int
		if err := scan(&k, &n); err != nil {
			return err
		}
		out[k] = n
		return nil
	})
	return out, err
}

// GetException returns one exception, or ErrNotFound.
func (s *Store) GetException(ctx context.Context, id int64) (Exception, error) {
	e, err := scanException(s.q.QueryRowContext(ctx, exceptionSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("exception %d: %w", id, ErrNotFound)
	}
	return e, err
}

func limitOf(n int) int {
	if n <= 0 || n > 500 {
		return 50
	}
	return n
}

// DayReturns is the returns of one date by the NACHA category of their code.
type DayReturns struct {
	Date                                civil.Date
	Unauthorized, Administrative, Other int
}

// ReturnsByDay counts debit returns per day the bank sent them (sent_on,
// as the return rates count them) in the range, by the category the
// classify function gives a code ("unauthorized", "administrative" or
// anything else).
func (s *Store) ReturnsByDay(ctx context.Context, from, through civil.Date, classify func(code string) string) ([]DayReturns, error) {
	byDay := map[civil.Date]*DayReturns{}
	err := s.each(ctx, `SELECT sent_on, code, COUNT(*) FROM returns
		WHERE sent_on >= $1 AND sent_on <= $2 AND payment_kind = 'debit' GROUP BY sent_on, code`, []any{from, through},
		func(scan func(...any) error) error {
			var d civil.Date
			var code string
			var n int
			if err := scan(&d, &code, &n); err != nil {
				return err
			}
			dr := byDay[d]
			if dr == nil {
				dr = &DayReturns{Date: d}
				byDay[d] = dr
			}
			switch classify(code) {
			case "unauthorized":
				dr.Unauthorized += n
			case "administrative":
				dr.Administrative += n
			default:
				dr.Other += n
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("returns by day: %w", err)
	}
	var out []DayReturns
	for d := from; !d.After(through); d = d.AddDays(1) {
		if dr := byDay[d]; dr != nil {
			out = append(out, *dr)
		} else {
			out = append(out, DayReturns{Date: d})
		}
	}
	return out, nil
}

// RepeatedReturn is an account whose debits came back more than once.
type RepeatedReturn struct {
	AccountID string
	Returns   int
	Codes     string
	Last      civil.Date
}

// RepeatedReturns lists accounts with at least two debit returns in the
// range, the most first.
func (s *Store) RepeatedReturns(ctx context.Context, from, through civil.Date, limit int) ([]RepeatedReturn, error) {
	var out []RepeatedReturn
	err := s.each(ctx, `SELECT account_id, COUNT(*), MIN(code), MAX(code), MAX(returned_on) FROM returns
		WHERE returned_on >= $1 AND returned_on <= $2 AND account_id IS NOT NULL GROUP BY account_id HAVING COUNT(*) >= 2
		ORDER BY COUNT(*) DESC, account_id LIMIT $3`,
		[]any{from, through, limitOf(limit)}, func(scan func(...any) error) error {
			var r RepeatedReturn
			var lo, hi string
			if err := scan(&r.AccountID, &r.Returns, &lo, &hi, &r.Last); err != nil {
				return err
			}
			r.Codes = lo
			if hi != lo {
				r.Codes += ", " + hi
			}
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("repeated returns: %w", err)
	}
	return out, nil
}

// StoppedAutopay is an enrollment drafter stopped or suspended.
type StoppedAutopay struct {
	AccountID, Enrollment, Status, Reason string
}

// StoppedAutopays lists enrollments that are not active, with why.
func (s *Store) StoppedAutopays(ctx context.Context, limit int) ([]StoppedAutopay, error) {
	var out []StoppedAutopay
	err := s.each(ctx, `SELECT account_id, id, status, status_reason FROM autopay_enrollments WHERE status <> 'active'
		ORDER BY account_id, id LIMIT $1`, []any{limitOf(limit)}, func(scan func(...any) error) error {
		var a StoppedAutopay
		if err := scan(&a.AccountID, &a.Enrollment, &a.Status, &a.Reason); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stopped autopay: %w", err)
	}
	return out, nil
}

// FilesBefore returns the NACHA files of the latest days business dates on
// or before through, newest first.
func (s *Store) FilesBefore(ctx context.Context, through civil.Date, days int) ([]ACHFile, error) {
	from := through.AddDays(-days)
	return queryAll(ctx, s.q, scanACHFile, achFileSelect+` WHERE business_date > $1 AND business_date <= $2 AND released_at IS NULL
		ORDER BY business_date DESC, id`, from, through)
}

// ACHFileByID returns one NACHA file, or ErrNotFound.
func (s *Store) ACHFileByID(ctx context.Context, id int64) (ACHFile, error) {
	f, err := scanACHFile(s.q.QueryRowContext(ctx, achFileSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return f, fmt.Errorf("file %d: %w", id, ErrNotFound)
	}
	return f, err
}

// InboundFiles returns inbound files newest first, those with an id below
// beforeID when it is not 0.
func (s *Store) InboundFiles(ctx context.Context, beforeID int64, limit int) ([]InboundFile, error) {
	return queryAll(ctx, s.q, func(row rowScanner) (InboundFile, error) {
		var f InboundFile
		err := row.Scan(&f.ID, &f.SHA256, &f.Name, &f.StorageKey, &f.Status, &f.Returns, &f.Corrections, &f.Error, &f.ReceivedAt)
		return f, err
	}, `SELECT id, sha256, name, storage_key, status, returns, corrections, error, received_at FROM inbound_files
		WHERE ($1 = 0 OR id < $1) ORDER BY id DESC LIMIT $2`, beforeID, limitOf(limit))
}

// AccountHit is an account found by a search.
type AccountHit struct {
	ID, Kind, Status, Name string
	Last4                  string
}

// Ways SearchAccounts matched a query.
const (
	SearchByID    = "id"
	SearchByName  = "name"
	SearchByLast4 = "last4"
)

// AccountSearch is one page of an account search.
type AccountSearch struct {
	Q string
	// By is how the first page matched Q (SearchByID, SearchByName or
	// SearchByLast4), so that a later page goes on the same way; empty on
	// the first page.
	By string
	// After is the last account of the page before ("" on the first).
	After string
	Limit int
}

// SearchAccounts finds accounts by id (exact or prefix), customer name
// (last name, or first and last, case-insensitive prefix) or the last four
// digits of a bank account, one page at a time, and says how it matched:
// four digits are the last 4; otherwise an id prefix, and when no id
// starts so, a name.
func (s *Store) SearchAccounts(ctx context.Context, f AccountSearch) ([]AccountHit, string, error) {
	q := strings.TrimSpace(f.Q)
	if q == "" {
		return nil, "", nil
	}
	const sel = `SELECT a.id, a.kind, a.status, c.first_name || ' ' || c.last_name,
		COALESCE((SELECT MIN(b.last4) FROM bank_accounts b WHERE b.account_id = a.id), '')
		FROM accounts a JOIN customers c ON c.id = a.customer_id `
	scan := func(row rowScanner) (AccountHit, error) {
		var h AccountHit
		err := row.Scan(&h.ID, &h.Kind, &h.Status, &h.Name, &h.Last4)
		return h, err
	}
	by := f.By
	if by == "" {
		by = SearchByID
		if len(q) == 4 && strings.Trim(q, "0123456789") == "" {
			by = SearchByLast4
		}
	}
	var (
		hits []AccountHit
		err  error
	)
	switch by {
	case SearchByLast4:
		hits, err = queryAll(ctx, s.q, scan, sel+`WHERE a.id IN (SELECT account_id FROM bank_accounts WHERE last4 = $1) AND a.id > $2
			ORDER BY a.id LIMIT $3`, q, f.After, limitOf(f.Limit))
	case SearchByID:
		hits, err = queryAll(ctx, s.q, scan, sel+`WHERE a.id >= $1 AND a.id < $2 AND a.id > $3 ORDER BY a.id LIMIT $4`, q, q+"\uffff", f.After, limitOf(f.Limit))
		if err != nil || len(hits) > 0 || f.By != "" {
			break
		}
		by = SearchByName
		fallthrough
	case SearchByName:
		first, last, two := strings.Cut(q, " ")
		if !two {
			first, last = "", q
		}
		cap := func(s string) string {
			r := []rune(strings.ToLower(s))
			if len(r) > 0 {
				r[0] = unicode.ToUpper(r[0])
			}
			return string(r)
		}
		last = cap(strings.TrimSpace(last))
		// Pages go on after the last account of the page before, in
		// (last name, account) order.
		hits, err = queryAll(ctx, s.q, scan, sel+`WHERE c.last_name >= $1 AND c.last_name < $2 AND ($3 = '' OR c.first_name = $3)
			AND ($4 = '' OR c.last_name > (SELECT c2.last_name FROM accounts a2 JOIN customers c2 ON c2.id = a2.customer_id WHERE a2.id = $4)
				OR (c.last_name = (SELECT c2.last_name FROM accounts a2 JOIN customers c2 ON c2.id = a2.customer_id WHERE a2.id = $4) AND a.id > $4))
			ORDER BY c.last_name, a.id LIMIT $5`, last, last+"\uffff", cap(strings.TrimSpace(first)), f.After, limitOf(f.Limit))
	default:
		return nil, "", fmt.Errorf("search accounts: by %q: want id, name or last4", by)
	}
	if err != nil {
		return nil, "", fmt.Errorf("search accounts: %w", err)
	}
	return hits, by, nil
}

// AccountPayment is a payment as the Account page shows it.
type AccountPayment struct {
	ID          int64
	Kind        string
	Description string
	Amount      money.Cents
	DraftOn     civil.Date
	State       string
	Reason      string
	FileID      *int64
	Trace       string
	EffectiveOn *civil.Date
	ReturnCode  string
}

// AccountPayments returns an account's payments, newest first, below
// beforeID when it is not 0. A payment in a file whose rows are not settled
// yet reads as its originations record says (originated, its file, trace
// and effective date), not as its row still does.
func (s *Store) AccountPayments(ctx context.Context, account string, beforeID int64, limit int) ([]AccountPayment, error) {
	return queryAll(ctx, s.q, func(row rowScanner) (AccountPayment, error) {
		var p AccountPayment
		var file sql.NullInt64
		var trace sql.NullString
		var eff civil.Date
		var code sql.NullString
		err := row.Scan(&p.ID, &p.Kind, &p.Description, &p.Amount, &p.DraftOn, &p.State, &p.Reason, &file, &trace, &eff, &code)
		if file.Valid {
			p.FileID = &file.Int64
		}
		p.Trace, p.ReturnCode = trace.String, code.String
		if !eff.IsZero() {
			p.EffectiveOn = &eff
		}
		return p, err
	}, `SELECT p.id, p.kind, p.description, p.amount, p.draft_on,
			CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END, p.state_reason,
			COALESCE(p.ach_file_id, o.ach_file_id), COALESCE(p.trace_number, o.trace_number), COALESCE(p.effective_on, o.effective_on),
			(SELECT r.code FROM returns r WHERE r.payment_id = p.id)
		FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
		WHERE p.account_id = $1 AND ($2 = 0 OR p.id < $2) ORDER BY p.id DESC LIMIT $3`, account, beforeID, limitOf(limit))
}

// AccountDocuments returns an account's documents, newest first.
func (s *Store) AccountDocuments(ctx context.Context, account string, limit int) ([]Document, error) {
	return queryAll(ctx, s.q, func(row rowScanner) (Document, error) {
		var d Document
		err := row.Scan(&d.ID, &d.AccountID, &d.Kind, &d.Period, &d.DocumentDate, &d.StorageKey, &d.SHA256, &d.Size)
		return d, err
	}, `SELECT id, account_id, kind, period, document_date, storage_key, sha256, size FROM documents
		WHERE account_id = $1 ORDER BY document_date DESC, id DESC LIMIT $2`, account, limitOf(limit))
}

// AccountAudit returns the audit rows that name the account, newest first.
func (s *Store) AccountAudit(ctx context.Context, account string, limit int) ([]AuditEntry, error) {
	return s.auditWhere(ctx, `target LIKE $1`, "%"+account+"%", limit)
}

// RunAudit returns the audit rows of a run, newest first.
func (s *Store) RunAudit(ctx context.Context, id int64, limit int) ([]AuditEntry, error) {
	return s.auditWhere(ctx, `(target = $1 OR target LIKE $2 OR target LIKE $3)`, []any{fmt.Sprintf("run %d", id), fmt.Sprintf("run %d:%%", id),
		fmt.Sprintf("%%(rerun of run %d)", id)}, limit)
}

func (s *Store) auditWhere(ctx context.Context, where string, arg any, limit int) ([]AuditEntry, error) {
	args, ok := arg.([]any)
	if !ok {
		args = []any{arg}
	}
	args = append(args, limitOf(limit))
	return queryAll(ctx, s.q, func(row rowScanner) (AuditEntry, error) {
		var a AuditEntry
		err := row.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &a.Target, &a.Reason)
		a.At = a.At.UTC()
		return a, err
	}, fmt.Sprintf(`SELECT id, at, actor, action, target, reason FROM audit WHERE %s ORDER BY id DESC LIMIT $%d`, where, len(args)), args...)
}

// OutboxPage is ListOutbox for the console: filtered by account too, and
// paged by id (newest first below BeforeID).
type OutboxPage struct {
	Status, Kind, AccountID string
	BeforeID                int64
	Limit                   int
}

// ListOutboxPage returns one page of outbox messages, newest first.
func (s *Store) ListOutboxPage(ctx context.Context, f OutboxPage) ([]OutboxMessage, error) {
	// Only the filters given go into the query, so that the planner sees
	// which index serves it: (status, id) for a status, (account_id, id)
	// for an account, the primary key otherwise. A catch-all "$1 = '' OR
	// status = $1" walks the primary key past every other status.
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", f.Status)
	}
	if f.Kind != "" {
		add("kind = $%d", f.Kind)
	}
	if f.AccountID != "" {
		add("account_id = $%d", f.AccountID)
	}
	if f.BeforeID != 0 {
		add("id < $%d", f.BeforeID)
	}
	q := `SELECT ` + outboxCols + ` FROM outbox`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitOf(f.Limit))
	ms, err := s.queryOutbox(ctx, s.q, q+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return ms, nil
}

// OutboxWaiting counts the messages still to send or that failed (queued,
// sending, failed), through the status index: the sent ones, nearly all of
// them, are not counted.
func (s *Store) OutboxWaiting(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.each(ctx, `SELECT status, COUNT(*) FROM outbox WHERE status IN ('queued', 'sending', 'failed') GROUP BY status`, nil,
		func(scan func(...any) error) error {
			var st string
			var n int
			if err := scan(&st, &n); err != nil {
				return err
			}
			out[st] = n
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count outbox: %w", err)
	}
	return out, nil
}

// OldestQueued returns the oldest message still waiting to be sent, or
// ErrNotFound.
func (s *Store) OldestQueued(ctx context.Context) (OutboxMessage, error) {
	ms, err := s.queryOutbox(ctx, s.q, `SELECT `+outboxCols+` FROM outbox WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT 1`)
	if err != nil {
		return OutboxMessage{}, err
	}
	if len(ms) == 0 {
		return OutboxMessage{}, ErrNotFound
	}
	return ms[0], nil
}

// ResendOutbox queues a message again as a new outbox row (the same kind,
// recipient, account and payload; its topic marked as a resend), whatever
// the first one's status, recorded in the audit log with by and reason.
func (s *Store) ResendOutbox(ctx context.Context, id int64, by, reason string) (OutboxMessage, error) {
	var out OutboxMessage
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		ms, err := s.queryOutbox(ctx, tx, `SELECT `+outboxCols+` FROM outbox WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return fmt.Errorf("outbox %d: %w", id, ErrNotFound)
		}
		m := ms[0]
		base, _, _ := strings.Cut(m.Topic, "#resend")
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE topic LIKE $1 AND recipient = $2`, base+"#resend%", m.Recipient).Scan(&n); err != nil {
			return err
		}
		t := now()
		ms, err = s.queryOutbox(ctx, tx, `INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) RETURNING `+outboxCols,
			fmt.Sprintf("%s#resend%d", base, n+1), m.Recipient, m.Kind, m.AccountID, string(m.Payload), t)
		if err != nil {
			return err
		}
		out = ms[0]
		return audit(ctx, tx, by, "outbox resend", fmt.Sprintf("outbox %d: %s to %s (account %s) as outbox %d", id, m.Kind, m.Recipient, m.AccountID, out.ID), reason)
	})
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("resend outbox %d: %w", id, err)
	}
	return out, nil
}
