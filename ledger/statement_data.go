package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// DocumentAccount is an account with everything its statements and notices
// print: customer, contract, vehicle and the imported balance snapshot.
type DocumentAccount struct {
	ID, Kind, Status string

	CustomerID, FirstName, LastName, Email string
	Line1, Line2, City, State, PostalCode  string

	OpenedOn                civil.Date
	TermMonths              int
	MonthlyPayment          money.Cents
	MonthlyTax              money.Cents
	FirstDueOn              civil.Date
	DueDay, CycleDay        int
	MaturityOn              civil.Date
	LateFee                 money.Cents
	GraceDays               int
	APRBasisPoints          int
	ResidualValue           money.Cents
	MileageAllowancePerYear int
	ExcessMileageRate       money.Cents
	PurchaseOptionFee       money.Cents
	DispositionFee          money.Cents
	StartOdometer           int
	VehicleVIN              string
	VehicleYear             int
	VehicleMake             string
	VehicleModel            string

	// The balance snapshot of the servicing system, as of BalanceAsOf.
	BalanceAsOf     civil.Date
	Principal       money.Cents
	AccruedInterest money.Cents
	FeesDue         money.Cents
	PastDue         money.Cents
	PaymentsMade    int
}

const documentAccountSelect = `SELECT a.id, a.kind, a.status, c.id, c.first_name, c.last_name, c.email,
	c.address_line1, c.address_line2, c.city, c.state, c.postal_code,
	a.opened_on, a.term_months, a.monthly_payment, a.monthly_tax, a.first_due_on, a.due_day, a.cycle_day, a.maturity_on,
	a.late_fee, a.grace_days, a.apr_bps, a.residual_value, a.mileage_allowance_per_year, a.excess_mileage_rate,
	a.purchase_option_fee, a.disposition_fee, a.start_odometer, a.vehicle_vin, a.vehicle_year, a.vehicle_make, a.vehicle_model,
	a.balance_as_of, a.principal, a.accrued_interest, a.fees_due, a.past_due, a.payments_made
FROM accounts a JOIN customers c ON c.id = a.customer_id`

func scanDocumentAccount(row rowScanner) (DocumentAccount, error) {
	var a DocumentAccount
	err := row.Scan(&a.ID, &a.Kind, &a.Status, &a.CustomerID, &a.FirstName, &a.LastName, &a.Email,
		&a.Line1, &a.Line2, &a.City, &a.State, &a.PostalCode,
		&a.OpenedOn, &a.TermMonths, &a.MonthlyPayment, &a.MonthlyTax, &a.FirstDueOn, &a.DueDay, &a.CycleDay, &a.MaturityOn,
		&a.LateFee, &a.GraceDays, &a.APRBasisPoints, &a.ResidualValue, &a.MileageAllowancePerYear, &a.ExcessMileageRate,
		&a.PurchaseOptionFee, &a.DispositionFee, &a.StartOdometer, &a.VehicleVIN, &a.VehicleYear, &a.VehicleMake, &a.VehicleModel,
		&a.BalanceAsOf, &a.Principal, &a.AccruedInterest, &a.FeesDue, &a.PastDue, &a.PaymentsMade)
	return a, err
}

// CycleEndsOn reports whether a statement cycle with the given cycle day
// ends on d: on that day of the month, or on the month's last day when the
// month is shorter (cycle day 31 ends on Feb 28 in a common year, Feb 29 in
// a leap year, Apr 30).
func CycleEndsOn(cycleDay int, d civil.Date) bool {
	last := civil.DaysIn(d.Year, d.Month)
	return cycleDay == d.Day || (d.Day == last && cycleDay > last)
}

// CycleStart is the first day of the cycle that ends on end for the cycle
// day: the day after the previous month's cycle end, never before the
// account opened.
func (a DocumentAccount) CycleStart(end civil.Date) civil.Date {
	prev := civil.New(end.Year, end.Month-1, 1).OnDay(a.CycleDay)
	start := prev.AddDays(1)
	if start.Before(a.OpenedOn) {
		start = a.OpenedOn
	}
	return start
}

// Installment is the scheduled monthly payment, tax included.
func (a DocumentAccount) Installment() money.Cents { return a.MonthlyPayment + a.MonthlyTax }

