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

// Transaction is a ledger line posted in the cycle. Amount is positive and
// Kind says the direction, except for adjustments, whose sign does: a
// negative adjustment is a credit.
type Transaction struct {
	PostedOn    civil.Date
	Kind        TxKind
	Amount      money.Cents
	Description string
}

// Record is the system of record's position of the account at the end of
// the statement date: the servicing system keeps balances, posted interest
// and fees. Balance is what the customer owes (loans: principal, interest
// posted and unpaid, fees; leases: the scheduled payments left, tax
// included, and fees).
type Record struct {
	Balance   money.Cents
	Principal money.Cents // loans: the principal interest accrues on
	FeesDue   money.Cents // fees charged and unpaid
	PastDue   money.Cents // installments due before the statement date and unpaid
}

// AutopayDebit is the next debit of the customer's autopay enrollment, as
// origination will make it: the caller computes it with the same code that
// originates the debit, and the statement prints it as given.
type AutopayDebit struct {
	Active        bool
	MaskedAccount string      // ****6789; never the full number
	DueOn         civil.Date  // the installment the debit pays
	DebitOn       civil.Date  // the day the debit settles
	Amount        money.Cents // zero: nothing will be debited for DueOn
	// Covered is what the customer's one-time payments for the installment
	// took off the debit.
	Covered money.Cents
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
	// PreviousBalance is the new balance of the account's previous
	// statement, or for its first statement the system of record's balance
	// on the day before CycleStart.
	PreviousBalance money.Cents
	// Record is the system of record's position on CycleEnd; its balance is
	// the statement's new balance.
	Record Record
	// Transactions are the cycle's lines: those the servicing system posted
	// (interest, its fees, payments it received) and drafter's own (its
	// debits, the returns of them, its returned-payment fees).
	Transactions []Transaction
	Autopay      AutopayDebit
	Odometer     []OdometerReading // leases
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
	APRBasisPoints    int
	Principal         money.Cents // the system of record's, on the statement date
	MaturityDate      civil.Date
	RemainingPayments int // due dates from the statement's due date to maturity
	// Payoff is what pays the loan in full on PayoffThrough: the balance on
	// the statement date plus PerDiem for each day after it. After
	// PayoffThrough, add PerDiem a day.
	Payoff        money.Cents
	PayoffThrough civil.Date
	PerDiem       money.Cents
	PaidOff       bool
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
	DueOn         civil.Date
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
	// LateFee is charged when AmountDue is not paid by LateFeeAfter (the
	// due date plus the grace days); zero when the contract has none.
	LateFee      money.Cents
	LateFeeAfter civil.Date

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

// ErrUnreconciled is wrapped by *Unreconciled.
var ErrUnreconciled = errors.New("statement does not reconcile with the system of record")

// Unreconciled is the error of a statement whose arithmetic (previous
// balance plus the cycle's transactions) does not reach the system of
// record's balance: it must be held, not sent.
type Unreconciled struct {
	AccountID  string
	CycleEnd   civil.Date
	Previous   money.Cents // the previous balance
	Computed   money.Cents // previous balance plus the transactions
	Record     money.Cents // the system of record's balance
	Difference money.Cents // Record - Computed
}

func (u *Unreconciled) Error() string {
	return fmt.Sprintf("%s: account %s on %s: previous balance %s plus the cycle's transactions is %s, the servicing system's balance is %s (difference %s)",
		ErrUnreconciled, u.AccountID, u.CycleEnd, u.Previous, u.Computed, u.Record, u.Difference)
}

func (u *Unreconciled) Unwrap() error { return ErrUnreconciled }

// PayoffDays is how many days after the statement date its payoff amount
// is good through.
const PayoffDays = 10

// ComputeStatement computes one account's statement for one cycle.
//
// The statement only reports: it accrues no interest and charges no fee.
// The servicing system is the record of balances, posted interest and
// fees; drafter of its debits, their returns and its returned-payment
// fees. The new balance is in.Record.Balance; when the previous balance
// plus the cycle's transactions does not reach it, ComputeStatement
// returns the statement with an *Unreconciled error, and the statement
// must be held. The payoff amount is the record's balance plus simple
// daily interest on the record's principal (principal x APR / 365, rounded
// half up to the cent: the per-diem) for each day from the statement date
// through the payoff date.
func ComputeStatement(in StatementInput) (Statement, error) {
	if err := validate(in); err != nil {
		return Statement{}, err
	}
	s := Statement{
		AccountID:       in.AccountID,
		Kind:            in.Terms.Kind,
		Customer:        in.Customer,
		Vehicle:         in.Terms.Vehicle,
		StatementDate:   in.CycleEnd,
		CycleStart:      in.CycleStart,
		CycleEnd:        in.CycleEnd,
		PreviousBalance: in.PreviousBalance,
		NewBalance:      in.Record.Balance,
	}
	computed := in.PreviousBalance
	for _, t := range sortedTransactions(in.Transactions) {
		switch t.Kind {
		case TxPayment:
			s.PaymentsReceived += t.Amount
		case TxReturnedPayment:
			s.ReturnedPayments += t.Amount
		case TxLateFee, TxReturnedPaymentFee:
			s.FeesCharged += t.Amount
		case TxInterest:
			s.InterestCharged += t.Amount
		case TxAdjustment:
			s.Adjustments += t.Amount
		}
		ln := Line{Date: t.PostedOn, Kind: t.Kind, Description: describe(t), Amount: signed(t)}
		computed += ln.Amount
		s.Lines = append(s.Lines, ln)
	}
	s.DueDate = nextDueDate(in.CycleEnd, in.Terms.DueDay)
	owed := max(0, s.NewBalance)
	s.PastDue = min(in.Record.PastDue, owed)
	s.FeesDue = min(in.Record.FeesDue, owed-s.PastDue)
	if !s.DueDate.After(in.Terms.MaturityDate) || in.Terms.MaturityDate.IsZero() {
		s.CurrentInstallment = min(in.Terms.MonthlyPayment+in.Terms.MonthlyTax, owed-s.PastDue-s.FeesDue)
	}
	s.AmountDue = s.PastDue + s.FeesDue + s.CurrentInstallment
	if in.Terms.LateFee > 0 && s.AmountDue > 0 {
		s.LateFee = in.Terms.LateFee
		s.LateFeeAfter = LateFeeAfter(s.DueDate, in.Terms.GraceDays)
	}

	switch in.Terms.Kind {
	case KindLoan:
		computeLoan(in, &s)
	case KindLease:
		computeLease(in, &s)
	}
	computeAutopay(in, &s)
	s.Autopay.Message = autopayMessage(s)
	s.Messages = messages(in, s)
	if computed != s.NewBalance {
		return s, &Unreconciled{AccountID: in.AccountID, CycleEnd: in.CycleEnd, Previous: in.PreviousBalance,
			Computed: computed, Record: s.NewBalance, Difference: s.NewBalance - computed}
	}
	return s, nil
}

// LateFeeAfter is the last day a payment due on due is on time: the due
// date plus the grace days. The late fee is charged on the day after it.
func LateFeeAfter(due civil.Date, graceDays int) civil.Date {
	return due.AddDays(graceDays)
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
		"fees due": in.Record.FeesDue, "past due": in.Record.PastDue, "autopay amount": in.Autopay.Amount,
		"autopay covered": in.Autopay.Covered,
	} {
		if c < 0 || c > maxAmount {
			return invalid("%s %s: want 0..%s", name, c, maxAmount)
		}
	}
	for name, c := range map[string]money.Cents{
		"previous balance": in.PreviousBalance, "balance": in.Record.Balance, "principal": in.Record.Principal,
	} {
		if c < -maxAmount || c > maxAmount {
			return invalid("%s %s out of range", name, c)
		}
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
	if ap := in.Autopay; ap.Active && ap.Amount > 0 && (ap.DebitOn.IsZero() || ap.DueOn.IsZero()) {
		return invalid("autopay debit of %s without its date", ap.Amount)
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

// remainingPayments counts the due dates from due through the last one.
func remainingPayments(due, last civil.Date, dueDay, limit int) int {
	n := 0
	for ; !due.After(last) && n <= limit; due = civil.New(due.Year, due.Month+1, 1).OnDay(dueDay) {
		n++
	}
	return n
}

func computeLoan(in StatementInput, s *Statement) {
	t := in.Terms
	d := &LoanDetails{APRBasisPoints: t.APRBasisPoints, Principal: in.Record.Principal, MaturityDate: t.MaturityDate}
	if !t.MaturityDate.IsZero() {
		d.RemainingPayments = remainingPayments(s.DueDate, t.MaturityDate, t.DueDay, t.TermMonths)
	}
	d.PaidOff = s.NewBalance <= 0
	if !d.PaidOff {
		d.PerDiem = DailyInterest(max(0, in.Record.Principal), t.APRBasisPoints)
		d.PayoffThrough = in.CycleEnd.AddDays(PayoffDays)
		d.Payoff = s.NewBalance + money.Cents(PayoffDays)*d.PerDiem
	}
	s.Loan = d
}

// DailyInterest is one day's simple interest, principal x bps / (10000 x
// 365), rounded half up to the cent: the per-diem of a payoff. big.Int
// keeps the product exact for any principal.
func DailyInterest(principal money.Cents, bps int) money.Cents {
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
	d := &LeaseDetails{
		BasePayment:             t.MonthlyPayment,
		Tax:                     t.MonthlyTax,
		MaturityDate:            t.MaturityDate,
		MileageAllowancePerYear: t.MileageAllowancePerYear,
		MileageAllowanceTotal:   allowedMiles(t.MileageAllowancePerYear, t.TermMonths),
	}
	if t.TermMonths > 0 && !t.FirstDueDate.IsZero() {
		d.LastPaymentDue = t.FirstDueDate.AddMonths(t.TermMonths - 1).OnDay(t.DueDay)
		d.RemainingPayments = remainingPayments(s.DueDate, d.LastPaymentDue, t.DueDay, t.TermMonths)
	}
	if d.RemainingPayments == 0 {
		s.AmountDue -= s.CurrentInstallment
		s.CurrentInstallment = 0
	}
	if r, ok := latestReading(in.Odometer); ok {
		d.LatestOdometer = &r
	}
	s.Lease = d
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

// computeAutopay copies the debit origination will make: the statement
// never works out an amount or a date of its own.
func computeAutopay(in StatementInput, s *Statement) {
	ap := in.Autopay
	if !ap.Active || ap.MaskedAccount == "" {
		return
	}
	s.Autopay = AutopayNotice{Active: true, MaskedAccount: ap.MaskedAccount, DueOn: ap.DueOn, DebitOn: ap.DebitOn, Amount: ap.Amount}
	if ap.Amount == 0 {
		s.Autopay.DebitOn = civil.Date{}
	}
}

// leaseEndWindow is how close maturity must be for the statement to say so.
const leaseEndWindow = 90

func messages(in StatementInput, s Statement) []string {
	var out []string
	if s.PastDue > 0 {
		out = append(out, fmt.Sprintf("Your account is past due: %s of earlier payments has not been received. Please pay the past due amount now, together with this month's payment, to bring your account current; if you cannot, call us today to arrange a payment.", s.PastDue))
	}
	for _, t := range in.Transactions {
		if t.Kind == TxReturnedPayment {
			out = append(out, fmt.Sprintf("Your payment of %s was returned unpaid by your bank and added back to your balance on %s. Please make sure funds are available, or call us to arrange another payment.", t.Amount, dateText(t.PostedOn)))
		}
	}
	if in.NOCAccount != "" {
		out = append(out, fmt.Sprintf("Your bank sent us updated account information for your account ending %s. We have updated our records; no action is needed.", lastFour(in.NOCAccount)))
	}
	if s.LateFee > 0 {
		out = append(out, fmt.Sprintf("If we do not receive %s by %s, a late fee of %s will be charged.", s.AmountDue, dateText(s.LateFeeAfter), s.LateFee))
	}
	if ln := s.Loan; ln != nil && !ln.PaidOff && ln.Payoff > 0 {
		out = append(out, fmt.Sprintf("Payoff amount: %s, good through %s. It is your balance of %s on %s plus %d days of interest at %s a day (%s x %s APR / 365). After %s, add %s for each day.",
			ln.Payoff, dateText(ln.PayoffThrough), s.NewBalance, dateText(s.StatementDate), PayoffDays, ln.PerDiem, ln.Principal, formatAPR(ln.APRBasisPoints), dateText(ln.PayoffThrough), ln.PerDiem))
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
	ap := s.Autopay
	switch {
	case ap.Active && ap.Amount > 0:
		msg := fmt.Sprintf("Autopay will debit %s from your account %s on %s for the payment due %s.", ap.Amount, ap.MaskedAccount, dateText(ap.DebitOn), dateText(ap.DueOn))
		if ap.DueOn == s.DueDate && ap.Amount < s.AmountDue {
			msg += fmt.Sprintf(" Please pay the remaining %s by the due date.", s.AmountDue-ap.Amount)
		}
		return msg
	case ap.Active && !ap.DueOn.IsZero():
		return fmt.Sprintf("Autopay is on for your account %s; nothing will be debited for the payment due %s because your scheduled payment covers it.", ap.MaskedAccount, dateText(ap.DueOn))
	case ap.Active:
		return fmt.Sprintf("Autopay is on for your account %s; no debit is scheduled because no payment is left on your schedule.", ap.MaskedAccount)
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
