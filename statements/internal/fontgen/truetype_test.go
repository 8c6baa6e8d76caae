package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/jung-kurt/gofpdf"
)

const dejavuDir = "/usr/share/fonts/truetype/dejavu"

// cutDejaVu returns gofpdf's subset of a DejaVu face holding text, as
// fontgen cuts it, or skips the test when DejaVu is not installed.
func cutDejaVu(t *testing.T, file, text string) []byte {
	t.Helper()
	full, err := os.ReadFile(filepath.Join(dejavuDir, file+".ttf"))
	if err != nil {
		t.Skipf("DejaVu is not installed (apt-get install fonts-dejavu-core): %v", err)
	}
	sub := gofpdf.UTF8CutFont(full, text)
	if len(sub) == 0 {
		t.Fatal("UTF8CutFont gave an empty font")
	}
	return sub
}

// parseTTF parses a font file with gofpdf, as MakeFont does.
func parseTTF(t *testing.T, ttf []byte) gofpdf.TtfType {
	t.Helper()
	path := filepath.Join(t.TempDir(), "font.ttf")
	if err := os.WriteFile(path, ttf, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := gofpdf.TtfParse(path)
	if err != nil {
		t.Fatalf("gofpdf.TtfParse: %v", err)
	}
	return rec
}

func TestSlimFont(t *testing.T) {
	ascii := ""
	for r := ' '; r < 0x7F; r++ {
		ascii += string(r)
	}
	tests := []struct {
		name string
		file string
		text string
	}{
		{"regular cp1252", "DejaVuSans", ascii + "àéñøßÆŒ•€—“”"},
		{"bold vietnamese", "DejaVuSans-Bold", "Trần Đức Thắng Nguyễn Thị Ánh ỆỮẪ"}, // mostly composite glyphs
		{"regular greek and cyrillic", "DejaVuSans", "Иван Петров Ωμέγα Ђђ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := cutDejaVu(t, tt.file, tt.text)
			slim, err := slimFont(sub)
			if err != nil {
				t.Fatal(err)
			}
			if len(slim) >= len(sub)/2 {
				t.Errorf("%d bytes from %d, want less than half", len(slim), len(sub))
			}
			before, after := parseTTF(t, sub), parseTTF(t, slim)
			if !reflect.DeepEqual(before, after) {
				t.Errorf("gofpdf reads the font differently:\nbefore %+v\nafter  %+v", before, after)
			}
			if after.PostScriptName != tt.file {
				t.Errorf("PostScript name %q, want %q", after.PostScriptName, tt.file)
			}
			checkFile(t, slim)
			checkGlyphs(t, sub, slim)
			again, err := slimFont(slim)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, slim) {
				t.Error("slimming a slim font changes it")
			}
		})
	}
}

// checkFile checks the table directory, padding and checksums of ttf, and
// that no hinting table or long name record is left.
func checkFile(t *testing.T, ttf []byte) {
	t.Helper()
	tables, err := readTables(ttf)
	if err != nil {
		t.Fatal(err)
	}
	n := int(be.Uint16(ttf[4:]))
	if sr, es, rs := be.Uint16(ttf[6:]), be.Uint16(ttf[8:]), be.Uint16(ttf[10:]); int(sr)>>4 != 1<<es || int(sr)>>4 > n || int(sr)>>3 <= n || int(rs) != 16*n-int(sr) {
		t.Errorf("%d tables: searchRange %d, entrySelector %d, rangeShift %d", n, sr, es, rs)
	}
	if len(ttf)%4 != 0 {
		t.Errorf("file is %d bytes, not 4-byte padded", len(ttf))
	}
	if sum := checksum(ttf); sum != 0xB1B0AFBA {
		t.Errorf("file checksum %#x, want 0xB1B0AFBA", sum)
	}
	for i := range n {
		rec := ttf[12+16*i:]
		tag, sum, off, length := string(rec[:4]), be.Uint32(rec[4:]), int(be.Uint32(rec[8:])), int(be.Uint32(rec[12:]))
		if off%4 != 0 {
			t.Errorf("table %q at %d, not 4-byte aligned", tag, off)
		}
		if i > 0 && string(ttf[12+16*(i-1):][:4]) >= tag {
			t.Errorf("table %q out of tag order", tag)
		}
		b := append([]byte(nil), ttf[off:off+(length+3)&^3]...)
		if tag == "head" {
			be.PutUint32(b[8:], 0)
		}
		if got := checksum(b); got != sum {
			t.Errorf("table %q: checksum %#x, directory says %#x", tag, got, sum)
		}
	}
	var tags []string
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	if want := []string{"OS/2", "cmap", "gasp", "glyf", "head", "hhea", "hmtx", "loca", "maxp", "name", "post"}; !reflect.DeepEqual(tags, want) {
		t.Errorf("tables %q, want %q (no cvt, fpgm, prep)", tags, want)
	}
	if m := tables["maxp"]; be.Uint16(m[26:]) != 0 || be.Uint16(m[20:]) != 0 {
		t.Errorf("maxp: maxSizeOfInstructions %d, maxFunctionDefs %d, want 0", be.Uint16(m[26:]), be.Uint16(m[20:]))
	}
	name := tables["name"]
	for i := range int(be.Uint16(name[2:])) {
		if id := be.Uint16(name[6+12*i+6:]); id > keptNameIDs {
			t.Errorf("name record %d has name ID %d", i, id)
		}
	}
	cmap := tables["cmap"]
	if sub := int(be.Uint32(cmap[8:])); sub+int(be.Uint16(cmap[sub+2:])) != len(cmap) {
		t.Errorf("cmap subtable at %d says %d bytes, table is %d", sub, be.Uint16(cmap[sub+2:]), len(cmap))
	}
}

