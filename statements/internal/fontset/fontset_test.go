package fontset

import (
	"testing"
	"unicode"
)

func TestPages(t *testing.T) {
	pages := Pages(func(r rune) bool { return true })
	where := map[rune]int{}
	for p, page := range pages {
		if page[0x20] != ' ' {
			t.Errorf("page %d: 0x20 is %U, want the space", p, page[0x20])
		}
		for code, r := range page {
			if r == 0 || r == ' ' {
				continue
			}
			if q, ok := where[r]; ok {
				t.Errorf("%U on pages %d and %d", r, q, p)
			}
			where[r] = p
			if p > 0 && code < FirstCode {
				t.Errorf("page %d: %U at %#x, below FirstCode", p, r, code)
			}
		}
	}
	// Page 0 holds what the templates print (ASCII and the bullet) and
	// the letters of Western European names; Latin-1's signs come later.
	for _, r := range "AZaz09$,.-*|:()/%•€’–éÉñÑøØßüÜçÇŒœŠšŽžŸÿ" {
		if p, ok := where[r]; !ok || p != 0 {
			t.Errorf("%q on page %d (present %v), want page 0", r, p, ok)
		}
	}
	for _, rg := range Latin1Signs {
		for r := rg.Lo; r <= rg.Hi; r++ {
			if p, ok := where[r]; !ok || p == 0 {
				t.Errorf("%U on page %d (present %v), want a later page", r, p, ok)
			}
		}
	}
	for _, r := range "Trần Đức Thắng Nguyễn Thị Ánh" {
		if p := where[r]; p > 1 {
			t.Errorf("%q on page %d: a Vietnamese name should need pages 0 and 1 only", r, p)
		}
	}
	if _, ok := where[unicode.ReplacementChar]; !ok {
		t.Error("no replacement character")
	}
}
