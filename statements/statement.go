package statements

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Kinds of account.
const (
	KindLoan  = "loan"
	KindLease = "lease"
)

// TxKind is the kind of a posted transaction.
type TxKind string

// Transaction kinds, as the servicing system posts them.
const (
	TxPayment            TxKind = "payment"
	TxReturnedPayment    TxKind = "returned_payment"
	TxLateFee            TxKind = "late_fee"
	TxReturnedPaymentFee TxKind = "returned_payment_fee"
	TxInterest           TxKind = "interest"
	TxAdjustment         TxKind = "adjustment"
)

// Address is a US mailing address.
type Address struct {
	Line1, Line2, City, State, PostalCode string
}

// Lines returns the address as printed on an envelope.
func (a Address) Lines() []string {
	var out []string
	for _, l := range []string{a.Line1, a.Line2} {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	last := strings.TrimSpace(strings.TrimSpace(a.City+", "+a.State) + " " + a.PostalCode)
	if last != "," && last != "" {
		out = append(out, strings.TrimPrefix(last, ", "))
	}
	return out
}

// Customer is the borrower or lessee the statement is addressed to.
type Customer struct {
	Name    string
	Address Address
}

// Terms are the contract terms a statement needs. Loan-only and lease-only
// fields are zero for the other kind.
type Terms struct {
	Kind           string      // KindLoan or KindLease
	Vehicle        string      // "2024 Honda Civic", printed as is
	TermMonths     int         // number of monthly payments
	FirstDueDate   civil.Date  // due date of the first payment
	DueDay         int         // 1..31; clamped to the end of shorter months
	MonthlyPayment money.Cents // loan installment; lease base payment before tax
	MonthlyTax     money.Cents // lease: tax on each payment
	MaturityDate   civil.Date
	LateFee        money.Cents // assessed once per missed due date after the grace period
	GraceDays      int

	APRBasisPoints int // loans: 649 = 6.49%

	MileageAllowancePerYear int // leases
	StartOdometer           int // leases: odometer at delivery
}

// Opening is the account's position at the start of the cycle.
type Opening struct {
	Principal       money.Cents // loans: principal balance
	AccruedInterest money.Cents // loans: interest accrued and unpaid
	FeesDue         money.Cents // loans: fees charged and unpaid
}

// Transaction is a ledger line posted in the cycle. Amount is positive and
// Kind says the direction, except for adjustments, whose sign does: a
// negative adjustment is a credit.
type Transaction struct {
	PostedOn    civil.Date
	Kind        TxKind
	Amount      money.Cents
	Description string
}

// Autopay is the customer's autopay enrollment as of the statement date.
type Autopay struct {
	Active        bool
	MaskedAccount string      // ****6789; never the full number
	DaysBeforeDue int         // the debit is drafted this many days before the due date
	Amount        money.Cents // fixed debit amount; zero debits the amount due
}

// OdometerReading is a reported mileage.
type OdometerReading struct {
	On    civil.Date
	Miles int
}

// StatementInput is everything one statement is computed from.
type StatementInput struct {
	AccountID  string
	Customer   Customer
	Terms      Terms
	CycleStart civil.Date // first day of the cycle
	CycleEnd   civil.Date // last day of the cycle; the statement date
	Opening    Opening
	// PriorDueDate and PriorAmountDue are the due date and amount due of the
	// previous statement (zero for the first). Payments in this cycle go
	// toward it first; what is unpaid after PriorDueDate is past due.
	PriorDueDate   civil.Date
	PriorAmountDue money.Cents
	Transactions   []Transaction
	Autopay        Autopay
	Odometer       []OdometerReading // leases
	// NOCAccount, when set, is the masked bank account a notification of
	// change updated in this cycle; the statement tells the customer.
	NOCAccount string
}

// Line is one row of the statement's transactions table. Amount is signed:
// negative lowers what the customer owes.
type Line struct {
	Date        civil.Date
	Kind        TxKind
	Description string
	Amount      money.Cents
}

// LoanDetails are the loan-only figures of a statement.
type LoanDetails struct {
	APRBasisPoints  int
	Principal       money.Cents // at cycle end
	AccruedInterest money.Cents // unpaid at cycle end
	InterestDays    int
	PrincipalPaid   money.Cents
	InterestPaid    money.Cents
	FeesPaid        money.Cents
	PaidOff         bool
}

// LeaseDetails are the lease-only figures of a statement.
type LeaseDetails struct {
	BasePayment             money.Cents
	Tax                     money.Cents
	RemainingPayments       int // due dates from the statement's due date to the last one
	LastPaymentDue          civil.Date
	MaturityDate            civil.Date
	MileageAllowancePerYear int
	MileageAllowanceTotal   int
	LatestOdometer          *OdometerReading
}

// AutopayNotice says what autopay will debit, or that it is off.
type AutopayNotice struct {
	Active        bool
	DebitOn       civil.Date
	Amount        money.Cents
	MaskedAccount string
	Message       string // what the statement says about autopay
}

// Statement is a computed monthly statement, ready to render.
type Statement struct {
	AccountID     string
	Kind          string
	Customer      Customer
	Vehicle       string
	StatementDate civil.Date
	CycleStart    civil.Date
	CycleEnd      civil.Date

	PreviousBalance  money.Cents
	PaymentsReceived money.Cents // positive total of payments
	ReturnedPayments money.Cents // positive total of returned payments
	FeesCharged      money.Cents
	InterestCharged  money.Cents
	Adjustments      money.Cents // signed
	NewBalance       money.Cents // negative is a credit balance

	PastDue            money.Cents
	FeesDue            money.Cents // unpaid fees included in AmountDue
	CurrentInstallment money.Cents // the payment due on DueDate
	AmountDue          money.Cents
	DueDate            civil.Date

	Lines    []Line
	Loan     *LoanDetails
	Lease    *LeaseDetails
	Autopay  AutopayNotice
	Messages []string
}

// maxAmount bounds every amount: one NACHA entry at most; larger inputs are
// errors, and sums of bounded amounts stay far from int64 overflow.
const maxAmount = money.Cents(99_999_999_999_99)

// ErrInvalidInput is wrapped by every input validation error.
var ErrInvalidInput = errors.New("invalid input")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, a...))
}