// checkGlyphs checks that every glyph of slim is the glyph of sub with its
// instructions, and only them, removed.
func checkGlyphs(t *testing.T, sub, slim []byte) {
	t.Helper()
	was, is := glyphs(t, sub), glyphs(t, slim)
	if len(was) != len(is) {
		t.Fatalf("%d glyphs, want %d", len(is), len(was))
	}
	for i, g := range is {
		w := was[i]
		switch {
		case len(w) == 0:
			if len(g) != 0 {
				t.Errorf("glyph %d: empty glyph became %d bytes", i, len(g))
			}
		case int16(be.Uint16(w)) >= 0:
			p := 10 + 2*int(be.Uint16(w))
			if n := be.Uint16(g[p:]); n != 0 {
				t.Errorf("glyph %d: %d instruction bytes left", i, n)
			}
			if !bytes.Equal(g[:p], w[:p]) || !samePadded(g[p+2:], w[p+2+int(be.Uint16(w[p:])):]) {
				t.Errorf("glyph %d: outline changed", i)
			}
		default:
			q := 10
			for {
				f := be.Uint16(g[q:])
				if f&haveInstructions != 0 {
					t.Errorf("glyph %d: component still says it has instructions", i)
				}
				be.PutUint16(w[q:], be.Uint16(w[q:])&^haveInstructions)
				q += componentSize(f)
				if f&moreComponents == 0 {
					break
				}
			}
			if !samePadded(g, w[:q]) {
				t.Errorf("glyph %d: components changed or instructions left", i)
			}
		}
	}
}

// samePadded reports whether a and b are the same bytes but for up to 3
// bytes of zero padding at the end of one of them.
func samePadded(a, b []byte) bool {
	if len(a) < len(b) {
		a, b = b, a
	}
	pad := a[len(b):]
	return bytes.Equal(a[:len(b)], b) && len(pad) <= 3 && bytes.Count(pad, []byte{0}) == len(pad)
}

// glyphs returns a font's glyphs by index, as copies.
func glyphs(t *testing.T, ttf []byte) [][]byte {
	t.Helper()
	tables, err := readTables(ttf)
	if err != nil {
		t.Fatal(err)
	}
	long := be.Uint16(tables["head"][50:]) == 1
	loca, glyf := tables["loca"], tables["glyf"]
	at := func(i int) int {
		if long {
			return int(be.Uint32(loca[4*i:]))
		}
		return 2 * int(be.Uint16(loca[2*i:]))
	}
	out := make([][]byte, be.Uint16(tables["maxp"][4:]))
	for i := range out {
		out[i] = append([]byte(nil), glyf[at(i):at(i+1)]...)
	}
	return out
}

// TestSlimFontDamaged feeds slimFont a subset cut short and with bytes
// overwritten: it must return an error or a font, never panic.
func TestSlimFontDamaged(t *testing.T) {
	sub := cutDejaVu(t, "DejaVuSans", "Aé•Ắ")
	for n := 0; n < len(sub); n += 7 {
		slimFont(sub[:n])
	}
	for i := 0; i < len(sub); i += 3 {
		b := append([]byte(nil), sub...)
		b[i] ^= 0xFF
		slimFont(b)
	}
}
