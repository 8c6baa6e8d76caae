package jobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	netmail "net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/mail"
	"github.com/drafterhq/drafter/mask"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/storage"
)

// Deliver sends the outbox's due email: each message is claimed (moved to
// sending in its own commit), composed from the ledger, sent, and marked
// sent in another commit. A temporary failure requeues the message with
// exponential backoff and jitter; a permanent one, or too many attempts,
// marks it failed for an operator. A message marked sent is never sent
// again; a crash between the server's acceptance and the mark resends at
// most the messages in flight (one per connection) once their lease runs
// out, with the same Message-ID.
//
// The outbox is driven by each message's next attempt time, not by the
// business date, which the run records.
type Deliver struct {
	// Now is the clock; nil means time.Now. Tests move it forward.
	Now func() time.Time
	// Batch is how many messages one claim takes; 0 means 100.
	Batch int
}

// Name implements Job.
func (Deliver) Name() string { return "deliver" }

// Backoff limits: the first retry waits a minute, each further one twice as
// long, never more than six hours, each spread by up to a fifth either way
// so that many messages failed at once do not retry at once.
const (
	backoffBase   = time.Minute
	backoffCap    = 6 * time.Hour
	backoffJitter = 0.2
)

// documentLinkTTL is how long a document download link in an email works.
const documentLinkTTL = 7 * 24 * time.Hour

// MailBackoff is how long a message waits after its attempt-th failed
// attempt (1 for the first): 1m, 2m, 4m ... capped at 6h, scaled by
// 1 + 0.2*jitter, with jitter in [-1, 1].
func MailBackoff(attempt int, jitter float64) time.Duration {
	d := backoffCap
	if attempt >= 1 && attempt < 20 {
		d = min(backoffBase<<(attempt-1), backoffCap)
	}
	jitter = max(-1, min(1, jitter))
	return time.Duration(float64(d) * (1 + backoffJitter*jitter))
}

// DeliverSummary is what a deliver run did.
type DeliverSummary struct {
	BusinessDate civil.Date `json:"business_date"`
	Claimed      int        `json:"claimed"`
	Sent         int        `json:"sent"`
	// Retrying were requeued after a temporary failure.
	Retrying int `json:"retrying"`
	// Failed are marked failed: permanent errors or too many attempts.
	Failed int `json:"failed"`
	// Released were claimed but not tried because the run stopped early.
	Released   int            `json:"released,omitempty"`
	SentByKind map[string]int `json:"sent_by_kind"`
	// FilesSettled counts the NACHA files whose payment rows this run
	// settled (see settleFiles).
	FilesSettled int `json:"files_settled"`
	// PaymentEmailsQueued counts the "payment scheduled" emails this run
	// queued from the originations of files settled since the last run.
	PaymentEmailsQueued int `json:"payment_emails_queued"`
	// Stopped says why the run stopped before the queue was empty.
	Stopped string `json:"stopped,omitempty"`
	// WouldSend and WouldFail are a dry run's report (at most 100 listed).
	WouldSend     int           `json:"would_send,omitempty"`
	WouldFail     int           `json:"would_fail,omitempty"`
	DryRunPreview []DryRunEmail `json:"dry_run_preview,omitempty"`
}

// DryRunEmail is one message a dry run would send, or why it would fail.
type DryRunEmail struct {
	ID        int64  `json:"id"`
	Kind      string `json:"kind"`
	Recipient string `json:"recipient"`
	Subject   string `json:"subject,omitempty"`
	Error     string `json:"error,omitempty"`
}

const dryRunPreviewMax = 100

func (d Deliver) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (d Deliver) batch() int {
	if d.Batch > 0 {
		return d.Batch
	}
	return 100
}

// OpenMail opens the mail transport the configuration names, with its rate
// cap and connections.
func OpenMail(cfg *config.Config) (mail.Sender, error) {
	s, err := mail.Open(cfg.MailURL, mail.Options{Rate: cfg.MailRate, Connections: cfg.MailConnections})
	if err != nil {
		return nil, fmt.Errorf("setting DRAFTER_MAIL_URL: %w", err)
	}
	return s, nil
}

