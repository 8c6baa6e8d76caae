package bank

import (
	"reflect"
	"testing"
)

func TestParseAck(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Ack
		ok   bool
	}{
		{"accepted and rejected", "# bank acks 2026-11-25\r\nACCEPTED drafter-20261125-A.ach 12 entries $1,234.56\r\n\r\nrejected drafter-20261125-B.ach file hash total does not match\r\n",
			[]Ack{{Line: 2, Accepted: true, File: "drafter-20261125-A.ach", Detail: "12 entries $1,234.56"},
				{Line: 4, File: "drafter-20261125-B.ach", Detail: "file hash total does not match"}}, true},
		{"short words", "ACK a.ach\nNAK b.ach bad\n", []Ack{{Line: 1, Accepted: true, File: "a.ach"}, {Line: 2, File: "b.ach", Detail: "bad"}}, true},
		{"byte order mark", "\xef\xbb\xbfACCEPTED a.ach", []Ack{{Line: 1, Accepted: true, File: "a.ach"}}, true},
		{"empty", "", nil, false},
		{"comments only", "# nothing\n\n", nil, false},
		{"verdict without a file", "ACCEPTED\n", nil, false},
		{"another line", "ACCEPTED a.ach\nTOTAL 3\n", nil, false},
		{"a NACHA file", "101 091000019 0910000192611250000A094101", nil, false},
		{"binary", "ACCEPTED a.ach\x00\x01", nil, false},
		{"invalid UTF-8", "ACCEPTED \xff.ach", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseAck([]byte(tc.in))
			if ok != tc.ok || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseAck = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLooksLikeNACHA(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       bool
	}{
		{"RETURNS.ACH", "garbled", true},
		{"returns.nacha", "", true},
		{"R20261125", "101 091000019...", true},
		{"R20261125", "\xef\xbb\xbf\r\n101 0910", true},
		{"ACK20261125.txt", "ACCEPTED drafter-20261125-A.ach", false},
		{"statement.pdf", "%PDF-1.4", false},
	} {
		if got := LooksLikeNACHA(tc.name, []byte(tc.data)); got != tc.want {
			t.Errorf("LooksLikeNACHA(%q, %q) = %v, want %v", tc.name, tc.data, got, tc.want)
		}
	}
}
