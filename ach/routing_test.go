package ach

import "testing"

func TestValidRouting(t *testing.T) {
	tests := []struct {
		name string
		rtn  string
		ok   bool
	}{
		{"chase ny", "021000021", true},
		{"bank of america", "026009593", true},
		{"wells fargo", "121000248", true},
		{"check digit off by one", "021000022", false},
		{"short", "02100002", false},
		{"long", "0210000210", false},
		{"letters", "02100002A", false},
		{"all zeros", "000000000", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidRouting(tt.rtn); (err == nil) != tt.ok {
				t.Errorf("ValidRouting(%q) = %v, want ok=%v", tt.rtn, err, tt.ok)
			}
		})
	}
}

func TestRoutingCheckDigitCompletesValidNumbers(t *testing.T) {
	for _, prefix := range []string{"02100002", "12100024", "00000001", "99999999"} {
		d, err := RoutingCheckDigit(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if err := ValidRouting(prefix + string(d)); err != nil {
			t.Errorf("%s%c: %v", prefix, d, err)
		}
	}
}