// Run implements Job.
func (d Deliver) Run(ctx context.Context, r *Run) (any, error) {
	// Settled and queued before the probe (beforeProbe) in a run of its
	// own; in the nightly dry run, which calls Run alone, and for any file
	// stored since, here.
	sum, err := d.early(ctx, r)
	if err != nil {
		return sum, err
	}
	c, err := newDelivery(r, d.now)
	if err != nil {
		return sum, err
	}
	if r.DryRun {
		return sum, d.dryRun(ctx, r, c, sum)
	}
	sender := r.Env.Mail
	if sender == nil {
		if sender, err = OpenMail(r.Env.Config); err != nil {
			return sum, err
		}
		defer sender.Close()
	}
	token, err := randomToken()
	if err != nil {
		return sum, err
	}
	if n, err := r.Store.CountDueOutbox(ctx, d.now()); err == nil {
		r.Expect(n)
	}
	b := &batchRun{d: d, r: r, c: c, sender: sender, sum: sum}
	for !b.stopping.Load() {
		if err := ctx.Err(); err != nil {
			sum.Stopped = "interrupted"
			break
		}
		if err := r.CheckCancel(ctx); err != nil {
			// Between batches: every message claimed was sent or
			// released; the rest wait for the resume.
			sum.Stopped = "cancelled"
			return sum, err
		}
		ms, err := r.Store.ClaimOutbox(ctx, ledger.OutboxClaim{Now: d.now(), Lease: r.Env.Config.MailLease, Limit: d.batch(),
			IDDomain: c.idDomain, IDToken: token})
		if err != nil {
			return sum, err
		}
		if len(ms) == 0 {
			break
		}
		r.Checkpoint("outbox claimed")
		r.Selected(len(ms))
		sum.Claimed += len(ms)
		if err := b.send(ctx, ms); err != nil {
			return sum, err
		}
	}
	r.Log.Info().Int("sent", sum.Sent).Int("retrying", sum.Retrying).Int("failed", sum.Failed).Int("released", sum.Released).Msg("outbox delivered")
	if stop := r.Stopped(); stop != nil {
		// Not succeeded: the messages wait for their retry, and resuming
		// the run (or the next day's) sends them once the server is back.
		sum.Stopped = stop.Error()
		return sum, stop
	}
	return sum, nil
}

// beforeProbe settles the files originate stored (settleFiles) and queues
// their "payment scheduled" emails (queuePaymentEmails) before the mail
// server is probed: both need the database alone, so a mail outage holds
// back the sending, not the payment rows, and the emails wait in the
// outbox in the order things happened: a payment's "scheduled" email
// before the "returned" one of a return that comes in during the outage.
// Its summary (the counts so far, in this run) is the run's when the
// probe then fails.
func (d Deliver) beforeProbe(ctx context.Context, r *Run) (any, error) { return d.early(ctx, r) }

var _ beforeProbe = Deliver{}

// early is beforeProbe's work, and Run's first step.
func (d Deliver) early(ctx context.Context, r *Run) (*DeliverSummary, error) {
	err := settleFiles(ctx, r, &r.filesSettled)
	if err == nil {
		err = d.queuePaymentEmails(ctx, r, &r.paymentEmailsQueued)
	}
	return &DeliverSummary{BusinessDate: r.Date, SentByKind: map[string]int{}, FilesSettled: r.filesSettled, PaymentEmailsQueued: r.paymentEmailsQueued}, err
}

// settleFiles settles the payment rows of every file stored since the
// last settlement (ledger.SettleFile), a file a transaction, and adds how
// many to n. Origination leaves this to the deliver job, which runs every
// few minutes, and to statements, which must read the rows settled: the
// night's files reach storage (and the bank) without waiting for it. A
// run stopped midway leaves the rest to the next.
func settleFiles(ctx context.Context, r *Run, n *int) error {
	settled, err := r.Store.SettleStoredFiles(ctx, func(f ledger.ACHFile) {
		r.Checkpoint("file settled")
		r.Log.Info().Str("file", f.StorageKey).Int("entries", f.Entries).Msg("file's payments settled")
	})
	*n += settled
	return err
}

