package portfolio

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
)

// validLoan is a loan that passes every rule, with one of each sub-record.
func validLoan() Account {
	d := civil.MustParse
	return Account{
		ID: "ACC-1", Kind: KindLoan, Status: "active",
		Customer: Customer{
			ID: "CUS-1", FirstName: "Thị Ánh", LastName: "Nguyễn", Email: "anh.nguyen@example.com", Phone: "+17145550123",
			Address: Address{Line1: "9200 Bolsa Ave", Line2: "Apt 4B", City: "Westminster", State: "CA", PostalCode: "92683-1234"},
		},
		Contract: Contract{
			State: "CA", OpenedOn: d("2025-01-10"), TermMonths: 60, MonthlyPayment: 61234,
			FirstDueDate: d("2025-02-28"), DueDay: 31, CycleDay: 10, MaturityDate: d("2030-01-31"),
			LateFee: 2500, GraceDays: 10, ReturnedPaymentFee: 1500, AmountFinanced: 3000000, APRBasisPoints: 649,
			Vehicle: Vehicle{VIN: "1HGCM82633A004352", Year: 2024, Make: "Honda", Model: "Accord"},
		},
		Balance: Balance{AsOf: d("2026-11-24"), Principal: 2100000, AccruedInterest: 1234, PaymentsMade: 21},
		BankAccounts: []BankAccount{
			{ID: "B1", Routing: "021000021", AccountNumber: "123456789", Type: "checking", HolderName: "Thị Ánh Nguyễn", Prenote: "verified", Status: "active"},
			{ID: "B2", Routing: "121000358", AccountNumber: "98765432100", Type: "savings", HolderName: "Trần Đức Thắng", Prenote: "required", Status: "active"},
		},
		Autopay: &Autopay{ID: "AP1", BankAccountID: "B1", AuthorizedOn: d("2025-01-10"), StartsOn: d("2025-02-28"), DaysBeforeDue: 0, Status: "active"},
		ScheduledPayments: []ScheduledPayment{
			{ID: "P1", BankAccountID: "B2", Amount: 50000, DebitOn: d("2026-11-25"), Channel: "web", AuthorizedAt: "2026-11-20T14:03:22-05:00"},
		},
		OdometerReadings: []OdometerReading{
			{On: d("2025-01-10"), Miles: 12, Source: "dealer"},
			{On: d("2026-01-10"), Miles: 13012, Source: "customer"},
		},
		Transactions: []Transaction{
			{ID: "T1", PostedOn: d("2026-10-31"), Kind: "payment", Amount: 61234, Description: "Autopay payment"},
		},
	}
}

func validLease() Account {
	a := validLoan()
	a.Kind = KindLease
	c := &a.Contract
	c.AmountFinanced, c.APRBasisPoints = 0, 0
	c.MonthlyTax = 5000
	c.CapitalizedCost, c.ResidualValue, c.MoneyFactorMillionths = 4500000, 2500000, 1250
	c.MileageAllowancePerYear, c.ExcessMileageRate = 12000, 25
	c.PurchaseOptionFee, c.DispositionFee, c.StartOdometer = 39500, 39500, 12
	return a
}

func TestValidAccountsPass(t *testing.T) {
	for name, a := range map[string]Account{"loan": validLoan(), "lease": validLease()} {
		if errs := Validate(a); errs != nil {
			t.Errorf("%s: %v", name, errs)
		}
	}
}

// decodeOne runs one account through the Decoder as line 1 of t.jsonl.
func decodeOne(t *testing.T, a Account) error {
	t.Helper()
	line, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewDecoder(bytes.NewReader(line), "t.jsonl").Next()
	return err
}

func TestValidationRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	tests := []struct {
		name   string
		lease  bool
		change func(a *Account)
		want   string // prefix of the first error: FILE:LINE: field: problem
	}{
		{"id missing", false, func(a *Account) { a.ID = "" }, "t.jsonl:1: id: missing; want an id"},
		{"id charset", false, func(a *Account) { a.ID = "ACC 1" }, `t.jsonl:1: id: "ACC 1" has a character outside`},
		{"id dot dot", false, func(a *Account) { a.ID = ".." }, `t.jsonl:1: id: ".." starts with '.'; want an id that starts with`},
		{"id hidden", false, func(a *Account) { a.ID = ".hidden" }, `t.jsonl:1: id: ".hidden" starts with '.'`},
		{"id slash", false, func(a *Account) { a.ID = "a/../b" }, `t.jsonl:1: id: "a/../b" has a character outside`},
		{"customer id dot", false, func(a *Account) { a.Customer.ID = "." }, `t.jsonl:1: customer.id: "." starts with '.'`},
		{"id with inner dots", false, func(a *Account) { a.ID = "LN.2026..1" }, ""},
		{"id too long", false, func(a *Account) { a.ID = strings.Repeat("A", 65) }, "t.jsonl:1: id: 65 characters long; want at most 64"},
		{"kind", false, func(a *Account) { a.Kind = "balloon" }, `t.jsonl:1: kind: "balloon" is not a kind; want loan or lease`},
		{"status", false, func(a *Account) { a.Status = "open" }, `t.jsonl:1: status: "open" is not allowed; want one of active, paid_off, closed`},
		{"customer id", false, func(a *Account) { a.Customer.ID = "" }, "t.jsonl:1: customer.id: missing"},
		{"first name missing", false, func(a *Account) { a.Customer.FirstName = "" }, "t.jsonl:1: customer.first_name: missing; want text of 1 to 100 characters"},
		{"last name too long", false, func(a *Account) { a.Customer.LastName = long(101) }, "t.jsonl:1: customer.last_name: 101 characters long; want at most 100"},
		{"name at max length", false, func(a *Account) { a.Customer.LastName = long(100); a.BankAccounts[0].HolderName = long(100) }, ""},
		{"name control char", false, func(a *Account) { a.Customer.FirstName = "Ann\x07" }, "t.jsonl:1: customer.first_name: contains control character U+0007"},
		{"name spaces", false, func(a *Account) { a.Customer.FirstName = " Ann" }, "t.jsonl:1: customer.first_name: has leading or trailing spaces"},
		{"name bad utf8", false, func(a *Account) { a.Customer.LastName = "Ng\xffuyen" }, "t.jsonl:1: customer.last_name: contains U+FFFD"},
		{"email", false, func(a *Account) { a.Customer.Email = "anh at example" }, `t.jsonl:1: customer.email: "anh at example" is not an email address`},
		{"email with name", false, func(a *Account) { a.Customer.Email = "Anh <anh@example.com>" }, "t.jsonl:1: customer.email: "},
		{"phone", false, func(a *Account) { a.Customer.Phone = "555-0123" }, "t.jsonl:1: customer.phone: has 7 digits; want 10 to 15 digits"},
		{"address line1 missing", false, func(a *Account) { a.Customer.Address.Line1 = "" }, "t.jsonl:1: customer.address.line1: missing"},
		{"address line too long", false, func(a *Account) { a.Customer.Address.Line2 = long(201) }, "t.jsonl:1: customer.address.line2: 201 characters long; want at most 200"},
		{"address line at max", false, func(a *Account) { a.Customer.Address.Line1 = long(200) }, ""},
		{"state", false, func(a *Account) { a.Customer.Address.State = "Ca" }, `t.jsonl:1: customer.address.state: "Ca" is not a US state code`},
		{"postal code", false, func(a *Account) { a.Customer.Address.PostalCode = "9268" }, `t.jsonl:1: customer.address.postal_code: "9268" is not a ZIP code; want 12345 or 12345-6789`},
		{"postal code plus4", false, func(a *Account) { a.Customer.Address.PostalCode = "92683-12" }, `t.jsonl:1: customer.address.postal_code: "92683-12" is not a ZIP code`},
		{"contract state territory", false, func(a *Account) { a.Contract.State = "GU" }, `t.jsonl:1: contract.state: "GU" is not a US state code`},
		{"opened missing", false, func(a *Account) { a.Contract.OpenedOn = civil.Date{} }, "t.jsonl:1: contract.opened_on: missing; want a date YYYY-MM-DD"},
		{"term", false, func(a *Account) { a.Contract.TermMonths = 0 }, "t.jsonl:1: contract.term_months: 0 is out of range; want 1 to 120"},
		{"payment zero", false, func(a *Account) { a.Contract.MonthlyPayment = 0 }, "t.jsonl:1: contract.monthly_payment_cents: missing or zero"},
		{"payment too large", false, func(a *Account) { a.Contract.MonthlyPayment = 10_000_000_000 }, "t.jsonl:1: contract.monthly_payment_cents: 10000000000 is too large; want cents, at most 9999999999"},
		{"payment at cap", false, func(a *Account) { a.Contract.MonthlyPayment = 9_999_999_999 }, ""},
		{"tax negative", false, func(a *Account) { a.Contract.MonthlyTax = -1 }, "t.jsonl:1: contract.monthly_tax_cents: -1 is negative"},
		{"first due before opened", false, func(a *Account) { a.Contract.OpenedOn = civil.MustParse("2025-03-01") }, "t.jsonl:1: contract.first_due_date: 2025-02-28 is not after opened_on 2025-03-01"},
		{"first due off due day", false, func(a *Account) { a.Contract.DueDay = 15 }, "t.jsonl:1: contract.first_due_date: 2025-02-28 does not fall on due_day 15"},
		{"due day", false, func(a *Account) { a.Contract.DueDay = 32 }, "t.jsonl:1: contract.due_day: 32 is out of range; want 1 to 31"},
		{"cycle day", false, func(a *Account) { a.Contract.CycleDay = 0 }, "t.jsonl:1: contract.cycle_day: 0 is out of range; want 1 to 31"},
		{"maturity before first due", false, func(a *Account) { a.Contract.MaturityDate = civil.MustParse("2025-01-31") }, "t.jsonl:1: contract.maturity_date: 2025-01-31 is not after first_due_date 2025-02-28"},
		{"grace days", false, func(a *Account) { a.Contract.GraceDays = 61 }, "t.jsonl:1: contract.grace_days: 61 is out of range; want 0 to 60"},
		{"apr", false, func(a *Account) { a.Contract.APRBasisPoints = 3601 }, "t.jsonl:1: contract.apr_bps: 3601 is out of range; want 0 to 3600"},
		{"amount financed", false, func(a *Account) { a.Contract.AmountFinanced = 0 }, "t.jsonl:1: contract.amount_financed_cents: missing or zero"},
		{"lease field on loan", false, func(a *Account) { a.Contract.ResidualValue = 100 }, "t.jsonl:1: contract.residual_value_cents: set on a loan; want it only on a lease"},
		{"lease cap cost", true, func(a *Account) { a.Contract.CapitalizedCost = 0 }, "t.jsonl:1: contract.capitalized_cost_cents: missing or zero"},
		{"lease residual above cap", true, func(a *Account) { a.Contract.ResidualValue = 4500000 }, "t.jsonl:1: contract.residual_value_cents: 4500000 is not below capitalized_cost_cents 4500000"},
		{"lease mileage", true, func(a *Account) { a.Contract.MileageAllowancePerYear = 0 }, "t.jsonl:1: contract.mileage_allowance_per_year: 0 is out of range; want 1 to 100000"},
		{"lease money factor", true, func(a *Account) { a.Contract.MoneyFactorMillionths = 12500 }, "t.jsonl:1: contract.money_factor_millionths: 12500 is out of range; want 0 to 10000"},
		{"loan field on lease", true, func(a *Account) { a.Contract.APRBasisPoints = 649 }, "t.jsonl:1: contract.apr_bps: set on a lease"},
		{"vin length", false, func(a *Account) { a.Contract.Vehicle.VIN = "1HGCM82633A00435" }, `t.jsonl:1: contract.vehicle.vin: "1HGCM82633A00435" is 16 characters long; want 17`},
		{"vin letter O", false, func(a *Account) { a.Contract.Vehicle.VIN = "1HGCM82633AO04352" }, `t.jsonl:1: contract.vehicle.vin: "1HGCM82633AO04352" has a character outside`},
		{"vin check digit", false, func(a *Account) { a.Contract.Vehicle.VIN = "1HGCM82643A004352" }, `t.jsonl:1: contract.vehicle.vin: "1HGCM82643A004352" check digit (position 9) is wrong, want 3`},
		{"vehicle year", false, func(a *Account) { a.Contract.Vehicle.Year = 2030 }, "t.jsonl:1: contract.vehicle.year: 2030 is out of range; want 1981 to 2027"},
		{"vehicle make", false, func(a *Account) { a.Contract.Vehicle.Make = "" }, "t.jsonl:1: contract.vehicle.make: missing"},
		{"balance as of", false, func(a *Account) { a.Balance.AsOf = civil.MustParse("2024-12-31") }, "t.jsonl:1: balance.as_of: 2024-12-31 is before contract.opened_on 2025-01-10"},
		{"principal negative", false, func(a *Account) { a.Balance.Principal = -5 }, "t.jsonl:1: balance.principal_cents: -5 is negative"},
		{"payments made over term", false, func(a *Account) { a.Balance.PaymentsMade = 61 }, "t.jsonl:1: balance.payments_made: 61 is out of range; want 0 to 60"},
		{"paid off with principal", false, func(a *Account) { a.Status = "paid_off" }, "t.jsonl:1: balance.principal_cents: 2100000 on a paid_off account; want 0"},
		{"routing check digit", false, func(a *Account) { a.BankAccounts[1].Routing = "121000359" }, `t.jsonl:1: bank_accounts[1].routing: "121000359" check digit is wrong; want a 9-digit ABA routing number`},
		{"routing length", false, func(a *Account) { a.BankAccounts[0].Routing = "21000021" }, `t.jsonl:1: bank_accounts[0].routing: "21000021" has 8 characters; want a 9-digit ABA routing number`},
		{"routing letters", false, func(a *Account) { a.BankAccounts[0].Routing = "02100002x" }, `t.jsonl:1: bank_accounts[0].routing: "02100002x" has a non-digit`},
		{"account number letters", false, func(a *Account) { a.BankAccounts[0].AccountNumber = "12345678A9" }, "t.jsonl:1: bank_accounts[0].account_number: ****78A9 has a character other than a digit; want 4 to 17 digits"},
		{"account number too long", false, func(a *Account) { a.BankAccounts[0].AccountNumber = "123456789012345678" }, "t.jsonl:1: bank_accounts[0].account_number: ****5678 has 18 digits; want 4 to 17 digits"},
		{"account number too short", false, func(a *Account) { a.BankAccounts[0].AccountNumber = "123" }, "t.jsonl:1: bank_accounts[0].account_number: *** has 3 digits; want 4 to 17 digits"},
		{"bank type", false, func(a *Account) { a.BankAccounts[0].Type = "Checking" }, `t.jsonl:1: bank_accounts[0].type: "Checking" is not allowed; want one of checking, savings`},
		{"prenote", false, func(a *Account) { a.BankAccounts[0].Prenote = "sent" }, `t.jsonl:1: bank_accounts[0].prenote: "sent" is not allowed; want one of verified, required`},
		{"bank status", false, func(a *Account) { a.BankAccounts[0].Status = "" }, "t.jsonl:1: bank_accounts[0].status: missing; want one of active, invalid"},
		{"holder name", false, func(a *Account) { a.BankAccounts[1].HolderName = "" }, "t.jsonl:1: bank_accounts[1].holder_name: missing"},
		{"bank id duplicate", false, func(a *Account) { a.BankAccounts[1].ID = "B1" }, `t.jsonl:1: bank_accounts[1].id: "B1" repeats bank_accounts[0].id`},
		{"autopay reference", false, func(a *Account) { a.Autopay.BankAccountID = "B9" }, `t.jsonl:1: autopay.bank_account_id: "B9" names no bank account of this account`},
		{"autopay starts before authorized", false, func(a *Account) { a.Autopay.StartsOn = civil.MustParse("2025-01-09") }, "t.jsonl:1: autopay.starts_on: 2025-01-09 is before authorized_on 2025-01-10"},
		{"autopay days before due", false, func(a *Account) { a.Autopay.DaysBeforeDue = 11 }, "t.jsonl:1: autopay.days_before_due: 11 is out of range; want 0 to 10"},
		{"autopay status", false, func(a *Account) { a.Autopay.Status = "on" }, `t.jsonl:1: autopay.status: "on" is not allowed; want one of active, suspended, stopped`},
		{"scheduled reference", false, func(a *Account) { a.ScheduledPayments[0].BankAccountID = "" }, "t.jsonl:1: scheduled_payments[0].bank_account_id: missing; want the id of one of this account's bank_accounts"},
		{"scheduled amount", false, func(a *Account) { a.ScheduledPayments[0].Amount = 0 }, "t.jsonl:1: scheduled_payments[0].amount_cents: missing or zero"},
		{"scheduled channel", false, func(a *Account) { a.ScheduledPayments[0].Channel = "mail" }, `t.jsonl:1: scheduled_payments[0].channel: "mail" is not allowed; want one of web, phone`},
		{"scheduled authorized at", false, func(a *Account) { a.ScheduledPayments[0].AuthorizedAt = "2026-11-20 14:03" }, `t.jsonl:1: scheduled_payments[0].authorized_at: "2026-11-20 14:03" is not a time; want RFC 3339`},
		{"scheduled authorized after debit", false, func(a *Account) { a.ScheduledPayments[0].AuthorizedAt = "2026-11-26T09:00:00Z" }, "t.jsonl:1: scheduled_payments[0].authorized_at: 2026-11-26T09:00:00Z is after debit_on 2026-11-25"},
		{"odometer decreasing", false, func(a *Account) { a.OdometerReadings[1].Miles = 5 }, "t.jsonl:1: odometer_readings[1].miles: 5 is below the previous reading's 12"},
		{"odometer out of order", false, func(a *Account) { a.OdometerReadings[1].On = civil.MustParse("2025-01-09") }, "t.jsonl:1: odometer_readings[1].on: 2025-01-09 is before contract.opened_on 2025-01-10"},
		{"odometer in the future", false, func(a *Account) { a.OdometerReadings[1].On = civil.MustParse("2026-11-25") }, "t.jsonl:1: odometer_readings[1].on: 2026-11-25 is after balance.as_of 2026-11-24"},
		{"odometer source", false, func(a *Account) { a.OdometerReadings[0].Source = "guess" }, `t.jsonl:1: odometer_readings[0].source: "guess" is not allowed`},
		{"transaction kind", false, func(a *Account) { a.Transactions[0].Kind = "refund" }, `t.jsonl:1: transactions[0].kind: "refund" is not allowed; want one of payment, returned_payment, late_fee, returned_payment_fee, interest, adjustment`},
		{"transaction amount", false, func(a *Account) { a.Transactions[0].Amount = -100 }, "t.jsonl:1: transactions[0].amount_cents: -100 is negative"},
		{"transaction posted before opened", false, func(a *Account) { a.Transactions[0].PostedOn = civil.MustParse("2024-01-01") }, "t.jsonl:1: transactions[0].posted_on: 2024-01-01 is before contract.opened_on"},
		{"transaction id duplicate", false, func(a *Account) {
			a.Transactions = append(a.Transactions, a.Transactions[0])
		}, `t.jsonl:1: transactions[1].id: "T1" repeats transactions[0].id`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := validLoan()
			if tt.lease {
				a = validLease()
			}
			tt.change(&a)
			err := decodeOne(t, a)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				return
			}
			les := LineErrors(err)
			if len(les) == 0 {
				t.Fatalf("want %q, got %v", tt.want, err)
			}
			if got := les[0].Error(); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got  %s\nwant %s...", got, tt.want)
			}
		})
	}
}

