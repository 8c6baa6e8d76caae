package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Outbox statuses. A message moves queued -> sending -> sent; a temporary
// failure puts it back to queued with a later next attempt, a permanent one
// (or too many attempts) to failed, where an operator may requeue it.
const (
	OutboxQueued  = "queued"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// OutboxStatuses are the statuses an outbox message may have.
var OutboxStatuses = []string{OutboxQueued, OutboxSending, OutboxSent, OutboxFailed}

// OutboxKinds are the kinds of message the jobs queue (jobs/deliver.go
// composes each).
var OutboxKinds = []string{"payment_scheduled", "autopay_covered", "payment_returned", "statement_ready", "lease_end_notice"}

// OutboxMessage is one row of the outbox: one email to one customer.
type OutboxMessage struct {
	ID        int64           `json:"id"`
	Topic     string          `json:"topic"`
	Recipient string          `json:"recipient"`
	Kind      string          `json:"kind"`
	AccountID string          `json:"account_id"`
	Payload   json.RawMessage `json:"payload"`
	Status    string          `json:"status"`
	// Attempts counts the sends begun, including one cut short by a crash.
	Attempts int `json:"attempts"`
	// NextAttemptAt is when a queued message is due; for a message being
	// sent, when its lease runs out and another deliverer may take it over.
	NextAttemptAt time.Time `json:"next_attempt_at"`
	LastError     string    `json:"last_error,omitempty"`
	// MessageID is the Message-ID (without angle brackets), fixed at the
	// first claim; empty until then.
	MessageID string     `json:"message_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
}

// The payloads of the outbox kinds: what the queuing job writes and the
// deliver job reads. Amounts are cents, dates YYYY-MM-DD.

// OutboxPaymentPayload is the payload of payment_scheduled.
type OutboxPaymentPayload struct {
	PaymentID int64 `json:"payment_id"`
}

// OutboxReturnPayload is the payload of payment_returned. Only PaymentID
// is required: a missing code is read from the returns table and a missing
// retry date from the re-presentment payment.
type OutboxReturnPayload struct {
	PaymentID      int64       `json:"payment_id"`
	Code           string      `json:"code,omitempty"`
	RetryDate      civil.Date  `json:"retry_date"`
	AutopayStopped bool        `json:"autopay_stopped,omitempty"`
	Fee            money.Cents `json:"fee_cents,omitempty"`
	// PayBy is the date to pay by when there is no retry; when missing, the
	// account's next due date.
	PayBy civil.Date `json:"pay_by"`
}

// OutboxDocumentPayload is the payload of statement_ready and lease_end_notice.
// DocumentID is required. A statement also needs AmountDue and DueDate (the
// period defaults to the month ending on the document date); a notice's
// days to maturity default to the days from the document date.
type OutboxDocumentPayload struct {
	DocumentID  int64        `json:"document_id"`
	PeriodStart civil.Date   `json:"period_start"`
	PeriodEnd   civil.Date   `json:"period_end"`
	AmountDue   *money.Cents `json:"amount_due_cents,omitempty"`
	// PastDue is the part of AmountDue due before the statement.
	PastDue          *money.Cents `json:"past_due_cents,omitempty"`
	DueDate          civil.Date   `json:"due_date"`
	AutopayDebitDate civil.Date   `json:"autopay_debit_date"`
	AutopayLast4     string       `json:"autopay_bank_last4,omitempty"`
	DaysToMaturity   *int         `json:"days_to_maturity,omitempty"`
}

// NewOutboxMessage is a message to queue. Payload is marshaled to JSON.
type NewOutboxMessage struct {
	Topic     string // what the message is about, e.g. statement:ACC-1:2026-11
	Recipient string // the email address
	Kind      string
	AccountID string
	Payload   any
}

// QueueOutbox queues messages, skipping any whose (topic, recipient) is
// already in the outbox, and returns how many it queued. The messages are
// due at once.
func (s *Store) QueueOutbox(ctx context.Context, msgs []NewOutboxMessage) (int, error) {
	const cols = 8
	per := min(s.dialect.maxParams/cols, 500)
	t := now()
	queued := 0
	for start := 0; start < len(msgs); start += per {
		chunk := msgs[start:min(start+per, len(msgs))]
		args := make([]any, 0, len(chunk)*cols)
		for _, m := range chunk {
			p, err := json.Marshal(m.Payload)
			if err != nil {
				return queued, fmt.Errorf("queue %s message %s: payload: %w", m.Kind, m.Topic, err)
			}
			args = append(args, m.Topic, m.Recipient, m.Kind, m.AccountID, string(p), OutboxQueued, t, t)
		}
		res, err := s.q.ExecContext(ctx, `INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
			VALUES `+s.dialect.values(len(chunk), cols, 0)+` ON CONFLICT (topic, recipient) DO NOTHING`, args...)
		if err != nil {
			return queued, fmt.Errorf("queue outbox messages: %w", err)
		}
		n, _ := res.RowsAffected()
		queued += int(n)
	}
	return queued, nil
}

const outboxCols = `id, topic, recipient, kind, account_id, payload, status, attempts, next_attempt_at, last_error, message_id, created_at, sent_at`

func scanOutbox(row rowScanner) (OutboxMessage, error) {
	var m OutboxMessage
	var payload string
	var sent sql.NullTime
	if err := row.Scan(&m.ID, &m.Topic, &m.Recipient, &m.Kind, &m.AccountID, &payload, &m.Status, &m.Attempts,
		&m.NextAttemptAt, &m.LastError, &m.MessageID, &m.CreatedAt, &sent); err != nil {
		return m, err
	}
	m.Payload = json.RawMessage(payload)
	m.NextAttemptAt, m.CreatedAt = m.NextAttemptAt.UTC(), m.CreatedAt.UTC()
	if sent.Valid {
		t := sent.Time.UTC()
		m.SentAt = &t
	}
	return m, nil
}

func (s *Store) queryOutbox(ctx context.Context, q querier, query string, args ...any) ([]OutboxMessage, error) {
	return queryAll(ctx, q, scanOutbox, query, args...)
}

// OutboxClaim says which due messages a deliverer takes.
type OutboxClaim struct {
	// Now is the deliverer's clock: messages queued with next_attempt_at
	// at or before it are due, and so are messages left sending by a
	// deliverer whose lease ran out (it died between the send and the mark).
	Now time.Time
	// Lease is how long the claimed messages are the deliverer's alone.
	Lease time.Duration
	// Limit caps the messages claimed.
	Limit int
	// IDDomain is the right-hand side of new Message-IDs, e.g. drafter.example.
	IDDomain string
	// IDToken makes new Message-IDs unique across databases: a few random
	// characters of [0-9a-z] per claim.
	IDToken string
}

// ClaimOutbox moves up to c.Limit due messages to sending, in one committed
// statement, and returns them in id order. Each claim counts as an attempt.
// A message without a Message-ID gets outbox-ID.TOKEN@DOMAIN; one that has
// it keeps it, so a resend after a crash is recognisably the same message.
// On PostgreSQL, rows another deliverer holds are skipped, so two deliverers
// never take the same message.
func (s *Store) ClaimOutbox(ctx context.Context, c OutboxClaim) ([]OutboxMessage, error) {
	if c.Limit <= 0 {
		return nil, errors.New("claim outbox: limit must be positive")
	}
	if !idPart(c.IDDomain) || !idPart(c.IDToken) {
		return nil, fmt.Errorf("claim outbox: Message-ID domain %q or token %q has characters a Message-ID cannot hold", c.IDDomain, c.IDToken)
	}
	now := c.Now.UTC().Truncate(time.Microsecond)
	until := now.Add(c.Lease)
	ms, err := s.queryOutbox(ctx, s.q, `UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1,
			message_id = CASE WHEN message_id = '' THEN 'outbox-' || CAST(id AS TEXT) || '.' || CAST($2 AS TEXT) || '@' || CAST($3 AS TEXT) ELSE message_id END
		WHERE id IN (SELECT id FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $4
			ORDER BY next_attempt_at, id LIMIT $5`+s.dialect.skipLocked+`)
		RETURNING `+outboxCols, until, c.IDToken, c.IDDomain, now, c.Limit)
	if err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	sortOutbox(ms)
	return ms, nil
}

// CountDueOutbox counts the messages ClaimOutbox would claim at now if its
// limit were unbounded: a delivery's expected total.
func (s *Store) CountDueOutbox(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1`,
		now.UTC().Truncate(time.Microsecond)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count due outbox: %w", err)
	}
	return n, nil
}