// StatementFilter chooses the accounts a statements run works on.
type StatementFilter struct {
	// Date is the statement date: accounts whose cycle ends on it.
	Date civil.Date
	// AllAccounts treats every active account as due on Date, whatever its
	// cycle day (the benchmark's mode).
	AllAccounts bool
	// AccountID, when set, limits the run to one account (a scoped rerun).
	AccountID string
	// Through, when set, bounds the account ids (inclusive): a chunk's
	// span ends there.
	Through string
}

// StatementAccounts returns up to limit active accounts whose statement
// cycle ends on f.Date, with ids after the keyset cursor after, in id order.
func (s *Store) StatementAccounts(ctx context.Context, f StatementFilter, after string, limit int) ([]DocumentAccount, error) {
	d := f.Date
	last := 0
	if d.Day == civil.DaysIn(d.Year, d.Month) {
		last = 1
	}
	cond := `(a.cycle_day = $3 OR ($4 = 1 AND a.cycle_day > $3))`
	if f.AllAccounts {
		cond = `$3 >= 0 AND $4 >= 0`
	}
	args := []any{after, d, d.Day, last, limit}
	acct := ""
	if f.AccountID != "" {
		acct = ` AND a.id = $6`
		args = append(args, f.AccountID)
	}
	if f.Through != "" {
		args = append(args, f.Through)
		acct += fmt.Sprintf(` AND a.id <= $%d`, len(args))
	}
	return s.documentAccounts(ctx, documentAccountSelect+`
		WHERE a.id > $1 AND a.status = 'active' AND a.opened_on <= $2 AND `+cond+acct+`
		ORDER BY a.id LIMIT $5`, args...)
}

// LeasesMaturing returns up to limit active leases maturing from through
// through (inclusive), optionally one account, with ids after the keyset
// cursor after, in id order.
func (s *Store) LeasesMaturing(ctx context.Context, from, through civil.Date, account, after string, limit int) ([]DocumentAccount, error) {
	return s.documentAccounts(ctx, documentAccountSelect+`
		WHERE a.id > $1 AND a.kind = 'lease' AND a.status = 'active' AND a.maturity_on >= $2 AND a.maturity_on <= $3
		  AND ($4 = '' OR a.id = $4)
		ORDER BY a.id LIMIT $5`, after, from, through, account, limit)
}

// DocumentAccount returns one account with what its documents print.
func (s *Store) DocumentAccount(ctx context.Context, id string) (DocumentAccount, error) {
	as, err := s.documentAccounts(ctx, documentAccountSelect+` WHERE a.id = $1`, id)
	if err != nil {
		return DocumentAccount{}, err
	}
	if len(as) == 0 {
		return DocumentAccount{}, fmt.Errorf("account %s: %w", id, ErrNotFound)
	}
	return as[0], nil
}

func (s *Store) documentAccounts(ctx context.Context, q string, args ...any) ([]DocumentAccount, error) {
	accts, err := queryAll(ctx, s.q, scanDocumentAccount, q, args...)
	if err != nil {
		return nil, fmt.Errorf("select accounts for documents: %w", err)
	}
	return accts, nil
}

// Transaction is a ledger line for a statement: an imported transaction, or
// one of drafter's own payments or returns. Kind is the statements
// transaction kind (payment, returned_payment, late_fee, ...).
type Transaction struct {
	ID          string
	AccountID   string
	PostedOn    civil.Date
	Kind        string
	Amount      money.Cents
	Description string
}

// OdometerReading is a reported mileage.
type OdometerReading struct {
	On    civil.Date
	Miles int
}

// AutopayInfo is an account's autopay enrollment as a document shows it:
// never the account number, only its mask.
type AutopayInfo struct {
	Active        bool
	MaskedAccount string
	DaysBeforeDue int
	Amount        money.Cents
}

// Activity is what happened on an account around a cycle.
type Activity struct {
	// Imported are the servicing system's posted transactions.
	Imported []Transaction
	// Drafter are drafter's own debits (originated, settled or returned)
	// by effective date, and the returns of them by return date.
	Drafter  []Transaction
	Autopay  AutopayInfo
	Odometer []OdometerReading
	// NOCAccount is the masked bank account a notification of change
	// corrected in the period ("" when none).
	NOCAccount string
}