// ComputeStatement computes one account's statement for one cycle.
//
// Loans accrue simple interest daily on the principal balance, actual/365:
// every day of the cycle accrues principal x APR / 365, also in a leap year
// (Feb 29 accrues one more day at /365, never /366). The transactions of a
// day post before that day accrues, so a payment stops interest on the
// principal it pays the day it posts. Each day's interest is rounded half up
// to the cent, so that payments can be applied in whole cents. Payments go
// to fees first, then accrued interest, then principal; a returned payment
// adds its amount back to the principal (the total owed is exact; the
// original split is not reversed). A late fee is assessed on the day after
// the grace period of PriorDueDate when the payments received by then, net
// of returns, are short of PriorAmountDue, unless the input already carries
// a late fee.
func ComputeStatement(in StatementInput) (Statement, error) {
	if err := validate(in); err != nil {
		return Statement{}, err
	}
	s := Statement{
		AccountID:     in.AccountID,
		Kind:          in.Terms.Kind,
		Customer:      in.Customer,
		Vehicle:       in.Terms.Vehicle,
		StatementDate: in.CycleEnd,
		CycleStart:    in.CycleStart,
		CycleEnd:      in.CycleEnd,
	}
	txs := sortedTransactions(in.Transactions)
	txs = assessLateFee(in, txs)

	// Payments toward the prior amount due, net of returns, decide past due.
	var netPaid money.Cents
	for _, t := range txs {
		switch t.Kind {
		case TxPayment:
			s.PaymentsReceived += t.Amount
			netPaid += t.Amount
		case TxReturnedPayment:
			s.ReturnedPayments += t.Amount
			netPaid -= t.Amount
		case TxLateFee, TxReturnedPaymentFee:
			s.FeesCharged += t.Amount
		case TxInterest:
			s.InterestCharged += t.Amount
		case TxAdjustment:
			s.Adjustments += t.Amount
		}
		s.Lines = append(s.Lines, Line{Date: t.PostedOn, Kind: t.Kind, Description: describe(t), Amount: signed(t)})
	}
	if !in.PriorDueDate.IsZero() && !in.PriorDueDate.After(in.CycleEnd) {
		s.PastDue = max(0, in.PriorAmountDue-netPaid)
	}
	s.DueDate = nextDueDate(in.CycleEnd, in.Terms.DueDay)

	switch in.Terms.Kind {
	case KindLoan:
		computeLoan(in, txs, &s)
	case KindLease:
		computeLease(in, &s)
	}
	computeAutopay(in, &s)
	s.Autopay.Message = autopayMessage(s)
	s.Messages = messages(in, s)
	return s, nil
}

