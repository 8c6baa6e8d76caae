package ach

import "testing"

func TestTrace(t *testing.T) {
	cases := []struct {
		name    string
		routing string
		seq     int
		want    string
		wantErr bool
	}{
		{"first", "021000021", 1, "021000020000001", false},
		{"padded", "011000015", 4321, "011000010004321", false},
		{"max", "021000021", MaxTraceSequence, "021000029999999", false},
		{"zero sequence", "021000021", 0, "", true},
		{"negative sequence", "021000021", -1, "", true},
		{"sequence overflow", "021000021", MaxTraceSequence + 1, "", true},
		{"bad check digit", "021000022", 1, "", true},
		{"short routing", "02100002", 1, "", true},
		{"letters", "02100002X", 1, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Trace(tc.routing, tc.seq)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Trace(%q, %d) error = %v, wantErr %v", tc.routing, tc.seq, err, tc.wantErr)
			}
			if got != tc.want {
				t.Fatalf("Trace(%q, %d) = %q, want %q", tc.routing, tc.seq, got, tc.want)
			}
			if err != nil {
				return
			}
			odfi, seq, err := ParseTrace(got)
			if err != nil || odfi != tc.routing[:8] || seq != tc.seq {
				t.Errorf("ParseTrace(%q) = %q, %d, %v; want %q, %d", got, odfi, seq, err, tc.routing[:8], tc.seq)
			}
		})
	}
}

func TestParseTraceRejects(t *testing.T) {
	cases := []struct {
		name  string
		trace string
	}{
		{"empty", ""},
		{"short", "02100002000001"},
		{"long", "0210000200000011"},
		{"letter", "02100002000000A"},
		{"space", "02100002 000001"},
		{"sign", "02100002+000001"},
		{"zero sequence", "021000020000000"},
		{"non-ascii", "02100002000000é"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if odfi, seq, err := ParseTrace(tc.trace); err == nil {
				t.Errorf("ParseTrace(%q) = %q, %d, nil; want an error", tc.trace, odfi, seq)
			}
		})
	}
}

func FuzzParseTrace(f *testing.F) {
	f.Add("021000020000001")
	f.Add("0210000200000X1")
	f.Fuzz(func(t *testing.T, s string) {
		odfi, seq, err := ParseTrace(s)
		if err != nil {
			return
		}
		if len(odfi) != 8 || seq < 1 || seq > MaxTraceSequence || odfi+s[8:] != s {
			t.Fatalf("ParseTrace(%q) = %q, %d", s, odfi, seq)
		}
	})
}
