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

// TestCycleOpening moves the snapshot to the cycle start: out what the
// cycle shows again, in what happened between the snapshot and the cycle.
func TestCycleOpening(t *testing.T) {
	d := civil.MustParse
	tx := func(on, kind string, amt money.Cents) ledger.Transaction {
		return ledger.Transaction{PostedOn: d(on), Kind: kind, Amount: amt}
	}
	a := ledger.DocumentAccount{BalanceAsOf: d("2026-11-20"), Principal: 1_000_000, AccruedInterest: 3_000, FeesDue: 2_500}
	tests := []struct {
		name  string
		start civil.Date
		txs   []ledger.Transaction
		want  ledger.Opening
	}{
		{"nothing between", d("2026-11-21"), nil, ledger.Opening{Principal: 1_000_000, AccruedInterest: 3_000, FeesDue: 2_500}},
		{"cycle payments and fee taken out", d("2026-11-01"),
			[]ledger.Transaction{tx("2026-11-05", "payment", 40_000), tx("2026-11-16", "late_fee", 2_500), tx("2026-10-20", "payment", 1)},
			ledger.Opening{Principal: 1_040_000, AccruedInterest: 3_000, FeesDue: 0}},
		{"payment after the snapshot applied: fees, interest, principal", d("2026-12-01"),
			[]ledger.Transaction{tx("2026-11-25", "payment", 10_000), tx("2026-12-02", "payment", 99)},
			ledger.Opening{Principal: 995_500, AccruedInterest: 0, FeesDue: 0}},
		{"returned payment after the snapshot", d("2026-12-01"),
			[]ledger.Transaction{tx("2026-11-25", "returned_payment", 40_000), tx("2026-11-25", "returned_payment_fee", 2_500)},
			ledger.Opening{Principal: 1_040_000, AccruedInterest: 3_000, FeesDue: 5_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.CycleOpening(tt.start, tt.txs); got != tt.want {
				t.Errorf("opening %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCyclePriorDue(t *testing.T) {
	d := civil.MustParse
	a := ledger.DocumentAccount{DueDay: 10, FirstDueOn: d("2025-01-10"), MaturityOn: d("2027-12-10"),
		MonthlyPayment: 40_000, MonthlyTax: 2_000, BalanceAsOf: d("2026-11-20"), PastDue: 42_000, FeesDue: 2_500}
	tests := []struct {
		name  string
		start civil.Date
		want  ledger.PriorDue
	}{
		{"snapshot in the cycle: the installment", d("2026-10-21"), ledger.PriorDue{d("2026-11-10"), 42_000}},
		{"snapshot before the cycle: with its arrears", d("2026-11-21"), ledger.PriorDue{d("2026-12-10"), 42_000 + 42_000 + 2_500}},
		{"before the first due date", d("2024-11-21"), ledger.PriorDue{}},
		{"after maturity: arrears only", d("2027-12-21"), ledger.PriorDue{d("2028-01-10"), 44_500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.CyclePriorDue(tt.start); got != tt.want {
				t.Errorf("prior due %+v, want %+v", got, tt.want)
			}
		})
	}
}
