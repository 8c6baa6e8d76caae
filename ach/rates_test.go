package ach

import (
	"strings"
	"testing"
)

func TestReturnRatesThresholds(t *testing.T) {
	type flags struct{ warning, exceeded bool }
	tests := []struct {
		name    string
		debits  int
		returns map[string]int
		pick    func(Rates) Rate
		want    flags
	}{
		// unauthorized, 0.5%: 50 of 10,000 is at the threshold, not over it.
		{"unauthorized at half", 10000, map[string]int{"R10": 25}, ratesUnauthorized, flags{}},
		{"unauthorized past half", 10000, map[string]int{"R10": 26}, ratesUnauthorized, flags{warning: true}},
		{"unauthorized just under", 10000, map[string]int{"R05": 10, "R07": 39}, ratesUnauthorized, flags{warning: true}},
		{"unauthorized at threshold", 10000, map[string]int{"R05": 10, "R07": 10, "R10": 10, "R11": 10, "R29": 5, "R51": 5}, ratesUnauthorized, flags{warning: true}},
		{"unauthorized just over", 10000, map[string]int{"R07": 51}, ratesUnauthorized, flags{warning: true, exceeded: true}},
		{"unauthorized 1 of 200 is 0.5%", 200, map[string]int{"R07": 1}, ratesUnauthorized, flags{warning: true}},
		{"unauthorized 1 of 199 is over", 199, map[string]int{"R07": 1}, ratesUnauthorized, flags{warning: true, exceeded: true}},
		{"R08 is not unauthorized", 100, map[string]int{"R08": 50}, ratesUnauthorized, flags{}},
		// administrative, 3%.
		{"administrative at half", 10000, map[string]int{"R02": 150}, ratesAdministrative, flags{}},
		{"administrative past half", 10000, map[string]int{"R02": 151}, ratesAdministrative, flags{warning: true}},
		{"administrative at threshold", 10000, map[string]int{"R02": 100, "R03": 100, "R04": 100}, ratesAdministrative, flags{warning: true}},
		{"administrative just over", 10000, map[string]int{"R02": 100, "R03": 100, "R04": 101}, ratesAdministrative, flags{warning: true, exceeded: true}},
		{"R12 and R20 are not in the NACHA administrative rate", 100, map[string]int{"R12": 40, "R20": 40}, ratesAdministrative, flags{}},
		// overall, 15%.
		{"overall at half", 10000, map[string]int{"R01": 750}, ratesOverall, flags{}},
		{"overall past half", 10000, map[string]int{"R01": 751}, ratesOverall, flags{warning: true}},
		{"overall at threshold", 10000, map[string]int{"R01": 1000, "R02": 300, "R07": 200}, ratesOverall, flags{warning: true}},
		{"overall just over", 10000, map[string]int{"R01": 1000, "R02": 300, "R07": 201}, ratesOverall, flags{warning: true, exceeded: true}},
		{"dishonored and contested are not returns of debits", 100, map[string]int{"R68": 50, "R71": 50}, ratesOverall, flags{}},
		{"a code outside the table still counts overall", 100, map[string]int{"R99": 16}, ratesOverall, flags{warning: true, exceeded: true}},
		// zero and negative inputs.
		{"zero debits, no returns", 0, nil, ratesOverall, flags{}},
		{"zero debits with returns", 0, map[string]int{"R07": 3}, ratesUnauthorized, flags{}},
		{"negative counts are zero", -5, map[string]int{"R07": -3}, ratesUnauthorized, flags{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.pick(ReturnRates(tt.debits, tt.returns))
			if got := (flags{r.Warning, r.Exceeded}); got != tt.want {
				t.Errorf("%s: got %+v, want %+v", r, got, tt.want)
			}
		})
	}
}

func ratesUnauthorized(r Rates) Rate   { return r.Unauthorized }
func ratesAdministrative(r Rates) Rate { return r.Administrative }
func ratesOverall(r Rates) Rate        { return r.Overall }

func TestReturnRatesCounts(t *testing.T) {
	r := ReturnRates(5000, map[string]int{"R01": 100, "R02": 10, "R03": 5, "R07": 31, "R10": 0, "R68": 4})
	if r.Unauthorized.Returns != 31 || r.Administrative.Returns != 15 || r.Overall.Returns != 146 {
		t.Errorf("counts: unauthorized %d, administrative %d, overall %d", r.Unauthorized.Returns, r.Administrative.Returns, r.Overall.Returns)
	}
	if r.Unauthorized.Debits != 5000 || r.Unauthorized.ThresholdBP != 50 || r.Administrative.ThresholdBP != 300 || r.Overall.ThresholdBP != 1500 {
		t.Errorf("rates: %+v", r)
	}
	if got, want := r.Unauthorized.String(), "unauthorized 0.62% (31/5000, threshold 0.50%): exceeded"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got := r.Administrative.String(); !strings.HasSuffix(got, ": ok") {
		t.Errorf("String = %q", got)
	}
	if bp := r.Overall.BasisPoints(); bp != 292 {
		t.Errorf("BasisPoints = %v", bp)
	}
	if got := ReturnRates(0, nil).Overall.BasisPoints(); got != 0 {
		t.Errorf("BasisPoints with no debits = %v", got)
	}
}