// queuePaymentEmails queues the "payment scheduled" emails of every file
// settled since the last run, a file at a time (see
// ledger.QueuePaymentEmails): origination leaves them to this job, off the
// night's path to the bank's cutoff. With a bank connection
// (DRAFTER_BANK_URL), a file's emails wait until transmit confirms it
// reached the bank.
func (d Deliver) queuePaymentEmails(ctx context.Context, r *Run, n *int) error {
	transmitted := r.Env.Config.Bank != nil
	for {
		q, ok, err := r.Store.QueuePaymentEmails(ctx, d.now(), transmitted)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if q.File == "" {
			continue
		}
		r.Checkpoint("payment emails queued")
		*n += q.Emails
		r.Log.Info().Str("file", q.File).Int("emails", q.Emails).Msg("payment emails queued")
	}
}

// batchRun sends claimed messages over a pool of workers, one per
// connection.
type batchRun struct {
	d        Deliver
	r        *Run
	c        *delivery
	sender   mail.Sender
	mu       sync.Mutex
	sum      *DeliverSummary
	stopping atomic.Bool
}

func (b *batchRun) send(ctx context.Context, ms []ledger.OutboxMessage) error {
	workers := max(1, min(b.r.Env.Config.MailConnections, len(ms)))
	ch := make(chan ledger.OutboxMessage)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range workers {
		wg.Go(func() {
			for m := range ch {
				if err := b.one(ctx, m); err != nil {
					errOnce.Do(func() { firstErr = err })
					b.stopping.Store(true)
				}
			}
		})
	}
	for _, m := range ms {
		ch <- m
	}
	close(ch)
	wg.Wait()
	return firstErr
}

// one delivers one claimed message and records the outcome. It returns an
// error only when the outcome cannot be recorded.
func (b *batchRun) one(ctx context.Context, m ledger.OutboxMessage) error {
	r, st := b.r, b.r.Store
	wctx := context.WithoutCancel(ctx) // record outcomes even while stopping
	if b.stopping.Load() || ctx.Err() != nil {
		if err := st.ReleaseOutbox(wctx, m.ID, b.d.now()); err != nil {
			return err
		}
		r.Checkpoint("outbox released")
		r.Skipped(1)
		b.count(func(s *DeliverSummary) { s.Released++ })
		return nil
	}
	msg, err := b.c.compose(ctx, r, m)
	if err == nil {
		err = b.sender.Send(ctx, msg)
		if err == nil {
			// The server has the message; a crash before the mark resends
			// it (same Message-ID) once the lease runs out.
			r.Checkpoint("message sent")
			if err := st.MarkOutboxSent(wctx, m.ID, b.d.now()); err != nil {
				return err
			}
			r.Checkpoint("outbox marked sent")
			r.Depend(DepMail, nil)
			r.Done(1)
			b.count(func(s *DeliverSummary) { s.Sent++; s.SentByKind[m.Kind]++ })
			return nil
		}
	}
	if ctx.Err() != nil && !isPermanent(err) {
		// Interrupted (SIGTERM): not the message's fault.
		if err := st.ReleaseOutbox(wctx, m.ID, b.d.now()); err != nil {
			return err
		}
		r.Checkpoint("outbox released")
		r.Skipped(1)
		b.count(func(s *DeliverSummary) { s.Released++ })
		return nil
	}
	item := fmt.Sprintf("outbox %d", m.ID)
	text := fmt.Sprintf("%s to %s: %v", m.Kind, m.Recipient, err)
	switch {
	case isPermanent(err):
		if err := st.FailOutbox(wctx, m.ID, err.Error()); err != nil {
			return err
		}
		r.Checkpoint("outbox failed")
		r.ItemFailed(item, errors.New(text))
		b.count(func(s *DeliverSummary) { s.Failed++ })
	case m.Attempts >= r.Env.Config.MailMaxAttempts:
		msg := fmt.Sprintf("gave up after %d attempts: %v", m.Attempts, err)
		if err := st.FailOutbox(wctx, m.ID, msg); err != nil {
			return err
		}
		r.Checkpoint("outbox failed")
		r.ItemFailed(item, fmt.Errorf("%s: gave up after %d attempts", text, m.Attempts))
		b.count(func(s *DeliverSummary) { s.Failed++ })
	default:
		next := b.d.now().Add(MailBackoff(m.Attempts, mathrand.Float64()*2-1))
		if err := st.RequeueOutbox(wctx, m.ID, next, err.Error()); err != nil {
			return err
		}
		r.Checkpoint("outbox requeued")
		r.Skipped(1)
		b.count(func(s *DeliverSummary) { s.Retrying++ })
		r.Log.Warn().Int64("outbox", m.ID).Str("kind", m.Kind).Int("attempts", m.Attempts).Time("next_attempt_at", next).Err(err).Msg("send failed; will retry")
		// Temporary failures in a row (DRAFTER_MAX_CONSECUTIVE_FAILURES)
		// stop the run: the server is down or refusing, and trying every
		// message against it would only burn their attempts.
		if r.Depend(DepMail, err) != nil {
			b.stopping.Store(true)
		}
	}
	return nil
}