// idPart reports whether s may appear in a Message-ID made by ClaimOutbox.
func idPart(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

func sortOutbox(ms []OutboxMessage) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].ID < ms[j-1].ID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// DueOutbox returns up to limit messages with ids after afterID that a
// claim at now would take, without claiming them: what a dry run reports.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, afterID int64, limit int) ([]OutboxMessage, error) {
	ms, err := s.queryOutbox(ctx, s.q, `SELECT `+outboxCols+` FROM outbox
		WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1 AND id > $2 ORDER BY id LIMIT $3`,
		now.UTC().Truncate(time.Microsecond), afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("select due outbox: %w", err)
	}
	return ms, nil
}

// ErrOutboxState is wrapped when a message is not in the state an action
// needs (retrying a message that has not failed, marking one not sending).
var ErrOutboxState = errors.New("outbox message in the wrong state")

// MarkOutboxSent records that the message was accepted for delivery. It is
// a no-op for a message no longer sending (another deliverer marked it).
func (s *Store) MarkOutboxSent(ctx context.Context, id int64, at time.Time) error {
	_, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = $2, last_error = '' WHERE id = $1 AND status = 'sending'`,
		id, at.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("mark outbox %d sent: %w", id, err)
	}
	return nil
}

// MarkOutboxSentInDryRun marks a queued message sent inside a dry run's
// transaction, which is rolled back at its end: the steps the dry run
// simulates after it see the message sent, as they would after a real
// delivery. Outside a dry run it refuses.
func (s *Store) MarkOutboxSentInDryRun(ctx context.Context, id int64, at time.Time) error {
	if s.tx == nil {
		return fmt.Errorf("mark outbox %d sent: only a dry run simulates a delivery", id)
	}
	_, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'sent', sent_at = $2 WHERE id = $1 AND status = 'queued'`,
		id, at.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("mark outbox %d sent in a dry run: %w", id, err)
	}
	return nil
}

