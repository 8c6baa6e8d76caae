package ledger

import (
	"context"
	"fmt"
	"strings"

	"github.com/drafterhq/drafter/portfolio"
)

// ImportCounts says how many rows an import wrote, by table.
type ImportCounts struct {
	Accounts          int `json:"accounts"`
	Customers         int `json:"customers"`
	BankAccounts      int `json:"bank_accounts"`
	Autopay           int `json:"autopay_enrollments"`
	ScheduledPayments int `json:"scheduled_payments"`
	OdometerReadings  int `json:"odometer_readings"`
	Transactions      int `json:"transactions"`
	RecordBalances    int `json:"record_balances"`
}

// Add adds o to c.
func (c *ImportCounts) Add(o ImportCounts) {
	c.Accounts += o.Accounts
	c.Customers += o.Customers
	c.BankAccounts += o.BankAccounts
	c.Autopay += o.Autopay
	c.ScheduledPayments += o.ScheduledPayments
	c.OdometerReadings += o.OdometerReadings
	c.Transactions += o.Transactions
	c.RecordBalances += o.RecordBalances
}

// Importer upserts validated accounts from the servicing system's extract in
// one transaction: Commit makes all of them visible, Rollback none.
//
// A reimport changes nothing that drafter owns: the state of a bank account
// (prenote, invalid after a return), details a NOC corrected while the
// extract still has the old ones, and an autopay enrollment suspended or
// stopped after a return are kept, unless the extract brings new bank
// details or the servicing system stopped autopay itself.
type Importer struct {
	s  *Store
	tx querierTx
}

type querierTx interface {
	querier
	Commit() error
	Rollback() error
}

// NewImporter begins the import transaction.
func (s *Store) NewImporter(ctx context.Context) (*Importer, error) {
	if s.tx != nil {
		return &Importer{s: s, tx: nopCommitTx{s.tx}}, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin import: %w", err)
	}
	if err := s.verifyKey(ctx, tx, true); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("begin import: %w", err)
	}
	return &Importer{s: s, tx: tx}, nil
}

// Commit makes the import visible.
func (im *Importer) Commit() error { return im.tx.Commit() }

// Rollback discards the import.
func (im *Importer) Rollback() error { return im.tx.Rollback() }

var (
	customerCols = []string{"id", "first_name", "last_name", "email", "phone", "address_line1", "address_line2", "city", "state", "postal_code"}
	accountCols  = []string{"id", "customer_id", "kind", "status", "contract_state", "opened_on", "term_months", "monthly_payment",
		"monthly_tax", "first_due_on", "due_day", "cycle_day", "maturity_on", "late_fee", "grace_days", "returned_payment_fee",
		"amount_financed", "apr_bps", "capitalized_cost", "money_factor_millionths", "residual_value",
		"mileage_allowance_per_year", "excess_mileage_rate", "purchase_option_fee", "disposition_fee", "start_odometer",
		"vehicle_vin", "vehicle_year", "vehicle_make", "vehicle_model",
		"balance_as_of", "principal", "accrued_interest", "fees_due", "past_due", "payments_made"}
	bankCols      = []string{"id", "account_id", "routing", "number_enc", "number_mac", "last4", "type", "holder_name", "prenote", "status"}
	autopayCols   = []string{"id", "account_id", "bank_account_id", "authorized_on", "starts_on", "days_before_due", "amount", "status"}
	scheduledCols = []string{"id", "account_id", "bank_account_id", "amount", "debit_on", "channel", "authorized_at"}
	odometerCols  = []string{"account_id", "read_on", "miles", "source"}
	txnCols       = []string{"id", "account_id", "posted_on", "kind", "amount", "description"}
	recordCols    = []string{"account_id", "on_date", "balance", "principal", "fees_due", "past_due"}
)

// nocKept is true when the extract still carries bank details that a NOC
// corrected: the servicing system has not caught up, and drafter keeps the
// corrected details rather than debit the wrong account again.
const nocKept = `(bank_accounts.replaced_details <> '' AND bank_accounts.replaced_details = excluded.number_mac || '|' || excluded.routing)`

// bankDetailsChanged is true when the extract brings a different account
// number or routing number for a bank account: the customer gave new details.
const bankDetailsChanged = `(NOT ` + nocKept + ` AND (bank_accounts.number_mac <> excluded.number_mac OR bank_accounts.routing <> excluded.routing))`

// keepOrNew sets a bank detail column from the extract unless a NOC's
// correction is kept.
func keepOrNew(col string) string {
	return col + ` = CASE WHEN ` + nocKept + ` THEN bank_accounts.` + col + ` ELSE excluded.` + col + ` END`
}