func (b *batchRun) count(f func(s *DeliverSummary)) {
	b.mu.Lock()
	f(b.sum)
	b.mu.Unlock()
}

// dryRun reports what a run would send now and what would fail, sending
// and writing nothing.
func (d Deliver) dryRun(ctx context.Context, r *Run, c *delivery, sum *DeliverSummary) error {
	var after int64
	for {
		ms, err := r.Store.DueOutbox(ctx, d.now(), after, d.batch())
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			return nil
		}
		r.Selected(len(ms))
		for _, m := range ms {
			after = m.ID
			if m.MessageID == "" {
				m.MessageID = fmt.Sprintf("outbox-%d.dry-run@%s", m.ID, c.idDomain)
			}
			e := DryRunEmail{ID: m.ID, Kind: m.Kind, Recipient: m.Recipient}
			msg, err := c.compose(ctx, r, m)
			if err != nil {
				sum.WouldFail++
				e.Error = err.Error()
			} else {
				sum.WouldSend++
				e.Subject = msg.Subject
				r.Done(1)
				// Sent in the dry run's transaction only: a later step of
				// a dry-run range does not count it again.
				if err := r.Store.MarkOutboxSentInDryRun(ctx, m.ID, d.now()); err != nil {
					return err
				}
			}
			if len(sum.DryRunPreview) < dryRunPreviewMax {
				sum.DryRunPreview = append(sum.DryRunPreview, e)
			}
		}
	}
}

func randomToken() (string, error) {
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("message id token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// permanentError marks a message that can never be composed as it stands:
// an unknown kind, a payload without what it needs, a row it names that
// does not exist.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

func isPermanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe) || mail.IsPermanent(err)
}

// delivery composes outbox messages into email.
type delivery struct {
	composer mail.Composer
	idDomain string
	zone     *time.Location
	docs     storage.Store
	attach   bool
	now      func() time.Time
}

func newDelivery(r *Run, now func() time.Time) (*delivery, error) {
	cfg := r.Env.Config
	from, err := netmail.ParseAddress(cfg.MailFrom)
	if err != nil {
		return nil, &config.Error{Setting: "DRAFTER_MAIL_FROM", Value: cfg.MailFrom, Want: "a sender such as Drafter Auto Finance <statements@drafter.example>"}
	}
	c := mail.Composer{From: mail.Address{Name: from.Name, Email: from.Address}, Company: cfg.LenderName,
		Phone: cfg.LenderPhone, Portal: cfg.LenderWebsite}
	if strings.TrimSpace(cfg.MailReplyTo) != "" {
		rt, err := netmail.ParseAddress(cfg.MailReplyTo)
		if err != nil {
			return nil, &config.Error{Setting: "DRAFTER_MAIL_REPLY_TO", Value: cfg.MailReplyTo, Want: "an address such as Customer Service <service@drafter.example>"}
		}
		c.ReplyTo = mail.Address{Name: rt.Name, Email: rt.Address}
	}
	if !cfg.AttachPDF {
		c.Documents = mail.LinkToPDF
	}
	_, domain, _ := strings.Cut(from.Address, "@")
	domain = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return -1
	}, domain)
	if domain == "" {
		domain = "drafter.local"
	}
	zone := cfg.Zone
	if zone == nil {
		zone = time.UTC
	}
	return &delivery{composer: c, idDomain: domain, zone: zone, docs: r.Env.Docs, attach: cfg.AttachPDF, now: now}, nil
}