func validate(in StatementInput) error {
	t := in.Terms
	switch {
	case t.Kind != KindLoan && t.Kind != KindLease:
		return invalid("kind %q: want loan or lease", t.Kind)
	case in.CycleStart.IsZero() || in.CycleEnd.IsZero():
		return invalid("cycle start and end dates are required")
	case in.CycleEnd.Before(in.CycleStart):
		return invalid("cycle ends %s before it starts %s", in.CycleEnd, in.CycleStart)
	case in.CycleEnd.DaysSince(in.CycleStart) > 62:
		return invalid("cycle %s..%s is longer than two months", in.CycleStart, in.CycleEnd)
	case t.DueDay < 1 || t.DueDay > 31:
		return invalid("due day %d: want 1..31", t.DueDay)
	case t.APRBasisPoints < 0 || t.APRBasisPoints > 100_00:
		return invalid("APR %d basis points: want 0..10000", t.APRBasisPoints)
	case t.GraceDays < 0 || t.GraceDays > 60:
		return invalid("grace days %d: want 0..60", t.GraceDays)
	case t.TermMonths < 0 || t.TermMonths > 1200:
		return invalid("term %d months: want 0..1200", t.TermMonths)
	}
	for name, c := range map[string]money.Cents{
		"monthly payment": t.MonthlyPayment, "monthly tax": t.MonthlyTax, "late fee": t.LateFee,
		"principal": in.Opening.Principal, "accrued interest": in.Opening.AccruedInterest,
		"fees due": in.Opening.FeesDue, "autopay amount": in.Autopay.Amount,
	} {
		if c < 0 || c > maxAmount {
			return invalid("%s %s: want 0..%s", name, c, maxAmount)
		}
	}
	if in.PriorAmountDue < -maxAmount || in.PriorAmountDue > maxAmount {
		return invalid("prior amount due %s out of range", in.PriorAmountDue)
	}
	if len(in.Transactions) > 100_000 {
		return invalid("%d transactions in one cycle", len(in.Transactions))
	}
	for i, tx := range in.Transactions {
		switch tx.Kind {
		case TxPayment, TxReturnedPayment, TxLateFee, TxReturnedPaymentFee, TxInterest:
			if tx.Amount < 0 || tx.Amount > maxAmount {
				return invalid("transaction %d: amount %s: want 0..%s", i, tx.Amount, maxAmount)
			}
		case TxAdjustment:
			if tx.Amount < -maxAmount || tx.Amount > maxAmount {
				return invalid("transaction %d: amount %s out of range", i, tx.Amount)
			}
		default:
			return invalid("transaction %d: kind %q", i, tx.Kind)
		}
		if tx.PostedOn.Before(in.CycleStart) || tx.PostedOn.After(in.CycleEnd) {
			return invalid("transaction %d posted %s outside the cycle %s..%s", i, tx.PostedOn, in.CycleStart, in.CycleEnd)
		}
	}
	for _, m := range []string{in.Autopay.MaskedAccount, in.NOCAccount} {
		if !isMasked(m) {
			return invalid("bank account %q: want the masked form like ****6789", m)
		}
	}
	return nil
}

// isMasked reports whether s is empty or shows at most four digits, so a
// full account number can never reach a document.
func isMasked(s string) bool {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return digits <= 4
}

