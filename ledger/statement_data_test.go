package ledger_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
)

// TestCycleEndsOn is the selection rule: a cycle day past the end of a
// shorter month ends on its last day.
func TestCycleEndsOn(t *testing.T) {
	d := civil.MustParse
	tests := []struct {
		name string
		date civil.Date
		ends []int // the cycle days that end on date
	}{
		{"mid month", d("2026-11-15"), []int{15}},
		{"Feb 28 in a common year takes 28 to 31", d("2027-02-28"), []int{28, 29, 30, 31}},
		{"Feb 28 in a leap year is only 28", d("2028-02-28"), []int{28}},
		{"Feb 29 in a leap year takes 29 to 31", d("2028-02-29"), []int{29, 30, 31}},
		{"Apr 30 takes 30 and 31", d("2026-04-30"), []int{30, 31}},
		{"Dec 30 is only 30", d("2026-12-30"), []int{30}},
		{"Dec 31 is 31", d("2026-12-31"), []int{31}},
		{"the 1st", d("2026-03-01"), []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for day := 1; day <= 31; day++ {
				if ledger.CycleEndsOn(day, tt.date) {
					got = append(got, day)
				}
			}
			if !slices.Equal(got, tt.ends) {
				t.Errorf("cycles ending on %s: %v, want %v", tt.date, got, tt.ends)
			}
		})
	}
}