// compose builds the email of one outbox message from the ledger as it is
// now. Errors that retrying cannot fix are permanent.
func (c *delivery) compose(ctx context.Context, r *Run, m ledger.OutboxMessage) (mail.Message, error) {
	acct, err := r.Store.MailAccount(ctx, m.AccountID)
	if err != nil {
		return mail.Message{}, notFoundPermanent(err)
	}
	env := mail.Envelope{ID: m.MessageID, To: mail.Address{Name: strings.TrimSpace(acct.FirstName + " " + acct.LastName), Email: m.Recipient},
		Date: m.CreatedAt.In(c.zone)}
	account := maskAccount(acct.AccountID)
	var msg mail.Message
	switch m.Kind {
	case "payment_scheduled":
		pay, err := c.payloadPayment(ctx, r, m)
		if err != nil {
			return msg, err
		}
		// Originate queues this email with the debit already in the
		// night's file: only a debit not yet originated can be changed.
		d := mail.PaymentScheduled{Account: account, Amount: pay.Amount,
			BankAccount: mail.Mask(pay.BankLast4), DebitDate: pay.DebitOn, Changeable: pay.State == ledger.PaymentScheduled}
		if pay.Installment > pay.Amount {
			// The installment policy reduced this autopay debit by the
			// customer's one-time payments for the installment.
			d.Installment, d.OneTime, d.DueDate = pay.Installment, pay.Installment-pay.Amount, pay.DueOn
		}
		if msg, err = c.composer.PaymentScheduled(env, d); err != nil {
			return msg, &permanentError{err}
		}
	case "autopay_covered":
		pay, err := c.payloadPayment(ctx, r, m)
		if err != nil {
			return msg, err
		}
		if msg, err = c.composer.AutopayCovered(env, mail.AutopayCovered{Account: account, Installment: pay.Installment, DueDate: pay.DueOn}); err != nil {
			return msg, &permanentError{err}
		}
	case "payment_returned":
		d, err := c.returned(ctx, r, m, acct)
		if err != nil {
			return msg, err
		}
		d.Account = account
		if msg, err = c.composer.PaymentReturned(env, d); err != nil {
			return msg, &permanentError{err}
		}
	case "statement_ready", "lease_end_notice":
		var p ledger.OutboxDocumentPayload
		if err := decodePayload(m, &p); err != nil {
			return msg, err
		}
		doc, file, err := c.document(ctx, r, m, p.DocumentID)
		if err != nil {
			return msg, err
		}
		if m.Kind == "statement_ready" {
			if p.AmountDue == nil {
				if err := c.statementFigures(ctx, r, m, doc, &p); err != nil {
					return msg, err
				}
			}
			d, err := statementData(m, p, doc)
			if err != nil {
				return msg, err
			}
			d.Account, d.Document = account, file
			msg, err = c.composer.StatementReady(env, d)
			if err != nil {
				return msg, &permanentError{err}
			}
			break
		}
		// The email tells what its notice tells: the maturity date the
		// notice was made for (its period), not the lease's maturity now,
		// which an extension since may have moved.
		maturity := acct.MaturityOn
		if m, err := civil.Parse(doc.Period); err == nil {
			maturity = m
		}
		days := maturity.DaysSince(doc.DocumentDate)
		if p.DaysToMaturity != nil {
			days = *p.DaysToMaturity
		}
		msg, err = c.composer.LeaseEndNotice(env, mail.LeaseEndNotice{Account: account, Vehicle: acct.Vehicle, DaysToMaturity: days,
			MaturityDate: maturity, Document: file})
		if err != nil {
			return msg, &permanentError{err}
		}
	default:
		return msg, permanent("outbox %d: unknown kind %q: want payment_scheduled, autopay_covered, payment_returned, statement_ready or lease_end_notice", m.ID, m.Kind)
	}
	return msg, nil
}

