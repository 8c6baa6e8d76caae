package jobs_test

import (
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
)

// A statement date is the cycle day, or the last day of a shorter month;
// any other date names the statement dates around it.
func TestCycleEnds(t *testing.T) {
	for _, tc := range []struct {
		name          string
		cycleDay      int
		date          string
		isEnd         bool
		before, after string
	}{
		{"on the cycle day", 15, "2026-03-15", true, "2026-02-15", "2026-04-15"},
		{"between", 15, "2026-03-02", false, "2026-02-15", "2026-03-15"},
		{"after", 15, "2026-03-20", false, "2026-03-15", "2026-04-15"},
		{"31 in February", 31, "2026-02-28", true, "2026-01-31", "2026-03-31"},
		{"31 before the end of February", 31, "2026-02-27", false, "2026-01-31", "2026-02-28"},
		{"30 in a 31-day month", 30, "2026-03-31", false, "2026-03-30", "2026-04-30"},
		{"29 in a leap February", 29, "2028-02-29", true, "2028-01-29", "2028-03-29"},
		{"across the year", 5, "2026-12-31", false, "2026-12-05", "2027-01-05"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := civil.MustParse(tc.date)
			if got := jobs.IsCycleEnd(tc.cycleDay, d); got != tc.isEnd {
				t.Errorf("IsCycleEnd(%d, %s) = %v, want %v", tc.cycleDay, d, got, tc.isEnd)
			}
			before, after := jobs.CycleEnds(tc.cycleDay, d)
			if before.String() != tc.before || after.String() != tc.after {
				t.Errorf("CycleEnds(%d, %s) = %s, %s; want %s, %s", tc.cycleDay, d, before, after, tc.before, tc.after)
			}
		})
	}
}
