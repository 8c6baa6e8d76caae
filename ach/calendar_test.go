package ach

import (
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
)

func TestCalendarFedHolidays(t *testing.T) {
	// The Federal Reserve's published schedules for 2026 and 2027
	// (frbservices.org holiday schedules), with what each means for ACH.
	cases := []struct {
		name    string
		date    string
		banking bool
	}{
		{"2026 new year's day thursday", "2026-01-01", false},
		{"2026 mlk day", "2026-01-19", false},
		{"2026 presidents day", "2026-02-16", false},
		{"2026 memorial day", "2026-05-25", false},
		{"2026 juneteenth friday", "2026-06-19", false},
		{"2026 independence day saturday", "2026-07-04", false},
		{"2026 friday before saturday july 4 stays open", "2026-07-03", true},
		{"2026 monday after saturday july 4 is open", "2026-07-06", true},
		{"2026 labor day", "2026-09-07", false},
		{"2026 columbus day", "2026-10-12", false},
		{"2026 veterans day wednesday", "2026-11-11", false},
		{"2026 thanksgiving", "2026-11-26", false},
		{"2026 day after thanksgiving is open", "2026-11-27", true},
		{"2026 christmas friday", "2026-12-25", false},
		{"2026 christmas eve is open", "2026-12-24", true},
		{"2027 new year's day friday", "2027-01-01", false},
		{"2027 mlk day", "2027-01-18", false},
		{"2027 presidents day", "2027-02-15", false},
		{"2027 memorial day", "2027-05-31", false},
		{"2027 juneteenth saturday", "2027-06-19", false},
		{"2027 friday before saturday juneteenth stays open", "2027-06-18", true},
		{"2027 independence day sunday", "2027-07-04", false},
		{"2027 monday after sunday july 4 is closed", "2027-07-05", false},
		{"2027 labor day", "2027-09-06", false},
		{"2027 columbus day", "2027-10-11", false},
		{"2027 veterans day thursday", "2027-11-11", false},
		{"2027 thanksgiving", "2027-11-25", false},
		{"2027 christmas saturday", "2027-12-25", false},
		{"2027 friday before saturday christmas stays open", "2027-12-24", true},
		{"2027 monday after saturday christmas is open", "2027-12-27", true},
		{"2027 year end friday before saturday new year stays open", "2027-12-31", true},
		{"2028 new year's day saturday", "2028-01-01", false},
		{"2028 first monday is open", "2028-01-03", true},
		{"2028 leap day tuesday", "2028-02-29", true},
		{"2022 monday after sunday christmas is closed", "2022-12-26", false},
		{"2023 monday after sunday new year is closed", "2023-01-02", false},
		{"2022 monday after sunday juneteenth is closed", "2022-06-20", false},
		{"2029 monday after sunday veterans day is closed", "2029-11-12", false},
		{"2028 friday before saturday veterans day stays open", "2028-11-10", true},
		{"ordinary saturday", "2026-11-28", false},
		{"ordinary sunday", "2026-11-29", false},
		{"ordinary monday", "2026-11-30", true},
		{"ordinary wednesday", "2026-11-25", true},
	}
	var cal Calendar
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := cal.IsBankingDay(civil.MustParse(tc.date)); got != tc.banking {
				t.Errorf("IsBankingDay(%s) = %v, want %v", tc.date, got, tc.banking)
			}
		})
	}
}

func TestCalendarSteps(t *testing.T) {
	var cal Calendar
	cases := []struct {
		name     string
		date     string
		next     string // NextBankingDay
		prevSame string // PreviousOrSameBankingDay
	}{
		{"thanksgiving week wednesday", "2026-11-25", "2026-11-27", "2026-11-25"},
		{"thanksgiving day", "2026-11-26", "2026-11-27", "2026-11-25"},
		{"day after thanksgiving", "2026-11-27", "2026-11-30", "2026-11-27"},
		{"friday to monday", "2026-12-04", "2026-12-07", "2026-12-04"},
		{"saturday", "2026-12-05", "2026-12-07", "2026-12-04"},
		{"sunday", "2026-12-06", "2026-12-07", "2026-12-04"},
		{"friday before mlk day", "2026-01-16", "2026-01-20", "2026-01-16"},
		{"mlk day", "2026-01-19", "2026-01-20", "2026-01-16"},
		{"month end friday to monday", "2026-07-31", "2026-08-03", "2026-07-31"},
		{"month end saturday", "2026-10-31", "2026-11-02", "2026-10-30"},
		{"month end thursday", "2026-12-31", "2027-01-04", "2026-12-31"},
		{"christmas thursday eve", "2026-12-24", "2026-12-28", "2026-12-24"},
		{"leap day tuesday", "2028-02-29", "2028-03-01", "2028-02-29"},
		{"day before leap day", "2028-02-28", "2028-02-29", "2028-02-28"},
		{"year end friday", "2027-12-31", "2028-01-03", "2027-12-31"},
		{"new year saturday", "2028-01-01", "2028-01-03", "2027-12-31"},
		{"thursday before sunday july 4", "2027-07-01", "2027-07-02", "2027-07-01"},
		{"friday before sunday july 4", "2027-07-02", "2027-07-06", "2027-07-02"},
		{"observed monday july 5", "2027-07-05", "2027-07-06", "2027-07-02"},
		{"friday before saturday july 4", "2026-07-03", "2026-07-06", "2026-07-03"},
		{"thursday before friday juneteenth", "2026-06-18", "2026-06-22", "2026-06-18"},
		{"friday juneteenth", "2026-06-19", "2026-06-22", "2026-06-18"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := civil.MustParse(tc.date)
			if got := cal.NextBankingDay(d); got.String() != tc.next {
				t.Errorf("NextBankingDay(%s) = %s, want %s", tc.date, got, tc.next)
			}
			if got := cal.PreviousOrSameBankingDay(d); got.String() != tc.prevSame {
				t.Errorf("PreviousOrSameBankingDay(%s) = %s, want %s", tc.date, got, tc.prevSame)
			}
		})
	}
}