// RequeueOutbox puts a message that failed for now back in the queue, due
// at next, with the error kept for operators.
func (s *Store) RequeueOutbox(ctx context.Context, id int64, next time.Time, lastError string) error {
	_, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = $2, last_error = $3 WHERE id = $1 AND status = 'sending'`,
		id, next.UTC().Truncate(time.Microsecond), clip(lastError))
	if err != nil {
		return fmt.Errorf("requeue outbox %d: %w", id, err)
	}
	return nil
}

// ReleaseOutbox gives back a claimed message that was never tried (the
// deliverer stopped early): queued, due at next, the claim not counted.
func (s *Store) ReleaseOutbox(ctx context.Context, id int64, next time.Time) error {
	_, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'queued', next_attempt_at = $2, attempts = attempts - 1 WHERE id = $1 AND status = 'sending'`,
		id, next.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("release outbox %d: %w", id, err)
	}
	return nil
}

// FailOutbox marks a message failed for good: it will not be sent unless an
// operator requeues it (RetryOutbox).
func (s *Store) FailOutbox(ctx context.Context, id int64, lastError string) error {
	_, err := s.q.ExecContext(ctx, `UPDATE outbox SET status = 'failed', last_error = $2 WHERE id = $1 AND status = 'sending'`, id, clip(lastError))
	if err != nil {
		return fmt.Errorf("fail outbox %d: %w", id, err)
	}
	return nil
}

// RetryOutbox requeues a failed message, due at now with its attempts reset,
// for an operator who fixed the cause. Other states are ErrOutboxState;
// an unknown id ErrNotFound.
func (s *Store) RetryOutbox(ctx context.Context, id int64, now time.Time) (OutboxMessage, error) {
	ms, err := s.queryOutbox(ctx, s.q, `UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2
		WHERE id = $1 AND status = 'failed' RETURNING `+outboxCols, id, now.UTC().Truncate(time.Microsecond))
	if err != nil {
		return OutboxMessage{}, fmt.Errorf("retry outbox %d: %w", id, err)
	}
	if len(ms) == 1 {
		return ms[0], nil
	}
	m, err := s.GetOutbox(ctx, id)
	if err != nil {
		return m, err
	}
	return m, fmt.Errorf("outbox %d is %s: only failed messages can be retried: %w", id, m.Status, ErrOutboxState)
}

