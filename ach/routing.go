package ach

import "fmt"

// ValidRouting checks a nine-digit ABA routing transit number: digits only,
// and the check digit satisfies 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) = 0 mod 10.
func ValidRouting(rtn string) error {
	if len(rtn) != 9 {
		return fmt.Errorf("routing number %q: want 9 digits, got %d characters", rtn, len(rtn))
	}
	sum := 0
	weights := [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1}
	for i := 0; i < 9; i++ {
		c := rtn[i]
		if c < '0' || c > '9' {
			return fmt.Errorf("routing number %q: want digits only", rtn)
		}
		sum += weights[i] * int(c-'0')
	}
	if sum%10 != 0 {
		return fmt.Errorf("routing number %q: check digit is wrong (a typo?)", rtn)
	}
	if rtn == "000000000" {
		return fmt.Errorf("routing number %q: not a real routing number", rtn)
	}
	return nil
}

// RoutingCheckDigit returns the check digit that completes the first eight
// digits of a routing number.
func RoutingCheckDigit(first8 string) (byte, error) {
	if len(first8) != 8 {
		return 0, fmt.Errorf("routing prefix %q: want 8 digits", first8)
	}
	weights := [8]int{3, 7, 1, 3, 7, 1, 3, 7}
	sum := 0
	for i := 0; i < 8; i++ {
		c := first8[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("routing prefix %q: want digits only", first8)
		}
		sum += weights[i] * int(c-'0')
	}
	return byte('0' + (10-sum%10)%10), nil
}