// TestNoFullAccountNumberInErrors checks the masking on every rule that
// looks at an account number.
func TestNoFullAccountNumberInErrors(t *testing.T) {
	for _, n := range []string{"123456789012345678", "12345678A9", "9876 5432 1012", "123"} {
		a := validLoan()
		a.BankAccounts[0].AccountNumber = n
		err := decodeOne(t, a)
		if err == nil {
			t.Fatalf("%s: want an error", maskAccountNumber(n))
		}
		if len(n) > 4 && strings.Contains(err.Error(), n) || strings.Contains(err.Error(), n[:len(n)-1]) && len(n) > 4 {
			t.Errorf("error shows the account number: %v", err)
		}
	}
}

func TestSeveralProblemsAreAllReported(t *testing.T) {
	a := validLoan()
	a.Kind = "x"
	a.BankAccounts[0].Routing = "021000022"
	les := LineErrors(decodeOne(t, a))
	var fields []string
	for _, le := range les {
		fields = append(fields, le.Field)
	}
	if got := strings.Join(fields, " "); got != "kind bank_accounts[0].routing" {
		t.Errorf("fields = %s, want kind bank_accounts[0].routing", got)
	}
}

// A holder name in any script is valid; one that leaves no letter for the
// NACHA file is a warning (its debits carry the fallback name), not an error.
func TestWarningsHolderNameFallback(t *testing.T) {
	cases := []struct {
		name   string
		holder string
		want   string // "" for no warning
	}{
		{"latin", "Thị Ánh Nguyễn", ""},
		{"cjk", "王小明", ""},
		{"greek", "Γιώργος Παπαδόπουλος", ""},
		{"cyrillic", "Иван Петров", ""},
		{"emoji only", "😀🚗", `bank_accounts[1].holder_name: account ACC-1 bank account B2: "😀🚗" has no letter a NACHA file can carry; its debits will carry the name ACCOUNT HOLDER`},
		{"digits only", "12345", `bank_accounts[1].holder_name: account ACC-1 bank account B2: "12345" has no letter`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := validLoan()
			a.BankAccounts[1].HolderName = tc.holder
			if errs := Validate(a); errs != nil {
				t.Fatalf("Validate = %v, want the account valid", errs)
			}
			ws := Warnings(a)
			if tc.want == "" {
				if ws != nil {
					t.Fatalf("Warnings = %v, want none", ws)
				}
				return
			}
			if len(ws) != 1 || !strings.HasPrefix(ws[0].Error(), tc.want) {
				t.Fatalf("Warnings = %v, want one starting %q", ws, tc.want)
			}
		})
	}
}
