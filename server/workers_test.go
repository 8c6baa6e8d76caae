package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/server"
)

// poisonJob is a chunked job whose chunk holding one account always fails.
type poisonJob struct{ account string }

func (poisonJob) Name() string { return "poison" }

func (j poisonJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	return jobs.RunLocal(ctx, r, j)
}

func (j poisonJob) WorkChunk(_ context.Context, _ *jobs.Run, span ledger.ChunkSpan) (any, error) {
	if span.Contains(j.account) {
		return nil, errors.New("account " + j.account + ": cannot be worked")
	}
	return struct{}{}, nil
}

func (poisonJob) Finish(context.Context, *jobs.Run, []json.RawMessage) (any, error) {
	return struct{}{}, nil
}

func (poisonJob) DecodeSummary([]byte) (any, error) { return struct{}{}, nil }

// TestChunkWorkerFailsRunOnChunkError: a worker-only replica whose chunk
// fails fails the run, with the chunk's error, instead of leaving the
// chunk to its lease to be retaken and fail again forever.
func TestChunkWorkerFailsRunOnChunkError(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "10"})
			d := civil.MustParse("2026-12-01")
			var buf bytes.Buffer
			if err := portfolio.Generate(&buf, portfolio.GenerateOptions{Accounts: 40, Seed: 3, AsOf: d}); err != nil {
				t.Fatal(err)
			}
			if _, err := jobs.ImportFile(ctx, env.Store, &buf, "p.jsonl", jobs.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			accts, err := env.Store.LeasesMaturing(ctx, d, d.AddDays(5000), "", "", 100)
			if err != nil || len(accts) == 0 {
				t.Fatalf("accounts: %v", err)
			}
			job := poisonJob{account: accts[len(accts)/2].ID}
			// The coordinator began and planned the run; the worker
			// replica picks it up.
			run, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: job.Name(), BusinessDate: d, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.PlanChunks(ctx, run.ID, 10); err != nil {
				t.Fatal(err)
			}
			w := server.NewChunkWorker(env, jobs.Registry{job.Name(): job})
			w.Poll = 20 * time.Millisecond
			stop, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- w.Run(stop, ctx) }()
			deadline := time.Now().Add(10 * time.Second)
			var got ledger.Run
			for {
				if got, err = env.Store.GetRun(ctx, run.ID); err != nil {
					t.Fatal(err)
				}
				if got.Status != ledger.RunRunning || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if got.Status != ledger.RunFailed || !strings.Contains(got.Error, "account "+job.account+": cannot be worked") {
				t.Fatalf("run after the worker's chunk failed: %s %q; want failed with the chunk's error", got.Status, got.Error)
			}
		})
	}
}