func notFoundPermanent(err error) error {
	if errors.Is(err, ledger.ErrNotFound) {
		return &permanentError{err}
	}
	return err
}

func decodePayload(m ledger.OutboxMessage, v any) error {
	if err := json.Unmarshal(m.Payload, v); err != nil {
		return permanent("outbox %d: %s payload is not what it should be: %v", m.ID, m.Kind, err)
	}
	return nil
}

// maskAccount shows an account number as ****1234 (package mask: at most
// the last four letters or digits, never the whole number).
func maskAccount(id string) mail.Masked { return mail.Masked("****" + mask.Tail(id)) }

// payloadPayment is the payment a message's payload names.
func (c *delivery) payloadPayment(ctx context.Context, r *Run, m ledger.OutboxMessage) (ledger.MailPayment, error) {
	var p ledger.OutboxPaymentPayload
	if err := decodePayload(m, &p); err != nil {
		return ledger.MailPayment{}, err
	}
	return c.payment(ctx, r, m, p.PaymentID)
}

func (c *delivery) payment(ctx context.Context, r *Run, m ledger.OutboxMessage, id int64) (ledger.MailPayment, error) {
	if id <= 0 {
		return ledger.MailPayment{}, permanent("outbox %d: %s payload has no payment_id", m.ID, m.Kind)
	}
	p, err := r.Store.MailPayment(ctx, id)
	if err != nil {
		return p, notFoundPermanent(fmt.Errorf("outbox %d: %w", m.ID, err))
	}
	if p.AccountID != m.AccountID {
		return p, permanent("outbox %d: payment %d is of account %s, not the message's account %s", m.ID, id, p.AccountID, m.AccountID)
	}
	return p, nil
}

// returnPayload is ledger.OutboxReturnPayload read leniently: the returns
// job also writes what it knew at the time (the originated account's last
// four digits, the debit date, what happens next), which wins over the
// ledger as it is now.
type returnPayload struct {
	PaymentID      int64        `json:"payment_id"`
	Code           string       `json:"code"`
	ReturnCode     string       `json:"return_code"`
	Reason         string       `json:"reason"`
	BankLast4      string       `json:"bank_last4"`
	DebitDate      civil.Date   `json:"debit_date"`
	DueDate        civil.Date   `json:"due_date"`
	Next           string       `json:"next"`
	RetryDate      civil.Date   `json:"retry_date"`
	RetryOn        civil.Date   `json:"retry_on"`
	AutopayStopped *bool        `json:"autopay_stopped"`
	Fee            *money.Cents `json:"fee_cents"`
	FeeAlt         *money.Cents `json:"fee"`
	PayBy          civil.Date   `json:"pay_by"`
}

