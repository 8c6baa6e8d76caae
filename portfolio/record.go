// Package portfolio holds the servicing system's extract format: JSON Lines,
// one account per line with its customer, contract, bank accounts, autopay
// enrollment, scheduled one-time payments, odometer readings and posted
// transactions. It decodes and validates the extract line by line and
// generates realistic demo portfolios in the same format. It is pure: the
// ledger stores what it returns.
package portfolio

import (
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Account is one line of the extract. IDs are the servicing system's and are
// the keys drafter upserts by, so importing the same extract twice changes
// nothing.
type Account struct {
	ID                string             `json:"id"`
	Kind              string             `json:"kind"`   // loan | lease
	Status            string             `json:"status"` // active | paid_off | closed
	Customer          Customer           `json:"customer"`
	Contract          Contract           `json:"contract"`
	Balance           Balance            `json:"balance"`
	BankAccounts      []BankAccount      `json:"bank_accounts,omitempty"`
	Autopay           *Autopay           `json:"autopay,omitempty"`
	ScheduledPayments []ScheduledPayment `json:"scheduled_payments,omitempty"`
	OdometerReadings  []OdometerReading  `json:"odometer_readings,omitempty"`
	Transactions      []Transaction      `json:"transactions,omitempty"`
}

// Kinds of account.
const (
	KindLoan  = "loan"
	KindLease = "lease"
)

// Customer is the borrower or lessee.
type Customer struct {
	ID        string  `json:"id"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	Email     string  `json:"email"`
	Phone     string  `json:"phone,omitempty"`
	Address   Address `json:"address"`
}

// Address is a US mailing address.
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	State      string `json:"state"`       // two-letter USPS code
	PostalCode string `json:"postal_code"` // 12345 or 12345-6789
}

// Contract is the retail installment contract or the lease agreement.
// Loan-only and lease-only fields are zero for the other kind.
type Contract struct {
	State          string      `json:"state"` // state whose law governs the contract (fees)
	OpenedOn       civil.Date  `json:"opened_on"`
	TermMonths     int         `json:"term_months"`
	MonthlyPayment money.Cents `json:"monthly_payment_cents"` // lease: base payment before tax
	MonthlyTax     money.Cents `json:"monthly_tax_cents,omitempty"`
	FirstDueDate   civil.Date  `json:"first_due_date"`
	DueDay         int         `json:"due_day"`   // 1..31; 29..31 fall on the last day of shorter months
	CycleDay       int         `json:"cycle_day"` // statement cycle ends on this day, same rule
	MaturityDate   civil.Date  `json:"maturity_date"`
	LateFee        money.Cents `json:"late_fee_cents"`
	GraceDays      int         `json:"grace_days"`
	// ReturnedPaymentFee is the fee for a payment returned unpaid (R01/R09);
	// zero when the contract or the state does not allow one.
	ReturnedPaymentFee money.Cents `json:"returned_payment_fee_cents"`

	// Loans.
	AmountFinanced money.Cents `json:"amount_financed_cents,omitempty"`
	APRBasisPoints int         `json:"apr_bps,omitempty"` // 649 = 6.49%

	// Leases.
	CapitalizedCost         money.Cents `json:"capitalized_cost_cents,omitempty"`
	MoneyFactorMillionths   int         `json:"money_factor_millionths,omitempty"` // 1250 = 0.00125
	ResidualValue           money.Cents `json:"residual_value_cents,omitempty"`
	MileageAllowancePerYear int         `json:"mileage_allowance_per_year,omitempty"`
	ExcessMileageRate       money.Cents `json:"excess_mileage_rate_cents,omitempty"` // per mile
	PurchaseOptionFee       money.Cents `json:"purchase_option_fee_cents,omitempty"`
	DispositionFee          money.Cents `json:"disposition_fee_cents,omitempty"`
	StartOdometer           int         `json:"start_odometer,omitempty"`

	Vehicle Vehicle `json:"vehicle"`
}

// Vehicle is the financed or leased vehicle.
type Vehicle struct {
	VIN   string `json:"vin"`
	Year  int    `json:"year"`
	Make  string `json:"make"`
	Model string `json:"model"`
}

// Balance is the account's position as of a date, from the servicing system.
// Posted transactions after AsOf move it forward.
type Balance struct {
	AsOf            civil.Date  `json:"as_of"`
	Principal       money.Cents `json:"principal_cents"` // loans; for leases the remaining base payments
	AccruedInterest money.Cents `json:"accrued_interest_cents,omitempty"`
	FeesDue         money.Cents `json:"fees_due_cents,omitempty"`
	PastDue         money.Cents `json:"past_due_cents,omitempty"`
	PaymentsMade    int         `json:"payments_made"`
	// History is the account's position at the end of each statement cycle
	// date the extract covers (and of AsOf), oldest first: what drafter's
	// statements reconcile with. Extracts without it import, but their
	// statements are held.
	History []BalancePoint `json:"history,omitempty"`
}

// BalancePoint is the account's position on the books at the end of a day.
// Balance is what the customer owes: for loans principal, interest posted
// and unpaid, and fees (interest accrued since the last posting is not in
// it); for leases the scheduled payments left, tax included, and fees. It
// includes every payment and return drafter reported, although the
// extract's transactions list only what the servicing system posted
// itself. Balance and Principal are negative for a credit.
type BalancePoint struct {
	On        civil.Date  `json:"on"`
	Balance   money.Cents `json:"balance_cents"`
	Principal money.Cents `json:"principal_cents"`
	FeesDue   money.Cents `json:"fees_due_cents"`
	PastDue   money.Cents `json:"past_due_cents"`
}

// BankAccount is a customer's account at their bank (the RDFI), debited for
// payments. The account number is sensitive: drafter encrypts it at rest.
type BankAccount struct {
	ID            string `json:"id"`
	Routing       string `json:"routing"`        // nine-digit ABA routing number
	AccountNumber string `json:"account_number"` // 4..17 digits
	Type          string `json:"type"`           // checking | savings
	HolderName    string `json:"holder_name"`
	// Prenote is "verified" when the account has been debited before, or
	// "required" when drafter must send a zero-dollar prenote first.
	Prenote string `json:"prenote"`
	Status  string `json:"status"` // active | invalid
}

// Autopay is a recurring debit enrollment, authorized in writing (SEC PPD).
type Autopay struct {
	ID            string     `json:"id"`
	BankAccountID string     `json:"bank_account_id"`
	AuthorizedOn  civil.Date `json:"authorized_on"`
	StartsOn      civil.Date `json:"starts_on"`
	// DaysBeforeDue drafts that many days before the due date (0: on it).
	DaysBeforeDue int `json:"days_before_due"`
	// Amount is the debit amount; zero means the monthly payment (plus tax).
	Amount money.Cents `json:"amount_cents,omitempty"`
	Status string      `json:"status"` // active | suspended | stopped
}

// ScheduledPayment is a one-time payment the customer scheduled in the portal
// (SEC WEB) or by phone (SEC TEL).
type ScheduledPayment struct {
	ID            string      `json:"id"`
	BankAccountID string      `json:"bank_account_id"`
	Amount        money.Cents `json:"amount_cents"`
	DebitOn       civil.Date  `json:"debit_on"`
	Channel       string      `json:"channel"` // web | phone
	AuthorizedAt  string      `json:"authorized_at"`
}

// OdometerReading is a reported mileage.
type OdometerReading struct {
	On     civil.Date `json:"on"`
	Miles  int        `json:"miles"`
	Source string     `json:"source"` // dealer | customer | telematics
}

// Transaction is a posted ledger line.
type Transaction struct {
	ID          string      `json:"id"`
	PostedOn    civil.Date  `json:"posted_on"`
	Kind        string      `json:"kind"`         // payment | returned_payment | late_fee | returned_payment_fee | interest | adjustment
	Amount      money.Cents `json:"amount_cents"` // positive; Kind says the direction
	Description string      `json:"description,omitempty"`
}
