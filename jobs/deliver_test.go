package jobs_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/statements"
	"github.com/drafterhq/drafter/storage"
)

// deliverDate is the business date of the delivery tests: the night of the
// holiday-week origination.
var deliverDate = civil.MustParse("2026-11-25")

// clock is a test clock the deliver job reads; tests move it forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC().Add(time.Minute).Truncate(time.Second)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// leaseAccount is a lease maturing in 90 days from deliverDate's notice.
func leaseAccount() portfolio.Account {
	d := civil.MustParse
	return portfolio.Account{
		ID: "LS-9", Kind: "lease", Status: "active",
		Customer: portfolio.Customer{ID: "C-LS-9", FirstName: "José", LastName: "Muñoz Søren", Email: "ls-9@example.com",
			Address: portfolio.Address{Line1: "9 Bolsa Ave", City: "Westminster", State: "CA", PostalCode: "92683"}},
		Contract: portfolio.Contract{State: "CA", OpenedOn: d("2024-02-23"), TermMonths: 36, MonthlyPayment: 38900, MonthlyTax: 2918,
			FirstDueDate: d("2024-03-23"), DueDay: 23, CycleDay: 10, MaturityDate: d("2027-02-23"), LateFee: 3000, GraceDays: 10,
			CapitalizedCost: 3500000, MoneyFactorMillionths: 1250, ResidualValue: 1845000,
			MileageAllowancePerYear: 12000, ExcessMileageRate: 25, PurchaseOptionFee: 35000, DispositionFee: 39500,
			Vehicle: portfolio.Vehicle{VIN: "2T3P1RFV8PW123456", Year: 2023, Make: "Toyota", Model: "RAV4"}},
		Balance: portfolio.Balance{AsOf: d("2026-11-01"), Principal: 2000000, PaymentsMade: 32},
		BankAccounts: []portfolio.BankAccount{{ID: "B-LS-9", Routing: "011000015", AccountNumber: "44445555", Type: "checking",
			HolderName: "José Muñoz", Prenote: "verified", Status: "active"}},
	}
}

// deliverFixture is a ledger with every kind of message due: a real
// origination, whose payment_scheduled rows the deliver run queues, a
// payment_returned row as
// the returns job writes it, and a statement and a lease-end notice stored
// and recorded with their emails.
type deliverFixture struct {
	env       *jobs.Env
	clock     *clock
	payments  map[string]int64 // account -> payment id, from origination
	statement []byte
	notice    []byte
	queued    int
}

