// Package money holds Cents, the one representation of an amount of US
// dollars in drafter. Amounts are whole cents in an int64; there are no
// floats anywhere money is counted.
package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Cents is an amount of US dollars in cents. Negative amounts are credits.
type Cents int64

// String formats c for people: $1,234.56, -$0.05.
func (c Cents) String() string {
	neg := c < 0
	// Work in uint64 so that the most negative int64 formats without overflow.
	u := uint64(c)
	if neg {
		u = uint64(-(c + 1)) + 1
	}
	dollars := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteByte('$')
	for i, r := range dollars {
		if i > 0 && (len(dollars)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	fmt.Fprintf(&b, ".%02d", u%100)
	return b.String()
}

// Plain formats c without a sign for dollars or thousands separators, as
// 1234.56, for machine-readable output.
func (c Cents) Plain() string {
	neg := c < 0
	u := uint64(c)
	if neg {
		u = uint64(-(c + 1)) + 1
	}
	s := fmt.Sprintf("%d.%02d", u/100, u%100)
	if neg {
		return "-" + s
	}
	return s
}

// Parse reads a decimal dollar amount such as "1234.56", "-0.5" or "12".
// More than two decimal places is an error, never a rounding.
func Parse(s string) (Cents, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg = true
		s = s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && (frac == "" || len(frac) > 2)) {
		return 0, fmt.Errorf("amount %q: want dollars with at most two decimals, like 1234.56", orig)
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("amount %q: want dollars with at most two decimals, like 1234.56", orig)
		}
	}
	if len(whole) > 16 {
		return 0, fmt.Errorf("amount %q: too large", orig)
	}
	d, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	c := Cents(d*100 + f)
	if neg {
		c = -c
	}
	return c, nil
}