func (c *delivery) returned(ctx context.Context, r *Run, m ledger.OutboxMessage, acct ledger.MailAccount) (mail.PaymentReturned, error) {
	var p returnPayload
	if err := decodePayload(m, &p); err != nil {
		return mail.PaymentReturned{}, err
	}
	pay, err := c.payment(ctx, r, m, p.PaymentID)
	if err != nil {
		return mail.PaymentReturned{}, err
	}
	code := firstNonEmpty(p.Code, p.ReturnCode, pay.ReturnCode)
	if code == "" {
		return mail.PaymentReturned{}, permanent("outbox %d: payment %d has no return code in the payload or the returns table", m.ID, pay.ID)
	}
	pol, ok := ach.ReturnPolicy(code)
	if !ok {
		return mail.PaymentReturned{}, permanent("outbox %d: unknown return code %q", m.ID, code)
	}
	d := mail.PaymentReturned{Amount: pay.Amount, BankAccount: mail.Mask(firstNonEmpty(p.BankLast4, pay.BankLast4)), DebitDate: pay.DebitOn,
		Reason: firstNonEmpty(pol.Reason, p.Reason)}
	if !p.DebitDate.IsZero() {
		d.DebitDate = p.DebitDate
	}
	switch {
	case p.Fee != nil:
		d.Fee = *p.Fee
	case p.FeeAlt != nil:
		d.Fee = *p.FeeAlt
	}
	retry := p.RetryDate
	if retry.IsZero() {
		retry = p.RetryOn
	}
	if retry.IsZero() && p.Next == "" {
		retry = pay.RetryOn
	}
	stopped := pol.StopAutopay || pol.InvalidateBankAccount
	if p.AutopayStopped != nil {
		stopped = *p.AutopayStopped
	}
	switch {
	case p.Next == "retry" || (p.Next == "" && !retry.IsZero()):
		if retry.IsZero() {
			return d, permanent("outbox %d: payment_returned payload says retry but has no retry_date", m.ID)
		}
		d.Next, d.RetryDate = mail.NextRetry, retry
	case p.Next == "autopay_stopped" || (p.Next == "" && stopped):
		d.Next = mail.NextAutopayStopped
	case p.Next == "pay_yourself" || p.Next == "":
		d.Next = mail.NextPayYourself
	default:
		return d, permanent("outbox %d: payment_returned payload has next %q: want retry, autopay_stopped or pay_yourself", m.ID, p.Next)
	}
	if d.Next != mail.NextRetry {
		// Pay by: what the payload says, else the installment's due date
		// while it is ahead, else the account's next due date.
		today := civil.Of(c.now().In(c.zone))
		switch {
		case !p.PayBy.IsZero():
			d.DueDate = p.PayBy
		case p.DueDate.After(today):
			d.DueDate = p.DueDate
		default:
			d.DueDate = nextDueDate(today, acct.DueDay)
		}
	}
	return d, nil
}

