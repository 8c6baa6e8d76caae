package mask_test

import (
	"testing"

	"github.com/drafterhq/drafter/mask"
)

func TestNumber(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"long", "123456789012", "****9012"},
		{"eight", "12345678", "****5678"},
		{"seven", "1234567", "****567"},
		{"six", "123456", "****456"},
		{"five", "94659", "****59"},
		{"four", "4659", "****59"},
		{"three", "659", "****9"},
		{"one", "9", "****"},
		{"empty", "", ""},
		{"NUL kept by a fixed-width field", "1234684\x00", "****684"},
		{"control bytes", "12\x1b[31m345\r\n6789", "****6789"},
		{"blanks of a NACHA field", "  12345678901    ", "****8901"},
		{"letters", "AB-12-CD-34", "****CD34"},
		{"only control", "\x00\x01", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mask.Number(tc.in); got != tc.want {
				t.Errorf("Number(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestNeverWhole: no number of 2 or more characters shows whole, and none
// shows more than 4.
func TestNeverWhole(t *testing.T) {
	num := "12345678901234567"
	for n := 2; n <= len(num); n++ {
		tail := mask.Tail(num[:n])
		if len(tail) >= n || len(tail) > 4 {
			t.Errorf("%d digits: shows %q", n, tail)
		}
	}
}

func TestStored(t *testing.T) {
	for in, want := range map[string]string{"6789": "****6789", "59": "****59", "12345678": "****5678", "68\x004": "****684", "": "****"} {
		if got := mask.Stored(in); got != want {
			t.Errorf("Stored(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInPlace(t *testing.T) {
	for in, want := range map[string]string{"123456789    ": "*****6789    ", "94659": "***59", "12-34": "***34", "12\x0034": "***34", "": ""} {
		if got := mask.InPlace(in); got != want {
			t.Errorf("InPlace(%q) = %q, want %q", in, got, want)
		}
	}
}
