package mail

import (
	"bytes"
	"flag"
	"mime"
	netmail "net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Full account numbers the fixtures are built from; no email may show them.
const (
	testLoanNumber = "7700123454321"
	testBankNumber = "000123456789"
)

var testComposer = Composer{
	From:    Address{Name: "Drafter Auto Finance", Email: "statements@drafter.example"},
	ReplyTo: Address{Name: "Drafter Customer Care", Email: "care@drafter.example"},
	Company: "Drafter Auto Finance",
	Phone:   "1-800-555-0142",
	Portal:  "https://my.drafter.example",
}

// testPDF is a small PDF-like document with every byte value, so that a
// transport that mangles binary data is caught.
func testPDF(size int) []byte {
	b := []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	for i := 0; len(b) < size; i++ {
		b = append(b, byte(i*7+i/256))
	}
	return append(b[:size-6], []byte("%%EOF\n")...)
}

func testEnvelope(id, name string) Envelope {
	return Envelope{
		ID:   id,
		To:   Address{Name: name, Email: "customer@example.com"},
		Date: time.Date(2026, 11, 24, 6, 30, 0, 0, time.UTC),
	}
}

// composed is one fixture message per kind and variant, named for its
// golden file.
type composedCase struct {
	name string
	msg  func(c Composer) (Message, error)
}

func composedCases() []composedCase {
	account, bank := Mask(testLoanNumber), Mask(testBankNumber)
	doc := Document{Filename: "statement-2026-11.pdf", PDF: testPDF(2048), URL: "https://my.drafter.example/documents/statement-2026-11"}
	return []composedCase{
		{"statement_ready_autopay", func(c Composer) (Message, error) {
			return c.StatementReady(testEnvelope("outbox-1.statement@drafter.example", "Nguyễn Thị Ánh"), StatementReady{
				Account: account, PeriodStart: civil.MustParse("2026-10-28"), PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: 123456, DueDate: civil.MustParse("2026-12-22"),
				Autopay:  &Autopay{BankAccount: bank, DebitDate: civil.MustParse("2026-12-22")},
				Document: doc,
			})
		}},
		{"statement_ready_no_autopay", func(c Composer) (Message, error) {
			return c.StatementReady(testEnvelope("outbox-2.statement@drafter.example", "Zoë Ñúñez"), StatementReady{
				Account: account, PeriodStart: civil.MustParse("2026-10-28"), PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: 45678, DueDate: civil.MustParse("2026-12-22"), Document: doc,
			})
		}},
		{"statement_ready_nothing_due", func(c Composer) (Message, error) {
			return c.StatementReady(testEnvelope("outbox-3.statement@drafter.example", ""), StatementReady{
				Account: account, PeriodStart: civil.MustParse("2026-10-28"), PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: 0, DueDate: civil.MustParse("2026-12-22"), Document: doc,
			})
		}},
		{"lease_end_notice", func(c Composer) (Message, error) {
			return c.LeaseEndNotice(testEnvelope("outbox-4.lease-end-60@drafter.example", "Zoë Ñúñez"), LeaseEndNotice{
				Account: account, Vehicle: "2023 Subaru Outback", DaysToMaturity: 60, MaturityDate: civil.MustParse("2027-01-23"),
				Document: Document{Filename: "lease-end-notice-60.pdf", PDF: testPDF(4096), URL: "https://my.drafter.example/documents/lease-end-60"},
			})
		}},
		{"payment_scheduled", func(c Composer) (Message, error) {
			return c.PaymentScheduled(testEnvelope("outbox-5.payment-scheduled@drafter.example", "Nguyễn Thị Ánh"), PaymentScheduled{
				Account: account, Amount: 52317, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"),
			})
		}},
		{"payment_scheduled_changeable", func(c Composer) (Message, error) {
			return c.PaymentScheduled(testEnvelope("outbox-10.payment-scheduled@drafter.example", "Nguyễn Thị Ánh"), PaymentScheduled{
				Account: account, Amount: 52317, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"), Changeable: true,
			})
		}},
		{"payment_scheduled_reduced", func(c Composer) (Message, error) {
			return c.PaymentScheduled(testEnvelope("outbox-13.payment-scheduled@drafter.example", "Sam Lee"), PaymentScheduled{
				Account: account, Amount: 21275, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"),
				Installment: 41275, OneTime: 20000, DueDate: civil.MustParse("2026-11-27"),
			})
		}},
		{"autopay_covered", func(c Composer) (Message, error) {
			return c.AutopayCovered(testEnvelope("outbox-14.autopay-covered@drafter.example", "Sam Lee"), AutopayCovered{
				Account: account, Installment: 41275, DueDate: civil.MustParse("2026-11-27"),
			})
		}},
		{"statement_ready_past_due", func(c Composer) (Message, error) {
			return c.StatementReady(testEnvelope("outbox-11.statement@drafter.example", "Sam Lee"), StatementReady{
				Account: account, PeriodStart: civil.MustParse("2026-10-28"), PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: 174780, PastDue: 87390, DueDate: civil.MustParse("2026-12-22"), Document: doc,
			})
		}},
		{"lease_end_notice_today", func(c Composer) (Message, error) {
			return c.LeaseEndNotice(testEnvelope("outbox-12.lease-end-30@drafter.example", "Sam Lee"), LeaseEndNotice{
				Account: account, Vehicle: "2023 Subaru Outback", DaysToMaturity: 0, MaturityDate: civil.MustParse("2026-12-02"),
				Document: Document{Filename: "lease-end-notice-30.pdf", PDF: testPDF(4096), URL: "https://my.drafter.example/documents/lease-end-30"},
			})
		}},
		{"payment_returned_retry", func(c Composer) (Message, error) {
			return c.PaymentReturned(testEnvelope("outbox-6.payment-returned@drafter.example", "Nguyễn Thị Ánh"), PaymentReturned{
				Account: account, Amount: 52317, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"),
				Reason: "there was not enough money in the account", Next: NextRetry, RetryDate: civil.MustParse("2026-12-04"),
				Fee: 2500,
			})
		}},
		{"payment_returned_autopay_stopped", func(c Composer) (Message, error) {
			return c.PaymentReturned(testEnvelope("outbox-7.payment-returned@drafter.example", "Zoë Ñúñez"), PaymentReturned{
				Account: account, Amount: 52317, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"),
				Reason: "the bank account is closed", Next: NextAutopayStopped, DueDate: civil.MustParse("2026-12-11"),
			})
		}},
		{"payment_returned_pay_yourself", func(c Composer) (Message, error) {
			return c.PaymentReturned(testEnvelope("outbox-8.payment-returned@drafter.example", "Sam Lee"), PaymentReturned{
				Account: account, Amount: 1234567, BankAccount: bank, DebitDate: civil.MustParse("2026-11-27"),
				Reason: "there was not enough money in the account", Next: NextPayYourself, DueDate: civil.MustParse("2026-12-11"),
			})
		}},
	}
}

func TestComposeGolden(t *testing.T) {
	for _, delivery := range []struct {
		name string
		d    DocumentDelivery
	}{{"", AttachPDF}, {"_link", LinkToPDF}} {
		c := testComposer
		c.Documents = delivery.d
		for _, tc := range composedCases() {
			name := tc.name + delivery.name
			if delivery.d == LinkToPDF && !strings.HasPrefix(tc.name, "statement_ready_autopay") && !strings.HasPrefix(tc.name, "lease_end") {
				continue
			}
			t.Run(name, func(t *testing.T) {
				m, err := tc.msg(c)
				if err != nil {
					t.Fatal(err)
				}
				golden(t, name+".txt", "Subject: "+m.Subject+"\n\n"+m.Text)
				golden(t, name+".html", m.HTML)
				switch {
				case delivery.d == LinkToPDF && len(m.Attachments) != 0:
					t.Errorf("linked document also attached")
				case delivery.d == LinkToPDF && !strings.Contains(m.Text, "https://my.drafter.example/documents/"):
					t.Errorf("linked document: no link in the text")
				case delivery.d == AttachPDF && strings.HasPrefix(tc.name, "statement") && (len(m.Attachments) != 1 || m.Attachments[0].ContentType != "application/pdf"):
					t.Errorf("attachments = %d, want the PDF", len(m.Attachments))
				}
			})
		}
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./mail -run TestComposeGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (rerun with -update and review the diff):\n%s", path, got)
	}
}

// TestComposeNeverShowsAccountNumbers renders every message and checks that
// no full account number, and no run of five or more digits at all, appears
// in a subject or body: amounts carry separators ($12,345.67) and dates are
// written out, so a long digit run can only be a leaked number.
func TestComposeNeverShowsAccountNumbers(t *testing.T) {
	longDigits := regexp.MustCompile(`[0-9]{5,}`)
	for _, d := range []DocumentDelivery{AttachPDF, LinkToPDF} {
		c := testComposer
		c.Documents = d
		for _, tc := range composedCases() {
			m, err := tc.msg(c)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			for part, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
				for _, n := range []string{testLoanNumber, testBankNumber, testLoanNumber[:9], testBankNumber[3:]} {
					if strings.Contains(s, n) {
						t.Errorf("%s %s shows account number %s", tc.name, part, n)
					}
				}
				if run := longDigits.FindString(s); run != "" {
					t.Errorf("%s %s has a run of digits %q", tc.name, part, run)
				}
			}
		}
	}
}

