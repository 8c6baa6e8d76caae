package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestProgressOverChunks: a chunked run worked by three workers reports
// one progress for the whole run, counting the items of every chunk, done
// and being worked: its done count never goes back, its total once known
// is never below what was selected, and the last report, the only one Finished, is
// what the run ledger recorded.
func TestProgressOverChunks(t *testing.T) {
	every := jobs.ProgressEvery
	jobs.ProgressEvery = 2 * time.Millisecond
	t.Cleanup(func() { jobs.ProgressEvery = every })
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "9", "DRAFTER_CHUNK_WORKERS": "3"})
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 200, 11, d)
			var mu sync.Mutex
			var reports []jobs.Progress
			env.Progress = func(p jobs.Progress) {
				mu.Lock()
				reports = append(reports, p)
				mu.Unlock()
			}
			res, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(reports) < 2 {
				t.Fatalf("%d reports, want some while the run works and one at its end", len(reports))
			}
			last := reports[len(reports)-1]
			if !last.Finished || last.RunID != res.Run.ID || last.Done != res.Run.Done || last.Selected != res.Run.Selected ||
				last.Status != res.Run.Status {
				t.Fatalf("last report %+v, want the run ledger's %+v", last, res.Run)
			}
			prev, chunked := 0, false
			for i, p := range reports[:len(reports)-1] {
				if p.Finished || p.RunID != res.Run.ID || p.Job != "statements" {
					t.Fatalf("report %d: %+v", i, p)
				}
				if p.Done < prev || p.Done > p.Selected || p.Expected != 0 && p.Expected < p.Selected {
					t.Fatalf("report %d: %+v after done %d", i, p, prev)
				}
				if p.Chunks == 23 {
					chunked = true
				}
				prev = p.Done
			}
			if !chunked {
				t.Errorf("no report counted the run's 23 chunks: %+v", reports)
			}
		})
	}
}
