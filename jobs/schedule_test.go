package jobs

import (
	"testing"

	"github.com/drafterhq/drafter/civil"
)

func TestDraftDate(t *testing.T) {
	cal := NewCachedCalendar()
	tests := []struct {
		name       string
		due        string
		daysBefore int
		want       string
	}{
		{"banking day", "2026-11-24", 0, "2026-11-24"},
		{"thanksgiving moves to wednesday", "2026-11-26", 0, "2026-11-25"},
		{"saturday moves to friday", "2026-11-28", 0, "2026-11-27"},
		{"sunday moves to friday", "2026-11-29", 0, "2026-11-27"},
		{"christmas friday moves to thursday", "2026-12-25", 0, "2026-12-24"},
		{"three days before lands on a sunday", "2026-12-09", 3, "2026-12-04"},
		{"new year 2027 friday", "2027-01-01", 0, "2026-12-31"},
		{"leap day is a tuesday", "2028-02-29", 0, "2028-02-29"},
		{"labor day monday moves to friday", "2026-09-07", 0, "2026-09-04"},
		{"juneteenth friday 2026", "2026-06-19", 0, "2026-06-18"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DraftDate(civil.MustParse(tt.due), tt.daysBefore, cal); got.String() != tt.want {
				t.Errorf("DraftDate(%s, %d) = %s, want %s", tt.due, tt.daysBefore, got, tt.want)
			}
		})
	}
}

func TestDueDatesMonthEnds(t *testing.T) {
	tests := []struct {
		name     string
		dueDay   int
		from, to string
		want     []string
	}{
		{"day 31 in a common year", 31, "2027-01-01", "2027-04-30", []string{"2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"}},
		{"day 30 in a leap february", 30, "2028-02-01", "2028-03-31", []string{"2028-02-29", "2028-03-30"}},
		{"day 29 common february", 29, "2026-02-01", "2026-02-28", []string{"2026-02-28"}},
		{"before first due and after maturity are excluded", 15, "2026-01-01", "2026-12-31", []string{"2026-03-15", "2026-04-15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, maturity := civil.MustParse("2020-01-01"), civil.MustParse("2030-01-01")
			if tt.name == "before first due and after maturity are excluded" {
				first, maturity = civil.MustParse("2026-03-15"), civil.MustParse("2026-04-15")
			}
			got := DueDates(first, maturity, tt.dueDay, civil.MustParse(tt.from), civil.MustParse(tt.to))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i].String() != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestAutopayInstallmentsEachDraftOnce(t *testing.T) {
	cal := NewCachedCalendar()
	first, maturity, starts := civil.MustParse("2026-01-31"), civil.MustParse("2029-01-31"), civil.MustParse("2026-01-01")
	// Walk every business date for a year: each due date is drafted by
	// exactly one night's window (after, through].
	seen := map[civil.Date]civil.Date{}
	for d := civil.MustParse("2026-01-01"); d.Before(civil.MustParse("2027-01-01")); d = d.AddDays(1) {
		if !cal.IsBankingDay(d) {
			continue
		}
		prev := cal.AddBankingDays(d, -1)
		for _, in := range AutopayInstallments(first, maturity, starts, 31, 2, cal.NextBankingDay(prev), cal.NextBankingDay(d), cal) {
			if other, ok := seen[in.DueOn]; ok {
				t.Fatalf("due %s drafted on %s and %s", in.DueOn, other, d)
			}
			seen[in.DueOn] = d
			if eff := cal.NextBankingDay(d); in.DraftOn != eff {
				t.Errorf("due %s: draft %s but the night of %s settles on %s", in.DueOn, in.DraftOn, d, eff)
			}
		}
	}
	if len(seen) != 12 {
		t.Fatalf("%d installments in 2026, want 12: %v", len(seen), seen)
	}
}
