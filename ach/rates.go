package ach

import "fmt"

// NACHA return-rate thresholds in basis points (1 bp = 0.01%), measured
// over the last 60 days against debit entries originated.
const (
	UnauthorizedThresholdBP   = 50   // 0.5%
	AdministrativeThresholdBP = 300  // 3%
	OverallThresholdBP        = 1500 // 15%
)

// Rate is one return rate: Returns out of Debits, against a threshold.
// The decision fields are computed in integers; BasisPoints and String are
// for display.
type Rate struct {
	Name        string   // "unauthorized", "administrative", "overall"
	Codes       []string // the return codes counted; nil for overall (every return)
	Returns     int
	Debits      int
	ThresholdBP int
	// Exceeded: Returns/Debits is above the threshold (at the threshold
	// is not above).
	Exceeded bool
	// Warning: Returns/Debits is above half the threshold; true whenever
	// Exceeded is.
	Warning bool
}

// BasisPoints returns the rate in basis points, for display.
func (r Rate) BasisPoints() float64 {
	if r.Debits <= 0 {
		return 0
	}
	return float64(r.Returns) * 10000 / float64(r.Debits)
}

// String returns the rate for a report: "unauthorized 0.62% (31/5000, threshold 0.50%): exceeded".
func (r Rate) String() string {
	state := "ok"
	switch {
	case r.Exceeded:
		state = "exceeded"
	case r.Warning:
		state = "warning"
	}
	return fmt.Sprintf("%s %.2f%% (%d/%d, threshold %.2f%%): %s",
		r.Name, r.BasisPoints()/100, r.Returns, r.Debits, float64(r.ThresholdBP)/100, state)
}

// Rates holds the three rates NACHA watches.
type Rates struct {
	Unauthorized   Rate
	Administrative Rate
	Overall        Rate
}

// ReturnRates computes the return rates for a window: debits is the number
// of debit entries originated in it, returnsByCode the returns received for
// them by return code. Unauthorized counts R05, R07, R10, R11, R29, R51;
// administrative R02, R03, R04; overall every return except dishonored and
// contested ones (R61-R77), which are about a return, not a debit. Codes
// outside the table count in overall only. With no debits every rate is
// zero and nothing is exceeded. Negative counts are treated as zero.
func ReturnRates(debits int, returnsByCode map[string]int) Rates {
	debits = max(debits, 0)
	count := func(codes []string) int {
		n := 0
		for _, c := range codes {
			n += max(returnsByCode[c], 0)
		}
		return n
	}
	overall := 0
	for code, n := range returnsByCode {
		if p, ok := ReturnPolicy(code); ok && p.Kind != KindReturn {
			continue
		}
		overall += max(n, 0)
	}
	return Rates{
		Unauthorized:   newRate("unauthorized", unauthorizedReturnCodes, count(unauthorizedReturnCodes), debits, UnauthorizedThresholdBP),
		Administrative: newRate("administrative", administrativeReturnCodes, count(administrativeReturnCodes), debits, AdministrativeThresholdBP),
		Overall:        newRate("overall", nil, overall, debits, OverallThresholdBP),
	}
}

func newRate(name string, codes []string, returns, debits, thresholdBP int) Rate {
	r := Rate{Name: name, Codes: append([]string(nil), codes...), Returns: returns, Debits: debits, ThresholdBP: thresholdBP}
	if debits > 0 {
		// returns/debits > bp/10000  <=>  returns*10000 > bp*debits, in
		// int64 so no count a lender can reach overflows.
		num := int64(returns) * 10000
		r.Exceeded = num > int64(thresholdBP)*int64(debits)
		r.Warning = 2*num > int64(thresholdBP)*int64(debits)
	}
	return r
}
