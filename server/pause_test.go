package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// TestSchedulePauseHonoured: another process pauses originate and deliver
// in the ledger (as `drafter schedule pause` does); the scheduler fires
// neither while they are paused, and fires statements as usual. Once they
// are resumed, the daily job's dates held back run within the catch-up
// window and the intraday job fires again.
func TestSchedulePauseHonoured(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url := ledgertest.URL(t, dialect)
			env, other := testEnvURL(t, url, nil), testEnvURL(t, url, nil)
			var entries []server.Entry
			for _, s := range []struct {
				job, spec string
				banking   bool
			}{{"statements", "0 1 * * *", false}, {"originate", "0 16 * * *", true}, {"deliver", "0 */2 * * *", false}} {
				e, err := server.ParseEntry(s.job, s.spec, false, newYork, s.banking)
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
			}
			if err := other.Store.PauseSchedule(ctx, []string{"originate", "deliver"}, "ana", "bank outage"); err != nil {
				t.Fatal(err)
			}
			clk := newFakeClock(time.Date(2026, 11, 30, 8, 0, 0, 0, newYork))
			rec := &recorder{clock: clk}
			s := server.NewScheduler(env, rec.registry(entryJobs(entries)...), entries)
			s.Clock, s.Zone, s.CatchUpDays, s.PauseRecheck = clk, newYork, 5, time.Hour
			sctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.Run(sctx) }()

			mon, tue, wed := civil.MustParse("2026-11-30"), civil.MustParse("2026-12-01"), civil.MustParse("2026-12-02")
			resumeAt := time.Date(2026, 12, 2, 8, 0, 0, 0, newYork)
			clk.runUntil(t, len(entries), resumeAt)
			for _, d := range []civil.Date{mon, tue, wed} {
				if n := rec.count("originate", d) + rec.count("deliver", d); n != 0 {
					t.Fatalf("%s: %d runs of paused jobs", d, n)
				}
			}
			if rec.count("statements", tue) != 1 || rec.count("statements", wed) != 1 {
				t.Fatalf("statements, not paused, ran %d and %d times on %s and %s", rec.count("statements", tue), rec.count("statements", wed), tue, wed)
			}

			if _, err := other.Store.ResumeSchedule(ctx, []string{"originate", "deliver"}, "bo", "bank back"); err != nil {
				t.Fatal(err)
			}
			clk.runUntil(t, len(entries), time.Date(2026, 12, 2, 17, 0, 0, 0, newYork))
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for _, d := range []civil.Date{mon, tue, wed} {
				if n := rec.count("originate", d); n != 1 {
					t.Errorf("originate %s ran %d times after the resume, want 1 (caught up)", d, n)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			deliver := 0
			for _, c := range rec.calls {
				if c.Job == "deliver" {
					deliver++
					if c.At.Before(resumeAt) {
						t.Errorf("deliver fired at %s, while paused", c.At)
					}
				}
			}
			if deliver == 0 {
				t.Error("deliver never fired after the resume")
			}
		})
	}
}

// TestNextFire: the next fire is the scheduler's own: a banking-day job
// skips the weekend and Christmas, an everyday job does not, an intraday
// job fires at its next slot.
func TestNextFire(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	entry := func(job, spec string, banking bool) *server.Entry {
		e, err := server.ParseEntry(job, spec, false, newYork, banking)
		if err != nil {
			t.Fatal(err)
		}
		return &e
	}
	s := server.NewScheduler(env, nil, nil)
	s.Zone = newYork
	for _, tc := range []struct {
		name string
		e    *server.Entry
		now  time.Time
		want time.Time
	}{
		{"banking days skip the weekend", entry("originate", "0 16 * * *", true),
			time.Date(2026, 12, 4, 17, 0, 0, 0, newYork), time.Date(2026, 12, 7, 16, 0, 0, 0, newYork)},
		{"and Christmas", entry("originate", "0 16 * * *", true),
			time.Date(2026, 12, 24, 17, 0, 0, 0, newYork), time.Date(2026, 12, 28, 16, 0, 0, 0, newYork)},
		{"every day", entry("statements", "0 1 * * *", false),
			time.Date(2026, 12, 4, 17, 0, 0, 0, newYork), time.Date(2026, 12, 5, 1, 0, 0, 0, newYork)},
		{"intraday", entry("deliver", "*/5 * * * *", false),
			time.Date(2026, 12, 5, 10, 2, 0, 0, newYork), time.Date(2026, 12, 5, 10, 5, 0, 0, newYork)},
		{"intraday on banking days", entry("receive", "*/15 6-18 * * *", true),
			time.Date(2026, 12, 5, 10, 2, 0, 0, newYork), time.Date(2026, 12, 7, 6, 0, 0, 0, newYork)},
	} {
		if got := s.NextFire(tc.e, tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: next fire after %s = %s, want %s", tc.name, tc.now, got, tc.want)
		}
	}
}
