package civil

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	tests := []struct {
		name string
		from string
		n    int
		want string
	}{
		{"jan 31 to feb in a common year", "2026-01-31", 1, "2026-02-28"},
		{"jan 31 to feb in a leap year", "2028-01-31", 1, "2028-02-29"},
		{"leap day plus a year", "2028-02-29", 12, "2029-02-28"},
		{"backwards over a year end", "2026-01-15", -1, "2025-12-15"},
		{"mar 31 to apr", "2026-03-31", 1, "2026-04-30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MustParse(tt.from).AddMonths(tt.n).String(); got != tt.want {
				t.Errorf("AddMonths = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestOnDayAndDaysSince(t *testing.T) {
	if got := MustParse("2026-02-10").OnDay(31).String(); got != "2026-02-28" {
		t.Errorf("OnDay(31) in Feb = %s", got)
	}
	if got := MustParse("2028-02-10").OnDay(30).String(); got != "2028-02-29" {
		t.Errorf("OnDay(30) in leap Feb = %s", got)
	}
	// Across the March DST change the difference is still whole days.
	if got := MustParse("2026-03-10").DaysSince(MustParse("2026-03-07")); got != 3 {
		t.Errorf("DaysSince across DST = %d", got)
	}
	if got := MustParse("2029-01-01").DaysSince(MustParse("2028-01-01")); got != 366 {
		t.Errorf("leap year length = %d", got)
	}
}

func TestParseAndCodecs(t *testing.T) {
	for _, bad := range []string{"2026-02-30", "2026-13-01", "26-01-01", "", "2026/01/01"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	d := MustParse("2026-11-25")
	b, _ := json.Marshal(d)
	var back Date
	if err := json.Unmarshal(b, &back); err != nil || back != d {
		t.Fatalf("json round trip %s -> %v %v", b, back, err)
	}
	if d.Compact() != "261125" || d.Weekday() != time.Wednesday {
		t.Errorf("Compact %s weekday %v", d.Compact(), d.Weekday())
	}
	var s Date
	if err := s.Scan(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)); err != nil || s != d {
		t.Errorf("Scan time = %v %v", s, err)
	}
	if v, _ := (Date{}).Value(); v != nil {
		t.Errorf("zero Value = %v, want nil", v)
	}
}
