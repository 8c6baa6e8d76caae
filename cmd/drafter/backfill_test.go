package main

import (
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
)

// TestBackfillFollowsEachJobsCalendar backfills over Thanksgiving's
// Friday, a weekend and the month end, with a date already done in the
// middle. Statements run every calendar day (the weekend's cycle days get
// their statements), originate on banking days; the date done before is
// skipped and listed, not fatal, the later dates still run, and the
// backfill ends with a table. --date with a range is a usage error.
func TestBackfillFollowsEachJobsCalendar(t *testing.T) {
	dir := t.TempDir()
	// An extract as of the backfill's last night: the servicing system's
	// balances on every cycle date in the range, so the statements
	// reconcile instead of being held.
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 300, 5, civil.MustParse("2026-12-02")))

	r := drafter(t, dir, nil, "run", "statements", "--date", "2026-11-28", "--from", "2026-11-27", "--to", "2026-12-02")
	if r.code != 2 || !strings.Contains(r.stderr, "--date") {
		t.Fatalf("--date with a range: exit %d, want 2\n%s", r.code, r.stderr)
	}
	if runs := runsJSON(t, dir, nil); len(runs) != 0 {
		t.Fatalf("a usage error ran %d runs", len(runs))
	}

	for _, tc := range []struct {
		job, done string
		want      []string // dates run by the backfill, in order
	}{
		{"statements", "2026-11-29", []string{"2026-11-27", "2026-11-28", "2026-11-30", "2026-12-01", "2026-12-02"}},
		{"originate", "2026-11-30", []string{"2026-11-27", "2026-12-01", "2026-12-02"}},
	} {
		t.Run(tc.job, func(t *testing.T) {
			mustDrafter(t, dir, nil, "run", tc.job, "--date", tc.done)
			out := mustDrafter(t, dir, nil, "run", tc.job, "--from", "2026-11-27", "--to", "2026-12-02")
			if !strings.Contains(out, "DATE") || !strings.Contains(out, tc.done) || !strings.Contains(out, "skipped: done before") {
				t.Fatalf("backfill table:\n%s", out)
			}
			var got []string
			runs := runsJSON(t, dir, nil, "--job", tc.job)
			for i := len(runs) - 1; i >= 0; i-- {
				if r := runs[i]; r.BusinessDate.String() != tc.done {
					if r.Status != ledger.RunSucceeded || r.Attempt != 1 {
						t.Errorf("run %d of %s: %s attempt %d", r.ID, r.BusinessDate, r.Status, r.Attempt)
					}
					got = append(got, r.BusinessDate.String())
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("%s backfill ran %v, want %v", tc.job, got, tc.want)
			}
		})
	}
	// The weekend's cycles have their statements.
	weekend := 0
	for _, r := range runsJSON(t, dir, nil, "--job", "statements") {
		if d := r.BusinessDate.String(); d == "2026-11-28" || d == "2026-11-29" {
			weekend += r.Done
		}
	}
	if weekend == 0 {
		t.Fatal("no statement for the weekend's cycle days")
	}
}
