package ach

import (
	"time"

	"github.com/moov-io/base"

	"github.com/drafterhq/drafter/civil"
)

// Calendar tells which days are Federal Reserve banking days, the days on
// which ACH entries settle: Monday to Friday except the eleven Federal
// Reserve holidays (New Year's Day, Martin Luther King Jr. Day, Presidents'
// Day, Memorial Day, Juneteenth, Independence Day, Labor Day, Columbus Day,
// Veterans Day, Thanksgiving Day, Christmas Day). A holiday that falls on a
// Sunday closes the following Monday; one that falls on a Saturday leaves the
// preceding Friday open.
//
// The holiday rules are moov-io/base's (which uses rickar/cal's US holidays);
// the tests check them day by day against an independent encoding of the
// Federal Reserve schedule. The zero Calendar is ready to use.
type Calendar struct{}

// calendarMaxSteps bounds every walk over the calendar: no stretch of
// closed days is longer than a few days, so a walk that goes further means
// a broken date and must not loop for ever.
const calendarMaxSteps = 400

// IsBankingDay reports whether d is a Federal Reserve banking day.
func (Calendar) IsBankingDay(d civil.Date) bool {
	if d.IsZero() {
		return false
	}
	// base.NewTime reads the clock to build its value, then the date we
	// pass replaces it: the answer depends on d alone.
	return base.NewTime(d.In(time.UTC)).IsBankingDay()
}

// NextBankingDay returns the first banking day strictly after d.
func (c Calendar) NextBankingDay(d civil.Date) civil.Date {
	return c.AddBankingDays(d, 1)
}

// PreviousOrSameBankingDay returns d when it is a banking day, otherwise the
// last banking day before it.
func (c Calendar) PreviousOrSameBankingDay(d civil.Date) civil.Date {
	if d.IsZero() || c.IsBankingDay(d) {
		return d
	}
	return c.AddBankingDays(d, -1)
}

// AddBankingDays returns the date n banking days after d (before d when n is
// negative). d itself need not be a banking day: AddBankingDays(saturday, 1)
// is the Monday after (or the Tuesday when that Monday is a holiday). With
// n = 0 it returns d unchanged, and a zero d comes back as it went in.
func (c Calendar) AddBankingDays(d civil.Date, n int) civil.Date {
	if d.IsZero() {
		return d
	}
	step := 1
	if n < 0 {
		step, n = -1, -n
	}
	for ; n > 0; n-- {
		// Closed stretches are at most four days (a Friday holiday before a
		// weekend and a Monday holiday cannot meet), so the bound only guards
		// against a broken calendar looping for ever.
		for i := 0; i < calendarMaxSteps; i++ {
			d = d.AddDays(step)
			if c.IsBankingDay(d) {
				break
			}
		}
	}
	return d
}
