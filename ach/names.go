package ach

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// sanitizeSpecial holds the letters that Unicode decomposition leaves whole
// (they are letters of their own, not a base letter with a mark) and the
// punctuation that has a plain ASCII twin.
var sanitizeSpecial = map[rune]string{
	'ß': "SS", 'ẞ': "SS",
	'æ': "AE", 'Æ': "AE",
	'œ': "OE", 'Œ': "OE",
	'ø': "O", 'Ø': "O",
	'đ': "D", 'Đ': "D",
	'ð': "D", 'Ð': "D",
	'ł': "L", 'Ł': "L",
	'ŀ': "L", 'Ŀ': "L",
	'þ': "TH", 'Þ': "TH",
	'ħ': "H", 'Ħ': "H",
	'ı': "I",
	'ĳ': "IJ", 'Ĳ': "IJ",
	'ŧ': "T", 'Ŧ': "T",
	'ŋ': "N", 'Ŋ': "N",
	'ĸ': "K", 'ſ': "S", 'ƒ': "F",
	'\u2018': "'", '\u2019': "'", '\u201B': "'", '\u02BC': "'", '\u2032': "'", '´': "'",
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
}

// Sanitize reduces a name in any script to what a NACHA alphanumeric field
// holds: upper-case ASCII letters, digits, spaces and the punctuation
// - ' . , & /. Accented Latin letters lose their marks (é to E, Nguyễn to
// NGUYEN), letters without a decomposition are spelled out (ß to SS, æ to
// AE, ø to O, Đ to D, ł to L), other punctuation and white space become one
// space, and letters with no Latin spelling (Cyrillic, CJK) are dropped.
// The result is cut to at most width bytes, never inside the spelling of one
// character, with no leading or trailing space. A width below 1 gives "".
func Sanitize(s string, width int) string {
	if width <= 0 {
		return ""
	}
	var b strings.Builder
	b.Grow(min(len(s), width))
	pendingSpace := false
	for _, r := range s {
		unit := sanitizeUnit(r)
		if unit == " " {
			pendingSpace = b.Len() > 0
			continue
		}
		if unit == "" {
			continue
		}
		need := len(unit)
		if pendingSpace {
			need++
		}
		if b.Len()+need > width {
			break
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteString(unit)
	}
	return b.String()
}

// sanitizeUnit spells one rune for a NACHA name: the ASCII it becomes, " "
// for a separator, or "" for a rune that leaves no trace.
func sanitizeUnit(r rune) string {
	if r < utf8.RuneSelf {
		return sanitizeASCII(byte(r))
	}
	if u, ok := sanitizeSpecial[r]; ok {
		return u
	}
	if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) {
		// Compatibility forms of ASCII punctuation (full-width, small forms)
		// keep their meaning; anything else separates words.
		if d := norm.NFKD.String(string(r)); len(d) == 1 && d[0] < utf8.RuneSelf {
			return sanitizeASCII(d[0])
		}
		return " "
	}
	// Decompose (compatibility too, so ligatures and full-width letters
	// become plain letters) and keep the ASCII part; combining marks and
	// letters of other scripts fall away.
	var b strings.Builder
	for _, d := range norm.NFKD.String(string(r)) {
		if d >= utf8.RuneSelf {
			if u, ok := sanitizeSpecial[d]; ok && u != "'" && u != "-" {
				b.WriteString(u)
			}
			continue
		}
		if u := sanitizeASCII(byte(d)); u != " " {
			b.WriteString(u)
		}
	}
	return b.String()
}

// sanitizeASCII maps one ASCII byte: letters up-cased, digits and the
// allowed punctuation kept, everything else a separator.
func sanitizeASCII(c byte) string {
	switch {
	case c >= 'a' && c <= 'z':
		return string(rune(c - 'a' + 'A'))
	case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return string(rune(c))
	case c == '-', c == '\'', c == '.', c == ',', c == '&', c == '/':
		return string(rune(c))
	case c == '`':
		return "'"
	default:
		return " "
	}
}