func TestCalendarAddBankingDays(t *testing.T) {
	var cal Calendar
	cases := []struct {
		name string
		date string
		n    int
		want string
	}{
		{"zero is identity on a banking day", "2026-11-25", 0, "2026-11-25"},
		{"zero is identity on a holiday", "2026-11-26", 0, "2026-11-26"},
		{"one over thanksgiving", "2026-11-25", 1, "2026-11-27"},
		{"two over thanksgiving and a weekend", "2026-11-25", 2, "2026-11-30"},
		{"three from a prenote settling wednesday", "2026-11-25", 3, "2026-12-01"},
		{"from a saturday", "2026-11-28", 1, "2026-11-30"},
		{"across a year end", "2027-12-30", 2, "2028-01-03"},
		{"across christmas 2026", "2026-12-23", 5, "2026-12-31"},
		{"across christmas and new year 2026", "2026-12-23", 6, "2027-01-04"},
		{"back one over a weekend", "2026-11-30", -1, "2026-11-27"},
		{"back one over thanksgiving", "2026-11-27", -1, "2026-11-25"},
		{"back from a sunday", "2026-11-29", -1, "2026-11-27"},
		{"back over observed july 5", "2027-07-06", -1, "2027-07-02"},
		{"back across leap day", "2028-03-01", -2, "2028-02-28"},
		{"a month of banking days over veterans day and thanksgiving", "2026-11-02", 20, "2026-12-02"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := cal.AddBankingDays(civil.MustParse(tc.date), tc.n)
			if got.String() != tc.want {
				t.Errorf("AddBankingDays(%s, %d) = %s, want %s", tc.date, tc.n, got, tc.want)
			}
		})
	}
}

func TestCalendarZeroDate(t *testing.T) {
	var cal Calendar
	var zero civil.Date
	if cal.IsBankingDay(zero) {
		t.Error("zero date is a banking day")
	}
	if got := cal.NextBankingDay(zero); !got.IsZero() {
		t.Errorf("NextBankingDay(zero) = %s, want zero", got)
	}
	if got := cal.PreviousOrSameBankingDay(zero); !got.IsZero() {
		t.Errorf("PreviousOrSameBankingDay(zero) = %s, want zero", got)
	}
}

// TestCalendarAgreesWithFedRule walks every day of 2022 to 2040 and compares
// the library's answer with an independent encoding of the Federal Reserve
// rule, so that a change in moov-io/base or rickar/cal cannot move a
// settlement date unnoticed.
func TestCalendarAgreesWithFedRule(t *testing.T) {
	var cal Calendar
	closed := map[civil.Date]bool{}
	for y := 2022; y <= 2040; y++ {
		for _, d := range calendarTestFedClosures(y) {
			closed[d] = true
		}
	}
	mismatches := 0
	for d := civil.New(2022, time.January, 1); d.Year <= 2040; d = d.AddDays(1) {
		wd := d.Weekday()
		want := wd != time.Saturday && wd != time.Sunday && !closed[d]
		if got := cal.IsBankingDay(d); got != want {
			t.Errorf("IsBankingDay(%s %s) = %v, Fed rule says %v", d, wd, got, want)
			if mismatches++; mismatches > 10 {
				t.Fatal("too many mismatches")
			}
		}
	}
}

// calendarTestFedClosures lists the weekdays in year y on which the Federal
// Reserve is closed for a holiday: fixed-date holidays move from Sunday to
// Monday and are not moved from Saturday.
func calendarTestFedClosures(y int) []civil.Date {
	nth := func(m time.Month, wd time.Weekday, n int) civil.Date {
		d := civil.New(y, m, 1)
		for d.Weekday() != wd {
			d = d.AddDays(1)
		}
		return d.AddDays(7 * (n - 1))
	}
	last := func(m time.Month, wd time.Weekday) civil.Date {
		d := civil.New(y, m+1, 1).AddDays(-1)
		for d.Weekday() != wd {
			d = d.AddDays(-1)
		}
		return d
	}
	var out []civil.Date
	for _, md := range [][2]int{{1, 1}, {6, 19}, {7, 4}, {11, 11}, {12, 25}} {
		d := civil.New(y, time.Month(md[0]), md[1])
		switch d.Weekday() {
		case time.Sunday:
			out = append(out, d.AddDays(1))
		case time.Saturday:
			// The Friday before stays open.
		default:
			out = append(out, d)
		}
	}
	return append(out,
		nth(time.January, time.Monday, 3),
		nth(time.February, time.Monday, 3),
		last(time.May, time.Monday),
		nth(time.September, time.Monday, 1),
		nth(time.October, time.Monday, 2),
		nth(time.November, time.Thursday, 4),
	)
}
