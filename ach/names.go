package ach

import (
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
	out := make([]byte, 0, min(len(s), width))
	var scratch [32]byte
	pendingSpace := false
	for _, r := range s {
		unit, sep := sanitizeUnit(scratch[:0], r)
		if sep {
			pendingSpace = len(out) > 0
			continue
		}
		if len(unit) == 0 {
			continue
		}
		need := len(unit)
		if pendingSpace {
			need++
		}
		if len(out)+need > width {
			break
		}
		if pendingSpace {
			out = append(out, ' ')
			pendingSpace = false
		}
		out = append(out, unit...)
	}
	return string(out)
}

// sanitizeUnit appends to dst how one rune is spelled in a NACHA name and
// reports whether the rune is instead a separator. A rune that leaves no
// trace appends nothing.
func sanitizeUnit(dst []byte, r rune) ([]byte, bool) {
	if r < utf8.RuneSelf {
		c, ok := sanitizeASCII(byte(r))
		if !ok {
			return dst, true
		}
		return append(dst, c), false
	}
	if u, ok := sanitizeSpecial[r]; ok {
		return append(dst, u...), false
	}
	var rb [utf8.UTFMax]byte
	// The table's full compatibility decomposition, nil when there is none;
	// reading it allocates nothing, unlike normalising a string.
	decomposed := norm.NFKD.Properties(utf8.AppendRune(rb[:0], r)).Decomposition()
	if unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsControl(r) {
		// Compatibility forms of ASCII punctuation (full-width, small forms)
		// keep their meaning; anything else separates words.
		if len(decomposed) == 1 {
			if c, ok := sanitizeASCII(decomposed[0]); ok {
				return append(dst, c), false
			}
		}
		return dst, true
	}
	// Decomposed (compatibility too, so ligatures and full-width letters
	// become plain letters), the ASCII part stays; combining marks and
	// letters of other scripts fall away.
	for len(decomposed) > 0 {
		d, size := utf8.DecodeRune(decomposed)
		decomposed = decomposed[size:]
		if d >= utf8.RuneSelf {
			if u, ok := sanitizeSpecial[d]; ok && u != "'" && u != "-" {
				dst = append(dst, u...)
			}
			continue
		}
		if c, ok := sanitizeASCII(byte(d)); ok {
			dst = append(dst, c)
		}
	}
	return dst, false
}

// sanitizeASCII maps one ASCII byte: letters up-cased, digits and the
// allowed punctuation kept (ok), everything else a separator (not ok).
func sanitizeASCII(c byte) (byte, bool) {
	switch {
	case c >= 'a' && c <= 'z':
		return c - 'a' + 'A', true
	case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return c, true
	case c == '-', c == '\'', c == '.', c == ',', c == '&', c == '/':
		return c, true
	case c == '`':
		return '\'', true
	default:
		return 0, false
	}
}
