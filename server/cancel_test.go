package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/server"
)

// spanJob is a chunked job whose chunks take a while; it counts how often
// each chunk (by its span) was worked, across every replica.
type spanJob struct {
	took   time.Duration
	mu     *sync.Mutex
	worked map[string]int
}

func (spanJob) Name() string { return "statements" }

func (j spanJob) Run(ctx context.Context, r *jobs.Run) (any, error) { return jobs.RunLocal(ctx, r, j) }

func (j spanJob) WorkChunk(ctx context.Context, r *jobs.Run, span ledger.ChunkSpan) (any, error) {
	select {
	case <-time.After(j.took):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	j.mu.Lock()
	j.worked[span.After+".."+span.Through]++
	j.mu.Unlock()
	r.Selected(1)
	r.Done(1)
	return map[string]int{"chunks": 1}, nil
}

func (spanJob) Finish(ctx context.Context, r *jobs.Run, results []json.RawMessage) (any, error) {
	return map[string]int{"chunks": len(results)}, nil
}

func (spanJob) DecodeSummary(b []byte) (any, error) {
	var m map[string]int
	return m, json.Unmarshal(b, &m)
}

// TestCancelAcrossReplicas: a chunked run is worked by replica A (and, on
// PostgreSQL, by replica B's chunk workers too); an operator cancels it
// through replica B's API. Every worker stops at its chunk boundary, the
// run ends cancelled with who and why, no chunk was worked twice, and a
// resume works the rest once.
func TestCancelAcrossReplicas(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url := ledgertest.URL(t, dialect)
			settings := map[string]string{"DRAFTER_CHUNK_SIZE": "2", "DRAFTER_CHUNK_WORKERS": "1", "DRAFTER_ADMIN_TOKEN": testToken}
			a, b := testEnvURL(t, url, settings), testEnvURL(t, url, settings)
			a.Owner, b.Owner = "replica-a:1", "replica-b:2"
			var buf bytes.Buffer
			if err := portfolio.Generate(&buf, portfolio.GenerateOptions{Accounts: 20, Seed: 3, AsOf: civil.MustParse("2026-11-30")}); err != nil {
				t.Fatal(err)
			}
			if _, err := jobs.ImportFile(ctx, a.Store, &buf, "generated.jsonl", jobs.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			job := spanJob{took: 150 * time.Millisecond, mu: &sync.Mutex{}, worked: map[string]int{}}
			run, err := a.Store.BeginRun(ctx, ledger.RunSpec{Job: job.Name(), BusinessDate: civil.MustParse("2026-11-30"), Trigger: "schedule", Owner: a.Owner})
			if err != nil {
				t.Fatal(err)
			}
			type outcome struct {
				res jobs.Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := a.Execute(ctx, job, run)
				done <- outcome{res, err}
			}()
			var workers sync.WaitGroup
			if dialect == "postgres" {
				workers.Go(func() {
					for {
						if st, _ := b.Store.RunStatus(ctx, run.ID); st != ledger.RunRunning {
							return
						}
						if err := b.WorkChunks(ctx, job, run); err != nil {
							t.Errorf("replica B's workers: %v", err)
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
				})
			}
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if c, _ := a.Store.ChunkCounts(ctx, run.ID); c.Done >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no chunk done in 30s")
				}
			}

			admin := server.NewAdmin(b, jobs.Registry{job.Name(): job}, server.LockerFor(b.Store), nil)
			_, danaToken, err := b.Store.AddOperator(ctx, "dana", ledger.RoleOperator, "test")
			if err != nil {
				t.Fatal(err)
			}
			c := &apiClient{t: t, url: serveAdmin(t, admin), admin: admin, token: testToken, operators: map[string]string{"dana": danaToken}}
			path := fmt.Sprintf("/api/v1/runs/%d/cancel", run.ID)
			if code, body := c.do("POST", path, "dana", map[string]any{}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), "reason is required") {
				t.Errorf("cancel without a reason: %d %v", code, body)
			}
			if code, body := c.do("POST", path, "dana", map[string]any{"reason": "bank called"}); code != http.StatusAccepted {
				t.Fatalf("cancel: %d %v", code, body)
			}
			var out outcome
			select {
			case out = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the run did not stop within 30s of the cancel")
			}
			workers.Wait()
			if out.res.Run.Status != ledger.RunCancelled || !errors.Is(out.err, jobs.ErrCancelled) || out.res.Run.Error != "cancelled by dana: bank called" {
				t.Fatalf("after the cancel: %+v, %v", out.res.Run, out.err)
			}
			fin, _ := a.Store.GetRun(ctx, run.ID)
			if fin.Done == 0 || fin.Done >= 10 {
				t.Fatalf("the cancelled run did %d of 10 chunks; want it stopped part way", fin.Done)
			}
			if code, body := c.do("POST", path, "dana", map[string]any{"reason": "again"}); code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "drafter resume") {
				t.Errorf("cancel of a cancelled run: %d %v, want 409 naming resume", code, body)
			}
			events, _ := a.Store.RunEvents(ctx, run.ID)
			var tl []string
			for _, e := range events {
				tl = append(tl, e.Event+" by "+e.Actor)
			}
			if s := strings.Join(tl, ", "); !strings.Contains(s, "cancel requested by dana, cancelled by dana") {
				t.Fatalf("timeline: %s", s)
			}

			res, err := a.Resume(ctx, job, run.ID, "erin", time.Hour)
			if err != nil || res.Run.Status != ledger.RunSucceeded || res.Run.Done != 10 {
				t.Fatalf("resume: %+v, %v", res.Run, err)
			}
			job.mu.Lock()
			defer job.mu.Unlock()
			if len(job.worked) != 10 {
				t.Fatalf("%d chunks worked, want 10: %v", len(job.worked), job.worked)
			}
			for span, n := range job.worked {
				if n != 1 {
					t.Errorf("chunk %s worked %d times", span, n)
				}
			}
		})
	}
}