func newDeliverFixture(t *testing.T, dialect string, settings map[string]string) *deliverFixture {
	t.Helper()
	ctx := context.Background()
	env := testEnv(t, dialect, settings)
	importAccounts(t, env.Store, append(holidayWeek(), leaseAccount()))
	if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: deliverDate, Trigger: "operator"}); err != nil {
		t.Fatal(err)
	}
	f := &deliverFixture{env: env, clock: newClock(), payments: map[string]int64{}}
	// The night's debits, by their originations records: their rows
	// read scheduled until the deliver run settles the file.
	rows, err := env.Store.DB().QueryContext(ctx, `SELECT p.account_id, p.id FROM payments p JOIN originations o ON o.payment_id = p.id
		WHERE p.kind = 'debit'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var acct string
		var id int64
		if err := rows.Scan(&acct, &id); err != nil {
			t.Fatal(err)
		}
		f.payments[acct] = id
	}
	rows.Close()
	if len(f.payments) != 3 {
		t.Fatalf("originated payments %v, want LN-1, LN-2 and LN-3", f.payments)
	}

	// The returns job's row for LN-1's payment: R01, presented again on
	// December 3, with a fee.
	ret := fmt.Sprintf(`{"payment_id":%d,"account_id":"LN-1","code":"R01","reason":"x","amount_cents":41275,"debit_date":"2026-11-27",`+
		`"due_date":"2026-11-27","bank_last4":"4567","next":"retry","retry_date":"2026-12-03","autopay_stopped":false,"fee_cents":2500}`, f.payments["LN-1"])
	f.queue(t, ledger.NewOutboxMessage{Topic: fmt.Sprintf("payment:%d:returned", f.payments["LN-1"]), Recipient: "ln-1@example.com",
		Kind: "payment_returned", AccountID: "LN-1", Payload: jsonRaw(ret)})

	lender := statements.Lender{Name: "Drafter Auto Finance", Address: []string{"PO Box 1000", "Wilmington, DE 19899"}, Phone: "1-800-555-0100"}
	st, err := statements.ComputeStatement(statements.StatementInput{
		AccountID: "LN-2", Customer: statements.Customer{Name: "Trần Đức Thắng", Address: statements.Address{Line1: "12 Elm St", City: "Dover", State: "DE", PostalCode: "19901"}},
		Terms: statements.Terms{Kind: statements.KindLoan, Vehicle: "2025 Ford F-150", TermMonths: 60, FirstDueDate: civil.MustParse("2025-02-28"), DueDay: 29,
			MonthlyPayment: 41275, MaturityDate: civil.MustParse("2030-01-29"), LateFee: 3500, GraceDays: 10, APRBasisPoints: 649},
		CycleStart: civil.MustParse("2026-10-26"), CycleEnd: civil.MustParse("2026-11-25"), PreviousBalance: 1500000,
		Record:  statements.Record{Balance: 1500000, Principal: 1500000},
		Autopay: statements.AutopayDebit{Active: true, MaskedAccount: "****4321"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.statement, err = statements.RenderStatement(st, lender); err != nil {
		t.Fatal(err)
	}
	due := st.AmountDue
	f.document(t, "LN-2", "statement", "2026-11", "statements/LN-2/2026-11.pdf", f.statement, "statement_ready",
		&ledger.OutboxDocumentPayload{PeriodStart: civil.MustParse("2026-10-26"), PeriodEnd: civil.MustParse("2026-11-25"), AmountDue: &due,
			DueDate: st.DueDate, AutopayDebitDate: st.DueDate, AutopayLast4: "4321"})

	n, err := statements.ComputeLeaseEnd(statements.LeaseEndInput{AccountID: "LS-9",
		Customer: statements.Customer{Name: "José Muñoz Søren", Address: statements.Address{Line1: "9 Bolsa Ave", City: "Westminster", State: "CA", PostalCode: "92683"}},
		Vehicle:  "2023 Toyota RAV4", VIN: "2T3P1RFV5PW123456", NoticeDate: civil.MustParse("2026-11-25"), Threshold: 90,
		OpenedOn: civil.MustParse("2024-02-23"), TermMonths: 36, MaturityDate: civil.MustParse("2027-02-23"), ResidualValue: 1845000,
		PurchaseOptionFee: 35000, DispositionFee: 39500, ExcessMileageRate: 25, MileageAllowancePerYear: 12000})
	if err != nil {
		t.Fatal(err)
	}
	if f.notice, err = statements.RenderLeaseEnd(n, lender); err != nil {
		t.Fatal(err)
	}
	// The lease-end job queues only the document id: the rest comes from
	// the ledger.
	f.document(t, "LS-9", "lease_end_90", "2027-02-23", "notices/LS-9/lease-end-90d.pdf", f.notice, "lease_end_notice", nil)

	// Origination leaves the three "payment scheduled" emails to the
	// deliver job, which queues them from the originations records first.
	counts, err := env.Store.OutboxCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.queued = counts[ledger.OutboxQueued]
	if f.queued != 3 {
		t.Fatalf("queued %v, want 3 messages before deliver queues the payment emails", counts)
	}
	return f
}

type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

func (f *deliverFixture) queue(t *testing.T, m ledger.NewOutboxMessage) {
	t.Helper()
	if n, err := f.env.Store.QueueOutbox(context.Background(), []ledger.NewOutboxMessage{m}); err != nil || n != 1 {
		t.Fatalf("queue %s: %d, %v", m.Topic, n, err)
	}
}

// document stores a PDF, records it as the documents job does and queues
// its email (payload: the document id, plus extra when given).
func (f *deliverFixture) document(t *testing.T, account, kind, period, key string, pdf []byte, mailKind string, extra *ledger.OutboxDocumentPayload) {
	t.Helper()
	ctx := context.Background()
	if _, err := f.env.Docs.Put(ctx, key, pdf, storage.PutOptions{ContentType: "application/pdf"}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(pdf)
	var id int64
	if err := f.env.Store.DB().QueryRowContext(ctx, `INSERT INTO documents (account_id, kind, period, document_date, storage_key, sha256, size, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, account, kind, period, deliverDate, key, hex.EncodeToString(sum[:]), len(pdf), time.Now().UTC()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	var payload any = map[string]int64{"document_id": id}
	if extra != nil {
		extra.DocumentID = id
		payload = extra
	}
	f.queue(t, ledger.NewOutboxMessage{Topic: fmt.Sprintf("document:%d", id), Recipient: strings.ToLower(account) + "@example.com",
		Kind: mailKind, AccountID: account, Payload: payload})
}

var deliverRuns sync.Map

// deliver runs the deliver job once on its own business date (runs are
// identified by date; the outbox is driven by the clock).
func (f *deliverFixture) deliver(t *testing.T, d jobs.Deliver) (jobs.Result, *jobs.DeliverSummary) {
	t.Helper()
	res, sum, err := f.deliverErr(t, d)
	if err != nil {
		t.Fatal(err)
	}
	return res, sum
}

// deliverErr runs deliver for the next date and returns the run's error.
func (f *deliverFixture) deliverErr(t *testing.T, d jobs.Deliver) (jobs.Result, *jobs.DeliverSummary, error) {
	t.Helper()
	if d.Now == nil {
		d.Now = f.clock.Now
	}
	n, _ := deliverRuns.LoadOrStore(t.Name(), new(int))
	date := deliverDate.AddDays(*n.(*int))
	*n.(*int)++
	res, err := f.env.Start(context.Background(), d, jobs.StartSpec{Date: date, Trigger: "operator"})
	if res.Run.ID == 0 {
		t.Fatal(err)
	}
	sum, _ := res.Summary.(*jobs.DeliverSummary)
	if sum == nil {
		sum = &jobs.DeliverSummary{}
	}
	return res, sum, err
}

func (f *deliverFixture) outbox(t *testing.T) []ledger.OutboxMessage {
	t.Helper()
	ms, err := f.env.Store.ListOutbox(context.Background(), ledger.OutboxFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestDeliverEachKindThroughSMTP delivers the four kinds from a real
// origination and recorded documents to mailpit, and reads each back
// through mailpit's API: recipient, subject, both alternatives, the PDF
// byte for byte, the Message-ID the outbox row holds, and no full account
// number anywhere.
func TestDeliverEachKindThroughSMTP(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			mp := testenv.Mailpit(t)
			f := newDeliverFixture(t, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
			res, sum := f.deliver(t, jobs.Deliver{})
			if res.Run.Status != ledger.RunSucceeded || sum.Sent != 6 || sum.SentByKind["payment_scheduled"] != 3 || sum.Failed != 0 {
				t.Fatalf("run %s, summary %+v", res.Run.Status, sum)
			}
			byMID := map[string]testenv.MailpitSummary{}
			for _, m := range mp.WaitMessages(t, 6) {
				byMID[m.MessageID] = m
			}
			if len(byMID) != 6 {
				t.Fatalf("mailpit holds %d distinct messages, want 6", len(byMID))
			}
			for _, row := range f.outbox(t) {
				if row.Status != ledger.OutboxSent || row.SentAt == nil || row.Attempts != 1 || row.MessageID == "" {
					t.Fatalf("row after delivery: %+v", row)
				}
				s, ok := byMID[row.MessageID]
				if !ok {
					t.Fatalf("row %d (%s) not in mailpit under Message-ID %s", row.ID, row.Kind, row.MessageID)
				}
				got := mp.Message(t, s.ID)
				if len(got.To) != 1 || got.To[0].Address != row.Recipient {
					t.Errorf("%s: To %+v, want %s", row.Kind, got.To, row.Recipient)
				}
				if got.From == nil || got.From.Address != "statements@drafter.example" || len(got.ReplyTo) != 1 || got.ReplyTo[0].Address != "service@drafter.example" {
					t.Errorf("%s: From %+v Reply-To %+v", row.Kind, got.From, got.ReplyTo)
				}
				if got.Text == "" || !strings.Contains(got.HTML, "<") {
					t.Errorf("%s: text %d bytes, HTML %q", row.Kind, len(got.Text), got.HTML)
				}
				for _, full := range []string{"1234567", "7654321", "5550001", "44445555"} {
					if strings.Contains(got.Text, full) || strings.Contains(got.HTML, full) || strings.Contains(got.Subject, full) {
						t.Errorf("%s: a full bank account number %s is in the message", row.Kind, full)
					}
				}
				checkKind(t, mp, f, row, got)
			}
			// Delivering again sends nothing: every row is sent.
			if _, again := f.deliver(t, jobs.Deliver{}); again.Claimed != 0 || len(mp.Messages(t)) != 6 {
				t.Fatalf("second run claimed %d; mailpit holds %d", again.Claimed, len(mp.Messages(t)))
			}
		})
	}
}

func checkKind(t *testing.T, mp *testenv.MailpitServer, f *deliverFixture, row ledger.OutboxMessage, got testenv.MailpitMessage) {
	t.Helper()
	want := map[string][]string{
		// Originate queues it with the debit already in the file.
		"payment_scheduled": {"we will debit", "We will debit", "can no longer be changed", "****"},
		"payment_returned":  {"$412.75", "not enough money", "December 3, 2026", "$25.00", "****4567"},
		"statement_ready":   {"statement", "October 26, 2026", "November 25, 2026", "****4321"},
		"lease_end_notice":  {"2023 Toyota RAV4", "90 days", "February 23, 2027"},
	}[row.Kind]
	for _, w := range want {
		if !strings.Contains(got.Subject+"\n"+got.Text, w) {
			t.Errorf("%s: %q missing from subject %q and text:\n%s", row.Kind, w, got.Subject, got.Text)
		}
	}
	if row.Kind == "payment_scheduled" && strings.Contains(got.Text+got.HTML, "change or cancel") {
		t.Errorf("%s: offers to change a debit already originated:\n%s", row.Kind, got.Text)
	}
	var pdf []byte
	switch row.Kind {
	case "statement_ready":
		pdf = f.statement
	case "lease_end_notice":
		pdf = f.notice
	}
	if pdf == nil {
		if len(got.Attachments) != 0 {
			t.Errorf("%s: %d attachments, want none", row.Kind, len(got.Attachments))
		}
		return
	}
	if len(got.Attachments) != 1 {
		t.Fatalf("%s: %d attachments, want the PDF", row.Kind, len(got.Attachments))
	}
	a := got.Attachments[0]
	if data := mp.Attachment(t, got.ID, a.PartID); string(data) != string(pdf) || a.ContentType != "application/pdf" || !strings.HasSuffix(a.FileName, ".pdf") {
		t.Errorf("%s: attachment %s %s %d bytes differs from the stored PDF (%d bytes)", row.Kind, a.FileName, a.ContentType, len(data), len(pdf))
	}
}

// TestDeliverLinksDocuments sends a download link instead of the PDF when
// DRAFTER_MAIL_ATTACH_PDF is false, which needs documents in S3 (config
// refuses links into file storage): the link is a presigned S3 URL.
func TestDeliverLinksDocuments(t *testing.T) {
	mp := testenv.Mailpit(t)
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_ATTACH_PDF": "false",
		"DRAFTER_STORAGE_URL": testenv.S3(t)})
	if _, sum := f.deliver(t, jobs.Deliver{}); sum.Sent != 6 {
		t.Fatalf("summary %+v", sum)
	}
	for _, s := range mp.WaitMessages(t, 6) {
		m := mp.Message(t, s.ID)
		if len(m.Attachments) != 0 {
			t.Errorf("%s: attachments %+v, want a link", m.Subject, m.Attachments)
		}
		if strings.Contains(m.Subject, "statement") && !strings.Contains(m.Text, "2026-11.pdf") {
			t.Errorf("statement email has no link to the PDF:\n%s", m.Text)
		}
		if strings.Contains(m.Text+m.HTML, "file:") {
			t.Errorf("%s: links to a file on the server:\n%s", m.Subject, m.Text)
		}
	}
}