// Import upserts accounts (already validated) inside the import transaction.
func (im *Importer) Import(ctx context.Context, accounts []portfolio.Account) (ImportCounts, error) {
	var c ImportCounts
	var customers, accts, banks, autopays, scheduled, odometers, txns, records [][]any
	for i := range accounts {
		a := &accounts[i]
		cu := a.Customer
		customers = append(customers, []any{cu.ID, cu.FirstName, cu.LastName, cu.Email, cu.Phone,
			cu.Address.Line1, cu.Address.Line2, cu.Address.City, cu.Address.State, cu.Address.PostalCode})
		k, b := a.Contract, a.Balance
		accts = append(accts, []any{a.ID, cu.ID, a.Kind, a.Status, k.State, k.OpenedOn, k.TermMonths, k.MonthlyPayment,
			k.MonthlyTax, k.FirstDueDate, k.DueDay, k.CycleDay, k.MaturityDate, k.LateFee, k.GraceDays, k.ReturnedPaymentFee,
			k.AmountFinanced, k.APRBasisPoints, k.CapitalizedCost, k.MoneyFactorMillionths, k.ResidualValue,
			k.MileageAllowancePerYear, k.ExcessMileageRate, k.PurchaseOptionFee, k.DispositionFee, k.StartOdometer,
			k.Vehicle.VIN, k.Vehicle.Year, k.Vehicle.Make, k.Vehicle.Model,
			b.AsOf, b.Principal, b.AccruedInterest, b.FeesDue, b.PastDue, b.PaymentsMade})
		for _, ba := range a.BankAccounts {
			banks = append(banks, []any{ba.ID, a.ID, ba.Routing, im.s.cipher.sealRow(ba.AccountNumber, bankAccountRow(ba.ID)), im.s.cipher.MAC(ba.AccountNumber),
				Last4(ba.AccountNumber), ba.Type, ba.HolderName, ba.Prenote, ba.Status})
		}
		if ap := a.Autopay; ap != nil {
			autopays = append(autopays, []any{ap.ID, a.ID, ap.BankAccountID, ap.AuthorizedOn, ap.StartsOn, ap.DaysBeforeDue, ap.Amount, ap.Status})
		}
		for _, sp := range a.ScheduledPayments {
			scheduled = append(scheduled, []any{sp.ID, a.ID, sp.BankAccountID, sp.Amount, sp.DebitOn, sp.Channel, sp.AuthorizedAt})
		}
		for _, o := range a.OdometerReadings {
			odometers = append(odometers, []any{a.ID, o.On, o.Miles, o.Source})
		}
		for _, t := range a.Transactions {
			txns = append(txns, []any{t.ID, a.ID, t.PostedOn, t.Kind, t.Amount, t.Description})
		}
		for _, h := range b.History {
			records = append(records, []any{a.ID, h.On, h.Balance, h.Principal, h.FeesDue, h.PastDue})
		}
	}
	steps := []struct {
		table    string
		cols     []string
		conflict string
		set      string
		rows     [][]any
		count    *int
	}{
		{"customers", customerCols, "id", setExcluded(customerCols[1:]), customers, &c.Customers},
		{"accounts", accountCols, "id", setExcluded(accountCols[1:]), accts, &c.Accounts},
		{"bank_accounts", bankCols, "id", setExcluded([]string{"account_id", "holder_name"}) +
			", " + keepOrNew("routing") + ", " + keepOrNew("number_mac") + ", " + keepOrNew("last4") + ", " + keepOrNew("type") +
			`, replaced_details = CASE WHEN ` + bankDetailsChanged + ` THEN '' ELSE bank_accounts.replaced_details END` +
			`, number_enc = CASE WHEN ` + bankDetailsChanged + ` THEN excluded.number_enc ELSE bank_accounts.number_enc END` +
			`, prenote = CASE WHEN ` + bankDetailsChanged + ` THEN excluded.prenote ELSE bank_accounts.prenote END` +
			`, prenote_settles_on = CASE WHEN ` + bankDetailsChanged + ` THEN NULL ELSE bank_accounts.prenote_settles_on END` +
			`, status = CASE WHEN ` + bankDetailsChanged + ` THEN excluded.status ELSE bank_accounts.status END` +
			`, status_reason = CASE WHEN ` + bankDetailsChanged + ` THEN '' ELSE bank_accounts.status_reason END`,
			banks, &c.BankAccounts},
		{"autopay_enrollments", autopayCols, "id", setExcluded([]string{"account_id", "authorized_on", "starts_on", "days_before_due", "amount"}) +
			`, status = CASE WHEN excluded.status = 'stopped' OR autopay_enrollments.bank_account_id <> excluded.bank_account_id THEN excluded.status ELSE autopay_enrollments.status END` +
			`, status_reason = CASE WHEN excluded.status = 'stopped' OR autopay_enrollments.bank_account_id <> excluded.bank_account_id THEN '' ELSE autopay_enrollments.status_reason END` +
			`, bank_account_id = excluded.bank_account_id`,
			autopays, &c.Autopay},
		{"scheduled_payments", scheduledCols, "id", setExcluded(scheduledCols[1:]), scheduled, &c.ScheduledPayments},
		{"odometer_readings", odometerCols, "account_id, read_on", setExcluded([]string{"miles", "source"}), odometers, &c.OdometerReadings},
		// A transaction drafter posted is never overwritten by an extract.
		{"transactions", txnCols, "id", setExcluded(txnCols[1:]) + ` WHERE transactions.source = 'servicing'`, txns, &c.Transactions},
		{"record_balances", recordCols, "account_id, on_date", setExcluded(recordCols[2:]), records, &c.RecordBalances},
	}
	for _, st := range steps {
		if err := im.s.upsert(ctx, im.tx, st.table, st.cols, st.conflict, st.set, st.rows); err != nil {
			return c, err
		}
		*st.count = len(st.rows)
	}
	if err := im.resealUnreadable(ctx, accounts); err != nil {
		return c, err
	}
	return c, nil
}

