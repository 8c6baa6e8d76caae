// Package fontset names the characters the statement fonts carry and how
// they are packed into single-byte code pages. The generator that cuts the
// fonts reads it; the renderer reads the map files the generator writes.
package fontset

import "golang.org/x/text/encoding/charmap"

// Range is an inclusive range of code points.
type Range struct{ Lo, Hi rune }

// Latin1Signs are the signs and symbols of Latin-1 (no-break space, ¡ to ¿,
// × and ÷). Names, addresses and the templates seldom use them, so they
// are packed late instead of on page 0, which every document embeds.
var Latin1Signs = []Range{{0x00A0, 0x00BF}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7}}

// Groups are the characters kept, in packing order: the pages after page 0
// are filled group by group, so the characters Vietnamese names need come
// first and usually land on one extra page.
var Groups = [][]Range{
	// Vietnamese letters outside cp1252.
	{{0x0102, 0x0103}, {0x0110, 0x0111}, {0x0128, 0x0129}, {0x0168, 0x0169}, {0x01A0, 0x01A1}, {0x01AF, 0x01B0}, {0x1EA0, 0x1EF9}},
	{{0x0100, 0x017F}}, // Latin Extended-A
	{{0x0180, 0x024F}}, // Latin Extended-B
	{{0x1E00, 0x1EFF}}, // Latin Extended Additional
	{{0x02B0, 0x02FF}}, // Spacing Modifier Letters (ʻokina)
	{{0x0300, 0x036F}}, // Combining Diacritical Marks
	{{0x2010, 0x2027}, {0x2030, 0x203A}, {0x20AC, 0x20AC}, {0x2116, 0x2116}, {0x2122, 0x2122}}, // punctuation, symbols
	{{0x0370, 0x03FF}}, // Greek and Coptic
	{{0x0400, 0x04FF}}, // Cyrillic
	Latin1Signs,
	{{0xFFFD, 0xFFFD}}, // replacement character, drawn for anything else
}

// FirstCode is the first byte a page other than page 0 assigns; 0x20 is the
// space on every page, so a run of text never breaks at a space.
const FirstCode = 0x21

// Pages packs the characters of Groups that has reports present into code
// pages of 256 bytes. Page 0 is Windows-1252 without Latin1Signs, so that
// most documents use one page and it is small; the others hold the
// remaining characters from FirstCode up, in the order of Groups. A zero
// entry is an unused code.
func Pages(has func(rune) bool) [][256]rune {
	var p0 [256]rune
	seen := map[rune]bool{}
	for b := 0x20; b < 0x100; b++ {
		r := charmap.Windows1252.DecodeByte(byte(b))
		if r == 0x7F || r == 0xFFFD || (r >= 0x80 && r < 0xA0) || in(Latin1Signs, r) || !has(r) {
			continue
		}
		p0[b] = r
		seen[r] = true
	}
	pages := [][256]rune{p0}
	var cur [256]rune
	code := FirstCode
	for _, g := range Groups {
		for _, rg := range g {
			for r := rg.Lo; r <= rg.Hi; r++ {
				if seen[r] || !has(r) {
					continue
				}
				seen[r] = true
				if code == FirstCode {
					cur = [256]rune{0x20: ' '}
				}
				cur[code] = r
				code++
				if code == 0x100 {
					pages = append(pages, cur)
					code = FirstCode
				}
			}
		}
	}
	if code != FirstCode {
		pages = append(pages, cur)
	}
	return pages
}

func in(rs []Range, r rune) bool {
	for _, rg := range rs {
		if rg.Lo <= r && r <= rg.Hi {
			return true
		}
	}
	return false
}
