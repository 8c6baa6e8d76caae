package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestCancelRun: a cancel is asked for a running run only, once; the run
// ends cancelled with who and why in its error and its timeline; it is
// listed as needing attention; a plain start is refused naming resume;
// resuming forgets the cancel.
func TestCancelRun(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		spec := ledger.RunSpec{Job: "statements", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "operator", TriggeredBy: "ana", Owner: "host:1"}
		r, err := s.BeginRun(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.CancelRequested(ctx, r.ID); ok || err != nil {
			t.Fatalf("cancel before any asked: %v, %v", ok, err)
		}
		if _, err := s.RequestCancel(ctx, r.ID, "bo", ""); err == nil {
			t.Fatal("a cancel without a reason was accepted")
		}
		if _, err := s.RequestCancel(ctx, r.ID, "bo", "wrong extract"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RequestCancel(ctx, r.ID, "cy", "again"); err != nil {
			t.Fatalf("asking again: %v", err)
		}
		c, ok, err := s.CancelRequested(ctx, r.ID)
		if !ok || err != nil || c.By != "bo" || c.Reason != "wrong extract" {
			t.Fatalf("cancel = %+v, %v, %v; want bo's, the first", c, ok, err)
		}
		if err := s.FinishRun(ctx, r.ID, ledger.RunCancelled, ledger.Counts{Selected: 10, Done: 4}, map[string]any{}, ""); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetRun(ctx, r.ID)
		if got.Status != ledger.RunCancelled || got.Error != "cancelled by bo: wrong extract" || got.FinishedAt == nil {
			t.Fatalf("after cancel: %+v", got)
		}
		events, _ := s.RunEvents(ctx, r.ID)
		var names []string
		for _, e := range events {
			names = append(names, e.Event+"/"+e.Actor)
		}
		if want := "started/ana cancel requested/bo cancelled/bo"; strings.Join(names, " ") != want {
			t.Fatalf("timeline %v, want %s", names, want)
		}
		if _, err := s.RequestCancel(ctx, r.ID, "bo", "again"); !errors.Is(err, ledger.ErrRunNotRunning) || !strings.Contains(err.Error(), "drafter resume") {
			t.Fatalf("cancel of a cancelled run: %v", err)
		}
		att, err := s.ListRuns(ctx, ledger.RunFilter{NeedsAttention: true, StaleAfter: time.Hour})
		if err != nil || len(att) != 1 || att[0].ID != r.ID {
			t.Fatalf("needs attention: %+v, %v", att, err)
		}
		if _, err := s.BeginRun(ctx, spec); !errors.Is(err, ledger.ErrRunCancelled) || !strings.Contains(err.Error(), "drafter resume") {
			t.Fatalf("start after a cancel: %v", err)
		}
		if _, err := s.ResumeRunBy(ctx, r.ID, "host:2", "ana"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.CancelRequested(ctx, r.ID); ok {
			t.Fatal("the cancel outlived the resume")
		}
		audit, err := s.AuditLog(ctx, "cancel", 10)
		if err != nil || len(audit) != 1 || audit[0].Actor != "bo" || audit[0].Reason != "wrong extract" {
			t.Fatalf("audit: %+v, %v", audit, err)
		}
	})
}

// TestNoChunkClaimedAfterACancel: a chunk claimed before a cancel is asked
// is a live claim the cancel waits for; once a cancel is asked, and once
// the run ended, no chunk is claimed, so no worker can start one that a
// resume would work again. Many claimers racing one cancel: every chunk
// claimed is claimed before the cancel committed (a live claim when the
// run's end is recorded), and none after.
func TestNoChunkClaimedAfterACancel(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		r := chunkRun(t, s, 300)
		if n, err := s.PlanChunks(ctx, r.ID, 1); err != nil || n != 300 {
			t.Fatalf("plan: %d, %v", n, err)
		}
		if _, ok, err := s.ClaimChunk(ctx, r.ID, "w:0", time.Minute); !ok || err != nil {
			t.Fatalf("claim before the cancel: %v, %v", ok, err)
		}
		var claimed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, ok, err := s.ClaimChunk(ctx, r.ID, fmt.Sprintf("w:%d", i+1), time.Minute); err != nil {
						t.Error(err)
						return
					} else if ok {
						claimed.Add(1)
					}
					time.Sleep(2 * time.Millisecond)
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		if _, err := s.RequestCancel(ctx, r.ID, "bo", "wrong extract"); err != nil {
			t.Fatal(err)
		}
		live, err := s.LiveChunkClaims(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		close(stop)
		wg.Wait()
		if after, _ := s.LiveChunkClaims(ctx, r.ID); after != live {
			t.Fatalf("%d chunks claimed when the cancel was asked, %d after: a worker started a chunk after the cancel", live, after)
		}
		if int64(live) != claimed.Load()+1 || live >= 300 {
			t.Fatalf("live claims %d, claimed %d (+1 before) of 300", live, claimed.Load())
		}
		if _, ok, err := s.ClaimChunk(ctx, r.ID, "w:8", time.Minute); ok || err != nil {
			t.Fatalf("claim once a cancel is asked: %v, %v", ok, err)
		}
		if err := s.FinishRun(ctx, r.ID, ledger.RunCancelled, ledger.Counts{}, map[string]any{}, ""); err != nil {
			t.Fatal(err)
		}
		if _, ok, err := s.ClaimChunk(ctx, r.ID, "w:9", time.Minute); ok || err != nil {
			t.Fatalf("claim of a cancelled run: %v, %v", ok, err)
		}
	})
}

