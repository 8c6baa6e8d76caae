package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// TestScheduleCommand: `schedule` lists every job with its next fire;
// `pause --all` pauses each (shown with who and why), an operator's `run`
// still runs a paused job, `resume --all` ends every pause; bad uses are
// usage errors.
func TestScheduleCommand(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 20, 9, d))
	rows := func() []ScheduleRow {
		t.Helper()
		var rs []ScheduleRow
		if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "schedule", "--json")), &rs); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows() {
		if r.Paused != nil {
			t.Fatalf("%s paused before any pause", r.Job)
		}
		if r.Spec != "" && (r.NextFire == nil || !r.NextFire.After(time.Now())) {
			t.Errorf("%s (%s): next fire %v", r.Job, r.Spec, r.NextFire)
		}
		if r.Job == "originate" && (!r.BankingDays || r.NextFire.In(ny).Hour() != 16) {
			t.Errorf("originate: %+v, want banking days at 16:00 New York", r)
		}
	}
	mustDrafter(t, dir, nil, "schedule", "pause", "--all", "--reason", "bank outage", "--as", "ana")
	for _, r := range rows() {
		if r.Paused == nil || r.Paused.By != "ana" || r.Paused.Reason != "bank outage" {
			t.Errorf("%s after pause --all: %+v", r.Job, r.Paused)
		}
	}
	if out := mustDrafter(t, dir, nil, "schedule"); !strings.Contains(out, "PAUSED by ana") {
		t.Errorf("schedule:\n%s", out)
	}
	mustDrafter(t, dir, nil, "run", "statements", "--date", d.String())
	if out := mustDrafter(t, dir, nil, "schedule", "resume", "--all", "--as", "bo"); !strings.Contains(out, "schedule resumed for ") {
		t.Errorf("resume --all: %s", out)
	}
	for _, r := range rows() {
		if r.Paused != nil {
			t.Errorf("%s still paused after resume --all", r.Job)
		}
	}
	for _, args := range [][]string{
		{"schedule", "pause", "originate"},
		{"schedule", "pause", "nope", "--reason", "x"},
		{"schedule", "pause", "originate", "--all", "--reason", "x"},
		{"schedule", "resume"},
		{"schedule", "stop"},
	} {
		if r := drafter(t, dir, nil, args...); r.code != 2 {
			t.Errorf("drafter %s: exit %d, want 2 (usage)\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
