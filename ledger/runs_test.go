package ledger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

func TestRunLedgerStartRefuseRestartRerun(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		spec := ledger.RunSpec{Job: "originate", BusinessDate: civil.MustParse("2026-11-25"), Trigger: "operator", TriggeredBy: "ana", Owner: "host:1"}
		r1, err := s.BeginRun(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.BeginRun(ctx, spec); !errors.Is(err, ledger.ErrRunActive) {
			t.Fatalf("second start while running: %v", err)
		}
		// The owner dies: its heartbeat goes stale and the run is failed.
		ids, err := s.FailStaleRuns(ctx, -time.Second)
		if err != nil || len(ids) != 1 || ids[0] != r1.ID {
			t.Fatalf("FailStaleRuns = %v, %v", ids, err)
		}
		if _, err := s.BeginRun(ctx, spec); !errors.Is(err, ledger.ErrRunFailedExists) {
			t.Fatalf("start after failure: %v", err)
		}
		if _, err := s.ResumeRun(ctx, r1.ID, "host:2"); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordItem(ctx, r1.ID, "acct:L1", "failed", "no bank account"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, r1.ID, ledger.RunPartial, ledger.Counts{Selected: 3, Done: 2, Failed: 1}, map[string]int{"files": 1}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResumeRun(ctx, r1.ID, "x"); err == nil {
			t.Fatal("restarted a completed run")
		}
		if _, err := s.BeginRun(ctx, spec); !errors.Is(err, ledger.ErrRunCompleted) {
			t.Fatalf("start after completion: %v", err)
		}
		rerun := spec
		rerun.Rerun = true
		if _, err := s.BeginRun(ctx, rerun); err == nil {
			t.Fatal("rerun without a reason accepted")
		}
		rerun.Reason = "bank lost the file"
		r2, err := s.BeginRun(ctx, rerun)
		if err != nil || r2.Attempt != 2 {
			t.Fatalf("rerun = %+v, %v", r2, err)
		}
		dry := spec
		dry.DryRun = true
		if _, err := s.BeginRun(ctx, dry); err != nil {
			t.Fatalf("dry run refused: %v", err)
		}
		got, err := s.GetRun(ctx, r1.ID)
		if err != nil || got.Status != ledger.RunPartial || got.Done != 2 || got.FinishedAt == nil || string(got.Summary) != `{"files":1}` {
			t.Fatalf("GetRun = %+v, %v", got, err)
		}
		items, _ := s.RunItems(ctx, r1.ID)
		if len(items) != 1 || items[0].Error != "no bank account" {
			t.Fatalf("items = %+v", items)
		}
		runs, _ := s.ListRuns(ctx, ledger.RunFilter{Job: "originate", Status: "running"})
		if len(runs) != 2 {
			t.Fatalf("running runs = %d, want the rerun and the dry run", len(runs))
		}
	})
}