// sortedTransactions orders the cycle's transactions by date, keeping the
// input order within a day (a stable insertion sort: cycles are short).
func sortedTransactions(in []Transaction) []Transaction {
	out := make([]Transaction, len(in))
	copy(out, in)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].PostedOn.Before(out[j-1].PostedOn); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// assessLateFee adds the late fee for PriorDueDate when its grace period
// ended in the cycle unpaid, and the servicing system has not posted one.
func assessLateFee(in StatementInput, txs []Transaction) []Transaction {
	t := in.Terms
	if t.LateFee == 0 || in.PriorDueDate.IsZero() || in.PriorAmountDue <= 0 {
		return txs
	}
	feeDay := in.PriorDueDate.AddDays(t.GraceDays + 1)
	if feeDay.Before(in.CycleStart) || feeDay.After(in.CycleEnd) {
		return txs
	}
	var paid money.Cents
	for _, tx := range txs {
		if tx.Kind == TxLateFee {
			return txs
		}
		if tx.PostedOn.Before(feeDay) {
			switch tx.Kind {
			case TxPayment:
				paid += tx.Amount
			case TxReturnedPayment:
				paid -= tx.Amount
			}
		}
	}
	if paid >= in.PriorAmountDue {
		return txs
	}
	fee := Transaction{
		PostedOn:    feeDay,
		Kind:        TxLateFee,
		Amount:      t.LateFee,
		Description: fmt.Sprintf("Late fee: payment due %s not received within %d days", in.PriorDueDate, t.GraceDays),
	}
	// Insert after the last transaction of an earlier or the same day.
	i := len(txs)
	for i > 0 && txs[i-1].PostedOn.After(feeDay) {
		i--
	}
	out := make([]Transaction, 0, len(txs)+1)
	out = append(out, txs[:i]...)
	out = append(out, fee)
	return append(out, txs[i:]...)
}

func describe(t Transaction) string {
	if strings.TrimSpace(t.Description) != "" {
		return t.Description
	}
	switch t.Kind {
	case TxPayment:
		return "Payment received - thank you"
	case TxReturnedPayment:
		return "Payment returned unpaid by your bank"
	case TxLateFee:
		return "Late fee"
	case TxReturnedPaymentFee:
		return "Returned payment fee"
	case TxInterest:
		return "Interest charge"
	}
	return "Adjustment"
}

func signed(t Transaction) money.Cents {
	if t.Kind == TxPayment {
		return -t.Amount
	}
	return t.Amount
}

// nextDueDate is the first due day strictly after the cycle end, clamped to
// the end of a shorter month.
func nextDueDate(cycleEnd civil.Date, dueDay int) civil.Date {
	d := cycleEnd.OnDay(dueDay)
	if !d.After(cycleEnd) {
		d = civil.New(cycleEnd.Year, cycleEnd.Month+1, 1).OnDay(dueDay)
	}
	return d
}

