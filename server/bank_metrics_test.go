package server_test

import (
	"testing"
	"time"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/server"
)

// TestCutoffMissedCounter: each file a transmit run held for a missed
// cutoff adds to drafter_bank_cutoff_missed_total; other jobs' summaries
// do not.
func TestCutoffMissedCounter(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	m := server.NewMetricsAt(env.Store, env.Config.Zone, env.Log, time.Now)
	m.ObserveRun(jobs.Result{Run: ledger.Run{ID: 1, Job: "transmit", Status: ledger.RunPartial}, Summary: &jobs.TransmitSummary{CutoffMissed: 2}})
	m.ObserveRun(jobs.Result{Run: ledger.Run{ID: 2, Job: "transmit", Status: ledger.RunSucceeded}, Summary: &jobs.TransmitSummary{}})
	m.ObserveRun(jobs.Result{Run: ledger.Run{ID: 3, Job: "originate", Status: ledger.RunSucceeded}, Summary: map[string]int{"cutoff_missed": 5}})
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, f := range families {
		if f.GetName() == "drafter_bank_cutoff_missed_total" {
			got = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != 2 {
		t.Fatalf("drafter_bank_cutoff_missed_total = %v, want 2", got)
	}
}
