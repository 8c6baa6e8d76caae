package money

import (
	"math"
	"testing"
)

func TestCentsString(t *testing.T) {
	tests := []struct {
		name string
		in   Cents
		want string
	}{
		{"zero", 0, "$0.00"},
		{"cents", 5, "$0.05"},
		{"dollars", 100, "$1.00"},
		{"thousands", 123456, "$1,234.56"},
		{"millions", 9999999999, "$99,999,999.99"},
		{"negative", -5, "-$0.05"},
		{"negative thousands", -123456, "-$1,234.56"},
		{"max", math.MaxInt64, "$92,233,720,368,547,758.07"},
		{"min", math.MinInt64, "-$92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Cents
		wantErr bool
	}{
		{"0", 0, false},
		{"12", 1200, false},
		{"12.5", 1250, false},
		{"1234.56", 123456, false},
		{"-0.05", -5, false},
		{"1.234", 0, true},
		{"", 0, true},
		{"1.", 0, true},
		{".5", 0, true},
		{"1,000.00", 0, true},
		{"abc", 0, true},
		{"12345678901234567", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %d, want %d", tt.in, got, tt.want)
			}
			if err == nil {
				back, _ := Parse(got.Plain())
				if back != got {
					t.Errorf("Plain round trip: %q -> %d", got.Plain(), back)
				}
			}
		})
	}
}
