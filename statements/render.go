package statements

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/drafterhq/drafter/money"
)

// Lender is who sends the documents: printed in the header, the footer and
// on the payment coupon.
type Lender struct {
	Name           string
	Address        []string // mailing address lines, in the return-address window
	Phone          string
	Website        string
	PaymentAddress []string // where mailed payments go, printed on the coupon
}

// Limits on what a document prints. Longer input is an error rather than a
// document that runs off the envelope window or the page.
const (
	maxNameRunes    = 300
	maxLineRunes    = 300
	maxDescRunes    = 1000
	maxLines        = 10_000
	maxMessages     = 100
	maxMessageRunes = 2000
)

// ErrTooLong is wrapped when a text field is longer than a document prints.
var ErrTooLong = errors.New("text too long for the document")

func checkLen(field, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return fmt.Errorf("%w: %s has %d characters, at most %d", ErrTooLong, field, n, limit)
	}
	return nil
}

func checkLender(l Lender) error {
	if err := checkLen("lender name", l.Name, maxNameRunes); err != nil {
		return err
	}
	for _, f := range [][]string{l.Address, l.PaymentAddress, {l.Phone, l.Website}} {
		if len(f) > 8 {
			return fmt.Errorf("%w: lender address has %d lines, at most 8", ErrTooLong, len(f))
		}
		for _, s := range f {
			if err := checkLen("lender line", s, maxLineRunes); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkCustomer(c Customer) error {
	if err := checkLen("customer name", c.Name, maxNameRunes); err != nil {
		return err
	}
	for _, s := range []string{c.Address.Line1, c.Address.Line2, c.Address.City, c.Address.State, c.Address.PostalCode} {
		if err := checkLen("address line", s, maxLineRunes); err != nil {
			return err
		}
	}
	return nil
}

func checkStatement(s Statement, l Lender) error {
	if err := checkLender(l); err != nil {
		return err
	}
	if err := checkCustomer(s.Customer); err != nil {
		return err
	}
	for field, v := range map[string]string{"account": s.AccountID, "vehicle": s.Vehicle, "autopay account": s.Autopay.MaskedAccount} {
		if err := checkLen(field, v, maxLineRunes); err != nil {
			return err
		}
	}
	if !isMasked(s.Autopay.MaskedAccount) {
		return fmt.Errorf("%w: autopay account must be masked", ErrInvalidInput)
	}
	if len(s.Lines) > maxLines {
		return fmt.Errorf("%w: %d transactions, at most %d", ErrTooLong, len(s.Lines), maxLines)
	}
	for _, ln := range s.Lines {
		if err := checkLen("transaction description", ln.Description, maxDescRunes); err != nil {
			return err
		}
	}
	if len(s.Messages) > maxMessages {
		return fmt.Errorf("%w: %d messages, at most %d", ErrTooLong, len(s.Messages), maxMessages)
	}
	for _, m := range s.Messages {
		if err := checkLen("message", m, maxMessageRunes); err != nil {
			return err
		}
	}
	return nil
}

// RenderStatement renders a statement as a US Letter PDF: the lender's
// header, the customer's address placed for a #10 window envelope, the
// account summary with the amount due and due date, the account details,
// the autopay notice and messages, the transactions (continuing on further
// pages under a repeated header), a payment coupon across the bottom of
// page 1, and "Page X of Y" with the lender's contact details on every page.
// The same statement and lender always give the same bytes.
func RenderStatement(s Statement, l Lender) (out []byte, err error) {
	defer guard(&err)
	fonts, err := loadFonts()
	if err != nil {
		return nil, fmt.Errorf("render statement: %w", err)
	}
	if err := checkStatement(s, l); err != nil {
		return nil, fmt.Errorf("render statement %s: %w", s.AccountID, err)
	}
	kind := "Loan"
	if s.Kind == KindLease {
		kind = "Lease"
	}
	r := &renderer{doc: newDoc(fonts, s.StatementDate, "Monthly statement"), lender: l,
		title: kind + " statement", account: s.AccountID}
	r.addPage()
	r.header([]string{
		"Statement date: " + dateText(s.StatementDate),
		"Account number: " + s.AccountID,
		"Statement period: " + dateText(s.CycleStart) + " - " + dateText(s.CycleEnd),
	})
	addrBottom := r.windowAddress(s.Customer)
	sumBottom := r.summaryBox(s)
	r.coupon(s)
	r.y = max(addrBottom, sumBottom) + 14
	r.bottom = couponTop - 14

	r.heading(kind+" details", 2*bodyLead)
	r.keyValues(detailPairs(s))

	r.heading("Autopay and messages", 2*bodyLead)
	r.messages(s)

	r.heading("Transactions", 15+18+bodyLead)
	r.transactions(s)

	r.footers()
	return r.output()
}

func detailPairs(s Statement) [][2]string {
	pairs := [][2]string{{"Vehicle", s.Vehicle}}
	if s.Loan != nil {
		ln := s.Loan
		pairs = append(pairs,
			[2]string{"Annual percentage rate", formatAPR(ln.APRBasisPoints)},
			amountLine("Principal balance", ln.Principal),
			[2]string{"Maturity date", dateText(ln.MaturityDate)},
			[2]string{"Payments remaining", fmt.Sprint(ln.RemainingPayments)},
		)
		if !ln.PaidOff {
			pairs = append(pairs,
				amountLine("Payoff amount", ln.Payoff),
				[2]string{"Payoff good through", dateText(ln.PayoffThrough)},
				[2]string{"Daily interest after that", ln.PerDiem.String()},
			)
		}
		pairs = append(pairs, lateFeePairs(s)...)
	}
	if s.Lease != nil {
		ls := s.Lease
		odo := "None reported"
		if ls.LatestOdometer != nil {
			odo = groupDigits(ls.LatestOdometer.Miles) + " miles on " + dateText(ls.LatestOdometer.On)
		}
		pairs = append(pairs,
			[2]string{"Monthly payment", fmt.Sprintf("%s + %s tax = %s", ls.BasePayment, ls.Tax, ls.BasePayment+ls.Tax)},
			[2]string{"Payments remaining", fmt.Sprint(ls.RemainingPayments)},
			[2]string{"Last payment due", dateText(ls.LastPaymentDue)},
			[2]string{"Lease maturity date", dateText(ls.MaturityDate)},
			[2]string{"Mileage allowance", fmt.Sprintf("%s a year, %s for the lease", groupDigits(ls.MileageAllowancePerYear), groupDigits(ls.MileageAllowanceTotal))},
			[2]string{"Latest odometer reading", odo},
		)
		pairs = append(pairs, lateFeePairs(s)...)
	}
	return pairs
}

// lateFeePairs are the late fee and the day after which it is charged.
func lateFeePairs(s Statement) [][2]string {
	if s.LateFee == 0 {
		return nil
	}
	return [][2]string{amountLine("Late fee", s.LateFee), {"Late fee if unpaid after", dateText(s.LateFeeAfter)}}
}

// summaryBox draws the account summary at the top right and returns the y
// below it.
func (r *renderer) summaryBox(s Statement) float64 {
	const pad = 8.0
	x, y, w := summaryX, max(windowY-40, r.y+8), summaryW
	inner := w - 2*pad
	top := y
	r.pdf.SetFillColor(232, 238, 246)
	r.rect(x, y, w, 18, "F")
	r.gray(0)
	r.text(x+pad, y+12.5, bold, 9.5, r.clean("Account summary"))
	y += 26
	r.text(x+pad, y+8, regular, 8.5, r.clean("Amount due"))
	amt := s.AmountDue.String()
	size := r.fit(bold, 20, 6, inner, amt)
	r.textRight(x+w-pad, y+size+10, bold, size, amt)
	y += size + 16
	dueLabel := r.clean("Payment due date")
	r.text(x+pad, y+8, regular, 8.5, dueLabel)
	due := dateText(s.DueDate)
	size = r.fit(bold, 12, 6, inner-r.fonts.width(regular, 8.5, dueLabel)-8, due)
	r.textRight(x+w-pad, y+9, bold, size, due)
	y += 16
	r.line(x+pad, y, x+w-pad, y)
	y += 4
	rows := []struct {
		label string
		c     money.Cents
		f     face
	}{
		{"Previous balance", s.PreviousBalance, regular},
		{"Payments received", -s.PaymentsReceived, regular},
		{"Returned payments", s.ReturnedPayments, regular},
		{"Fees charged", s.FeesCharged, regular},
		{"Interest charged", s.InterestCharged, regular},
		{"Adjustments", s.Adjustments, regular},
		{"New balance", s.NewBalance, bold},
		{"Past due amount", s.PastDue, bold},
	}
	for _, row := range rows {
		label := r.clean(row.label)
		lw := r.fonts.width(row.f, 8.5, label)
		amt := row.c.String()
		size := r.fit(row.f, 8.5, 5, inner-lw-6, amt)
		r.text(x+pad, y+9, row.f, 8.5, label)
		r.textRight(x+w-pad, y+9, row.f, size, amt)
		y += 12.5
	}
	y += 4
	r.pdf.SetDrawColor(120, 140, 170)
	r.rect(x, top, w, y-top, "D")
	r.pdf.SetDrawColor(0, 0, 0)
	return y
}

func (r *renderer) messages(s Statement) {
	const pad = 8.0
	autopay := s.Autopay.Message
	if autopay == "" {
		autopay = "Autopay is off."
	}
	lines := r.wrap(bold, bodySize, bodyW-2*pad, r.clean(autopay))
	h := float64(len(lines))*bodyLead + 8
	r.need(h)
	r.pdf.SetFillColor(240, 244, 236)
	r.rect(marginL, r.y, bodyW, h, "F")
	for i, l := range lines {
		r.text(marginL+pad, r.y+4+bodySize+float64(i)*bodyLead, bold, bodySize, l)
	}
	r.y += h + 6
	for _, m := range s.Messages {
		lines := r.wrap(regular, bodySize, bodyW-14, r.clean(m))
		for i, l := range lines {
			r.need(bodyLead)
			if i == 0 {
				r.text(marginL+2, r.y+bodySize, regular, bodySize, "\u2022")
			}
			r.text(marginL+14, r.y+bodySize, regular, bodySize, l)
			r.y += bodyLead
		}
		r.y += 3
	}
}

// transactions draws the table; the header repeats on every page it
// continues onto.
func (r *renderer) transactions(s Statement) {
	const dateW, amountW = 80.0, 100.0
	descW := bodyW - dateW - amountW - 12
	header := func() {
		r.pdf.SetFillColor(232, 238, 246)
		r.rect(marginL, r.y, bodyW, 15, "F")
		r.gray(0)
		r.text(marginL+4, r.y+10.5, bold, 8.5, "Date")
		r.text(marginL+dateW, r.y+10.5, bold, 8.5, "Description")
		r.textRight(pageW-marginR-4, r.y+10.5, bold, 8.5, "Amount")
		r.y += 18
	}
	r.need(15 + 18 + bodyLead)
	header()
	r.onBreak = header
	defer func() { r.onBreak = nil }()
	if len(s.Lines) == 0 {
		r.paragraph(marginL+dateW, descW, regular, bodySize, bodyLead, "No transactions this period.")
		return
	}
	for i, ln := range s.Lines {
		desc := r.wrap(regular, bodySize, descW, r.clean(ln.Description))
		for j, l := range desc {
			r.need(bodyLead)
			if j == 0 {
				r.text(marginL+4, r.y+bodySize, regular, bodySize, ln.Date.String())
				amt := ln.Amount.String()
				size := r.fit(regular, bodySize, 5, amountW-8, amt)
				r.textRight(pageW-marginR-4, r.y+bodySize, regular, size, amt)
			}
			r.text(marginL+dateW, r.y+bodySize, regular, bodySize, l)
			r.y += bodyLead
		}
		if i < len(s.Lines)-1 {
			r.pdf.SetDrawColor(215, 215, 215)
			r.line(marginL, r.y+1, pageW-marginR, r.y+1)
			r.pdf.SetDrawColor(0, 0, 0)
			r.y += 3
		}
	}
}

// coupon draws the tear-off payment coupon across the bottom of page 1.
func (r *renderer) coupon(s Statement) {
	y := couponTop
	r.pdf.SetDashPattern([]float64{4, 3}, 0)
	r.pdf.SetDrawColor(120, 120, 120)
	r.line(marginL-18, y, pageW-marginR+18, y)
	r.pdf.SetDashPattern(nil, 0)
	r.pdf.SetDrawColor(0, 0, 0)
	r.gray(90)
	note := r.clean("Detach and return this part with your payment. Make checks payable to " + r.lender.Name + ". Write your account number on your check.")
	lines := r.wrap(regular, 7, bodyW, note)
	for i, l := range lines {
		r.text(marginL, y+10+float64(i)*8.5, regular, 7, l)
	}
	y += 12 + float64(len(lines))*8.5
	r.gray(0)

	// Left: who pays, for which account.
	ly := y
	for _, l := range r.wrap(bold, 10, 260, r.clean(r.lender.Name)) {
		r.text(marginL, ly+10, bold, 10, l)
		ly += 12
	}
	r.text(marginL, ly+9, regular, 8.5, r.clean("Account number: "+s.AccountID))
	ly += 12
	for _, l := range r.wrap(regular, 8.5, 260, r.clean(s.Customer.Name)) {
		r.text(marginL, ly+9, regular, 8.5, l)
		ly += 10.5
	}

	// Right: the amounts.
	const boxX, boxW = summaryX, summaryW
	bx := boxX + 8
	by := y
	rows := [][2]string{
		{"Payment due date", dateText(s.DueDate)},
		{"Amount due", s.AmountDue.String()},
		{"Past due included", s.PastDue.String()},
	}
	if s.Autopay.Active && s.Autopay.Amount > 0 {
		rows = append(rows, [2]string{"Autopay on " + s.Autopay.DebitOn.String(), s.Autopay.Amount.String()})
	}
	for i, row := range rows {
		f := regular
		if i == 1 {
			f = bold
		}
		label := r.clean(row[0])
		lw := r.fonts.width(regular, 8.5, label)
		size := r.fit(f, 9, 5, boxW-16-lw-6, row[1])
		r.text(bx, by+12, regular, 8.5, label)
		r.textRight(boxX+boxW-8, by+12, f, size, row[1])
		by += 14
	}
	r.text(bx, by+14, regular, 8.5, r.clean("Amount enclosed"))
	r.rect(boxX+boxW-100, by+3, 92, 16, "D")
	r.text(boxX+boxW-96, by+14, regular, 8.5, "$")
	by += 24
	r.rect(boxX, y, boxW, by-y, "D")

	// The remittance address, placed for the return envelope's window.
	ry := max(ly+8, by-30, 690.0)
	r.gray(70)
	r.text(windowX, ry+7, regular, 7, r.clean("Mail payments to:"))
	r.gray(0)
	ry += 10
	pay := append([]string{r.lender.Name}, r.lender.PaymentAddress...)
	for _, a := range pay {
		for _, l := range r.wrap(regular, 9, windowW, r.clean(a)) {
			r.text(windowX, ry+9, regular, 9, l)
			ry += 11
		}
	}
}
