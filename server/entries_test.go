package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/server"
)

func TestEntriesFromConfig(t *testing.T) {
	load := func(settings map[string]string) *config.Config {
		flags := map[string]string{"DRAFTER_DATA_DIR": t.TempDir()}
		for k, v := range settings {
			flags[k] = v
		}
		cfg, err := config.Load(flags, func(string) (string, bool) { return "", false }, "")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	rec := &recorder{}
	reg := rec.registry("originate", "returns", "statements", "lease-end", "deliver", "unscheduled")
	es, err := server.EntriesFromConfig(load(map[string]string{"DRAFTER_SCHEDULE_LEASE_END": "off"}), reg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Job+" "+e.Spec+" banking="+boolString(e.BankingDays)+" intraday="+boolString(e.Intraday))
	}
	want := "deliver */5 * * * * banking=false intraday=true,originate 0 16 * * * banking=true intraday=false," +
		"returns 0 6 * * * banking=true intraday=false,statements 0 1 * * * banking=false intraday=false"
	if strings.Join(got, ",") != want {
		t.Errorf("entries:\n%s\nwant\n%s", strings.Join(got, ","), want)
	}
	_, err = server.EntriesFromConfig(load(map[string]string{"DRAFTER_SCHEDULE_ORIGINATE": "0 25 * * *"}), reg)
	if err == nil || !strings.Contains(err.Error(), "DRAFTER_SCHEDULE_ORIGINATE") {
		t.Errorf("a bad spec: %v, want an error naming the setting", err)
	}
	es, err = server.EntriesFromConfig(load(map[string]string{"DRAFTER_SCHEDULE_SECONDS": "true", "DRAFTER_SCHEDULE_DELIVER": "*/10 * * * * *"}), reg)
	if err != nil || len(es) != 5 {
		t.Errorf("seconds specs: %v %d", err, len(es))
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestScheduleIntradayFallBack: a job every 30 minutes on the fall-back
// night fires at both 01:30s, each its own run, and skips nothing.
func TestScheduleIntradayFallBack(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	clk := newFakeClock(time.Date(2026, 11, 1, 0, 0, 0, 0, newYork))
	rec := &recorder{clock: clk}
	e, err := server.ParseEntry("deliver", "*/30 * * * *", false, newYork, false)
	if err != nil {
		t.Fatal(err)
	}
	simulate(t, env, rec, clk, []server.Entry{e}, 3, time.Date(2026, 11, 1, 4, 0, 0, 0, newYork))
	var scopes []string
	for _, c := range rec.calls {
		if c.Date != civil.MustParse("2026-11-01") {
			t.Errorf("a fire on %s", c.Date)
		}
		scopes = append(scopes, strings.TrimPrefix(c.Scope, "at:"))
	}
	want := "00:30:00-0400 01:00:00-0400 01:30:00-0400 01:00:00-0500 01:30:00-0500 02:00:00-0500 02:30:00-0500 03:00:00-0500 03:30:00-0500 04:00:00-0500"
	if strings.Join(scopes, " ") != want {
		t.Errorf("fires:\n%s\nwant\n%s", strings.Join(scopes, " "), want)
	}
	runs, _ := env.Store.ListRuns(context.Background(), ledger.RunFilter{Job: "deliver"})
	if len(runs) != len(scopes) {
		t.Errorf("%d runs in the ledger for %d fires", len(runs), len(scopes))
	}
}
