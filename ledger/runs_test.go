package ledger_test

import (
	"context"
	"errors"
	"strings"
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
		if _, err := s.BeginRun(ctx, spec); !errors.Is(err, ledger.ErrRunCompleted) || !strings.Contains(err.Error(), "drafter resume") {
			t.Fatalf("start after a partial run: %v (want it refused, naming resume)", err)
		}
		attention, err := s.ListRuns(ctx, ledger.RunFilter{NeedsAttention: true, StaleAfter: time.Hour})
		if err != nil || len(attention) != 1 || attention[0].ID != r1.ID {
			t.Fatalf("needs attention = %+v, %v; want the partial run", attention, err)
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
		// The rerun's owner dies: a stale running run needs attention, the
		// dry run never does.
		attention, err = s.ListRuns(ctx, ledger.RunFilter{NeedsAttention: true, StaleAfter: -time.Second})
		if err != nil || len(attention) != 2 || attention[0].ID != r2.ID || attention[1].ID != r1.ID {
			t.Fatalf("needs attention = %+v, %v; want the stale rerun and the partial run", attention, err)
		}
		// Resuming the partial run forgets its failed items until they fail
		// again; a succeeded run is refused, naming rerun.
		if _, err := s.ResumeRun(ctx, r1.ID, "host:3"); err != nil {
			t.Fatalf("resume partial: %v", err)
		}
		if items, _ := s.RunItems(ctx, r1.ID); len(items) != 0 {
			t.Fatalf("items after resume = %+v", items)
		}
		if err := s.FinishRun(ctx, r1.ID, ledger.RunSucceeded, ledger.Counts{Selected: 3, Done: 3}, map[string]int{"files": 1}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResumeRun(ctx, r1.ID, "x"); !errors.Is(err, ledger.ErrRunCompleted) || !strings.Contains(err.Error(), "drafter rerun") {
			t.Fatalf("resume succeeded run: %v (want refused, naming rerun)", err)
		}
	})
}