// TestDeliverRetriesWhileServerDown stops the server: the run probes it
// before claiming anything and fails with the cause, every message stays
// queued untried, and the night's files are settled and their "payment
// scheduled" emails queued all the same; a plain resume with the server
// back sends everything, once.
func TestDeliverRetriesWhileServerDown(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			mp := testenv.Mailpit(t)
			f := newDeliverFixture(t, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
			mp.Stop(t)
			if files, err := f.env.Store.UnsettledFiles(context.Background()); err != nil || len(files) == 0 {
				t.Fatalf("after originate: %d files unsettled (%v), want the night's", len(files), err)
			}
			res, _, err := f.deliverErr(t, jobs.Deliver{Batch: 2})
			var dep *jobs.DependencyError
			if !errors.As(err, &dep) || dep.Dependency != jobs.DepMail || res.Run.Status != ledger.RunFailed || !strings.Contains(res.Run.Error, "mail server") {
				t.Fatalf("run with the server down: %s %q, err %v", res.Run.Status, res.Run.Error, err)
			}
			// Settling needs the database alone: the mail server down
			// holds back the emails, not the night's payment rows.
			if files, err := f.env.Store.UnsettledFiles(context.Background()); err != nil || len(files) != 0 {
				t.Fatalf("after the run with the mail server down: %d files unsettled (%v), want none", len(files), err)
			}
			// So is queueing the night's "payment scheduled" emails: they
			// wait in the outbox, ahead of any "returned" email a return
			// during the outage queues.
			scheduled := 0
			for _, row := range f.outbox(t) {
				if row.Status != ledger.OutboxQueued || row.Attempts != 0 {
					t.Fatalf("row %d is %s after %d attempts with the server down, want queued and untried", row.ID, row.Status, row.Attempts)
				}
				if row.Kind == "payment_scheduled" {
					scheduled++
				}
			}
			if scheduled != len(f.payments) {
				t.Fatalf("with the server down: %d \"payment scheduled\" emails queued, want one for each of the %d debits", scheduled, len(f.payments))
			}
			// The failed run's summary says what it did before it stopped.
			if s, ok := res.Summary.(*jobs.DeliverSummary); !ok || s.FilesSettled == 0 || s.PaymentEmailsQueued != scheduled || s.Sent != 0 {
				t.Fatalf("the failed run's summary: %#v, want the files settled and the %d emails queued, none sent", res.Summary, scheduled)
			}

			mp.Start(t)
			again, err := f.env.Resume(context.Background(), jobs.Deliver{Now: f.clock.Now}, res.Run.ID, "ana", time.Hour)
			if err != nil || again.Run.Status != ledger.RunSucceeded || again.Summary.(*jobs.DeliverSummary).Sent != 6 {
				t.Fatalf("resume with the server back: %+v, %v", again, err)
			}
			for _, row := range f.outbox(t) {
				if row.Status != ledger.OutboxSent {
					t.Errorf("row %d is %s", row.ID, row.Status)
				}
			}
			if n := len(mp.WaitMessages(t, 6)); n != 6 {
				t.Fatalf("mailpit holds %d messages, want 6", n)
			}
		})
	}
}

