package ach

import (
	"unicode"
	"unicode/utf8"

	unidecode "github.com/mozillazg/go-unidecode/table"
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
	// Cyrillic signs: the soft sign has no letter of its own and the hard
	// sign is spelled IE, as in ICAO Doc 9303 (passports); Ukrainian Ґ is G.
	// The Unidecode tables would write an apostrophe for each.
	'Ь': "", 'ь': "", 'Ъ': "IE", 'ъ': "IE", 'Ґ': "G", 'ґ': "G",
	'\u2018': "'", '\u2019': "'", '\u201B': "'", '\u02BC': "'", '\u2032': "'", '´': "'",
	'\u2010': "-", '\u2011': "-", '\u2012': "-", '\u2013': "-", '\u2014': "-", '\u2015': "-", '\u2212': "-",
}

// FallbackName is the Individual Name of an entry whose holder name leaves
// no letter once spelled in NACHA characters (an emoji, a script the
// transliteration tables do not cover). Many RDFIs refuse an empty name, and
// a name is never a reason to hold a debit the customer authorised.
const FallbackName = "ACCOUNT HOLDER"

// EntryName returns the Individual Name of an entry for a holder name in any
// script: Sanitize to the 22 characters of the field, or FallbackName (with
// fallback true) when that leaves no letter A to Z. It never fails, so a
// name never stops a file; BuildFile and CheckEntry both use it.
func EntryName(holder string) (name string, fallback bool) {
	name = Sanitize(holder, 22)
	for i := 0; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' {
			return name, false
		}
	}
	return FallbackName, true
}

// Sanitize reduces a name in any script to what a NACHA alphanumeric field
// holds: upper-case ASCII letters, digits, spaces and the punctuation
// - ' . , & /. Accented Latin letters lose their marks (é to E, Nguyễn to
// NGUYEN), Latin letters without a decomposition are spelled out (ß to SS,
// æ to AE, ø to O, Đ to D, ł to L), and letters of other scripts are
// transliterated letter by letter by the Unidecode tables
// (github.com/mozillazg/go-unidecode): Greek (Γιώργος to GIORGOS), Cyrillic
// (Иван to IVAN; the soft sign is dropped), CJK ideographs in their Mandarin
// reading, one word each (王小明 to WANG XIAO MING), kana, Hangul and
// others. Punctuation, symbols (emoji) and white space become one space;
// invisible format characters and what has no spelling are dropped. The result is cut to at most width bytes,
// never inside the spelling of one character, with no leading or trailing
// space. A width below 1 gives "".
func Sanitize(s string, width int) string {
	if width <= 0 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return sanitizeRunes(s, width)
		}
	}
	return sanitizeASCIIOnly(s, width)
}

// sanitizeASCIIOnly is Sanitize of a string of ASCII bytes alone (most
// names): byte by byte, as sanitizeRunes spells them, and s itself when it
// is already what a field holds.
func sanitizeASCIIOnly(s string, width int) string {
	out := make([]byte, 0, min(len(s), width))
	pendingSpace := false
	for i := 0; i < len(s); i++ {
		c, ok := sanitizeASCII(s[i])
		if !ok {
			pendingSpace = len(out) > 0
			continue
		}
		need := 1
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
		out = append(out, c)
	}
	if string(out) == s {
		return s
	}
	return string(out)
}

// sanitizeRunes is Sanitize of any string, rune by rune.
func sanitizeRunes(s string, width int) string {
	out := make([]byte, 0, min(len(s), width))
	var scratch [32]byte
	pendingSpace := false
	for _, r := range s {
		// A spelling is letters and allowed punctuation, with single spaces
		// where it separates words: "WANG " for 王, " " for a comma-free
		// separator.
		unit := spell(scratch[:0], r)
		if len(unit) == 0 {
			continue
		}
		lead, trail := unit[0] == ' ', unit[len(unit)-1] == ' '
		if lead {
			pendingSpace = len(out) > 0
			unit = unit[1:]
		}
		if trail && len(unit) > 0 {
			unit = unit[:len(unit)-1]
		}
		if len(unit) > 0 {
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
		if trail {
			pendingSpace = len(out) > 0
		}
	}
	return string(out)
}

// spell appends to dst how one rune is spelled in a NACHA name: allowed
// characters, and a single space for each run of separators. A rune that
// leaves no trace appends nothing.
func spell(dst []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		return spellASCII(dst, byte(r))
	}
	if u, ok := sanitizeSpecial[r]; ok {
		return spellString(dst, u)
	}
	if unicode.Is(unicode.Cf, r) {
		// Invisible format characters (soft hyphen, joiners, direction
		// marks, byte order mark) are not part of the name as shown.
		return dst
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
				return append(dst, c)
			}
		}
		return spellSeparator(dst)
	}
	if decomposed == nil {
		return spellLetter(dst, r)
	}
	// Decomposed (compatibility too, so ligatures and full-width letters
	// become plain letters, and Й becomes И and a mark), the base letters
	// stay and combining marks fall away.
	for len(decomposed) > 0 {
		d, size := utf8.DecodeRune(decomposed)
		decomposed = decomposed[size:]
		if d < utf8.RuneSelf {
			dst = spellASCII(dst, byte(d))
			continue
		}
		if u, ok := sanitizeSpecial[d]; ok {
			if u != "'" && u != "-" {
				dst = spellString(dst, u)
			}
			continue
		}
		if unicode.Is(unicode.Mn, d) {
			continue
		}
		dst = spellLetter(dst, d)
	}
	return dst
}

// spellLetter appends the transliteration of a letter of a non-Latin script
// (or a number, such as a Roman numeral), from the Unidecode tables.
func spellLetter(dst []byte, r rune) []byte {
	if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return dst
	}
	block, ok := unidecode.Tables[r>>8]
	if !ok || int(r&0xff) >= len(block) {
		return dst
	}
	return spellString(dst, block[r&0xff])
}

// spellString appends an ASCII spelling, up-cased, other characters as
// separators.
func spellString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			continue
		}
		dst = spellASCII(dst, s[i])
	}
	return dst
}

func spellASCII(dst []byte, c byte) []byte {
	if u, ok := sanitizeASCII(c); ok {
		return append(dst, u)
	}
	return spellSeparator(dst)
}

// spellSeparator appends a space unless dst already ends in one.
func spellSeparator(dst []byte) []byte {
	if len(dst) > 0 && dst[len(dst)-1] == ' ' {
		return dst
	}
	return append(dst, ' ')
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