// AccountActivity returns, for each of the accounts, the transactions
// posted and drafter's payments and returns dated from through through,
// the autopay enrollment and every odometer reading. Accounts without any
// have an empty Activity.
func (s *Store) AccountActivity(ctx context.Context, ids []string, from, through civil.Date) (map[string]*Activity, error) {
	out := make(map[string]*Activity, len(ids))
	for _, id := range ids {
		out[id] = &Activity{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	in, idArgs := s.inList(ids, 2)
	dated := append([]any{from, through}, idArgs...)

	err := s.each(ctx, `SELECT account_id, id, posted_on, kind, amount, description FROM transactions
		WHERE posted_on >= $1 AND posted_on <= $2 AND account_id IN (`+in+`) ORDER BY account_id, posted_on, id`, dated, func(scan func(...any) error) error {
		var t Transaction
		if err := scan(&t.AccountID, &t.ID, &t.PostedOn, &t.Kind, &t.Amount, &t.Description); err != nil {
			return err
		}
		out[t.AccountID].Imported = append(out[t.AccountID].Imported, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select transactions: %w", err)
	}
	err = s.each(ctx, `SELECT account_id, id, effective_on, source, amount FROM payments
		WHERE kind = 'debit' AND state IN ('originated', 'settled', 'returned') AND effective_on >= $1 AND effective_on <= $2
		  AND account_id IN (`+in+`) ORDER BY account_id, effective_on, id`, dated, func(scan func(...any) error) error {
		var t Transaction
		var id int64
		var source string
		if err := scan(&t.AccountID, &id, &t.PostedOn, &source, &t.Amount); err != nil {
			return err
		}
		t.ID, t.Kind, t.Description = "payment:"+strconv.FormatInt(id, 10), "payment", paymentDescription(source)
		out[t.AccountID].Drafter = append(out[t.AccountID].Drafter, t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select payments: %w", err)
	}
	err = s.each(ctx, `SELECT p.account_id, r.id, r.returned_on, r.code, r.amount FROM returns r JOIN payments p ON p.id = r.payment_id
		WHERE r.returned_on >= $1 AND r.returned_on <= $2 AND p.account_id IN (`+in+`) ORDER BY p.account_id, r.returned_on, r.id`, dated,
		func(scan func(...any) error) error {
			var t Transaction
			var id int64
			var code string
			if err := scan(&t.AccountID, &id, &t.PostedOn, &code, &t.Amount); err != nil {
				return err
			}
			t.ID, t.Kind, t.Description = "return:"+strconv.FormatInt(id, 10), "returned_payment", "Payment returned by your bank ("+code+")"
			out[t.AccountID].Drafter = append(out[t.AccountID].Drafter, t)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select returns: %w", err)
	}
	in0, idArgs0 := s.inList(ids, 0)
	// The enrollment an account has (active first); the account's mask
	// comes from its bank account, never from the number itself.
	err = s.each(ctx, `SELECT e.account_id, e.status, b.status, b.last4, e.days_before_due, e.amount FROM autopay_enrollments e
		JOIN bank_accounts b ON b.id = e.bank_account_id WHERE e.account_id IN (`+in0+`) ORDER BY e.account_id, e.id`, idArgs0,
		func(scan func(...any) error) error {
			var acct, status, bankStatus, last4 string
			var ap AutopayInfo
			if err := scan(&acct, &status, &bankStatus, &last4, &ap.DaysBeforeDue, &ap.Amount); err != nil {
				return err
			}
			ap.Active = status == "active" && bankStatus == "active"
			ap.MaskedAccount = Mask(last4)
			if a := out[acct]; !a.Autopay.Active {
				a.Autopay = ap
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select autopay: %w", err)
	}
	err = s.each(ctx, `SELECT account_id, read_on, miles FROM odometer_readings WHERE account_id IN (`+in0+`) ORDER BY account_id, read_on`, idArgs0,
		func(scan func(...any) error) error {
			var acct string
			var r OdometerReading
			if err := scan(&acct, &r.On, &r.Miles); err != nil {
				return err
			}
			out[acct].Odometer = append(out[acct].Odometer, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select odometer readings: %w", err)
	}
	err = s.each(ctx, `SELECT b.account_id, b.last4 FROM corrections c JOIN bank_accounts b ON b.id = c.bank_account_id
		WHERE c.received_on >= $1 AND c.received_on <= $2 AND b.account_id IN (`+in+`) ORDER BY b.account_id, c.id`, dated,
		func(scan func(...any) error) error {
			var acct, last4 string
			if err := scan(&acct, &last4); err != nil {
				return err
			}
			out[acct].NOCAccount = Mask(last4)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select corrections: %w", err)
	}
	return out, nil
}

func paymentDescription(source string) string {
	switch source {
	case SourceAutopay:
		return "Autopay payment"
	case SourceRepresent:
		return "Payment (presented again)"
	}
	return "Payment"
}

// inList returns the placeholders of an IN list of the values, numbered
// after offset (plain ? on SQLite, where the whole statement must then use
// each placeholder once, in order), and the values as arguments.
func (s *Store) inList(vals []string, offset int) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	if s.dialect.name == "sqlite" {
		return strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","), args
	}
	l := valuesList(1, len(vals), offset)
	return l[1 : len(l)-1], args
}

// each runs q and calls fn for each row. On SQLite, q's $N placeholders are
// rewritten to ? (they appear once each, in order, before the IN list).
func (s *Store) each(ctx context.Context, q string, args []any, fn func(scan func(...any) error) error) error {
	rows, err := s.q.QueryContext(ctx, s.dialect.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Opening is an account's position at the start of a cycle.
type Opening struct {
	Principal       money.Cents
	AccruedInterest money.Cents
	FeesDue         money.Cents
}

// CycleOpening moves the balance snapshot to the cycle's first day with the
// imported transactions between the two: those posted on or after start and
// on or before the snapshot date are in the snapshot and are taken out (the
// statement shows them again in the cycle); those after the snapshot and
// before start are applied (payments to fees, then interest, then
// principal). Totals are exact; interest is not re-accrued between the
// snapshot and the cycle (the servicing system posts interest as
// transactions), and a negative bucket is shown as zero.
func (a DocumentAccount) CycleOpening(start civil.Date, imported []Transaction) Opening {
	o := Opening{Principal: a.Principal, AccruedInterest: a.AccruedInterest, FeesDue: a.FeesDue}
	for _, t := range imported {
		switch {
		case !t.PostedOn.Before(start) && !t.PostedOn.After(a.BalanceAsOf):
			o.apply(t, -1)
		case t.PostedOn.After(a.BalanceAsOf) && t.PostedOn.Before(start):
			o.apply(t, 1)
		}
	}
	o.Principal, o.AccruedInterest, o.FeesDue = max(0, o.Principal), max(0, o.AccruedInterest), max(0, o.FeesDue)
	return o
}

func (o *Opening) apply(t Transaction, sign money.Cents) {
	amt := t.Amount * sign
	switch t.Kind {
	case "payment":
		if sign < 0 {
			// Undoing a payment: the split is not known, the total is.
			o.Principal -= amt
			return
		}
		left := amt
		for _, b := range []*money.Cents{&o.FeesDue, &o.AccruedInterest} {
			n := min(left, max(0, *b))
			*b -= n
			left -= n
		}
		o.Principal -= left
	case "returned_payment", "adjustment":
		o.Principal += amt
	case "late_fee", "returned_payment_fee":
		o.FeesDue += amt
	case "interest":
		o.AccruedInterest += amt
	}
}

// PriorDue is the due date and amount the previous statement billed.
type PriorDue struct {
	On     civil.Date
	Amount money.Cents
}

// CyclePriorDue is what the statement before the cycle starting on start
// billed: the first due date after that statement (zero before the first
// payment is due), for the installment when the date is on the schedule,
// plus the snapshot's arrears (past due and fees) when the snapshot is
// older than the cycle; a newer snapshot's arrears are what the cycle's
// payments decide, so they are not counted twice.
func (a DocumentAccount) CyclePriorDue(start civil.Date) PriorDue {
	prevEnd := start.AddDays(-1)
	due := prevEnd.OnDay(a.DueDay)
	if !due.After(prevEnd) {
		due = civil.New(prevEnd.Year, prevEnd.Month+1, 1).OnDay(a.DueDay)
	}
	var p PriorDue
	if due.Before(a.FirstDueOn) {
		return p
	}
	p.On = due
	if !due.After(a.MaturityOn) {
		p.Amount = a.Installment()
	}
	if a.BalanceAsOf.Before(start) {
		p.Amount += a.PastDue + a.FeesDue
	}
	return p
}
