// Command fontgen builds the statement fonts in statements/fonts from DejaVu
// Sans and DejaVu Sans Bold: the characters of fontset are packed into
// single-byte code pages, and for each page and face it cuts a TrueType
// subset holding just that page's glyphs, without hinting and with a short
// name table (truetype.go), and writes gofpdf's font definition (JSON,
// widths and encoding), the compressed font file (.z) and the page's map
// file. A document then loads only the pages it uses, as ready-made
// simple TrueType fonts: gofpdf neither parses nor subsets a font per
// document, which costs about 20 ms with its UTF-8 font path.
//
// Run from the repository root when fontset changes:
//
//	go run ./statements/internal/fontgen
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jung-kurt/gofpdf"

	"github.com/drafterhq/drafter/statements/internal/fontset"
)

func main() {
	src := flag.String("src", "/usr/share/fonts/truetype/dejavu", "folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf")
	dst := flag.String("dst", "statements/fonts", "folder to write the fonts into")
	flag.Parse()
	if err := run(*src, *dst); err != nil {
		fmt.Fprintln(os.Stderr, "fontgen:", err)
		os.Exit(1)
	}
}

type face struct {
	file  string // source file name without .ttf
	short string // file prefix in dst
	tag   byte   // letter in the subset tag
}

var faces = []face{
	{"DejaVuSans", "regular", 'R'},
	{"DejaVuSans-Bold", "bold", 'B'},
}

func run(src, dst string) error {
	tmp, err := os.MkdirTemp("", "fontgen")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)

	// A character is kept only when both faces draw it, so that the pages
	// are the same for regular and bold.
	var charsets []map[uint16]uint16
	for _, f := range faces {
		ttf, err := gofpdf.TtfParse(filepath.Join(src, f.file+".ttf"))
		if err != nil {
			return fmt.Errorf("parse %s: %w", f.file, err)
		}
		charsets = append(charsets, ttf.Chars)
	}
	has := func(r rune) bool {
		if r > 0xFFFF {
			return false
		}
		for _, cs := range charsets {
			if g, ok := cs[uint16(r)]; !ok || g == 0 {
				return false
			}
		}
		return true
	}
	pages := fontset.Pages(has)

	// MakeFont diffs every encoding against cp1252.map beside it. Page 0
	// keeps cp1252's codes for the characters it has, so it needs no
	// differences and is plain WinAnsiEncoding in a PDF.
	if err := writeMap(filepath.Join(tmp, "cp1252.map"), pages[0]); err != nil {
		return err
	}
	for i, page := range pages {
		mapName := fmt.Sprintf("page%d.map", i)
		if err := writeMap(filepath.Join(dst, mapName), page); err != nil {
			return err
		}
		if err := writeMap(filepath.Join(tmp, mapName), page); err != nil {
			return err
		}
		var cut strings.Builder
		for _, r := range page {
			if r != 0 {
				cut.WriteRune(r)
			}
		}
		for _, f := range faces {
			full, err := os.ReadFile(filepath.Join(src, f.file+".ttf"))
			if err != nil {
				return fmt.Errorf("read font: %w", err)
			}
			base := fmt.Sprintf("%s-page%d", f.short, i)
			sub := gofpdf.UTF8CutFont(full, cut.String())
			if len(sub) == 0 {
				return fmt.Errorf("cut %s page %d: empty", f.file, i)
			}
			if sub, err = slimFont(sub); err != nil {
				return fmt.Errorf("slim %s page %d: %w", f.file, i, err)
			}
			ttfPath := filepath.Join(tmp, base+".ttf")
			if err := os.WriteFile(ttfPath, sub, 0o644); err != nil {
				return fmt.Errorf("write subset: %w", err)
			}
			if err := gofpdf.MakeFont(ttfPath, filepath.Join(tmp, mapName), tmp, os.Stderr, true); err != nil {
				return fmt.Errorf("make font %s: %w", base, err)
			}
			if err := rename(filepath.Join(tmp, base+".json"), filepath.Join(dst, base+".json"),
				fmt.Sprintf("DRFT%c%c+%s", f.tag, 'A'+i, f.file)); err != nil {
				return err
			}
			z, err := os.ReadFile(filepath.Join(tmp, base+".z"))
			if err != nil {
				return fmt.Errorf("read compressed font: %w", err)
			}
			if err := os.WriteFile(filepath.Join(dst, base+".z"), z, 0o644); err != nil {
				return fmt.Errorf("write compressed font: %w", err)
			}
			fmt.Printf("%s: %d bytes, %d compressed\n", base, len(sub), len(z))
		}
	}
	return nil
}

// writeMap writes a page in gofpdf's map format: "!21 U+1EA0 uni1EA0".
func writeMap(path string, page [256]rune) error {
	var b strings.Builder
	for code, r := range page {
		if r == 0 {
			fmt.Fprintf(&b, "!%02X U+%04X .notdef\n", code, code)
			continue
		}
		fmt.Fprintf(&b, "!%02X U+%04X %s\n", code, r, glyphName(r))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write map: %w", err)
	}
	return nil
}

// glyphName is the Adobe Glyph List name a viewer turns back into the
// character: uniXXXX for everything but the space.
func glyphName(r rune) string {
	if r == ' ' {
		return "space"
	}
	return fmt.Sprintf("uni%04X", r)
}

// rename rewrites the font name in a definition file to a fixed subset tag,
// so every page is a distinct font in the PDF and no tag is random.
func rename(src, dst, name string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("read definition: %w", err)
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		return fmt.Errorf("decode definition: %w", err)
	}
	def["Name"] = name
	out, err := json.Marshal(def)
	if err != nil {
		return fmt.Errorf("encode definition: %w", err)
	}
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return fmt.Errorf("write definition: %w", err)
	}
	return nil
}
