package server_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// gaugeValues gathers reg and returns the values of one metric, keyed by
// its labels as name=value pairs joined by commas.
func gaugeValues(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			key := ""
			for i, l := range m.GetLabel() {
				if i > 0 {
					key += ","
				}
				key += l.GetName() + "=" + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

// TestRunGauges: the last success of each job, the age and heartbeat age
// of a running run, the runs needing attention (a partial run followed by
// a succeeded rerun needs none; dry runs never do) and the open exceptions
// by kind, on both databases.
func TestRunGauges(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			st := env.Store
			d := civil.MustParse("2026-12-02")
			begin := func(job string, rerun, dry bool) ledger.Run {
				t.Helper()
				spec := ledger.RunSpec{Job: job, BusinessDate: d, Trigger: "schedule", Owner: "elsewhere:1", Rerun: rerun, DryRun: dry}
				if rerun {
					spec.Reason = "the bank asked"
				}
				r, err := st.BeginRun(ctx, spec)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			finish := func(r ledger.Run, status string) {
				t.Helper()
				if err := st.FinishRun(ctx, r.ID, status, ledger.Counts{}, map[string]any{}, ""); err != nil {
					t.Fatal(err)
				}
			}
			finish(begin("statements", false, false), ledger.RunSucceeded)
			finish(begin("originate", false, false), ledger.RunPartial)
			finish(begin("originate", true, false), ledger.RunSucceeded)
			finish(begin("returns", false, false), ledger.RunFailed)
			finish(begin("deliver", false, true), ledger.RunFailed)
			running := begin("lease-end", false, false)
			if _, err := st.AddExceptions(ctx, []ledger.Exception{{Kind: "unmatched_return", Reference: "a", Detail: "x"},
				{Kind: "unmatched_return", Reference: "b", Detail: "x"}, {Kind: "noc_refused", Reference: "c", Detail: "x"}}); err != nil {
				t.Fatal(err)
			}

			at := time.Now().Add(10 * time.Minute)
			m := server.NewMetricsAt(st, env.Config.Zone, env.Log, func() time.Time { return at })
			attention := gaugeValues(t, m.Registry, "drafter_runs_needing_attention")
			if len(attention) != 1 || attention["job=returns,status=failed"] != 1 {
				t.Errorf("runs needing attention: %v, want only the failed returns run", attention)
			}
			last := gaugeValues(t, m.Registry, "drafter_job_last_success_timestamp_seconds")
			if len(last) != 2 || math.Abs(last["job=originate"]-float64(time.Now().Unix())) > 60 || last["job=statements"] == 0 {
				t.Errorf("last success: %v, want statements and originate, about now", last)
			}
			labels := "business_date=2026-12-02,job=lease-end,run=" + strconv.FormatInt(running.ID, 10)
			for _, name := range []string{"drafter_run_age_seconds", "drafter_run_heartbeat_age_seconds"} {
				if v := gaugeValues(t, m.Registry, name); len(v) != 1 || math.Abs(v[labels]-600) > 60 {
					t.Errorf("%s: %v, want %s about 600", name, v, labels)
				}
			}
			if ex := gaugeValues(t, m.Registry, "drafter_exceptions_open"); ex["kind=unmatched_return"] != 2 || ex["kind=noc_refused"] != 1 {
				t.Errorf("open exceptions: %v", ex)
			}
			if v := gaugeValues(t, m.Registry, "drafter_outbox_oldest_queued_age_seconds"); len(v) != 1 || v[""] != 0 {
				t.Errorf("oldest queued email with none queued: %v", v)
			}
		})
	}
}

// TestScheduleGauges: the next fire of each job and the last fire of a
// daily one, by the calendar: originate (banking days) on a Saturday last
// fired on Friday and fires next on Monday; deliver (intraday) has a next
// fire only.
func TestScheduleGauges(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	var entries []server.Entry
	for _, e := range []struct {
		job, spec string
		banking   bool
	}{{"originate", "0 16 * * *", true}, {"deliver", "*/5 * * * *", false}} {
		entry, err := server.ParseEntry(e.job, e.spec, false, newYork, e.banking)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, entry)
	}
	s := server.NewScheduler(env, jobs.Registry{"originate": jobs.Originate{}, "deliver": jobs.Deliver{}}, entries)
	saturday := time.Date(2026, 12, 5, 10, 2, 0, 0, newYork)
	s.Clock, s.Zone = newFakeClock(saturday), newYork
	m := server.NewMetricsAt(env.Store, newYork, env.Log, func() time.Time { return saturday })
	server.RegisterScheduleMetrics(m, s)
	next := gaugeValues(t, m.Registry, "drafter_job_next_fire_timestamp_seconds")
	lastFire := gaugeValues(t, m.Registry, "drafter_job_last_fire_timestamp_seconds")
	want := map[string]time.Time{
		"next originate": time.Date(2026, 12, 7, 16, 0, 0, 0, newYork),
		"last originate": time.Date(2026, 12, 4, 16, 0, 0, 0, newYork),
		"next deliver":   time.Date(2026, 12, 5, 10, 5, 0, 0, newYork),
	}
	got := map[string]float64{"next originate": next["job=originate"], "last originate": lastFire["job=originate"], "next deliver": next["job=deliver"]}
	for k, w := range want {
		if got[k] != float64(w.Unix()) {
			t.Errorf("%s: %v, want %s (%d)", k, got[k], w, w.Unix())
		}
	}
	if _, ok := lastFire["job=deliver"]; ok {
		t.Errorf("an intraday job has a last fire: %v", lastFire)
	}
}