// GetOutbox returns one message.
func (s *Store) GetOutbox(ctx context.Context, id int64) (OutboxMessage, error) {
	m, err := scanOutbox(s.q.QueryRowContext(ctx, `SELECT `+outboxCols+` FROM outbox WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("outbox %d: %w", id, ErrNotFound)
	}
	return m, err
}

// OutboxFilter narrows ListOutbox.
type OutboxFilter struct {
	Status string // one status, or all
	Kind   string
	Limit  int // 0: no limit
}

// ListOutbox returns messages in id order.
func (s *Store) ListOutbox(ctx context.Context, f OutboxFilter) ([]OutboxMessage, error) {
	q := `SELECT ` + outboxCols + ` FROM outbox WHERE ($1 = '' OR status = $1) AND ($2 = '' OR kind = $2) ORDER BY id`
	args := []any{f.Status, f.Kind}
	if f.Limit > 0 {
		q += ` LIMIT $3`
		args = append(args, f.Limit)
	}
	ms, err := s.queryOutbox(ctx, s.q, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	return ms, nil
}

// OutboxCounts counts messages by status.
func (s *Store) OutboxCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count outbox: %w", err)
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

// clip bounds an error kept in last_error.
func clip(s string) string {
	const max = 2000
	s = strings.ToValidUTF8(s, "?")
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "..."
	}
	return s
}

// MailAccount is what an email needs of an account and its customer.
type MailAccount struct {
	AccountID  string
	Kind       string // loan | lease
	FirstName  string
	LastName   string
	Email      string
	DueDay     int
	MaturityOn civil.Date
	Vehicle    string // 2023 Subaru Outback, or ""
}

// MailAccount returns the account and customer an email is about.
func (s *Store) MailAccount(ctx context.Context, accountID string) (MailAccount, error) {
	var a MailAccount
	var year int
	var vmake, model string
	err := s.q.QueryRowContext(ctx, `SELECT a.id, a.kind, c.first_name, c.last_name, c.email, a.due_day, a.maturity_on,
			a.vehicle_year, a.vehicle_make, a.vehicle_model
		FROM accounts a JOIN customers c ON c.id = a.customer_id WHERE a.id = $1`, accountID).
		Scan(&a.AccountID, &a.Kind, &a.FirstName, &a.LastName, &a.Email, &a.DueDay, &a.MaturityOn, &year, &vmake, &model)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("account %s: %w", accountID, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("account %s: %w", accountID, err)
	}
	var parts []string
	if year > 0 {
		parts = append(parts, fmt.Sprint(year))
	}
	for _, p := range []string{vmake, model} {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 1 {
		a.Vehicle = strings.Join(parts, " ")
	}
	return a, nil
}

// MailPayment is what an email needs of a payment: never the bank account
// number, only its last four digits.
type MailPayment struct {
	ID        int64
	AccountID string
	State     string
	Amount    money.Cents
	// DebitOn is the effective entry date once originated, else the draft date.
	DebitOn   civil.Date
	BankLast4 string
	// Installment is the autopay installment a payment was made for when
	// the installment policy reduced or cancelled it (zero otherwise), and
	// DueOn the installment's due date.
	Installment money.Cents
	DueOn       civil.Date
	// ReturnCode is the code of the payment's return, "" when none.
	ReturnCode string
	// RetryOn is the draft date of the payment's next re-presentment not yet
	// cancelled, zero when none.
	RetryOn civil.Date
}

// MailPayment returns one payment as an email shows it.
func (s *Store) MailPayment(ctx context.Context, id int64) (MailPayment, error) {
	var p MailPayment
	var eff, draft, due civil.Date
	err := s.q.QueryRowContext(ctx, `SELECT p.id, p.account_id, p.state, p.amount, p.effective_on, p.draft_on, b.last4,
			p.installment_amount, p.due_on,
			COALESCE((SELECT r.code FROM returns r WHERE r.payment_id = p.id ORDER BY r.id LIMIT 1), ''),
			(SELECT MIN(n.draft_on) FROM payments n WHERE n.original_payment_id = p.id AND n.state <> 'cancelled' AND n.attempt > p.attempt)
		FROM payments p JOIN bank_accounts b ON b.id = p.bank_account_id WHERE p.id = $1`, id).
		Scan(&p.ID, &p.AccountID, &p.State, &p.Amount, &eff, &draft, &p.BankLast4, &p.Installment, &due, &p.ReturnCode, &p.RetryOn)
	p.DueOn = due
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("payment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("payment %d: %w", id, err)
	}
	p.DebitOn = eff
	if p.DebitOn.IsZero() {
		p.DebitOn = draft
	}
	return p, nil
}

// MailDocument is a rendered document an email hands over.
type MailDocument struct {
	ID           int64
	AccountID    string
	Kind         string
	Period       string
	DocumentDate civil.Date
	StorageKey   string
	SHA256       string
	Size         int64
}

// MailDocument returns one row of documents.
func (s *Store) MailDocument(ctx context.Context, id int64) (MailDocument, error) {
	var d MailDocument
	err := s.q.QueryRowContext(ctx, `SELECT id, account_id, kind, period, document_date, storage_key, sha256, size FROM documents WHERE id = $1`, id).
		Scan(&d.ID, &d.AccountID, &d.Kind, &d.Period, &d.DocumentDate, &d.StorageKey, &d.SHA256, &d.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("document %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("document %d: %w", id, err)
	}
	return d, nil
}
