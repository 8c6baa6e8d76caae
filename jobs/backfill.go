package jobs

import (
	"slices"

	"github.com/drafterhq/drafter/civil"
)

// defaultBankingDayJobs are the jobs that run on banking days only when the
// settings do not say (DRAFTER_SCHEDULE_BANKING_DAYS): originate and
// returns follow the bank; statements, lease-end and deliver run every
// calendar day, because cycles, maturities and email do.
var defaultBankingDayJobs = []string{"returns", "originate"}

// BankingDaysOnly reports whether job runs on banking days only, as the
// schedule fires it (DRAFTER_SCHEDULE_BANKING_DAYS).
func (e *Env) BankingDaysOnly(job string) bool {
	list := defaultBankingDayJobs
	if e.Config != nil && e.Config.BankingDayJobs != nil {
		list = e.Config.BankingDayJobs
	}
	return slices.Contains(list, job)
}

// BusinessDates are the dates from first to last (inclusive) that job has
// a run for, by its calendar: every banking day for the jobs that follow
// the bank, every calendar day for the others. A backfill runs these.
func (e *Env) BusinessDates(job string, first, last civil.Date) []civil.Date {
	banking := e.BankingDaysOnly(job)
	cal := e.Calendar
	if cal == nil {
		cal = NewCachedCalendar()
	}
	var out []civil.Date
	for d := first; !d.After(last); d = d.AddDays(1) {
		if !banking || cal.IsBankingDay(d) {
			out = append(out, d)
		}
	}
	return out
}