// computeLoan runs the cycle day by day: post the day's transactions, then
// accrue the day's interest on the principal left.
func computeLoan(in StatementInput, txs []Transaction, s *Statement) {
	principal := in.Opening.Principal
	interest := in.Opening.AccruedInterest
	fees := in.Opening.FeesDue
	s.PreviousBalance = principal + interest + fees
	d := &LoanDetails{APRBasisPoints: in.Terms.APRBasisPoints}

	var accrued money.Cents
	next := 0
	for day := in.CycleStart; !day.After(in.CycleEnd); day = day.AddDays(1) {
		for ; next < len(txs) && txs[next].PostedOn == day; next++ {
			t := txs[next]
			switch t.Kind {
			case TxPayment:
				left := t.Amount
				pay := func(bucket *money.Cents, paid *money.Cents) {
					n := min(left, max(0, *bucket))
					*bucket -= n
					*paid += n
					left -= n
				}
				pay(&fees, &d.FeesPaid)
				pay(&interest, &d.InterestPaid)
				// What is left reduces principal, and can take it below
				// zero: an overpayment is a credit balance.
				principal -= left
				d.PrincipalPaid += left
			case TxReturnedPayment, TxAdjustment:
				principal += t.Amount
			case TxLateFee, TxReturnedPaymentFee:
				fees += t.Amount
			case TxInterest:
				interest += t.Amount
			}
		}
		if principal > 0 {
			day := dailyInterest(principal, in.Terms.APRBasisPoints)
			interest += day
			accrued += day
		}
		d.InterestDays++
	}
	s.InterestCharged += accrued
	s.Lines = append(s.Lines, Line{
		Date:        in.CycleEnd,
		Kind:        TxInterest,
		Description: fmt.Sprintf("Interest charged: %d days at %s APR", d.InterestDays, formatAPR(in.Terms.APRBasisPoints)),
		Amount:      accrued,
	})
	d.Principal, d.AccruedInterest = principal, interest
	s.NewBalance = principal + interest + fees
	// Fees in the prior amount due are inside PastDue; count only the fees
	// charged this cycle and still unpaid.
	s.FeesDue = min(max(0, fees), s.FeesCharged)
	d.PaidOff = s.NewBalance <= 0
	s.Loan = d

	if d.PaidOff {
		s.PastDue, s.FeesDue = 0, 0
		return
	}
	s.CurrentInstallment = in.Terms.MonthlyPayment
	s.AmountDue = min(s.NewBalance, s.PastDue+s.FeesDue+s.CurrentInstallment)
	s.CurrentInstallment = min(s.CurrentInstallment, s.NewBalance)
}

// dailyInterest is one day's interest, principal x bps / (10000 x 365),
// rounded half up to the cent. big.Int keeps the product exact for any
// principal.
func dailyInterest(principal money.Cents, bps int) money.Cents {
	num := new(big.Int).Mul(big.NewInt(int64(principal)), big.NewInt(int64(bps)))
	num.Mul(num, big.NewInt(2))
	num.Add(num, big.NewInt(10000*365))
	num.Quo(num, big.NewInt(2*10000*365))
	return money.Cents(num.Int64())
}

func formatAPR(bps int) string {
	return fmt.Sprintf("%d.%02d%%", bps/100, bps%100)
}

func computeLease(in StatementInput, s *Statement) {
	t := in.Terms
	s.PreviousBalance = max(0, in.PriorAmountDue)
	s.NewBalance = s.PreviousBalance - s.PaymentsReceived + s.ReturnedPayments + s.FeesCharged + s.InterestCharged + s.Adjustments
	d := &LeaseDetails{
		BasePayment:             t.MonthlyPayment,
		Tax:                     t.MonthlyTax,
		MaturityDate:            t.MaturityDate,
		MileageAllowancePerYear: t.MileageAllowancePerYear,
		MileageAllowanceTotal:   allowedMiles(t.MileageAllowancePerYear, t.TermMonths),
	}
	if t.TermMonths > 0 && !t.FirstDueDate.IsZero() {
		d.LastPaymentDue = t.FirstDueDate.AddMonths(t.TermMonths - 1).OnDay(t.DueDay)
		for due := s.DueDate; !due.After(d.LastPaymentDue) && d.RemainingPayments <= t.TermMonths; due = civil.New(due.Year, due.Month+1, 1).OnDay(t.DueDay) {
			d.RemainingPayments++
		}
	}
	if r, ok := latestReading(in.Odometer); ok {
		d.LatestOdometer = &r
	}
	s.Lease = d
	s.FeesDue = 0
	owed := max(0, s.NewBalance)
	// A prior amount not yet due already bills the payment due then.
	if d.RemainingPayments > 0 && s.DueDate.After(in.PriorDueDate) {
		s.CurrentInstallment = t.MonthlyPayment + t.MonthlyTax
	}
	s.PastDue = min(s.PastDue, owed)
	s.AmountDue = owed + s.CurrentInstallment
	if s.NewBalance < 0 {
		// A credit goes toward the next payment.
		s.AmountDue = max(0, s.CurrentInstallment+s.NewBalance)
	}
}