// nextDueDate is the first due date (day dueDay, clamped to shorter months)
// after today.
func nextDueDate(today civil.Date, dueDay int) civil.Date {
	d := today.OnDay(dueDay)
	if !d.After(today) {
		d = today.OnDay(1).AddMonths(1).OnDay(dueDay)
	}
	return d
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

// document reads the document row an email is about and the PDF (or its
// link) to hand over.
func (c *delivery) document(ctx context.Context, r *Run, m ledger.OutboxMessage, id int64) (ledger.MailDocument, mail.Document, error) {
	var file mail.Document
	if id <= 0 {
		return ledger.MailDocument{}, file, permanent("outbox %d: %s payload has no document_id", m.ID, m.Kind)
	}
	doc, err := r.Store.MailDocument(ctx, id)
	if err != nil {
		return doc, file, notFoundPermanent(fmt.Errorf("outbox %d: %w", m.ID, err))
	}
	if doc.AccountID != m.AccountID {
		return doc, file, permanent("outbox %d: document %d is of account %s, not the message's account %s", m.ID, id, doc.AccountID, m.AccountID)
	}
	wantStatement := m.Kind == "statement_ready"
	if isStatement := doc.Kind == "statement"; isStatement != wantStatement || (!wantStatement && !strings.HasPrefix(doc.Kind, "lease_end")) {
		return doc, file, permanent("outbox %d: document %d is a %s, not what a %s email hands over", m.ID, id, doc.Kind, m.Kind)
	}
	name := "statement"
	if !wantStatement {
		name = "lease-end-notice"
	}
	file.Filename = name + "-" + fileSafe(doc.Period) + ".pdf"
	if !c.attach {
		if file.URL, err = c.docs.URL(ctx, doc.StorageKey, documentLinkTTL); err != nil {
			return doc, file, fmt.Errorf("outbox %d: link to document %d (%s): %w", m.ID, id, doc.StorageKey, err)
		}
		return doc, file, nil
	}
	data, _, err := c.docs.Get(ctx, doc.StorageKey)
	if errors.Is(err, storage.ErrNotFound) && r.DryRun && r.dryDocs.has(doc.StorageKey, doc.SHA256) {
		// Rendered by an earlier step of this dry run, which stores
		// nothing: a real run would find it stored.
		file.PDF = []byte("%PDF- (rendered by the dry run, not stored)")
		return doc, file, nil
	}
	if errors.Is(err, storage.ErrNotFound) {
		return doc, file, permanent("outbox %d: document %d's PDF is missing from storage at %s: render it again, then `drafter outbox retry %d`", m.ID, id, doc.StorageKey, m.ID)
	}
	if err != nil {
		return doc, file, fmt.Errorf("outbox %d: read document %d (%s): %w", m.ID, id, doc.StorageKey, err)
	}
	if sum := sha256.Sum256(data); doc.SHA256 != "" && hex.EncodeToString(sum[:]) != doc.SHA256 {
		return doc, file, permanent("outbox %d: document %d at %s does not match its recorded sha256: render it again, then `drafter outbox retry %d`", m.ID, id, doc.StorageKey, m.ID)
	}
	file.PDF = data
	return doc, file, nil
}

func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

// statementFigures fills a statement email's figures that its payload
// lacks (the statements job queues only the document id) by computing the
// statement of the cycle ending on the document date from the ledger, as
// the statements job did to render it: the cycle's figures depend only on
// what is dated in the cycle.
func (c *delivery) statementFigures(ctx context.Context, r *Run, m ledger.OutboxMessage, doc ledger.MailDocument, p *ledger.OutboxDocumentPayload) error {
	a, err := r.Store.DocumentAccount(ctx, doc.AccountID)
	if err != nil {
		return notFoundPermanent(fmt.Errorf("outbox %d: %w", m.ID, err))
	}
	acts, err := activityFor(ctx, r.Store, []ledger.DocumentAccount{a}, doc.DocumentDate)
	if err != nil {
		return fmt.Errorf("outbox %d: statement activity: %w", m.ID, err)
	}
	st, err := computeStatement(a, acts[a.ID], doc.DocumentDate, ScheduleFromEnv(r.Env))
	if err != nil {
		return permanent("outbox %d: compute the statement of document %d: %v", m.ID, doc.ID, err)
	}
	due, pastDue := st.AmountDue, st.PastDue
	p.AmountDue, p.DueDate, p.PeriodStart, p.PeriodEnd = &due, st.DueDate, st.CycleStart, st.CycleEnd
	p.PastDue = &pastDue
	if st.Autopay.Active && !st.Autopay.DebitOn.IsZero() {
		p.AutopayDebitDate, p.AutopayLast4 = st.Autopay.DebitOn, lastDigits(st.Autopay.MaskedAccount)
	}
	return nil
}

// lastDigits returns the last four digits of a masked number (****6789).
func lastDigits(masked string) string {
	var ds []rune
	for _, r := range masked {
		if r >= '0' && r <= '9' {
			ds = append(ds, r)
		}
	}
	if len(ds) > 4 {
		ds = ds[len(ds)-4:]
	}
	return string(ds)
}

// statementData is the statement-ready email's data from the payload, the
// period defaulting to the month that ends on the document date.
func statementData(m ledger.OutboxMessage, p ledger.OutboxDocumentPayload, doc ledger.MailDocument) (mail.StatementReady, error) {
	if p.AmountDue == nil {
		return mail.StatementReady{}, permanent("outbox %d: statement_ready payload has no amount_due_cents: the statements job must queue it (ledger.OutboxDocumentPayload)", m.ID)
	}
	d := mail.StatementReady{PeriodStart: p.PeriodStart, PeriodEnd: p.PeriodEnd, AmountDue: *p.AmountDue, DueDate: p.DueDate}
	if p.PastDue != nil {
		d.PastDue = min(*p.PastDue, d.AmountDue)
	}
	if d.PeriodEnd.IsZero() {
		d.PeriodEnd = doc.DocumentDate
	}
	if d.PeriodStart.IsZero() {
		d.PeriodStart = d.PeriodEnd.AddMonths(-1).AddDays(1)
	}
	if d.AmountDue > 0 && d.DueDate.IsZero() {
		return d, permanent("outbox %d: statement_ready payload has an amount due but no due_date", m.ID)
	}
	if !p.AutopayDebitDate.IsZero() && p.AutopayLast4 != "" {
		d.Autopay = &mail.Autopay{BankAccount: mail.Mask(p.AutopayLast4), DebitDate: p.AutopayDebitDate}
	}
	return d, nil
}
