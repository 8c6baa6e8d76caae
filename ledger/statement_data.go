package ledger

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
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
	// Active is what origination goes by: the enrollment is active (see
	// ActiveAutopayIn).
	Active        bool
	EnrollmentID  string
	BankAccountID string
	MaskedAccount string
	StartsOn      civil.Date
	DaysBeforeDue int
	Amount        money.Cents
}

// RecordBalance is the servicing system's position of an account at the end
// of a day (see portfolio.BalancePoint).
type RecordBalance struct {
	On        civil.Date
	Balance   money.Cents
	Principal money.Cents
	FeesDue   money.Cents
	PastDue   money.Cents
}

// StatementBalance is the new balance a recorded statement printed.
type StatementBalance struct {
	On         civil.Date
	NewBalance money.Cents
}

// Activity is what happened on an account around a cycle.
type Activity struct {
	// Imported are the servicing system's posted transactions.
	Imported []Transaction
	// Drafter are drafter's own debits (originated, settled or returned)
	// by effective date, and the transactions it posted: the returns of
	// them and its returned-payment fees.
	Drafter  []Transaction
	Autopay  AutopayInfo
	Odometer []OdometerReading
	// Records are the servicing system's balances from the day before the
	// period through its end, by date.
	Records map[civil.Date]RecordBalance
	// Previous is the latest statement recorded before the period's end
	// with its new balance (nil when none was).
	Previous *StatementBalance
	// OneTime are the customer's one-time payments that count toward an
	// installment (oneTimeCounts), as origination reads them.
	OneTime []OneTimePayment
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
		out[id] = &Activity{Records: map[civil.Date]RecordBalance{}}
	}
	if len(ids) == 0 {
		return out, nil
	}
	in, idArgs := s.inList(ids, 2)
	dated := append([]any{from, through}, idArgs...)

	err := s.each(ctx, `SELECT account_id, id, posted_on, kind, amount, description, source FROM transactions
		WHERE posted_on >= $1 AND posted_on <= $2 AND account_id IN (`+in+`) ORDER BY account_id, posted_on, id`, dated, func(scan func(...any) error) error {
		var t Transaction
		var source string
		if err := scan(&t.AccountID, &t.ID, &t.PostedOn, &t.Kind, &t.Amount, &t.Description, &source); err != nil {
			return err
		}
		a := out[t.AccountID]
		if source == "drafter" {
			a.Drafter = append(a.Drafter, t)
		} else {
			a.Imported = append(a.Imported, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select transactions: %w", err)
	}
	// drafter's debits, from their originations records (the payment row
	// says the same only once its file is settled): every debit in a
	// stored file, returned or not, on its effective date.
	err = s.each(ctx, `SELECT p.account_id, p.id, o.effective_on, p.source, p.amount
		FROM payments p JOIN originations o ON o.payment_id = p.id JOIN ach_files f ON f.id = o.ach_file_id
		WHERE p.kind = 'debit' AND f.status IN ('`+FileStored+`', '`+FileTransmitted+`') AND o.effective_on >= $1 AND o.effective_on <= $2
		  AND p.account_id IN (`+in+`) ORDER BY p.account_id, o.effective_on, p.id`, dated, func(scan func(...any) error) error {
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
	recordArgs := append([]any{from.AddDays(-1), through}, idArgs...)
	err = s.each(ctx, `SELECT account_id, on_date, balance, principal, fees_due, past_due FROM record_balances
		WHERE on_date >= $1 AND on_date <= $2 AND account_id IN (`+in+`)`, recordArgs, func(scan func(...any) error) error {
		var acct string
		var r RecordBalance
		if err := scan(&acct, &r.On, &r.Balance, &r.Principal, &r.FeesDue, &r.PastDue); err != nil {
			return err
		}
		out[acct].Records[r.On] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select record balances: %w", err)
	}
	in1, idArgs1 := s.inList(ids, 1)
	err = s.each(ctx, `SELECT account_id, document_date, new_balance FROM documents
		WHERE kind = 'statement' AND document_date < $1 AND new_balance IS NOT NULL AND account_id IN (`+in1+`)
		ORDER BY account_id, document_date`, append([]any{through}, idArgs1...), func(scan func(...any) error) error {
		var acct string
		var p StatementBalance
		if err := scan(&acct, &p.On, &p.NewBalance); err != nil {
			return err
		}
		out[acct].Previous = &p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select previous statements: %w", err)
	}
	in0, idArgs0 := s.inList(ids, 0)
	// The enrollment an account has (active first); the account's mask
	// comes from its bank account, never from the number itself.
	err = s.each(ctx, `SELECT e.account_id, e.id, e.bank_account_id, e.status, b.last4, e.starts_on, e.days_before_due, e.amount FROM autopay_enrollments e
		JOIN bank_accounts b ON b.id = e.bank_account_id WHERE e.account_id IN (`+in0+`) ORDER BY e.account_id, e.id`, idArgs0,
		func(scan func(...any) error) error {
			var acct, status, last4 string
			var ap AutopayInfo
			if err := scan(&acct, &ap.EnrollmentID, &ap.BankAccountID, &status, &last4, &ap.StartsOn, &ap.DaysBeforeDue, &ap.Amount); err != nil {
				return err
			}
			ap.Active = status == "active"
			ap.MaskedAccount = Mask(last4)
			if a := out[acct]; !a.Autopay.Active {
				a.Autopay = ap
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select autopay: %w", err)
	}
	err = s.each(ctx, `SELECT sp.account_id, sp.id, sp.debit_on, sp.amount FROM scheduled_payments sp
		WHERE sp.account_id IN (`+in0+`) AND `+oneTimeCounts+` ORDER BY sp.account_id, sp.debit_on, sp.id`, idArgs0,
		func(scan func(...any) error) error {
			var acct string
			var p OneTimePayment
			if err := scan(&acct, &p.ID, &p.DebitOn, &p.Amount); err != nil {
				return err
			}
			out[acct].OneTime = append(out[acct].OneTime, p)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select scheduled payments: %w", err)
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

// AddExceptions records exceptions for a person to look at; one already
// recorded (same kind and reference) is left as it is. It returns how many
// were new.
func (s *Store) AddExceptions(ctx context.Context, exs []Exception) (int, error) {
	return s.insertExceptions(ctx, s.q, exs, now())
}

// DrafterPostings returns, by account, what drafter reports to the
// servicing system through the end of through: its debits (every one in
// a stored file, returned or not, from its originations record) on their
// effective dates, and the transactions it
// posted (returns of its debits, its returned-payment fees). The demo and
// the tests feed them to the generated servicing system.
func (s *Store) DrafterPostings(ctx context.Context, through civil.Date) (map[string][]portfolio.Transaction, error) {
	out := map[string][]portfolio.Transaction{}
	err := s.each(ctx, `SELECT p.account_id, p.id, o.effective_on, p.amount
		FROM payments p JOIN originations o ON o.payment_id = p.id JOIN ach_files f ON f.id = o.ach_file_id
		WHERE p.kind = 'debit' AND f.status IN ('`+FileStored+`', '`+FileTransmitted+`') AND o.effective_on <= $1
		ORDER BY p.account_id, o.effective_on, p.id`, []any{through}, func(scan func(...any) error) error {
		var acct string
		var id int64
		t := portfolio.Transaction{Kind: "payment"}
		if err := scan(&acct, &id, &t.PostedOn, &t.Amount); err != nil {
			return err
		}
		t.ID = "payment:" + strconv.FormatInt(id, 10)
		out[acct] = append(out[acct], t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select drafter's payments: %w", err)
	}
	err = s.each(ctx, `SELECT account_id, id, posted_on, kind, amount FROM transactions
		WHERE source = 'drafter' AND posted_on <= $1 ORDER BY account_id, posted_on, id`, []any{through}, func(scan func(...any) error) error {
		var acct string
		var t portfolio.Transaction
		if err := scan(&acct, &t.ID, &t.PostedOn, &t.Kind, &t.Amount); err != nil {
			return err
		}
		out[acct] = append(out[acct], t)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("select drafter's transactions: %w", err)
	}
	return out, nil
}
