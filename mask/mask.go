// Package mask hides account numbers for people: ****6789. One rule for
// every place drafter shows a number (logs, errors, emails, PDFs, the
// exceptions list): at most the last four characters, at most half of them
// (a number of 4 or 5 shows its last 2), never a control byte.
package mask

import "strings"

// Tail returns the part of number that may be shown: its letters and
// digits (blanks, punctuation and control bytes dropped), at most the last
// four and at most half of them.
func Tail(number string) string {
	clean := printable(number)
	return clean[len(clean)-Shown(len(clean)):]
}

// Shown is how many trailing characters of an n-character number may be
// shown: half, at most four.
func Shown(n int) int { return min(4, n/2) }

// Number masks a full account number: ****6789 (****89 for 12389, **** for
// a number of one character).
func Number(number string) string {
	if printable(number) == "" {
		return ""
	}
	return "****" + Tail(number)
}

// Stored masks the tail drafter stored for a number (its Tail): ****6789.
// A tail stored before the rule (4 characters of a short number) shows as
// stored; control bytes never show.
func Stored(tail string) string {
	t := printable(tail)
	if len(t) > 4 {
		t = t[len(t)-4:]
	}
	return "****" + t
}

// InPlace masks a fixed-width field keeping its length (columns must not
// move): of the field without its trailing blanks, the last Shown
// characters stay (control bytes among them become '*'), every other
// character but a blank becomes '*'.
func InPlace(field string) string {
	b := []byte(field)
	n := len(strings.TrimRight(field, " "))
	keep := n - Shown(n)
	for i := range n {
		switch {
		case i >= keep && b[i] >= 0x20 && b[i] < 0x7f:
		case b[i] == ' ' && i < keep:
		default:
			b[i] = '*'
		}
	}
	return string(b)
}

func printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