func TestCycleStart(t *testing.T) {
	d := civil.MustParse
	tests := []struct {
		cycleDay int
		end      civil.Date
		opened   civil.Date
		want     civil.Date
	}{
		{15, d("2026-11-15"), d("2020-01-01"), d("2026-10-16")},
		{31, d("2027-02-28"), d("2020-01-01"), d("2027-02-01")},
		{31, d("2026-04-30"), d("2020-01-01"), d("2026-04-01")},
		{31, d("2026-03-31"), d("2020-01-01"), d("2026-03-01")}, // Feb 28 ended the last one
		{30, d("2028-03-30"), d("2020-01-01"), d("2028-03-01")}, // Feb 29, leap year
		{1, d("2026-01-01"), d("2020-01-01"), d("2025-12-02")},
		{15, d("2026-11-15"), d("2026-11-01"), d("2026-11-01")}, // opened in the cycle
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("day %d ending %s", tt.cycleDay, tt.end), func(t *testing.T) {
			a := ledger.DocumentAccount{CycleDay: tt.cycleDay, OpenedOn: tt.opened}
			if got := a.CycleStart(tt.end); got != tt.want {
				t.Errorf("CycleStart = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestStatementAccountsSelection selects by the rule in SQL, on both
// databases, with keyset pagination.
func TestStatementAccountsSelection(t *testing.T) {
	d := civil.MustParse
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		var accts []portfolio.Account
		for _, day := range []int{1, 15, 27, 28, 29, 30, 31} {
			a := testAccount(fmt.Sprintf("CYC-%02d", day), fmt.Sprintf("12345%02d", day))
			a.Contract.CycleDay = day
			accts = append(accts, a)
		}
		closed := testAccount("CYC-99", "1234599")
		closed.Status, closed.Contract.CycleDay = "closed", 28
		accts = append(accts, closed)
		importAll(t, s, accts)
		for _, tt := range []struct {
			date civil.Date
			want []string
		}{
			{d("2027-02-28"), []string{"CYC-28", "CYC-29", "CYC-30", "CYC-31"}},
			{d("2028-02-28"), []string{"CYC-28"}},
			{d("2028-02-29"), []string{"CYC-29", "CYC-30", "CYC-31"}},
			{d("2026-04-30"), []string{"CYC-30", "CYC-31"}},
			{d("2026-12-30"), []string{"CYC-30"}},
			{d("2026-12-15"), []string{"CYC-15"}},
			{d("2023-12-15"), nil}, // before the accounts opened
		} {
			var got []string
			after := ""
			for {
				page, err := s.StatementAccounts(ctx, ledger.StatementFilter{Date: tt.date}, after, 2)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				for _, a := range page {
					got = append(got, a.ID)
				}
				after = page[len(page)-1].ID
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s: selected %v, want %v", tt.date, got, tt.want)
			}
		}
		all, err := s.StatementAccounts(ctx, ledger.StatementFilter{Date: d("2026-12-15"), AllAccounts: true}, "", 100)
		if err != nil || len(all) != 7 {
			t.Errorf("all accounts: %d (%v), want the 7 active ones", len(all), err)
		}
		one, err := s.StatementAccounts(ctx, ledger.StatementFilter{Date: d("2026-12-31"), AccountID: "CYC-31"}, "", 100)
		if err != nil || len(one) != 1 || one[0].Email != "zoe@example.com" || one[0].FirstName != "Zoë" {
			t.Errorf("one account: %+v %v", one, err)
		}
	})
}

func TestLeasesMaturingAndActivity(t *testing.T) {
	d := civil.MustParse
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		a := testAccount("L-1", "987654321")
		a.Transactions = append(a.Transactions,
			portfolio.Transaction{ID: "T2", PostedOn: d("2026-11-12"), Kind: "late_fee", Amount: 2500},
			portfolio.Transaction{ID: "T3", PostedOn: d("2026-11-25"), Kind: "payment", Amount: 47925})
		b := testAccount("L-2", "987654322")
		b.Contract.MaturityDate = d("2027-06-10")
		b.Autopay.Status = "stopped"
		importAll(t, s, []portfolio.Account{a, b})

		got, err := s.LeasesMaturing(ctx, d("2026-12-01"), d("2027-03-01"), "", "", 10)
		if err != nil || len(got) != 1 || got[0].ID != "L-1" || got[0].MaturityOn != d("2027-01-10") || got[0].ResidualValue != 2100000 {
			t.Fatalf("maturing: %+v %v", got, err)
		}
		act, err := s.AccountActivity(ctx, []string{"L-1", "L-2"}, d("2026-11-01"), d("2026-11-20"))
		if err != nil {
			t.Fatal(err)
		}
		l1 := act["L-1"]
		if len(l1.Imported) != 1 || l1.Imported[0].Kind != "late_fee" || l1.Imported[0].Amount != 2500 {
			t.Errorf("imported in range: %+v", l1.Imported)
		}
		if !l1.Autopay.Active || l1.Autopay.MaskedAccount != "****4321" {
			t.Errorf("autopay: %+v", l1.Autopay)
		}
		if len(l1.Odometer) != 1 || l1.Odometer[0].Miles != 31000 {
			t.Errorf("odometer: %+v", l1.Odometer)
		}
		if act["L-2"].Autopay.Active || act["L-2"].Autopay.MaskedAccount != "****4322" {
			t.Errorf("stopped autopay: %+v", act["L-2"].Autopay)
		}
	})
}

// TestRecordBalancesAndPreviousStatement: the extract's balance history
// is read back for the period (from the day before it), and the previous
// statement is the latest one recorded with a balance before the period's
// end.
func TestRecordBalancesAndPreviousStatement(t *testing.T) {
	d := civil.MustParse
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		a := testAccount("L-1", "987654321")
		a.Balance.History = []portfolio.BalancePoint{
			{On: d("2026-09-20"), Balance: 1_500_00},
			{On: d("2026-10-20"), Balance: 1_100_00, Principal: 1_050_00, FeesDue: 50_00},
			{On: d("2026-11-20"), Balance: 650_00, Principal: 600_00, PastDue: 479_25},
		}
		if c := importAll(t, s, []portfolio.Account{a}); c.RecordBalances != 3 {
			t.Errorf("record balances imported: %d, want 3", c.RecordBalances)
		}
		for _, doc := range []struct {
			on      string
			period  string
			balance *money.Cents
		}{{"2026-09-20", "2026-09", nil}, {"2026-10-20", "2026-10", ptr(money.Cents(1_100_00))}, {"2026-11-20", "2026-11", ptr(money.Cents(650_00))}} {
			_, err := s.RecordDocuments(ctx, []ledger.NewDocument{{DocumentKey: ledger.DocumentKey{AccountID: "L-1", Kind: ledger.DocStatement, Period: doc.period},
				DocumentDate: d(doc.on), StorageKey: "statements/L-1/" + doc.period + ".pdf", SHA256: "x", Size: 1,
				Recipient: "zoe@example.com", MailKind: ledger.MailStatementReady, NewBalance: doc.balance}})
			if err != nil {
				t.Fatal(err)
			}
		}
		act, err := s.AccountActivity(ctx, []string{"L-1"}, d("2026-10-21"), d("2026-11-20"))
		if err != nil {
			t.Fatal(err)
		}
		l1 := act["L-1"]
		want := map[civil.Date]ledger.RecordBalance{
			d("2026-10-20"): {On: d("2026-10-20"), Balance: 1_100_00, Principal: 1_050_00, FeesDue: 50_00},
			d("2026-11-20"): {On: d("2026-11-20"), Balance: 650_00, Principal: 600_00, PastDue: 479_25},
		}
		if fmt.Sprint(l1.Records) != fmt.Sprint(want) {
			t.Errorf("records %v, want %v", l1.Records, want)
		}
		if l1.Previous == nil || l1.Previous.On != d("2026-10-20") || l1.Previous.NewBalance != 1_100_00 {
			t.Errorf("previous statement %+v, want the one of 2026-10-20 with $1,100.00", l1.Previous)
		}
		// A reimport moves the history; a statement's balance stays.
		a.Balance.History[1].Balance = 1_200_00
		importAll(t, s, []portfolio.Account{a})
		act, err = s.AccountActivity(ctx, []string{"L-1"}, d("2026-10-21"), d("2026-11-20"))
		if err != nil {
			t.Fatal(err)
		}
		if got := act["L-1"].Records[d("2026-10-20")].Balance; got != 1_200_00 {
			t.Errorf("reimported record %s, want $1,200.00", got)
		}
	})
}

func ptr[T any](v T) *T { return &v }
