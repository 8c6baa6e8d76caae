package bank

import (
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
)

func TestRemoteName(t *testing.T) {
	f := FileName{ID: 42, BusinessDate: civil.Date{Year: 2026, Month: 3, Day: 9}, EffectiveOn: civil.Date{Year: 2026, Month: 3, Day: 10}, Modifier: "B"}
	for _, tc := range []struct{ name, pattern, want string }{
		{"default", DefaultNamePattern, "drafter-20260309-B.ach"},
		{"short date", "ACH_{yymmdd}{modifier}.txt", "ACH_260309B.txt"},
		{"effective and id", "f{id}-{effective}.ach", "f42-20260310.ach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RemoteName(tc.pattern, f); got != tc.want {
				t.Fatalf("RemoteName(%q) = %q, want %q", tc.pattern, got, tc.want)
			}
			tmp := TempName(tc.want)
			if !IsTempName(tmp) || IsTempName(tc.want) {
				t.Fatalf("TempName(%q) = %q: IsTempName wrong", tc.want, tmp)
			}
		})
	}
}

func TestCheckNamePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		ok      bool
	}{
		{DefaultNamePattern, true},
		{"{id}.ach", true},
		{"{yymmdd}{modifier}", true},
		{"{date}.ach", false},        // two files a day share it
		{"{modifier}.ach", false},    // the next day reuses it
		{"in/{id}.ach", false},       // a folder
		{".{id}.ach", false},         // hidden, like a temporary name
		{"{id}-{serial}.ach", false}, // unknown field
	} {
		err := CheckNamePattern(tc.pattern)
		if (err == nil) != tc.ok {
			t.Errorf("CheckNamePattern(%q) = %v, want ok %v", tc.pattern, err, tc.ok)
		}
	}
}

func TestParseCutoffs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Cutoff
		bad  bool
	}{
		{in: ""},
		{in: "16:00", want: []Cutoff{{16, 0}}},
		{in: "16:30, 10:15", want: []Cutoff{{10, 15}, {16, 30}}},
		{in: "9:00", bad: true},
		{in: "25:00", bad: true},
		{in: "10:00,10:00", bad: true},
	} {
		got, err := ParseCutoffs(tc.in)
		if (err != nil) != tc.bad {
			t.Errorf("ParseCutoffs(%q) error %v, want bad %v", tc.in, err, tc.bad)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("ParseCutoffs(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseCutoffs(%q) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
}

func TestDeadlineAndNextCutoff(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	d := civil.Date{Year: 2026, Month: 11, Day: 2}
	cuts := []Cutoff{{10, 30}, {16, 0}}
	dl, ok := Deadline(d, cuts, ny)
	if !ok || dl.UTC().Format(time.RFC3339) != "2026-11-02T21:00:00Z" {
		t.Fatalf("Deadline = %v %v, want 16:00 New York (21:00Z)", dl, ok)
	}
	if _, ok := Deadline(d, nil, ny); ok {
		t.Fatal("Deadline without cutoffs is ok")
	}
	for _, tc := range []struct {
		now  string
		want string
	}{
		{"2026-11-02T09:00:00-05:00", "10:30"},
		{"2026-11-02T10:30:00-05:00", "10:30"},
		{"2026-11-02T10:31:00-05:00", "16:00"},
		{"2026-11-02T16:01:00-05:00", ""},
	} {
		now, _ := time.Parse(time.RFC3339, tc.now)
		got, ok := NextCutoff(d, cuts, ny, now)
		s := ""
		if ok {
			s = got.In(ny).Format("15:04")
		}
		if s != tc.want {
			t.Errorf("NextCutoff at %s = %q, want %q", tc.now, s, tc.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		user string
		port int
		bad  bool
	}{
		{in: "sftp://drafter@bank.example:2222", user: "drafter", port: 2222},
		{in: "sftp://drafter@bank.example", user: "drafter", port: 22},
		{in: "sftp://drafter:secret@bank.example", bad: true},
		{in: "ftp://drafter@bank.example", bad: true},
		{in: "sftp://bank.example", bad: true},
		{in: "sftp://drafter@bank.example/incoming", bad: true},
	} {
		u, _, p, err := ParseURL(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && (u != tc.user || p != tc.port)) {
			t.Errorf("ParseURL(%q) = %q %d %v", tc.in, u, p, err)
		}
	}
}
