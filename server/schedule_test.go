package server_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

var newYork = mustZone("America/New_York")

func mustZone(name string) *time.Location {
	z, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return z
}

// testEnv is a job environment on a fresh store of the dialect.
func testEnv(t *testing.T, dialect string, settings map[string]string) *jobs.Env {
	t.Helper()
	return testEnvURL(t, ledgertest.URL(t, dialect), settings)
}

func testEnvURL(t *testing.T, url string, settings map[string]string) *jobs.Env {
	t.Helper()
	return jobstest.Env(t, url, settings)
}

// call is one run of a recording job.
type call struct {
	Job   string
	Date  civil.Date
	Scope string
	At    time.Time // the scheduler's clock when it ran
}

// recorder is a registry of jobs that record their runs.
type recorder struct {
	mu    sync.Mutex
	calls []call
	clock server.Clock
	// before, when set, runs first in every run; it may panic or fail.
	before func(c call, n int) error
}

type recordingJob struct {
	name string
	rec  *recorder
}

func (j recordingJob) Name() string { return j.name }

func (j recordingJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	c := call{Job: j.name, Date: r.Date, Scope: r.Scope}
	if j.rec.clock != nil {
		c.At = j.rec.clock.Now()
	}
	j.rec.mu.Lock()
	j.rec.calls = append(j.rec.calls, c)
	n := len(j.rec.calls)
	j.rec.mu.Unlock()
	if j.rec.before != nil {
		if err := j.rec.before(c, n); err != nil {
			return nil, err
		}
	}
	r.Selected(1)
	r.Done(1)
	return map[string]any{"entries": 1}, nil
}

func (rec *recorder) registry(names ...string) jobs.Registry {
	reg := jobs.Registry{}
	for _, n := range names {
		reg[n] = recordingJob{name: n, rec: rec}
	}
	return reg
}

func (rec *recorder) count(job string, d civil.Date) int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for _, c := range rec.calls {
		if c.Job == job && c.Date == d {
			n++
		}
	}
	return n
}

// lenderEntries is the default lender schedule plus a job at 02:30, an
// hour that does not exist on the spring-forward night.
func lenderEntries(t *testing.T) []server.Entry {
	t.Helper()
	specs := []struct {
		job, spec string
		banking   bool
	}{
		{"statements", "0 1 * * *", false},
		{"lease-end", "30 1 * * *", false},
		{"nightly-0230", "30 2 * * *", false},
		{"returns", "0 6 * * *", true},
		{"originate", "0 16 * * *", true},
	}
	var out []server.Entry
	for _, s := range specs {
		e, err := server.ParseEntry(s.job, s.spec, false, newYork, s.banking)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func entryJobs(es []server.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Job)
	}
	return out
}

