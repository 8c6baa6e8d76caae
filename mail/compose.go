package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/mask"
	"github.com/drafterhq/drafter/money"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var (
	funcs = map[string]any{
		"date":     longDate,
		"days":     days,
		"endsIn":   endsIn,
		"positive": func(c money.Cents) bool { return c > 0 },
		"pair":     func(a, b any) []any { return []any{a, b} },
	}
	textTemplates = texttemplate.Must(texttemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt.tmpl"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html.tmpl"))
)

// longDate formats d the way US customers read dates: November 27, 2026.
func longDate(d civil.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.In(time.UTC).Format("January 2, 2006")
}

// days says n days in words: "1 day", "30 days".
func days(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// endsIn says when a lease ends, for the days left: "ends in 30 days",
// "ends in 1 day", "ends today", "ended on December 2, 2026".
func endsIn(n int, maturity civil.Date) string {
	switch {
	case n == 0:
		return "ends today, " + longDate(maturity)
	case n < 0:
		return "ended on " + longDate(maturity)
	}
	return "ends in " + days(n) + ", on " + longDate(maturity)
}

// Masked is an account or bank account number with all but its last four
// characters hidden, as ****6789. Message data carries only Masked values,
// so a full account number cannot reach an email; composers reject a
// Masked value that is not in that form.
type Masked string

var maskedForm = regexp.MustCompile(`^\*{4}[0-9A-Za-z]{1,4}$`)

// Mask shows the stored tail of a number (at most its last four
// characters, fewer for a short number, see package mask): "****6789".
func Mask(last4 string) Masked { return Masked(mask.Stored(last4)) }

func (m Masked) valid() bool { return maskedForm.MatchString(string(m)) }

// DocumentDelivery says how a composer hands over a statement or notice.
type DocumentDelivery int

const (
	// AttachPDF attaches the document's PDF to the email.
	AttachPDF DocumentDelivery = iota
	// LinkToPDF puts a download link in the email instead.
	LinkToPDF
)

// Document is a rendered PDF and where the customer can download it; a
// composer uses one or the other, as the Composer's Documents says.
type Document struct {
	Filename string // statement-2026-11.pdf
	PDF      []byte
	URL      string // https://portal.example.com/documents/...
}

// Composer renders the customer messages from typed data. Its fields are
// configuration shared by every message.
type Composer struct {
	From    Address // the sender customers see, e.g. Drafter Auto Finance <statements@...>
	ReplyTo Address // where replies go, e.g. customer service
	Company string  // the lender's name in subjects and signatures
	Phone   string  // customer service phone number, as printed
	Portal  string  // customer portal URL, for "log in to pay"
	// Documents chooses attaching PDFs or linking to them.
	Documents DocumentDelivery
}

// Envelope is what makes one message unique: its Message-ID (stable,
// derived from the outbox row), the recipient and the date it carries.
type Envelope struct {
	ID   string
	To   Address
	Date time.Time
}

// StatementReady is the data of the "your statement is ready" email.
type StatementReady struct {
	Account     Masked
	PeriodStart civil.Date
	PeriodEnd   civil.Date
	AmountDue   money.Cents
	DueDate     civil.Date
	// PastDue is the part of AmountDue that was due before this statement:
	// when positive, the email says the account is past due and what to do.
	PastDue money.Cents
	// Autopay, when set, is the scheduled debit that will pay AmountDue.
	Autopay  *Autopay
	Document Document
}

// Autopay is a scheduled automatic payment: the bank account debited and
// the date.
type Autopay struct {
	BankAccount Masked
	DebitDate   civil.Date
}

// LeaseEndNotice is the data of the lease-end notice email, sent 90, 60 and
// 30 days before maturity, or later when a lease reaches them late.
type LeaseEndNotice struct {
	Account Masked
	Vehicle string // 2023 Subaru Outback, optional
	// DaysToMaturity is the days left: the wording follows it ("ends
	// today" at 0, "ended on" after the maturity date).
	DaysToMaturity int
	MaturityDate   civil.Date
	Document       Document
}

// PaymentScheduled is the data of the "we will debit your account" email.
type PaymentScheduled struct {
	Account     Masked
	Amount      money.Cents
	BankAccount Masked
	DebitDate   civil.Date
	// Changeable says the customer can still change or cancel the debit
	// (it is not yet in a file for the bank); only then does the email
	// offer it. A debit already originated is told as what will happen.
	Changeable bool
	// Installment, when set, is the autopay installment this debit is
	// what is left of, after the customer's one-time payments (OneTime)
	// for the same installment due on DueDate.
	Installment money.Cents
	OneTime     money.Cents
	DueDate     civil.Date
}

// AutopayCovered is the email that tells a customer autopay will not debit
// an installment their one-time payments pay in full.
type AutopayCovered struct {
	Account     Masked
	Installment money.Cents
	DueDate     civil.Date
}

// ReturnNext is what happens after a returned payment.
type ReturnNext int

const (
	// NextRetry: the payment is presented again on RetryDate.
	NextRetry ReturnNext = iota + 1
	// NextAutopayStopped: autopay is stopped; the customer must pay and
	// update the bank account to restart it.
	NextAutopayStopped
	// NextPayYourself: no retry; the customer must make the payment.
	NextPayYourself
)

// String names the step: retry, autopay-stopped, pay-yourself.
func (n ReturnNext) String() string {
	switch n {
	case NextRetry:
		return "retry"
	case NextAutopayStopped:
		return "autopay-stopped"
	case NextPayYourself:
		return "pay-yourself"
	}
	return fmt.Sprintf("ReturnNext(%d)", int(n))
}

// PaymentReturned is the data of the "your payment was returned" email.
type PaymentReturned struct {
	Account     Masked
	Amount      money.Cents
	BankAccount Masked
	DebitDate   civil.Date
	// Reason says in plain words why the bank returned the payment, e.g.
	// "there was not enough money in the account".
	Reason    string
	Next      ReturnNext
	RetryDate civil.Date  // with NextRetry
	DueDate   civil.Date  // with NextAutopayStopped and NextPayYourself: pay by
	Fee       money.Cents // a returned-payment fee charged, 0 for none
}

// view is what the templates see: the data plus the configuration.
type view struct {
	Name string // the greeting name, may be empty
	C    Composer
	D    any
	// Link is the document download URL when the document is linked.
	Link string
}

// StatementReady composes the statement-ready email.
func (c Composer) StatementReady(env Envelope, d StatementReady) (Message, error) {
	if err := checkMasked(d.Account); err != nil {
		return Message{}, err
	}
	if d.Autopay != nil {
		if err := checkMasked(d.Autopay.BankAccount); err != nil {
			return Message{}, err
		}
	}
	if d.PastDue < 0 || d.PastDue > d.AmountDue {
		return Message{}, fmt.Errorf("compose statement_ready: past due %s: want 0 to the amount due %s", d.PastDue, d.AmountDue)
	}
	subject := fmt.Sprintf("%s: your statement for account %s is ready", c.Company, d.Account)
	if d.PastDue > 0 {
		subject = fmt.Sprintf("%s: your statement for account %s is ready; %s is past due", c.Company, d.Account, d.PastDue)
	}
	return c.compose("statement_ready", env, subject, d, d.Document)
}

// LeaseEndNotice composes the lease-end notice email.
func (c Composer) LeaseEndNotice(env Envelope, d LeaseEndNotice) (Message, error) {
	if err := checkMasked(d.Account); err != nil {
		return Message{}, err
	}
	if d.MaturityDate.IsZero() {
		return Message{}, errors.New("compose lease_end_notice: needs the maturity date")
	}
	subject := fmt.Sprintf("%s: your lease %s", c.Company, endsIn(d.DaysToMaturity, d.MaturityDate))
	return c.compose("lease_end_notice", env, subject, d, d.Document)
}

// AutopayCovered composes the email that says autopay skips an installment
// the customer's one-time payment covers.
func (c Composer) AutopayCovered(env Envelope, d AutopayCovered) (Message, error) {
	if err := checkMasked(d.Account); err != nil {
		return Message{}, err
	}
	subject := fmt.Sprintf("%s: no autopay debit for your payment due %s", c.Company, longDate(d.DueDate))
	return c.compose("autopay_covered", env, subject, d, Document{})
}

// PaymentScheduled composes the payment-scheduled email.
func (c Composer) PaymentScheduled(env Envelope, d PaymentScheduled) (Message, error) {
	if err := checkMasked(d.Account, d.BankAccount); err != nil {
		return Message{}, err
	}
	subject := fmt.Sprintf("%s: we will debit %s on %s", c.Company, d.Amount, longDate(d.DebitDate))
	if d.Changeable {
		subject = fmt.Sprintf("%s: payment of %s scheduled for %s", c.Company, d.Amount, longDate(d.DebitDate))
	}
	return c.compose("payment_scheduled", env, subject, d, Document{})
}

// PaymentReturned composes the payment-returned email.
func (c Composer) PaymentReturned(env Envelope, d PaymentReturned) (Message, error) {
	if err := checkMasked(d.Account, d.BankAccount); err != nil {
		return Message{}, err
	}
	switch d.Next {
	case NextRetry:
		if d.RetryDate.IsZero() {
			return Message{}, errors.New("compose payment_returned: NextRetry needs a retry date")
		}
	case NextAutopayStopped, NextPayYourself:
		if d.DueDate.IsZero() {
			return Message{}, errors.New("compose payment_returned: needs the date to pay by")
		}
	default:
		return Message{}, fmt.Errorf("compose payment_returned: unknown next step %d", d.Next)
	}
	if strings.TrimSpace(d.Reason) == "" {
		return Message{}, errors.New("compose payment_returned: needs the return reason")
	}
	subject := fmt.Sprintf("%s: your payment of %s was returned", c.Company, d.Amount)
	return c.compose("payment_returned", env, subject, d, Document{})
}

func checkMasked(ms ...Masked) error {
	for _, m := range ms {
		if !m.valid() {
			// Never echo the value: it may be a full account number.
			return fmt.Errorf("%w: an account number is not masked as ****1234", ErrInvalidMessage)
		}
	}
	return nil
}

func (c Composer) compose(name string, env Envelope, subject string, data any, doc Document) (Message, error) {
	v := view{Name: headerText(env.To.Name), C: c, D: data}
	var attachments []Attachment
	if doc.Filename != "" || doc.PDF != nil || doc.URL != "" {
		switch c.Documents {
		case AttachPDF:
			if len(doc.PDF) == 0 || doc.Filename == "" {
				return Message{}, fmt.Errorf("compose %s: documents are attached but the PDF or its file name is missing", name)
			}
			attachments = []Attachment{{Filename: doc.Filename, ContentType: "application/pdf", Data: doc.PDF}}
		case LinkToPDF:
			if doc.URL == "" {
				return Message{}, fmt.Errorf("compose %s: documents are linked but the URL is missing", name)
			}
			v.Link = doc.URL
		}
	} else if name == "statement_ready" || name == "lease_end_notice" {
		return Message{}, fmt.Errorf("compose %s: no document", name)
	}
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("compose %s text: %w", name, err)
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html.tmpl", v); err != nil {
		return Message{}, fmt.Errorf("compose %s html: %w", name, err)
	}
	return Message{
		ID:          env.ID,
		From:        c.From,
		ReplyTo:     c.ReplyTo,
		To:          env.To,
		Subject:     headerText(subject),
		Text:        text.String(),
		HTML:        html.String(),
		Attachments: attachments,
		Date:        env.Date,
	}, nil
}