func TestComposeRejectsUnmaskedNumbers(t *testing.T) {
	env := testEnvelope("outbox-9.x@drafter.example", "A")
	for _, bad := range []Masked{Masked(testLoanNumber), "", "****", "***1234", "****12345", Masked("1234****")} {
		_, err := testComposer.PaymentScheduled(env, PaymentScheduled{
			Account: Mask(testLoanNumber), Amount: 100, BankAccount: bad, DebitDate: civil.MustParse("2026-11-27"),
		})
		if err == nil {
			t.Errorf("bank account %q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), testLoanNumber) {
			t.Errorf("error shows the number: %v", err)
		}
		if !IsPermanent(err) {
			t.Errorf("unmasked number: want a permanent error, got %v", err)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]Masked{
		"000123456789": "****6789",
		" 6789 ":       "****6789",
		"12":           "****12",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLongDate(t *testing.T) {
	if got := longDate(civil.MustParse("2026-11-27")); got != "November 27, 2026" {
		t.Errorf("longDate = %q", got)
	}
	if got := days(1) + "/" + days(30); got != "1 day/30 days" {
		t.Errorf("days = %q", got)
	}
}

func TestComposeMissingDocument(t *testing.T) {
	env := testEnvelope("outbox-10.x@drafter.example", "A")
	data := StatementReady{Account: "****4321", AmountDue: 100, DueDate: civil.MustParse("2026-12-01"),
		Document: Document{Filename: "s.pdf", URL: "https://x.example/s"}}
	if _, err := testComposer.StatementReady(env, data); err == nil {
		t.Error("attach without a PDF: no error")
	}
	link := testComposer
	link.Documents = LinkToPDF
	data.Document = Document{Filename: "s.pdf", PDF: []byte("%PDF")}
	if _, err := link.StatementReady(env, data); err == nil {
		t.Error("link without a URL: no error")
	}
}

// FuzzComposeNames composes every kind with arbitrary names and company
// names: composing never panics, and the written message parses back with
// the same subject and recipient name, valid UTF-8 and on one line.
func FuzzComposeNames(f *testing.F) {
	for _, s := range []string{"Nguyễn Thị Ánh", "Zoë Ñúñez", "", "a\r\nBcc: evil@example.com", "=?utf-8?q?x?=", "\"quoted\" <x@y>", "\xff\xfe", "漢字 テスト", strings.Repeat("é", 200)} {
		f.Add(s, "Drafter Crédit Auto")
	}
	dec := new(mime.WordDecoder)
	f.Fuzz(func(t *testing.T, name, company string) {
		c := testComposer
		c.Company = company
		for _, tc := range composedCases() {
			m, err := tc.msg(c)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			m.To.Name = name
			if !utf8.ValidString(m.Subject) || strings.ContainsAny(m.Subject, "\r\n") {
				t.Fatalf("%s: subject %q not one line of UTF-8", tc.name, m.Subject)
			}
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				if strings.TrimSpace(m.Subject) == "" {
					continue // an all-blank company and nothing else: refused, not sent
				}
				t.Fatalf("%s: write: %v", tc.name, err)
			}
			parsed, err := netmail.ReadMessage(&buf)
			if err != nil {
				t.Fatalf("%s: written message does not parse: %v", tc.name, err)
			}
			subject, err := dec.DecodeHeader(parsed.Header.Get("Subject"))
			if err != nil || subject != headerText(m.Subject) {
				t.Fatalf("%s: subject round trip: got %q (%v), want %q", tc.name, subject, err, headerText(m.Subject))
			}
			if got := parsed.Header.Get("Message-Id"); got != "<"+m.ID+">" {
				t.Fatalf("%s: Message-ID %q", tc.name, got)
			}
			if len(parsed.Header["Bcc"]) != 0 {
				t.Fatalf("%s: a name injected a Bcc header", tc.name)
			}
			to, err := parsed.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != m.To.Email || to[0].Name != headerText(name) {
				t.Fatalf("%s: To round trip: %v %v, want %q", tc.name, to, err, headerText(name))
			}
		}
	})
}

// TestComposeWordingFollowsState: each email says only what is true when
// it is sent: the days left on a lease ("today", "1 day"), a debit that can
// no longer be changed as what will happen, a past-due account as past due
// with the amount and what to do.
func TestComposeWordingFollowsState(t *testing.T) {
	account, bank := Mask(testLoanNumber), Mask(testBankNumber)
	env := testEnvelope("outbox-20.x@drafter.example", "Sam Lee")
	notice := func(days int) func() (Message, error) {
		return func() (Message, error) {
			return testComposer.LeaseEndNotice(env, LeaseEndNotice{Account: account, DaysToMaturity: days, MaturityDate: civil.MustParse("2026-12-02"),
				Document: Document{Filename: "n.pdf", PDF: testPDF(1024)}})
		}
	}
	scheduled := func(changeable bool) func() (Message, error) {
		return func() (Message, error) {
			return testComposer.PaymentScheduled(env, PaymentScheduled{Account: account, Amount: 52317, BankAccount: bank,
				DebitDate: civil.MustParse("2026-12-03"), Changeable: changeable})
		}
	}
	statement := func(due, pastDue int64) func() (Message, error) {
		return func() (Message, error) {
			return testComposer.StatementReady(env, StatementReady{Account: account, PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: money.Cents(due), PastDue: money.Cents(pastDue), DueDate: civil.MustParse("2026-12-22"),
				Document: Document{Filename: "s.pdf", PDF: testPDF(1024)}})
		}
	}
	tests := []struct {
		name      string
		msg       func() (Message, error)
		want      []string
		forbidden []string
	}{
		{"lease 30 days", notice(30), []string{"your lease ends in 30 days, on December 2, 2026", "To arrange an inspection"}, []string{"today"}},
		{"lease 1 day", notice(1), []string{"your lease ends in 1 day, on December 2, 2026", "no longer time for a pre-return inspection"}, []string{"1 days", "To arrange an inspection"}},
		{"lease today", notice(0), []string{"your lease ends today, December 2, 2026", "return the vehicle to a\ndealer today"}, []string{"in 0 days", "inspection"}},
		{"lease ended", notice(-2), []string{"your lease ended on December 2, 2026", "return it to a dealer now"}, []string{"in -2", "ends in", "inspection"}},
		{"debit already in the file", scheduled(false), []string{"we will debit $523.17 on December 3, 2026", "We will debit $523.17 from your bank account ****6789", "can no longer be changed"},
			[]string{"scheduled", "change or cancel", "To change"}},
		{"debit still scheduled", scheduled(true), []string{"payment of $523.17 scheduled for December 3, 2026", "To change or cancel this payment before the debit date"}, []string{"can no longer"}},
		{"statement past due", statement(174780, 87390), []string{"$873.90 is past due", "Past due:   $873.90", "Your account is past due: $873.90", "pay the past-due amount now", "Amount due: $1,747.80"}, nil},
		{"statement current", statement(87390, 0), []string{"Amount due: $873.90"}, []string{"past due", "Past due"}},
		{"statement past due with autopay", func() (Message, error) {
			return testComposer.StatementReady(env, StatementReady{Account: account, PeriodEnd: civil.MustParse("2026-11-27"),
				AmountDue: 174780, PastDue: 87390, DueDate: civil.MustParse("2026-12-22"),
				Autopay:  &Autopay{BankAccount: bank, DebitDate: civil.MustParse("2026-12-22")},
				Document: Document{Filename: "s.pdf", PDF: testPDF(1024)}})
		}, []string{"Your account is past due: $873.90", "The autopay debit below includes it", "we will debit $1,747.80"}, []string{"Please pay the past-due amount now"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.msg()
			if err != nil {
				t.Fatal(err)
			}
			text := "Subject: " + m.Subject + "\n\n" + m.Text
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("message does not say %q:\n%s", w, text)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(text, f) || strings.Contains(m.HTML, f) {
					t.Errorf("message says %q:\n%s", f, text)
				}
			}
		})
	}
	if _, err := statement(100, 200)(); err == nil {
		t.Error("a past-due amount above the amount due was composed")
	}
}