// simulate runs a scheduler on the fake clock from its time to end.
func simulate(t *testing.T, env *jobs.Env, rec *recorder, clk *fakeClock, entries []server.Entry, catchUp int, end time.Time) {
	t.Helper()
	s := server.NewScheduler(env, rec.registry(entryJobs(entries)...), entries)
	s.Clock, s.Zone, s.CatchUpDays = clk, newYork, catchUp
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	clk.runUntil(t, len(entries), end)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// checkOncePerDate checks that every job ran exactly once per business
// date from first to last (banking-day jobs on banking days only), in the
// recorder and in the run ledger.
func checkOncePerDate(t *testing.T, env *jobs.Env, rec *recorder, entries []server.Entry, first, last civil.Date) {
	t.Helper()
	ctx := context.Background()
	for _, e := range entries {
		runs, err := env.Store.ListRuns(ctx, ledger.RunFilter{Job: e.Job, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		perDate := map[civil.Date]int{}
		for _, r := range runs {
			if r.Status != ledger.RunSucceeded {
				t.Errorf("%s %s: run %d is %s", e.Job, r.BusinessDate, r.ID, r.Status)
			}
			perDate[r.BusinessDate]++
		}
		for d := first; !d.After(last); d = d.AddDays(1) {
			want := 1
			if e.BankingDays && !env.Calendar.IsBankingDay(d) {
				want = 0
			}
			if got := rec.count(e.Job, d); got != want {
				t.Errorf("%s %s (%s): ran %d times, want %d", e.Job, d, d.Weekday(), got, want)
			}
			if perDate[d] != want {
				t.Errorf("%s %s: %d runs in the ledger, want %d", e.Job, d, perDate[d], want)
			}
			delete(perDate, d)
		}
		for d, n := range perDate {
			t.Errorf("%s: %d runs for %s, outside %s..%s", e.Job, n, d, first, last)
		}
	}
}

// TestScheduleMonthAcrossDST runs a month of nights around each of 2026's
// DST changes in America/New_York on a fake clock: every job runs exactly
// once per business date, on that date, including 02:30 on March 8 (an
// hour that does not exist) and 01:30 on November 1 (an hour that happens
// twice).
func TestScheduleMonthAcrossDST(t *testing.T) {
	spans := []struct{ from, to civil.Date }{
		{civil.MustParse("2026-03-01"), civil.MustParse("2026-03-31")},
		{civil.MustParse("2026-10-15"), civil.MustParse("2026-11-14")},
	}
	for _, dialect := range ledgertest.Dialects {
		for _, span := range spans {
			t.Run(dialect+"/"+span.from.String(), func(t *testing.T) {
				env := testEnv(t, dialect, nil)
				clk := newFakeClock(span.from.In(newYork))
				rec := &recorder{clock: clk}
				entries := lenderEntries(t)
				simulate(t, env, rec, clk, entries, 3, span.to.AddDays(1).In(newYork))
				checkOncePerDate(t, env, rec, entries, span.from, span.to)
				for _, c := range rec.calls {
					if got := civil.Of(c.At.In(newYork)); got != c.Date {
						t.Errorf("%s for %s ran on %s (%s)", c.Job, c.Date, got, c.At.In(newYork))
					}
				}
				for _, c := range rec.calls {
					at := c.At.In(newYork).Format("2006-01-02 15:04 MST")
					if c.Job == "nightly-0230" && c.Date == civil.MustParse("2026-03-08") && at != "2026-03-08 03:30 EDT" {
						t.Errorf("02:30 on the spring-forward night ran at %s, want 03:30 EDT (after the gap)", at)
					}
					if c.Job == "lease-end" && c.Date == civil.MustParse("2026-11-01") && at != "2026-11-01 01:30 EDT" {
						t.Errorf("01:30 on the fall-back night ran at %s, want the first 01:30 (EDT)", at)
					}
				}
			})
		}
	}
}

// TestScheduleCatchUpAfterDowntime stops the schedule on Friday 2026-09-04
// at noon (after returns, before originate) and starts it again on
// Tuesday 2026-09-08 at 10:00, after a weekend and Labor Day: each missed
// business date runs once, oldest first, banking-day jobs on banking days
// only.
func TestScheduleCatchUpAfterDowntime(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			clk := newFakeClock(time.Date(2026, 9, 2, 0, 0, 0, 0, newYork))
			rec := &recorder{clock: clk}
			entries := lenderEntries(t)
			simulate(t, env, rec, clk, entries, 4, time.Date(2026, 9, 4, 12, 0, 0, 0, newYork))
			if n := rec.count("originate", civil.MustParse("2026-09-04")); n != 0 {
				t.Fatalf("originate ran %d times on Friday before 16:00", n)
			}
			before := len(rec.calls)
			restart := time.Date(2026, 9, 8, 10, 0, 0, 0, newYork)
			clk.now = restart
			simulate(t, env, rec, clk, entries, 4, time.Date(2026, 9, 9, 0, 0, 0, 0, newYork))
			checkOncePerDate(t, env, rec, entries, civil.MustParse("2026-09-02"), civil.MustParse("2026-09-08"))
			// The catch-up ran at the restart, oldest date first.
			last := map[string]civil.Date{}
			var caughtUp []string
			for _, c := range rec.calls[before:] {
				if c.Date.Before(last[c.Job]) {
					t.Errorf("%s ran %s after %s", c.Job, c.Date, last[c.Job])
				}
				last[c.Job] = c.Date
				if c.At.Equal(restart) {
					caughtUp = append(caughtUp, c.Job+" "+c.Date.String())
				}
			}
			// originate for Friday; statements, lease-end and 02:30 for
			// Saturday to Tuesday; returns for Tuesday (Monday is Labor Day).
			if want := 1 + 3*4 + 1; len(caughtUp) != want {
				t.Errorf("caught up at the restart: %v, want %d runs", caughtUp, want)
			}
		})
	}
}

// TestSchedulePanicRecordedNextNightRuns: a job that panics is recorded as
// a failed run; the next night's fire restarts it and runs its own date.
func TestSchedulePanicRecordedNextNightRuns(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	clk := newFakeClock(time.Date(2026, 3, 2, 0, 0, 0, 0, newYork))
	rec := &recorder{clock: clk}
	rec.before = func(c call, n int) error {
		if n == 1 {
			panic("the statement renderer fell over")
		}
		return nil
	}
	e, err := server.ParseEntry("statements", "0 1 * * *", false, newYork, false)
	if err != nil {
		t.Fatal(err)
	}
	entries := []server.Entry{e}
	// First night only: the run panics and is recorded failed.
	simulate(t, env, rec, clk, entries, 3, time.Date(2026, 3, 2, 12, 0, 0, 0, newYork))
	runs, err := env.Store.ListRuns(context.Background(), ledger.RunFilter{Job: "statements"})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Status != ledger.RunFailed || !strings.Contains(runs[0].Error, "panic: the statement renderer fell over") {
		t.Fatalf("after the panic: %+v", runs)
	}
	// The schedule goes on: the next nights restart the failed run, then run their own.
	simulate(t, env, rec, clk, entries, 3, time.Date(2026, 3, 5, 0, 0, 0, 0, newYork))
	checkOncePerDateLedger(t, env, "statements", civil.MustParse("2026-03-02"), civil.MustParse("2026-03-04"))
	if n := rec.count("statements", civil.MustParse("2026-03-02")); n != 2 {
		t.Errorf("2026-03-02 ran %d times, want 2 (the panic, then the restart)", n)
	}
}

func checkOncePerDateLedger(t *testing.T, env *jobs.Env, job string, first, last civil.Date) {
	t.Helper()
	runs, err := env.Store.ListRuns(context.Background(), ledger.RunFilter{Job: job, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[civil.Date][]string{}
	for _, r := range runs {
		got[r.BusinessDate] = append(got[r.BusinessDate], fmt.Sprintf("run %d attempt %d %s", r.ID, r.Attempt, r.Status))
	}
	for d := first; !d.After(last); d = d.AddDays(1) {
		if len(got[d]) != 1 || !strings.Contains(got[d][0], "attempt 1 succeeded") {
			t.Errorf("%s %s: %v, want one succeeded run", job, d, got[d])
		}
	}
}