// TestDeliverStopsOnTemporaryFailures has the server take connections but
// answer 451 to every recipient: after DRAFTER_MAX_CONSECUTIVE_FAILURES
// temporary failures in a row the run stops claiming and is failed with the
// cause; the messages tried wait for their retry, the rest untried.
func TestDeliverStopsOnTemporaryFailures(t *testing.T) {
	mp := testenv.MailpitWith(t, testenv.MailpitConfig{ChaosTriggers: "Recipient:451:100"})
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_CONNECTIONS": "1",
		"DRAFTER_MAX_CONSECUTIVE_FAILURES": "3"})
	t0 := f.clock.Now()
	res, sum, err := f.deliverErr(t, jobs.Deliver{Batch: 2})
	var dep *jobs.DependencyError
	if !errors.As(err, &dep) || dep.Failures != 3 || res.Run.Status != ledger.RunFailed || sum.Sent != 0 || sum.Retrying != 3 || sum.Stopped == "" {
		t.Fatalf("run against a refusing server: %s %+v, err %v", res.Run.Status, sum, err)
	}
	var waiting, untried int
	for _, row := range f.outbox(t) {
		if row.Status != ledger.OutboxQueued {
			t.Fatalf("row %d is %s, want queued", row.ID, row.Status)
		}
		switch row.Attempts {
		case 1:
			waiting++
			// 1 minute +-20%.
			if d := row.NextAttemptAt.Sub(t0); d < 48*time.Second || d > 72*time.Second || !strings.Contains(row.LastError, "451") {
				t.Errorf("row %d: next attempt in %s, error %q", row.ID, d, row.LastError)
			}
		case 0:
			untried++
		default:
			t.Errorf("row %d: %d attempts", row.ID, row.Attempts)
		}
	}
	if waiting != 3 || untried != 3 {
		t.Fatalf("%d waiting for a retry, %d untried; want 3 and 3", waiting, untried)
	}
}