// allowedMiles is the contract's allowance: per year x term in years,
// prorated by months for a term that is not whole years.
func allowedMiles(perYear, termMonths int) int {
	return perYear * termMonths / 12
}

func latestReading(rs []OdometerReading) (OdometerReading, bool) {
	var best OdometerReading
	found := false
	for _, r := range rs {
		if r.On.IsZero() {
			continue
		}
		if !found || r.On.After(best.On) || (r.On == best.On && r.Miles > best.Miles) {
			best, found = r, true
		}
	}
	return best, found
}

func computeAutopay(in StatementInput, s *Statement) {
	if !in.Autopay.Active || in.Autopay.MaskedAccount == "" {
		return
	}
	s.Autopay.Active = true
	s.Autopay.MaskedAccount = in.Autopay.MaskedAccount
	if s.AmountDue <= 0 {
		return
	}
	s.Autopay.DebitOn = s.DueDate.AddDays(-max(0, in.Autopay.DaysBeforeDue))
	s.Autopay.Amount = s.AmountDue
	if in.Autopay.Amount > 0 {
		s.Autopay.Amount = min(in.Autopay.Amount, s.AmountDue)
	}
}

// leaseEndWindow is how close maturity must be for the statement to say so.
const leaseEndWindow = 90

func messages(in StatementInput, s Statement) []string {
	var out []string
	for _, t := range in.Transactions {
		if t.Kind == TxReturnedPayment {
			out = append(out, fmt.Sprintf("Your payment of %s was returned unpaid by your bank and added back to your balance on %s. Please make sure funds are available, or call us to arrange another payment.", t.Amount, dateText(t.PostedOn)))
		}
	}
	if in.NOCAccount != "" {
		out = append(out, fmt.Sprintf("Your bank sent us updated account information for your account ending %s. We have updated our records; no action is needed.", lastFour(in.NOCAccount)))
	}
	if s.PastDue > 0 {
		out = append(out, fmt.Sprintf("Your account is past due by %s. Please pay the past due amount now to avoid further fees.", s.PastDue))
	}
	switch {
	case s.Loan != nil && s.Loan.PaidOff && s.NewBalance == 0:
		out = append(out, "Your loan is paid in full. Thank you! Your lien release will be sent to you separately.")
	case s.NewBalance < 0:
		out = append(out, fmt.Sprintf("Your account has a credit balance of %s.", -s.NewBalance))
	}
	if s.Lease != nil && !s.Lease.MaturityDate.IsZero() {
		days := s.Lease.MaturityDate.DaysSince(s.StatementDate)
		if days >= 0 && days <= leaseEndWindow {
			out = append(out, fmt.Sprintf("Your lease ends on %s (in %d days). Call us or visit our website to schedule your pre-return inspection or to learn about buying your vehicle.", dateText(s.Lease.MaturityDate), days))
		}
		if s.Lease.RemainingPayments == 1 {
			out = append(out, "The payment due on this statement is your final scheduled lease payment.")
		}
	}
	return out
}

func autopayMessage(s Statement) string {
	switch {
	case s.Autopay.Active && s.Autopay.Amount > 0:
		msg := fmt.Sprintf("Autopay will debit %s from your account %s on %s.", s.Autopay.Amount, s.Autopay.MaskedAccount, dateText(s.Autopay.DebitOn))
		if s.Autopay.Amount < s.AmountDue {
			msg += fmt.Sprintf(" Please pay the remaining %s by the due date.", s.AmountDue-s.Autopay.Amount)
		}
		return msg
	case s.Autopay.Active:
		return fmt.Sprintf("Autopay is on for your account %s; nothing will be debited because no payment is due.", s.Autopay.MaskedAccount)
	case s.AmountDue > 0:
		return "Autopay is off. Please send your payment so that it arrives by the due date, or enroll in autopay on our website."
	}
	return "Autopay is off. No payment is due."
}

func lastFour(masked string) string {
	var digits []rune
	for _, r := range masked {
		if r >= '0' && r <= '9' {
			digits = append(digits, r)
		}
	}
	return "****" + string(digits)
}
