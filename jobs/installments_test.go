package jobs

import (
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

func TestAutopayDebit(t *testing.T) {
	const installment money.Cents = 735_47
	cases := []struct {
		name    string
		policy  InstallmentPolicy
		oneTime money.Cents
		want    money.Cents
	}{
		{"no one-time payment", OneTimeCovers, 0, installment},
		{"one-time less than the installment", OneTimeCovers, 200_00, 535_47},
		{"one-time equal to the installment", OneTimeCovers, installment, 0},
		{"one-time more than the installment", OneTimeCovers, 1000_00, 0},
		{"debit both, less", DebitBoth, 200_00, installment},
		{"debit both, equal", DebitBoth, installment, installment},
		{"debit both, more", DebitBoth, 1000_00, installment},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := AutopayDebit(tc.policy, installment, tc.oneTime); got != tc.want {
				t.Fatalf("AutopayDebit(%s, %s, %s) = %s, want %s", tc.policy, installment, tc.oneTime, got, tc.want)
			}
		})
	}
}

func TestInstallmentWindow(t *testing.T) {
	d := func(s string) civil.Date { return civil.MustParse(s) }
	cases := []struct {
		name                 string
		firstDue, due        civil.Date
		dueDay               int
		wantAfter, wantThrou civil.Date // the account opened 2026-02-10
	}{
		{"first installment", d("2026-03-15"), d("2026-03-15"), 15, d("2026-02-10"), d("2026-03-15")},
		{"a later one", d("2026-03-15"), d("2026-06-15"), 15, d("2026-05-15"), d("2026-06-15")},
		{"due day 31 after February", d("2026-01-31"), d("2026-03-31"), 31, d("2026-02-28"), d("2026-03-31")},
		{"due day 31 in a leap February", d("2028-01-31"), d("2028-02-29"), 31, d("2028-01-31"), d("2028-02-29")},
		{"across the year", d("2026-01-05"), d("2027-01-05"), 5, d("2026-12-05"), d("2027-01-05")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			after, through := InstallmentWindow(tc.firstDue, tc.dueDay, tc.due, d("2026-02-10"))
			if after != tc.wantAfter || through != tc.wantThrou {
				t.Fatalf("window = (%s, %s], want (%s, %s]", after, through, tc.wantAfter, tc.wantThrou)
			}
		})
	}
}
