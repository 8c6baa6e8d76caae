package jobs_test

import (
	"fmt"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
)

// TestBusinessDates: over Thanksgiving week's end and a month end, the
// jobs that follow the bank skip the holiday and the weekend; the others
// run every day.
func TestBusinessDates(t *testing.T) {
	env := &jobs.Env{Config: &config.Config{BankingDayJobs: []string{"returns", "originate"}}}
	from, to := civil.MustParse("2026-11-26"), civil.MustParse("2026-12-01")
	for _, tc := range []struct {
		job, want string
	}{
		{"originate", "[2026-11-27 2026-11-30 2026-12-01]"},
		{"returns", "[2026-11-27 2026-11-30 2026-12-01]"},
		{"statements", "[2026-11-26 2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01]"},
		{"lease-end", "[2026-11-26 2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01]"},
		{"deliver", "[2026-11-26 2026-11-27 2026-11-28 2026-11-29 2026-11-30 2026-12-01]"},
	} {
		t.Run(tc.job, func(t *testing.T) {
			if got := fmt.Sprint(env.BusinessDates(tc.job, from, to)); got != tc.want {
				t.Errorf("BusinessDates(%s) = %s, want %s", tc.job, got, tc.want)
			}
		})
	}
}
