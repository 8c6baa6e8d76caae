package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/jobs"
)

// BenchmarkIngestReturns ingests a 100,000-entry return file end to end on
// SQLite (parse, match, apply the policy, post, re-present, queue email, in
// one transaction): every debit of a 100,000-payment day comes back, mostly
// R01, some R02/R03 and a few R10.
func BenchmarkIngestReturns(b *testing.B) {
	const n = 100000
	ctx := context.Background()
	codes := func(i int) string {
		switch {
		case i%50 == 0:
			return "R10"
		case i%10 == 1:
			return "R02"
		case i%10 == 2:
			return "R03"
		}
		return "R01"
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env := benchEnv(b, "sqlite")
		if err := jobs.SeedBenchPayments(ctx, env.Store, n, returnsNight); err != nil {
			b.Fatal(err)
		}
		res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: returnsNight, Trigger: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		sum := res.Summary.(*jobs.OriginateSummary)
		if len(sum.Files) != 1 || sum.Entries != n {
			b.Fatalf("originate: %d files, %d entries", len(sum.Files), sum.Entries)
		}
		original, _, err := env.Docs.Get(ctx, sum.Files[0].Key)
		if err != nil {
			b.Fatal(err)
		}
		entries, err := env.Store.FileEntries(ctx, 1)
		if err != nil {
			b.Fatal(err)
		}
		rets := make([]ach.SimulatedReturn, len(entries))
		for j, e := range entries {
			rets[j] = ach.SimulatedReturn{Trace: e.TraceNumber, Code: codes(j)}
		}
		file, err := ach.BuildReturnFile(original, rets, returnsDay)
		if err != nil {
			b.Fatal(err)
		}
		in := env.Ingester(env.Store, false, nil)
		b.StartTimer()
		start := time.Now()
		fr, err := in.File(ctx, "returns-100k.ach", file, returnsDay)
		if err != nil {
			b.Fatal(err)
		}
		secs := time.Since(start).Seconds()
		b.StopTimer()
		if fr.Matched != n {
			b.Fatalf("matched %d of %d: %+v", fr.Matched, n, fr.IngestCounts)
		}
		b.ReportMetric(float64(n)/secs, "entries/s")
		b.ReportMetric(float64(jobs.PeakRSS()>>20), "peakMiB")
		b.ReportMetric(float64(len(file)>>20), "fileMiB")
	}
}