// TestCancelDeadRun: a run whose process is gone is recorded cancelled at
// once, but only while its owner is the one seen.
func TestCancelDeadRun(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		r, err := s.BeginRun(ctx, ledger.RunSpec{Job: "deliver", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "schedule", Owner: "host:1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RequestCancel(ctx, r.ID, "bo", "relay maintenance"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CancelDeadRun(ctx, r.ID, "host:9", "gone"); ok || err != nil {
			t.Fatalf("another owner's run cancelled: %v, %v", ok, err)
		}
		if ok, err := s.CancelDeadRun(ctx, r.ID, "host:1", "stopped where its process died"); !ok || err != nil {
			t.Fatalf("dead run not cancelled: %v, %v", ok, err)
		}
		got, _ := s.GetRun(ctx, r.ID)
		if got.Status != ledger.RunCancelled || !strings.Contains(got.Error, "bo") {
			t.Fatalf("%+v", got)
		}

		// A chunked run that died keeps the counts of the chunks it
		// finished, not its last heartbeat's (none here).
		cr := chunkRun(t, s, 10)
		if _, err := s.PlanChunks(ctx, cr.ID, 3); err != nil {
			t.Fatal(err)
		}
		for _, counts := range []ledger.Counts{{Selected: 3, Done: 2, Failed: 1}, {Selected: 3, Done: 2, Skipped: 1}} {
			c, ok, err := s.ClaimChunk(ctx, cr.ID, "w", time.Hour)
			if err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			if err := s.CompleteChunkWith(ctx, c, "w", ledger.ChunkOutcome{Counts: counts}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.ClaimChunk(ctx, cr.ID, "w", time.Hour); err != nil { // the chunk it died in
			t.Fatal(err)
		}
		if _, err := s.RequestCancel(ctx, cr.ID, "bo", "wrong extract"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.CancelDeadRun(ctx, cr.ID, cr.Owner, "stopped where its process died"); !ok || err != nil {
			t.Fatalf("dead chunked run not cancelled: %v, %v", ok, err)
		}
		got, _ = s.GetRun(ctx, cr.ID)
		if got.Status != ledger.RunCancelled || got.Selected != 6 || got.Done != 4 || got.Skipped != 1 || got.Failed != 1 {
			t.Fatalf("dead chunked run: %+v, want the two done chunks' counts (selected 6, done 4, skipped 1, failed 1)", got)
		}
	})
}

// TestSchedulePauses: pause and resume are recorded with who and why, in
// the pauses and the audit log.
func TestSchedulePauses(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		if err := s.PauseSchedule(ctx, []string{"originate"}, "ana", ""); err == nil {
			t.Fatal("a pause without a reason was accepted")
		}
		if err := s.PauseSchedule(ctx, []string{"originate", "deliver"}, "ana", "bank outage"); err != nil {
			t.Fatal(err)
		}
		ps, err := s.SchedulePauses(ctx)
		if err != nil || len(ps) != 2 || ps["originate"].By != "ana" || ps["deliver"].Reason != "bank outage" || ps["originate"].At.IsZero() {
			t.Fatalf("pauses: %+v, %v", ps, err)
		}
		resumed, err := s.ResumeSchedule(ctx, []string{"originate", "statements"}, "bo", "bank back")
		if err != nil || len(resumed) != 1 || resumed[0] != "originate" {
			t.Fatalf("resumed %v, %v", resumed, err)
		}
		ps, _ = s.SchedulePauses(ctx)
		if _, ok := ps["originate"]; ok || len(ps) != 1 {
			t.Fatalf("pauses after resume: %+v", ps)
		}
		log, err := s.AuditLog(ctx, "", 10)
		if err != nil || len(log) != 3 || log[0].Action != "schedule resume" || log[0].Actor != "bo" || log[2].Action != "schedule pause" {
			t.Fatalf("audit: %+v, %v", log, err)
		}
	})
}