// TestDeliverGivesUpAfterMaxAttempts fails a message that keeps failing
// for now once it has used its attempts.
func TestDeliverGivesUpAfterMaxAttempts(t *testing.T) {
	mp := testenv.MailpitWith(t, testenv.MailpitConfig{ChaosTriggers: "Recipient:451:100"})
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_MAX_ATTEMPTS": "2",
		"DRAFTER_MAX_CONSECUTIVE_FAILURES": "100"})
	for i := range 2 {
		res, _, err := f.deliverErr(t, jobs.Deliver{})
		// The second run gives up on every message: none could be done.
		if i == 1 && (!errors.Is(err, jobs.ErrNothingDone) || res.Run.Status != ledger.RunFailed) {
			t.Fatalf("run giving up on every message: %s, %v; want failed", res.Run.Status, err)
		}
		f.clock.Add(time.Hour)
	}
	failed := 0
	for _, row := range f.outbox(t) {
		if row.Status == ledger.OutboxFailed {
			failed++
			if row.Attempts != 2 || !strings.Contains(row.LastError, "gave up after 2 attempts") {
				t.Errorf("failed row %+v", row)
			}
		}
	}
	if failed != 6 {
		t.Fatalf("%d failed, want the 6 messages tried twice", failed)
	}
}

// TestDeliverPermanentFailure has the server refuse every recipient but
// one with 550: those messages fail at once, with the server's answer, and
// the run ends partial with them as failed items.
func TestDeliverPermanentFailure(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			mp := testenv.MailpitWith(t, testenv.MailpitConfig{AllowedRecipients: `^ln-1@example\.com$`})
			f := newDeliverFixture(t, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
			res, sum := f.deliver(t, jobs.Deliver{})
			if res.Run.Status != ledger.RunPartial || sum.Sent != 2 || sum.Failed != 4 || sum.Retrying != 0 {
				t.Fatalf("run %s summary %+v", res.Run.Status, sum)
			}
			failed, err := f.env.Store.ListOutbox(context.Background(), ledger.OutboxFilter{Status: ledger.OutboxFailed})
			if err != nil || len(failed) != 4 {
				t.Fatalf("failed rows %d, %v", len(failed), err)
			}
			for _, row := range failed {
				if row.Recipient == "ln-1@example.com" || row.Attempts != 1 || !strings.Contains(row.LastError, "550") {
					t.Errorf("failed row %+v", row)
				}
			}
			items, err := f.env.Store.RunItems(context.Background(), res.Run.ID)
			if err != nil || len(items) != 4 {
				t.Fatalf("failed items %+v, %v", items, err)
			}
			// Failed is final: a later run does not try them.
			f.clock.Add(24 * time.Hour)
			if _, sum := f.deliver(t, jobs.Deliver{}); sum.Claimed != 0 {
				t.Fatalf("a later run claimed %d", sum.Claimed)
			}
		})
	}
}

// TestDeliverBadRows fails what cannot be composed, with an error that
// says what is wrong: an unknown kind, a payment that does not exist, a
// statement payload without its amount.
func TestDeliverBadRows(t *testing.T) {
	mp := testenv.Mailpit(t)
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
	f.queue(t, ledger.NewOutboxMessage{Topic: "x:1", Recipient: "ln-1@example.com", Kind: "birthday_card", AccountID: "LN-1", Payload: map[string]int{}})
	f.queue(t, ledger.NewOutboxMessage{Topic: "payment:999999:scheduled", Recipient: "ln-1@example.com", Kind: "payment_scheduled", AccountID: "LN-1",
		Payload: ledger.OutboxPaymentPayload{PaymentID: 999999}})
	f.queue(t, ledger.NewOutboxMessage{Topic: "document:999999", Recipient: "ln-3@example.com", Kind: "statement_ready", AccountID: "LN-3",
		Payload: ledger.OutboxDocumentPayload{DocumentID: 999999}})
	res, sum := f.deliver(t, jobs.Deliver{})
	if res.Run.Status != ledger.RunPartial || sum.Sent != 6 || sum.Failed != 3 {
		t.Fatalf("run %s summary %+v", res.Run.Status, sum)
	}
	want := map[string]string{"x:1": `unknown kind "birthday_card"`, "payment:999999:scheduled": "payment 999999: not found"}
	for _, row := range f.outbox(t) {
		if row.Status != ledger.OutboxFailed {
			continue
		}
		w, ok := want[row.Topic]
		if !ok {
			w = "document 999999: not found"
		}
		if !strings.Contains(row.LastError, w) {
			t.Errorf("row %s failed with %q, want %q", row.Topic, row.LastError, w)
		}
	}
}

