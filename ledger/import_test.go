package ledger_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// testAccount is a small, valid lease account with one bank account on
// autopay.
func testAccount(id string, number string) portfolio.Account {
	d := civil.MustParse
	return portfolio.Account{
		ID: id, Kind: "lease", Status: "active",
		Customer: portfolio.Customer{ID: "C-" + id, FirstName: "Zoë", LastName: "Nguyễn", Email: "zoe@example.com",
			Address: portfolio.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701"}},
		Contract: portfolio.Contract{State: "IL", OpenedOn: d("2024-01-10"), TermMonths: 36, MonthlyPayment: 45000, MonthlyTax: 2925,
			FirstDueDate: d("2024-02-10"), DueDay: 10, CycleDay: 20, MaturityDate: d("2027-01-10"), LateFee: 2500, GraceDays: 10,
			ReturnedPaymentFee: 2500, CapitalizedCost: 3500000, MoneyFactorMillionths: 1250, ResidualValue: 2100000,
			MileageAllowancePerYear: 12000, ExcessMileageRate: 25, PurchaseOptionFee: 35000, DispositionFee: 39500,
			Vehicle: portfolio.Vehicle{VIN: "1HGCM82633A004352", Year: 2024, Make: "Honda", Model: "Accord"}},
		Balance: portfolio.Balance{AsOf: d("2026-11-01"), Principal: 1080000, PaymentsMade: 33},
		BankAccounts: []portfolio.BankAccount{{ID: "B-" + id, Routing: "021000021", AccountNumber: number, Type: "checking",
			HolderName: "Zoë Nguyễn", Prenote: "verified", Status: "active"}},
		Autopay: &portfolio.Autopay{ID: "AP-" + id, BankAccountID: "B-" + id, AuthorizedOn: d("2024-01-10"),
			StartsOn: d("2024-02-10"), Status: "active"},
		OdometerReadings: []portfolio.OdometerReading{{On: d("2026-10-01"), Miles: 31000, Source: "telematics"}},
		Transactions:     []portfolio.Transaction{{ID: "T-" + id, PostedOn: d("2026-10-10"), Kind: "payment", Amount: 47925}},
	}
}

func importAll(t *testing.T, s *ledger.Store, accts []portfolio.Account) ledger.ImportCounts {
	t.Helper()
	ctx := context.Background()
	im, err := s.NewImporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := im.Import(ctx, accts)
	if err != nil {
		im.Rollback()
		t.Fatal(err)
	}
	if err := im.Commit(); err != nil {
		t.Fatal(err)
	}
	return c
}

// dump renders every imported table as text, to compare states.
func dump(t *testing.T, db *sql.DB) string {
	t.Helper()
	return ledgertest.Dump(t, db,
		"SELECT * FROM customers ORDER BY id",
		"SELECT * FROM accounts ORDER BY id",
		"SELECT id, account_id, routing, number_enc, number_mac, last4, type, holder_name, prenote, prenote_settles_on, status, status_reason FROM bank_accounts ORDER BY id",
		"SELECT * FROM autopay_enrollments ORDER BY id",
		"SELECT * FROM scheduled_payments ORDER BY id",
		"SELECT * FROM odometer_readings ORDER BY account_id, read_on",
		"SELECT * FROM transactions ORDER BY id")
}

func TestImportIsIdempotent(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		accts := []portfolio.Account{testAccount("L1", "123456789"), testAccount("L2", "987654321")}
		c := importAll(t, s, accts)
		if c.Accounts != 2 || c.BankAccounts != 2 || c.Autopay != 2 || c.Transactions != 2 {
			t.Fatalf("counts = %+v", c)
		}
		before := dump(t, s.DB())
		importAll(t, s, accts)
		if after := dump(t, s.DB()); after != before {
			t.Fatalf("reimport changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

func TestReimportKeepsDrafterStateUnlessDetailsChange(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		importAll(t, s, []portfolio.Account{testAccount("L1", "123456789")})
		// drafter marks the bank account invalid after an R03.
		if _, err := s.DB().ExecContext(ctx, `UPDATE bank_accounts SET status = 'invalid', status_reason = 'R03' WHERE id = 'B-L1'`); err != nil {
			t.Fatal(err)
		}
		importAll(t, s, []portfolio.Account{testAccount("L1", "123456789")})
		var status string
		s.DB().QueryRowContext(ctx, `SELECT status FROM bank_accounts WHERE id = 'B-L1'`).Scan(&status)
		if status != "invalid" {
			t.Fatalf("reimport of the same details reset status to %q", status)
		}
		// The customer gives a new account number: the account is usable again.
		importAll(t, s, []portfolio.Account{testAccount("L1", "5555000011")})
		var last4 string
		s.DB().QueryRowContext(ctx, `SELECT status, last4 FROM bank_accounts WHERE id = 'B-L1'`).Scan(&status, &last4)
		if status != "active" || last4 != "0011" {
			t.Fatalf("after new details: status %q last4 %q", status, last4)
		}
	})
}

func TestImportRollbackLeavesNothing(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		im, err := s.NewImporter(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.Import(ctx, []portfolio.Account{testAccount("L1", "123456789")}); err != nil {
			t.Fatal(err)
		}
		if err := im.Rollback(); err != nil {
			t.Fatal(err)
		}
		var n int
		s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
		if n != 0 {
			t.Fatalf("%d accounts after rollback", n)
		}
	})
}

func TestSharedCustomerInOneBatch(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		a, b := testAccount("L1", "123456789"), testAccount("L2", "223456789")
		b.Customer = a.Customer
		importAll(t, s, []portfolio.Account{a, b})
		var n int
		s.DB().QueryRow(`SELECT COUNT(*) FROM customers`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d customers, want 1", n)
		}
	})
}

func TestAccountNumbersAreEncryptedAtRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "drafter.db")
	s := ledgertest.OpenURL(t, "sqlite:"+path)
	const number = "80417733926105"
	importAll(t, s, []portfolio.Account{testAccount("L1", number)})
	ba, err := s.BankAccount(context.Background(), "B-L1")
	if err != nil {
		t.Fatal(err)
	}
	if ba.AccountNumber != number || ba.Masked() != "****6105" {
		t.Fatalf("round trip: %q %q", ba.AccountNumber, ba.Masked())
	}
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(number)) {
			t.Fatalf("%s holds the plain account number", filepath.Base(f))
		}
	}
}

func TestCipher(t *testing.T) {
	c, err := ledger.NewCipher(ledgertest.Key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := c.Seal("123456789", "bank_accounts", "B-1")
	if got, err := c.Open(sealed, "bank_accounts", "B-1"); err != nil || got != "123456789" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Bound to its row: the same ciphertext in another row, another
	// table, or the old format does not open.
	for _, row := range [][2]string{{"bank_accounts", "B-2"}, {"bank_accounts", "B-10"}, {"payments", "1"}} {
		if _, err := c.Open(sealed, row[0], row[1]); !errors.Is(err, ledger.ErrNotThisRow) || !strings.Contains(err.Error(), row[0]+" "+row[1]) {
			t.Fatalf("opened in %s %s: %v", row[0], row[1], err)
		}
	}
	if _, err := c.Unbound().Open(sealed, "bank_accounts", "B-1"); err == nil {
		t.Fatal("a bound number opened unbound")
	}
	if got, err := c.Unbound().Open(c.Unbound().Seal("42", "payments", "7"), "payments", "8"); err != nil || got != "42" {
		t.Fatalf("the unbound format: %q, %v", got, err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := c.Open(sealed, "bank_accounts", "B-1"); err == nil {
		t.Fatal("tampered ciphertext opened")
	}
	other, _ := ledger.NewCipher(bytes.Repeat([]byte{7}, 32))
	if _, err := other.Open(c.Seal("1", "payments", "1"), "payments", "1"); err == nil {
		t.Fatal("wrong key opened")
	}
	if c.MAC("1") == other.MAC("1") {
		t.Fatal("MAC does not depend on the key")
	}
	if _, err := ledger.ParseKey("short"); err == nil {
		t.Fatal("ParseKey accepted a short key")
	}
}
