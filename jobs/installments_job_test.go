package jobs_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
)

// TestOriginateInstallmentPolicy: LN-1's autopay drafts its installment of
// $412.75 due 2026-11-27 on the night of 2026-11-25, and the customer also
// scheduled a one-time web payment.
func TestOriginateInstallmentPolicy(t *testing.T) {
	const installment money.Cents = 41275
	cases := []struct {
		name        string
		policy      string
		oneTime     money.Cents
		debitOn     string
		wantAutopay money.Cents // 0: not debited (cancelled)
	}{
		{"covers, one-time less", "one-time-covers", 20000, "2026-11-27", installment - 20000},
		{"covers, one-time equal", "one-time-covers", installment, "2026-11-27", 0},
		{"covers, one-time more", "one-time-covers", 50000, "2026-11-27", 0},
		{"covers, one-time days before the due date", "one-time-covers", 20000, "2026-11-10", installment - 20000},
		{"covers, one-time for the previous installment", "one-time-covers", 20000, "2026-10-27", installment},
		{"debit both, less", "debit-both", 20000, "2026-11-27", installment},
		{"debit both, equal", "debit-both", installment, "2026-11-27", installment},
		{"debit both, more", "debit-both", 50000, "2026-11-27", installment},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			pickup := filepath.Join(t.TempDir(), "outbox")
			env := testEnv(t, "sqlite", map[string]string{"DRAFTER_INSTALLMENT_POLICY": tc.policy, "DRAFTER_MAIL_URL": "pickup://" + pickup})
			accts := holidayWeek()[:1]
			accts[0].ScheduledPayments = []portfolio.ScheduledPayment{{ID: "SP-1", BankAccountID: "B-LN-1", Amount: tc.oneTime,
				DebitOn: civil.MustParse(tc.debitOn), Channel: "web", AuthorizedAt: "2026-10-01T10:00:00Z"}}
			importAccounts(t, env.Store, accts)
			for _, night := range []string{"2026-11-25", "2026-11-27"} {
				if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: civil.MustParse(night), Trigger: "schedule"}); err != nil {
					t.Fatal(err)
				}
			}
			var apState string
			var apAmount, apInstallment money.Cents
			// The states the originations records say: no deliver run has
			// settled the rows yet.
			if err := env.Store.DB().QueryRow(`SELECT `+paymentState+`, p.amount, p.installment_amount FROM payments p
				LEFT JOIN originations o ON o.payment_id = p.id
				WHERE p.source = 'autopay' AND p.due_on = '2026-11-27'`).Scan(&apState, &apAmount, &apInstallment); err != nil {
				t.Fatal(err)
			}
			var oneTimeState string
			var oneTimeAmount money.Cents
			if err := env.Store.DB().QueryRow(`SELECT `+paymentState+`, p.amount FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE p.source = 'scheduled' AND p.source_key = 'SP-1'`).
				Scan(&oneTimeState, &oneTimeAmount); err != nil {
				t.Fatal(err)
			}
			if oneTimeState != "originated" || oneTimeAmount != tc.oneTime {
				t.Fatalf("one-time payment %s %s, want originated %s: the customer's own payment is always made", oneTimeState, oneTimeAmount, tc.oneTime)
			}
			switch {
			case tc.wantAutopay == 0:
				if apState != "cancelled" {
					t.Fatalf("autopay %s %s, want cancelled: the one-time payment covers the installment", apState, apAmount)
				}
			case apState != "originated" || apAmount != tc.wantAutopay:
				t.Fatalf("autopay %s %s, want originated %s", apState, apAmount, tc.wantAutopay)
			}
			if apInstallment != 0 && apInstallment != installment {
				t.Fatalf("installment kept as %s, want %s", apInstallment, installment)
			}
			// The customer is told what autopay debits: the rest, or nothing.
			if _, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: civil.MustParse("2026-11-27"), Trigger: "schedule"}); err != nil {
				t.Fatal(err)
			}
			var mails strings.Builder
			files, _ := filepath.Glob(filepath.Join(pickup, "*.eml"))
			for _, f := range files {
				b, _ := os.ReadFile(f)
				mails.Write(b)
			}
			want := ""
			switch {
			case tc.wantAutopay == 0:
				want = "so autopay will not debit your bank account"
			case tc.wantAutopay < installment:
				want = "autopay debits only the " + tc.wantAutopay.String() + " left"
			}
			if want != "" && !strings.Contains(strings.Join(strings.Fields(mails.String()), " "), want) {
				t.Fatalf("no email says %q; %d emails:\n%.3000s", want, len(files), mails.String())
			}
		})
	}
}

func TestOneTimeForInstallment(t *testing.T) {
	d := civil.MustParse
	ps := []ledger.OneTimePayment{{ID: "SP-0", Amount: 100, DebitOn: d("2026-10-27")}, {ID: "SP-1", Amount: 200, DebitOn: d("2026-10-28")},
		{ID: "SP-2", Amount: 300, DebitOn: d("2026-11-27")}, {ID: "SP-3", Amount: 400, DebitOn: d("2026-11-28")}}
	got, ids := jobs.OneTimeForInstallment(d("2025-02-27"), 27, d("2026-11-27"), d("2025-01-05"), ps)
	if got != 500 || ids != "SP-1, SP-2" {
		t.Fatalf("OneTimeForInstallment = %s (%s), want $5.00 (SP-1, SP-2): after the previous due date, through this one", got, ids)
	}
}
