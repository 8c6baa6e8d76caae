package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"

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

// TestBankGauges: /metrics shows what went to the bank: files stored and
// not yet confirmed sent (drafter_ach_files{status="stored"}), files
// confirmed sent ({status="transmitted"}), released files apart
// ({status="released"}), and transmissions by state
// (drafter_bank_transmissions: renaming means uploaded, rename not yet
// confirmed).
func TestBankGauges(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	ctx := context.Background()
	d := civil.MustParse("2026-12-01")
	ids := map[string]int64{}
	for _, mod := range []string{"A", "B", "C"} {
		var id int64
		if err := env.Store.DB().QueryRow(`INSERT INTO ach_files (business_date, id_modifier, status, effective_on, storage_key, trace_start, trace_end, sha256, entries, created_at)
			VALUES ($1, $2, 'stored', $3, $4, 1, 1, 'abc', 2, $5) RETURNING id`, d, mod, d.AddDays(1), "ach/outbound/2026-12-01/"+mod+".ach", time.Now()).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[mod] = id
	}
	sent := ledger.Transmission{FileID: ids["A"], RemoteName: "a.ach", Bytes: 940, SHA256: "abc", RunID: 1}
	if err := env.Store.BeginTransmission(ctx, sent); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.MarkTransmitted(ctx, sent, "uploaded"); err != nil {
		t.Fatal(err)
	}
	if err := env.Store.BeginTransmission(ctx, ledger.Transmission{FileID: ids["B"], RemoteName: "b.ach", Bytes: 940, SHA256: "abc", RunID: 1}); err != nil {
		t.Fatal(err)
	}

	// A released file (its payments scheduled again) is not waiting for
	// the bank.
	var released int64
	if err := env.Store.DB().QueryRow(`INSERT INTO ach_files (business_date, id_modifier, status, effective_on, storage_key, trace_start, trace_end, entries, created_at)
		VALUES ($1, 'D', 'allocated', $2, 'ach/outbound/2026-12-01/D.ach', 2, 2, 3, $3) RETURNING id`, d, d.AddDays(1), time.Now()).Scan(&released); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.ReleaseFile(ctx, released, "tester", "test"); err != nil {
		t.Fatal(err)
	}

	// A and C are settled; B is stored and its payments not yet settled
	// (its run stopped between the two); the released D is not counted.
	if _, err := env.Store.DB().Exec(`UPDATE ach_files SET settled_at = $1 WHERE id IN ($2, $3)`, time.Now(), ids["A"], ids["C"]); err != nil {
		t.Fatal(err)
	}

	m := server.NewMetricsAt(env.Store, env.Config.Zone, env.Log, time.Now)
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += "{" + l.GetName() + "=" + l.GetValue() + "}"
			}
			got[key] = mt.GetGauge().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"drafter_ach_files{status=stored}":             2,
		"drafter_ach_files{status=transmitted}":        1,
		"drafter_ach_file_entries{status=transmitted}": 2,
		"drafter_bank_transmissions{state=sent}":       1,
		"drafter_bank_transmissions{state=renaming}":   1,
		"drafter_ach_files{status=released}":           1,
		"drafter_ach_file_entries{status=released}":    3,
		"drafter_ach_files{status=allocated}":          0,
		"drafter_ach_files_unsettled":                  1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}