// TestDeliverDryRun reports what would be sent and sends and writes
// nothing.
func TestDeliverDryRun(t *testing.T) {
	mp := testenv.Mailpit(t)
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
	res, err := f.env.Start(context.Background(), jobs.Deliver{Now: f.clock.Now}, jobs.StartSpec{Date: deliverDate, DryRun: true, Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary.(*jobs.DeliverSummary)
	if sum.WouldSend != 6 || sum.Sent != 0 || len(sum.DryRunPreview) != 6 || sum.DryRunPreview[0].Subject == "" {
		t.Fatalf("dry run summary %+v", sum)
	}
	for _, row := range f.outbox(t) {
		if row.Status != ledger.OutboxQueued || row.Attempts != 0 || row.MessageID != "" {
			t.Fatalf("dry run changed row %+v", row)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(mp.Messages(t)); n != 0 {
		t.Fatalf("dry run sent %d messages", n)
	}
}

// TestDeliverTakesOverAfterLease: a deliverer that died holding messages
// (claimed, maybe sent, never marked) leaves them sending; after the lease
// they are sent with the Message-ID they were claimed with.
func TestDeliverTakesOverAfterLease(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			mp := testenv.Mailpit(t)
			f := newDeliverFixture(t, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
			dead, err := f.env.Store.ClaimOutbox(context.Background(), ledger.OutboxClaim{Now: f.clock.Now(), Lease: 5 * time.Minute, Limit: 2,
				IDDomain: "drafter.example", IDToken: "dead"})
			if err != nil || len(dead) != 2 {
				t.Fatal(len(dead), err)
			}
			if _, sum := f.deliver(t, jobs.Deliver{}); sum.Sent != 4 {
				t.Fatalf("within the lease: %+v, want the 4 others sent", sum)
			}
			f.clock.Add(5 * time.Minute)
			if _, sum := f.deliver(t, jobs.Deliver{}); sum.Sent != 2 {
				t.Fatalf("after the lease: %+v", sum)
			}
			ids := map[string]bool{}
			for _, s := range mp.WaitMessages(t, 6) {
				ids[s.MessageID] = true
			}
			for _, m := range dead {
				if !ids[m.MessageID] {
					t.Errorf("taken-over message %d not sent as %s", m.ID, m.MessageID)
				}
			}
		})
	}
}

// TestDeliverConcurrentDeliverers runs two deliverers at once over four
// connections each on PostgreSQL: every message is sent exactly once.
func TestDeliverConcurrentDeliverers(t *testing.T) {
	mp := testenv.Mailpit(t)
	f := newDeliverFixture(t, "postgres", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_CONNECTIONS": "4"})
	var more []ledger.NewOutboxMessage
	for i := range 60 {
		more = append(more, ledger.NewOutboxMessage{Topic: fmt.Sprintf("payment:%d:scheduled:copy%d", f.payments["LN-2"], i), Recipient: "ln-2@example.com",
			Kind: "payment_scheduled", AccountID: "LN-2", Payload: ledger.OutboxPaymentPayload{PaymentID: f.payments["LN-2"]}})
	}
	if _, err := f.env.Store.QueueOutbox(context.Background(), more); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	sums := make([]*jobs.DeliverSummary, 2)
	for i := range 2 {
		wg.Go(func() {
			res, err := f.env.Start(context.Background(), jobs.Deliver{Now: f.clock.Now, Batch: 5},
				jobs.StartSpec{Date: deliverDate, Scope: fmt.Sprintf("worker:%d", i), Trigger: "operator"})
			if err != nil {
				t.Error(err)
				return
			}
			sums[i] = res.Summary.(*jobs.DeliverSummary)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if total := sums[0].Sent + sums[1].Sent; total != 66 {
		t.Fatalf("sent %d + %d, want 66", sums[0].Sent, sums[1].Sent)
	}
	seen := map[string]int{}
	for _, s := range mp.WaitMessages(t, 66) {
		seen[s.MessageID]++
	}
	if len(seen) != 66 {
		t.Fatalf("mailpit holds %d distinct messages, want 66", len(seen))
	}
}

// TestDeliverRateCap checks the cap's lower bound: n messages at r per
// second take at least (n-1)/r seconds.
func TestDeliverRateCap(t *testing.T) {
	mp := testenv.Mailpit(t)
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_RATE": "10", "DRAFTER_MAIL_CONNECTIONS": "4"})
	start := time.Now()
	_, sum := f.deliver(t, jobs.Deliver{})
	took := time.Since(start)
	if sum.Sent != 6 {
		t.Fatalf("summary %+v", sum)
	}
	if min := 500 * time.Millisecond; took < min {
		t.Fatalf("6 messages at 10/s took %s, want at least %s", took, min)
	}
}

// TestDeliverPickupFolder delivers into the embedded default's pickup
// folder: one <Message-ID>.eml per message.
func TestDeliverPickupFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	f := newDeliverFixture(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": "pickup://" + dir})
	if _, sum := f.deliver(t, jobs.Deliver{}); sum.Sent != 6 {
		t.Fatalf("summary %+v", sum)
	}
	for _, row := range f.outbox(t) {
		b, err := os.ReadFile(filepath.Join(dir, row.MessageID+".eml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Message-ID: <"+row.MessageID+">") || !strings.Contains(string(b), "To: ") {
			t.Errorf("%s: file does not carry its Message-ID:\n%.400s", row.Kind, b)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 6 {
		t.Fatalf("%d files in the pickup folder, want 6", len(files))
	}
}

func TestMailBackoff(t *testing.T) {
	for _, tc := range []struct {
		attempt int
		jitter  float64
		want    time.Duration
	}{
		{1, 0, time.Minute},
		{2, 0, 2 * time.Minute},
		{3, 0, 4 * time.Minute},
		{1, 1, 72 * time.Second},
		{1, -1, 48 * time.Second},
		{9, 0, 256 * time.Minute},
		{10, 0, 6 * time.Hour},
		{60, 0, 6 * time.Hour},
		{10, 1, 6*time.Hour + 72*time.Minute},
	} {
		if got := jobs.MailBackoff(tc.attempt, tc.jitter); got != tc.want {
			t.Errorf("MailBackoff(%d, %v) = %s, want %s", tc.attempt, tc.jitter, got, tc.want)
		}
	}
}

// TestDeliverDocumentsJobsEmails delivers the emails the statements and
// lease-end jobs queue (the document id alone): the statement's figures are
// computed from the ledger as the job computed them, so the amount due in
// the email is the one printed in the attached PDF.
func TestDeliverDocumentsJobsEmails(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			mp := testenv.Mailpit(t)
			env := testEnv(t, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
			loans := holidayWeek()
			for i := range loans {
				// The servicing system's balance on the cycle dates around
				// the statement date: without them the statements are held.
				b := &loans[i].Balance
				b.AsOf = civil.MustParse("2026-12-05")
				b.History = []portfolio.BalancePoint{{On: civil.MustParse("2026-11-05"), Balance: b.Principal, Principal: b.Principal},
					{On: civil.MustParse("2026-12-05"), Balance: b.Principal, Principal: b.Principal}}
			}
			importAccounts(t, env.Store, append(loans, leaseAccount()))
			for _, run := range []struct {
				job  jobs.Job
				date string
			}{{jobs.LeaseEnd{}, "2026-11-25"}, {jobs.Statements{}, "2026-12-05"}} {
				if _, err := env.Start(ctx, run.job, jobs.StartSpec{Date: civil.MustParse(run.date), Trigger: "operator"}); err != nil {
					t.Fatal(err)
				}
			}
			queued, err := env.Store.ListOutbox(ctx, ledger.OutboxFilter{})
			if err != nil || len(queued) < 2 {
				t.Fatalf("documents jobs queued %d emails, %v", len(queued), err)
			}
			res, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: civil.MustParse("2026-12-05"), Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.DeliverSummary)
			if sum.Sent != len(queued) || sum.SentByKind["lease_end_notice"] != 1 || sum.SentByKind["statement_ready"] != len(queued)-1 {
				t.Fatalf("run %s %+v for %d queued", res.Run.Status, sum, len(queued))
			}
			compared := 0
			for _, s := range mp.WaitMessages(t, len(queued)) {
				m := mp.Message(t, s.ID)
				if len(m.Attachments) != 1 {
					t.Fatalf("%s: %d attachments", m.Subject, len(m.Attachments))
				}
				pdf := mp.Attachment(t, m.ID, m.Attachments[0].PartID)
				if !strings.Contains(m.Subject, "statement") {
					continue
				}
				_, after, ok := strings.Cut(m.Text, "Amount due: ")
				if !ok {
					continue // nothing due this month
				}
				amount, _, _ := strings.Cut(after, "\n")
				if text := pdfText(t, pdf); text != "" {
					compared++
					if !strings.Contains(text, strings.TrimSpace(amount)) {
						t.Errorf("%s: the email says %s is due; the PDF does not:\n%s", m.Subject, amount, text)
					}
				}
			}
			if _, err := exec.LookPath("pdftotext"); err == nil && compared == 0 {
				t.Error("no statement email with an amount due was compared with its PDF")
			}
		})
	}
}

// pdfText is the text pdftotext sees, or "" without pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		return ""
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestDeliverPastDueStatementEmail: the statement email of a past-due
// account says it is past due, with the statement's own past-due amount
// and what to do; every statement email's past-due amount (none said:
// $0.00) is the one its PDF prints.
func TestDeliverPastDueStatementEmail(t *testing.T) {
	needPDFToText(t)
	ctx := context.Background()
	mp := testenv.Mailpit(t)
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL()})
	accts := holidayWeek()
	accts[0].Balance.PastDue = 41275
	for i := range accts {
		// The servicing system's balance on the cycle dates around the
		// statement date: without them the statements are held.
		b := &accts[i].Balance
		b.AsOf = civil.MustParse("2026-12-05")
		b.History = []portfolio.BalancePoint{{On: civil.MustParse("2026-11-05"), Balance: b.Principal, Principal: b.Principal, PastDue: b.PastDue},
			{On: civil.MustParse("2026-12-05"), Balance: b.Principal, Principal: b.Principal, PastDue: b.PastDue}}
	}
	pastDueEmail := accts[0].Customer.Email
	importAccounts(t, env.Store, accts)
	d := civil.MustParse("2026-12-05")
	if _, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "operator"}); err != nil {
		t.Fatal(err)
	}
	res, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: d, Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if sum := res.Summary.(*jobs.DeliverSummary); sum.SentByKind["statement_ready"] == 0 {
		t.Fatalf("no statement email sent: %+v", sum)
	}
	pdfPastDue := regexp.MustCompile(`Past due amount +(\S+)`)
	seen := false
	for _, s := range mp.Messages(t) {
		m := mp.Message(t, s.ID)
		if !strings.Contains(m.Subject, "statement") || len(m.To) != 1 || len(m.Attachments) != 1 {
			continue
		}
		said := "$0.00"
		if _, after, ok := strings.Cut(m.Text, "Your account is past due: "); ok {
			said, _, _ = strings.Cut(after, " ")
			if !strings.Contains(m.Text, "log in at") || !strings.Contains(m.Subject, said+" is past due") {
				t.Errorf("%s: the email says past due without the amount in its subject or what to do:\nSubject: %s\n%s", m.To[0].Address, m.Subject, m.Text)
			}
		}
		if m.To[0].Address == pastDueEmail {
			seen = true
			if said == "$0.00" {
				t.Errorf("past-due account's email does not say so:\nSubject: %s\n%s", m.Subject, m.Text)
			}
		}
		got := pdfPastDue.FindStringSubmatch(pdfText(t, mp.Attachment(t, m.ID, m.Attachments[0].PartID)))
		if got == nil || got[1] != said {
			t.Errorf("%s: the email says %s past due; the statement %v", m.To[0].Address, said, got)
		}
	}
	if !seen {
		t.Fatal("no statement email for the past-due account")
	}
}

// TestDeliverQueuesPaymentEmailsOnce: origination queues no email (an
// outbox row a payment was a third of its time before the bank's cutoff);
// the deliver run queues each debit's "payment scheduled" email from the
// originations records of the files settled since, and sends it, once:
// another run queues and sends nothing more.
func TestDeliverQueuesPaymentEmailsOnce(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "outbox")
			f := newDeliverFixture(t, dialect, map[string]string{"DRAFTER_MAIL_URL": "pickup://" + dir})
			_, sum := f.deliver(t, jobs.Deliver{})
			if sum.PaymentEmailsQueued != len(f.payments) || sum.SentByKind["payment_scheduled"] != len(f.payments) || sum.Sent != 6 {
				t.Fatalf("first deliver: %+v, want the %d payment emails queued and sent with the 3 others", sum, len(f.payments))
			}
			_, sum = f.deliver(t, jobs.Deliver{})
			if sum.PaymentEmailsQueued != 0 || sum.Sent != 0 {
				t.Fatalf("second deliver: %+v, want nothing queued or sent", sum)
			}
			ctx := context.Background()
			var unqueued int
			if err := f.env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM ach_files WHERE emails_queued_at IS NULL`).Scan(&unqueued); err != nil || unqueued != 0 {
				t.Fatalf("%d files without their emails queued (%v), want none", unqueued, err)
			}
			files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			if len(files) != 6 {
				t.Fatalf("%d files in the pickup folder, want 6", len(files))
			}
		})
	}
}

// TestDeliverSettlesStoredFiles: origination writes each payment's
// originations record and stores the night's files, leaving the payment
// rows unsettled (scheduled, in no file); the deliver run, every few
// minutes, settles every stored file, so that the rows show the file,
// trace and dates of their records, and the next run finds none left.
func TestDeliverSettlesStoredFiles(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			// One entry a file: the night makes several.
			env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "1",
				"DRAFTER_MAIL_URL": "pickup://" + filepath.Join(t.TempDir(), "outbox")})
			importAccounts(t, env.Store, holidayWeek())
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: deliverDate, Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			orig := res.Summary.(*jobs.OriginateSummary)
			if len(orig.Files) < 2 || orig.Entries != len(orig.Files) {
				t.Fatalf("originate: %d files of %d entries, want several of one entry each", len(orig.Files), orig.Entries)
			}
			db := env.Store.DB()
			count := func(q string) int {
				t.Helper()
				var n int
				if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatalf("%v\n%s", err, q)
				}
				return n
			}
			const unsettled = `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE p.state = 'scheduled' AND p.ach_file_id IS NULL AND p.trace_number IS NULL AND p.originated_on IS NULL`
			// Every entry has its record; no row shows it yet.
			if records, rows := count(`SELECT COUNT(*) FROM originations`), count(unsettled); records != orig.Entries || rows != orig.Entries {
				t.Fatalf("after originate: %d originations records, %d of their rows unsettled; want %d and %d", records, rows, orig.Entries, orig.Entries)
			}
			if files, err := env.Store.UnsettledFiles(ctx); err != nil || len(files) != len(orig.Files) {
				t.Fatalf("after originate: %d files unsettled (%v), want the night's %d", len(files), err, len(orig.Files))
			}

			deliver := func(d civil.Date) *jobs.DeliverSummary {
				t.Helper()
				res, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: d, Trigger: "schedule"})
				if err != nil {
					t.Fatal(err)
				}
				return res.Summary.(*jobs.DeliverSummary)
			}
			if sum := deliver(deliverDate); sum.FilesSettled != len(orig.Files) {
				t.Fatalf("deliver settled %d files, want the night's %d", sum.FilesSettled, len(orig.Files))
			}
			mismatched := count(`SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE p.state <> 'originated' OR p.ach_file_id IS NULL OR p.ach_file_id <> o.ach_file_id
					OR p.trace_number IS NULL OR p.trace_number <> o.trace_number OR p.originated_on IS NULL OR p.originated_on <> o.business_date
					OR p.effective_on IS NULL OR p.effective_on <> o.effective_on OR p.transaction_code <> o.transaction_code`)
			if mismatched != 0 || count(unsettled) != 0 {
				t.Fatalf("after deliver: %d of %d payments differ from their originations records, %d unsettled; want none", mismatched, orig.Entries, count(unsettled))
			}
			if files, err := env.Store.UnsettledFiles(ctx); err != nil || len(files) != 0 {
				t.Fatalf("after deliver: %d files unsettled (%v), want none", len(files), err)
			}

			if sum := deliver(deliverDate.AddDays(1)); sum.FilesSettled != 0 {
				t.Fatalf("second deliver settled %d files, want none: the first settled them all", sum.FilesSettled)
			}
		})
	}
}
