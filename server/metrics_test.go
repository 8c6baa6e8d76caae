package server_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// TestReturnRateGauges: after a night's debits come back in part, the
// return-rate gauges give the returns of debit entries over the debits
// originated in NACHA's 60 days (counted here straight from the ledger),
// and nothing once the night is out of the window.
func TestReturnRateGauges(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			night := civil.MustParse("2026-12-01")
			if err := jobs.SeedBenchPayments(ctx, env.Store, 400, night); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: night, Trigger: "operator"}); err != nil {
				t.Fatal(err)
			}
			bank, err := jobs.SimulateBank(ctx, env.Store, env.Docs, night, jobs.BankOptions{Seed: 5, ReturnPerMille: 100, NOCPerMille: 1})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: night.AddDays(1), Trigger: "operator"}); err != nil {
				t.Fatal(err)
			}
			// The debits originated are their originations records: the
			// payment rows are settled later, by the deliver job.
			var debits, returned int
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE p.kind = 'debit'`).Scan(&debits); err != nil {
				t.Fatal(err)
			}
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM returns r JOIN payments p ON p.id = r.payment_id
				WHERE p.kind = 'debit'`).Scan(&returned); err != nil {
				t.Fatal(err)
			}
			if debits != 400 || returned == 0 || returned != bank.Returns {
				t.Fatalf("%d debits originated, %d returned, the bank sent %d returns", debits, returned, bank.Returns)
			}

			gauge := func(at civil.Date, rate string) float64 {
				t.Helper()
				noon := time.Date(at.Year, at.Month, at.Day, 12, 0, 0, 0, env.Config.Zone)
				m := server.NewMetricsAt(env.Store, env.Config.Zone, env.Log, func() time.Time { return noon })
				families, err := m.Registry.Gather()
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range families {
					if f.GetName() != "drafter_return_rate_ratio" {
						continue
					}
					for _, mt := range f.GetMetric() {
						for _, l := range mt.GetLabel() {
							if l.GetName() == "rate" && l.GetValue() == rate {
								return mt.GetGauge().GetValue()
							}
						}
					}
				}
				t.Fatalf("no drafter_return_rate_ratio{rate=%q} at %s", rate, at)
				return 0
			}
			// The window is the 60 days through today: the night is its
			// first day 59 days on, and out of it a day later.
			want := float64(returned) / float64(debits)
			for _, days := range []int{3, 59} {
				if got := gauge(night.AddDays(days), "overall"); math.Abs(got-want) > 1e-9 {
					t.Errorf("overall return rate %d days on: %v, want %d/%d = %v", days, got, returned, debits, want)
				}
			}
			if got := gauge(night.AddDays(60), "overall"); got != 0 {
				t.Errorf("overall return rate 60 days on: %v, want 0", got)
			}
		})
	}
}
