package statements

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The statement typeface is DejaVu Sans, cut by internal/fontgen into
// single-byte code pages: page 0 is Windows-1252 less the Latin-1 signs
// (¡ to ¿, × and ÷), the others hold the rest of Latin (with Vietnamese),
// Greek, Cyrillic and those signs. A document embeds only the pages its
// text uses, as simple TrueType fonts gofpdf takes ready-made, so no font is
// parsed or subset per document; the fonts carry no hinting.
//
//go:generate go run ./internal/fontgen -dst fonts
//go:embed fonts/*.json fonts/*.z fonts/*.map
var fontFiles embed.FS

type face int

const (
	regular face = iota
	bold
)

var faceNames = [...]string{regular: "regular", bold: "bold"}

// glyph is where a character lives: its code page and its byte there.
type glyph struct {
	page uint8
	code byte
}

type fontPage struct {
	def, z [2][]byte      // per face: gofpdf definition (JSON) and compressed font file
	widths [2][256]uint16 // per face, in 1/1000 em
}

type fontTable struct {
	pages  []fontPage
	glyphs map[rune]glyph
}

var (
	fontsOnce sync.Once
	fonts     *fontTable
	fontsErr  error
)

// loadFonts reads the embedded pages once per process; every document
// shares the result, which is read-only after this.
func loadFonts() (*fontTable, error) {
	fontsOnce.Do(func() { fonts, fontsErr = readFonts() })
	return fonts, fontsErr
}

func readFonts() (*fontTable, error) {
	t := &fontTable{glyphs: map[rune]glyph{}}
	for p := 0; ; p++ {
		m, err := fontFiles.ReadFile(fmt.Sprintf("fonts/page%d.map", p))
		if err != nil {
			if p == 0 {
				return nil, fmt.Errorf("read font map: %w", err)
			}
			break
		}
		if p > 255 {
			return nil, fmt.Errorf("read font maps: too many pages")
		}
		var page fontPage
		sc := bufio.NewScanner(bytes.NewReader(m))
		for sc.Scan() {
			var code int
			var r rune
			var name string
			if _, err := fmt.Sscanf(sc.Text(), "!%x U+%x %s", &code, &r, &name); err != nil {
				return nil, fmt.Errorf("read font map page %d: %q: %w", p, sc.Text(), err)
			}
			if name == ".notdef" || code > 255 {
				continue
			}
			if _, ok := t.glyphs[r]; !ok {
				t.glyphs[r] = glyph{page: uint8(p), code: byte(code)}
			}
		}
		for f, name := range faceNames {
			base := fmt.Sprintf("fonts/%s-page%d", name, p)
			if page.def[f], err = fontFiles.ReadFile(base + ".json"); err != nil {
				return nil, fmt.Errorf("read font definition: %w", err)
			}
			if page.z[f], err = fontFiles.ReadFile(base + ".z"); err != nil {
				return nil, fmt.Errorf("read font file: %w", err)
			}
			var def struct{ Cw []int }
			if err := json.Unmarshal(page.def[f], &def); err != nil || len(def.Cw) != 256 {
				return nil, fmt.Errorf("read font definition %s: bad widths (%v)", base, err)
			}
			for i, w := range def.Cw {
				page.widths[f][i] = uint16(w)
			}
		}
		t.pages = append(t.pages, page)
	}
	if _, ok := t.glyphs[unicode.ReplacementChar]; !ok {
		return nil, fmt.Errorf("read font maps: no replacement character")
	}
	return t, nil
}

// CanRender reports whether every character of s prints as itself on a
// document (after NFC normalization). Characters it cannot print are drawn
// as U+FFFD; jobs may flag such a name for a person to check.
func CanRender(s string) bool {
	t, err := loadFonts()
	if err != nil {
		return false
	}
	for _, r := range norm.NFC.String(s) {
		if _, ok := t.glyphs[r]; !ok && !isSpaceLike(r) {
			return false
		}
	}
	return true
}

func isSpaceLike(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }

// clean makes text printable: NFC (Vietnamese typed as base letter plus
// combining marks becomes the precomposed letters the font has), control
// characters and other spaces as one plain space, and characters the font
// lacks as U+FFFD.
func (t *fontTable) clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if isSpaceLike(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if _, ok := t.glyphs[r]; !ok {
			r = unicode.ReplacementChar
		}
		b.WriteRune(r)
	}
	return b.String()
}

// width is the width of clean text s in points at size.
func (t *fontTable) width(f face, size float64, s string) float64 {
	var w int
	for _, r := range s {
		g := t.lookup(r)
		w += int(t.pages[g.page].widths[f][g.code])
	}
	return float64(w) * size / 1000
}

func (t *fontTable) lookup(r rune) glyph {
	if r == ' ' {
		return glyph{0, ' '}
	}
	g, ok := t.glyphs[r]
	if !ok {
		g = t.glyphs[unicode.ReplacementChar]
	}
	return g
}

// run is a stretch of text on one code page, as the bytes to draw.
type run struct {
	page  uint8
	bytes string
}

// runs splits clean text into code-page runs. A space is on every page, so
// it stays in the current run.
func (t *fontTable) runs(s string) []run {
	var out []run
	var cur []byte
	page := uint8(0)
	for _, r := range s {
		g := t.lookup(r)
		if r != ' ' && g.page != page {
			if len(cur) > 0 {
				out = append(out, run{page, string(cur)})
				cur = cur[:0]
			}
			page = g.page
		}
		cur = append(cur, g.code)
	}
	if len(cur) > 0 {
		out = append(out, run{page, string(cur)})
	}
	return out
}

// wrap breaks clean text into lines no wider than width: at spaces, and
// inside a word only when the word alone is wider than the line. Nothing is
// dropped: the lines joined with spaces give back the text.
func (t *fontTable) wrap(f face, size, width float64, s string) []string {
	if s == "" {
		return []string{""}
	}
	var lines []string
	line := ""
	for _, word := range strings.Split(s, " ") {
		cand := word
		if line != "" {
			cand = line + " " + word
		}
		if t.width(f, size, cand) <= width {
			line = cand
			continue
		}
		if line != "" {
			lines = append(lines, line)
			line = ""
		}
		// Break a word too long for a line, character by character.
		for t.width(f, size, word) > width {
			n := 0
			for i, r := range word {
				if i > 0 && t.width(f, size, word[:i+utf8.RuneLen(r)]) > width {
					break
				}
				n = i + utf8.RuneLen(r)
			}
			lines = append(lines, word[:n])
			word = word[n:]
		}
		line = word
	}
	return append(lines, line)
}