// TestShowRunWithPendingCancel: GET /api/v1/runs/{id} of a running run an
// operator asked to cancel says who asked, when and why (it has not
// reached a safe point yet), with its live chunk counts and its timeline;
// once it stopped, the pending cancel is gone from the answer. The cancel
// is recorded under the operator whose token asked.
func TestShowRunWithPendingCancel(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_ADMIN_TOKEN": testToken})
	var buf bytes.Buffer
	if err := portfolio.Generate(&buf, portfolio.GenerateOptions{Accounts: 6, Seed: 3, AsOf: civil.MustParse("2026-11-30")}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.ImportFile(ctx, env.Store, &buf, "generated.jsonl", jobs.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// A run worked by a live replica elsewhere: the cancel waits for it.
	run, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "schedule", Owner: "replica-elsewhere:7"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.PlanChunks(ctx, run.ID, 3); err != nil {
		t.Fatal(err)
	}
	ch, _, err := env.Store.ClaimChunk(ctx, run.ID, "replica-elsewhere:7", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.CompleteChunkWith(ctx, ch, "replica-elsewhere:7", ledger.ChunkOutcome{Counts: ledger.Counts{Selected: 3, Done: 3}}); err != nil {
		t.Fatal(err)
	}
	job := spanJob{mu: &sync.Mutex{}, worked: map[string]int{}}
	admin := server.NewAdmin(env, jobs.Registry{job.Name(): job}, server.LockerFor(env.Store), nil)
	c := &apiClient{t: t, url: serveAdmin(t, admin), admin: admin, token: testToken}
	path := fmt.Sprintf("/api/v1/runs/%d", run.ID)
	if code, body := c.do("GET", path, "", nil); code != http.StatusOK || body["cancel_requested"] != nil || body["done"] != float64(3) {
		t.Fatalf("GET before the cancel: %d %v; want done 3 (live, from the chunk) and no cancel", code, body)
	}
	// The operator a write is recorded under comes from its credential.
	_, danaToken, err := env.Store.AddOperator(ctx, "dana", ledger.RoleOperator, "test")
	if err != nil {
		t.Fatal(err)
	}
	c.operators = map[string]string{"dana": danaToken}
	if code, body := c.do("POST", path+"/cancel", "", map[string]any{"reason": "bank called", "extra": 1}); code != http.StatusBadRequest {
		t.Fatalf("cancel with an unknown field: %d %v, want 400", code, body)
	}
	if _, ok, _ := env.Store.CancelRequested(ctx, run.ID); ok {
		t.Fatal("a refused cancel was recorded")
	}
	if code, body := c.do("POST", path+"/cancel", "dana", map[string]any{"reason": "bank called"}); code != http.StatusAccepted {
		t.Fatalf("cancel: %d %v", code, body)
	}
	code, body := c.do("GET", path, "", nil)
	cr, _ := body["cancel_requested"].(map[string]any)
	if code != http.StatusOK || body["status"] != ledger.RunRunning || cr == nil || cr["by"] != "dana" || cr["reason"] != "bank called" || cr["at"] == "" {
		t.Fatalf("GET of the run asked to cancel: %d %v; want it running with dana's cancel", code, body)
	}
	if tl, _ := body["timeline"].([]any); len(tl) != 2 {
		t.Errorf("timeline: %v, want started and cancel requested", body["timeline"])
	}
	if err := env.Store.FinishRun(ctx, run.ID, ledger.RunCancelled, ledger.Counts{Selected: 3, Done: 3}, map[string]any{}, ""); err != nil {
		t.Fatal(err)
	}
	if code, body := c.do("GET", path, "", nil); code != http.StatusOK || body["cancel_requested"] != nil || body["status"] != ledger.RunCancelled {
		t.Fatalf("GET of the cancelled run: %d %v", code, body)
	}
}