// resealUnreadable seals again, under the ledger's key, each imported bank
// account number whose stored ciphertext cannot be opened (written under
// another key, or damaged) while the extract carries the same number: a
// reimport repairs it, and a payment held for it is debited on the next
// run. A number the ledger can open is left as it is, so a reimport changes
// nothing.
func (im *Importer) resealUnreadable(ctx context.Context, accounts []portfolio.Account) error {
	plain := map[string]string{}
	for i := range accounts {
		for _, ba := range accounts[i].BankAccounts {
			plain[ba.ID] = ba.AccountNumber
		}
	}
	if len(plain) == 0 {
		return nil
	}
	ids := make([]string, 0, len(plain))
	for id := range plain {
		ids = append(ids, id)
	}
	in, arg := im.s.dialect.inStrings("id", 1, ids)
	type stored struct {
		id, mac string
		enc     []byte
	}
	rows, err := queryAll(ctx, im.tx, func(r rowScanner) (stored, error) {
		var b stored
		return b, r.Scan(&b.id, &b.mac, &b.enc)
	}, `SELECT id, number_mac, number_enc FROM bank_accounts WHERE `+in, arg)
	if err != nil {
		return fmt.Errorf("read imported bank accounts: %w", err)
	}
	for _, b := range rows {
		if _, err := im.s.cipher.openRow(b.enc, bankAccountRow(b.id)); err == nil || im.s.cipher.MAC(plain[b.id]) != b.mac {
			continue
		}
		if _, err := im.tx.ExecContext(ctx, `UPDATE bank_accounts SET number_enc = $2 WHERE id = $1`, b.id, im.s.cipher.sealRow(plain[b.id], bankAccountRow(b.id))); err != nil {
			return fmt.Errorf("seal bank account %s again: %w", b.id, err)
		}
	}
	return nil
}

func setExcluded(cols []string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = c + " = excluded." + c
	}
	return strings.Join(parts, ", ")
}

// upsert writes rows with multi-row INSERT ... ON CONFLICT DO UPDATE
// statements, as many rows per statement as the dialect allows.
func (s *Store) upsert(ctx context.Context, q querier, table string, cols []string, conflict, set string, rows [][]any) error {
	rows = lastByKey(cols, conflict, rows)
	per := s.dialect.maxParams / len(cols)
	per = min(per, 1000)
	head := "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES "
	tail := " ON CONFLICT (" + conflict + ") DO UPDATE SET " + set
	args := make([]any, 0, per*len(cols))
	for start := 0; start < len(rows); start += per {
		chunk := rows[start:min(start+per, len(rows))]
		args = args[:0]
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := q.ExecContext(ctx, head+s.dialect.values(len(chunk), len(cols), 0)+tail, args...); err != nil {
			return fmt.Errorf("import %s: %w", table, err)
		}
	}
	return nil
}

// lastByKey keeps the last row for each conflict key: PostgreSQL refuses a
// statement that upserts the same row twice (two accounts of one customer).
func lastByKey(cols []string, conflict string, rows [][]any) [][]any {
	var idx []int
	for _, k := range strings.Split(conflict, ",") {
		for i, c := range cols {
			if c == strings.TrimSpace(k) {
				idx = append(idx, i)
			}
		}
	}
	key := func(r []any) string {
		if len(idx) == 1 {
			return fmt.Sprint(r[idx[0]])
		}
		var b strings.Builder
		for _, i := range idx {
			fmt.Fprint(&b, r[i], "\x00")
		}
		return b.String()
	}
	pos := make(map[string]int, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		k := key(r)
		if i, ok := pos[k]; ok {
			out[i] = r
			continue
		}
		pos[k] = len(out)
		out = append(out, r)
	}
	return out
}

// nopCommitTx is an import inside a dry run: the dry run's rollback decides.
type nopCommitTx struct{ querier }

func (nopCommitTx) Commit() error   { return nil }
func (nopCommitTx) Rollback() error { return nil }
