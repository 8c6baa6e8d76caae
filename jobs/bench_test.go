package jobs_test

import (
	"context"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// BenchmarkOriginate originates 100,000 due payments end to end (select,
// build, write, mark) on each database, beside the moov-io/ach baseline
// that only builds and writes the same entries.
func BenchmarkOriginate(b *testing.B) {
	const n = 100000
	d := civil.MustParse("2026-12-01")
	for _, dialect := range ledgertest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				env := benchEnv(b, dialect)
				if err := jobs.SeedBenchPayments(context.Background(), env.Store, n, d); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				res, err := jobs.BenchOriginate(context.Background(), env, d)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.PerSecond, "entries/s")
				b.ReportMetric(float64(res.PeakRSSBytes>>20), "peakMiB")
			}
		})
	}
	b.Run("moov-baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := jobs.BenchMoovBaseline(n, 100000, b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(res.PerSecond, "entries/s")
		}
	})
}