func TestCheckOperator(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"ana", true},
		{"Ana María O'Neil", true},
		{"ops-bot@host", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("é", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"ana\nINF forged line", false},
		{"tab\there", false},
		{"bell\a", false},
		{" ana", false},
		{"ana ", false},
		{"\xff\xfe", false},
		{"zero\u200bwidth", false},
	} {
		if err := ledger.CheckOperator(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckOperator(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestStaleCancelledRunEndsCancelled: a run asked to cancel whose process
// died before a safe point ends cancelled, not failed, when its heartbeat
// goes stale, so that the schedule does not resume it.
func TestStaleCancelledRunEndsCancelled(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		d := civil.MustParse("2026-11-30")
		a, _ := s.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: d, Trigger: "schedule", Owner: "host:1"})
		b, _ := s.BeginRun(ctx, ledger.RunSpec{Job: "lease-end", BusinessDate: d, Trigger: "schedule", Owner: "host:1"})
		if _, err := s.RequestCancel(ctx, a.ID, "ana", "wrong extract"); err != nil {
			t.Fatal(err)
		}
		ids, err := s.FailStaleRuns(ctx, -time.Second)
		if err != nil || len(ids) != 2 {
			t.Fatalf("FailStaleRuns = %v, %v", ids, err)
		}
		ra, _ := s.GetRun(ctx, a.ID)
		rb, _ := s.GetRun(ctx, b.ID)
		if ra.Status != ledger.RunCancelled || rb.Status != ledger.RunFailed {
			t.Fatalf("after the heartbeats went stale: %s and %s, want cancelled and failed", ra.Status, rb.Status)
		}
		if _, err := s.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: d, Trigger: "schedule"}); !errors.Is(err, ledger.ErrRunCancelled) {
			t.Fatalf("the schedule's start after that: %v", err)
		}
		dry, _ := s.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: d, DryRun: true, Trigger: "operator"})
		if _, err := s.RequestCancel(ctx, dry.ID, "ana", "x"); !errors.Is(err, ledger.ErrRunNotRunning) || !strings.Contains(err.Error(), "dry run") {
			t.Fatalf("cancel of a dry run: %v", err)
		}
	})
}

// TestMigrationKeepsRuns: migration 0027 (the runs table's status check
// gains cancelled; SQLite rebuilds the table) keeps every run, its id, its
// items and timeline, and the ids after it.
func TestMigrationKeepsRuns(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		var ids []int64
		for _, job := range []string{"originate", "statements", "deliver"} {
			r, err := s.BeginRun(ctx, ledger.RunSpec{Job: job, BusinessDate: civil.MustParse("2026-11-30"), Trigger: "operator", TriggeredBy: "ana", Owner: "h:1"})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if err := s.RecordItem(ctx, ids[1], "ACC-1 statement", "failed", "storage"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, ids[1], ledger.RunPartial, ledger.Counts{Selected: 2, Done: 1, Failed: 1}, map[string]int{"n": 1}, ""); err != nil {
			t.Fatal(err)
		}
		// Back to before 0027, with these runs in the table.
		undo := []string{`DROP TABLE run_cancels`, `DROP TABLE schedule_pauses`, `DELETE FROM schema_migrations WHERE version = 27`}
		if s.Dialect() == "postgres" {
			undo = append(undo, `ALTER TABLE runs DROP CONSTRAINT runs_status_check`,
				`ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN ('running', 'succeeded', 'failed', 'partial'))`)
		}
		for _, q := range undo {
			if _, err := s.DB().ExecContext(ctx, q); err != nil {
				t.Fatal(q, err)
			}
		}
		applied, err := s.Migrate(ctx)
		if err != nil || len(applied) != 1 || applied[0] != 27 {
			t.Fatalf("migrate = %v, %v", applied, err)
		}
		if s.Dialect() == "sqlite" {
			var n int
			rows, err := s.DB().QueryContext(ctx, `PRAGMA foreign_key_check`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				n++
			}
			rows.Close()
			if n != 0 {
				t.Fatalf("%d foreign key violations after the rebuild", n)
			}
		}
		r, err := s.GetRun(ctx, ids[1])
		items, _ := s.RunItems(ctx, ids[1])
		events, _ := s.RunEvents(ctx, ids[1])
		if err != nil || r.Status != ledger.RunPartial || r.Failed != 1 || r.TriggeredBy != "ana" || len(items) != 1 || len(events) != 2 {
			t.Fatalf("run %d after the migration: %+v, %v, %d items, %d events", ids[1], r, err, len(items), len(events))
		}
		next, err := s.BeginRun(ctx, ledger.RunSpec{Job: "lease-end", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "operator", Owner: "h:1"})
		if err != nil || next.ID <= ids[2] {
			t.Fatalf("a run begun after the migration: id %d, %v; want after %d", next.ID, err, ids[2])
		}
		if _, err := s.RequestCancel(ctx, ids[0], "bo", "x"); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, ids[0], ledger.RunCancelled, ledger.Counts{}, map[string]any{}, ""); err != nil {
			t.Fatalf("a cancelled run after the migration: %v", err)
		}
	})
}
