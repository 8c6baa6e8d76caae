package statements

import (
	"bytes"
	"errors"
	"flag"
	"hash/fnv"
	"math"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzRender renders statements and notices with arbitrary text in the
// names, addresses and descriptions: it must never panic, and what it
// renders must be a valid PDF (checked with qpdf when it is installed).
//
// Every input goes through the text path each string takes (clean, code
// page runs, width, wrap) with that path's promises checked. Under -fuzz,
// a whole document is rendered for one input in eight, statement or
// notice in turn, and qpdf is left to the seed corpus: a PDF costs tens
// of milliseconds once -fuzz instruments gofpdf, and a fork of qpdf more,
// which held the fuzzer to about 18 inputs a second on two cores; the text
// path is where arbitrary text goes wrong. Without -fuzz (go test, make
// test) every seed renders both documents and qpdf checks them.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"Nguyễn Thị Ánh", "Trần Đức Thắng", "Søren Weiß", "e\u0301\u0302", "\x00\xff\n\t(", "日本語 العربية", "Λ\u200bΩ \U0001F600", ")\\(", ""} {
		f.Add(s, s, s)
	}
	_, qpdfErr := exec.LookPath("qpdf")
	fuzzing := false
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" {
		fuzzing = true
	}
	fonts, err := loadFonts()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name, addr, desc string) {
		for _, s := range []string{name, addr, desc} {
			checkTextPath(t, fonts, s)
		}
		h := fnv.New32a()
		h.Write([]byte(name + "\x00" + addr + "\x00" + desc))
		sum := h.Sum32()
		if fuzzing && sum%8 != 0 {
			return
		}
		s := sampleLoan(t)
		s.Customer.Name = name
		s.Customer.Address.Line1 = addr
		s.Lines[0].Description = desc
		s.Messages = append(s.Messages, desc)
		n := sampleNotice(t)
		n.Customer.Name = name
		n.Vehicle = desc
		renders := []func() ([]byte, error){
			func() ([]byte, error) { return RenderStatement(s, testLender()) },
			func() ([]byte, error) { return RenderLeaseEnd(n, testLender()) },
		}
		if fuzzing {
			renders = renders[sum/8%2 : sum/8%2+1]
		}
		for _, render := range renders {
			pdf, err := render()
			if errors.Is(err, ErrTooLong) {
				continue
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
				t.Fatal("not a PDF")
			}
			if qpdfErr == nil && !fuzzing {
				checkPDF(t, "fuzz", pdf)
			}
		}
	})
}

// checkTextPath checks what clean, runs, width and wrap promise for s.
func checkTextPath(t *testing.T, fonts *fontTable, s string) {
	t.Helper()
	c := fonts.clean(s)
	if !utf8.ValidString(c) || strings.Contains(c, "  ") || strings.HasPrefix(c, " ") {
		t.Fatalf("clean(%q) = %q: invalid UTF-8, a double space or a leading space", s, c)
	}
	for _, r := range c {
		if r != ' ' && isSpaceLike(r) {
			t.Fatalf("clean(%q) kept %U", s, r)
		}
	}
	var drawn int
	for _, r := range fonts.runs(c) {
		drawn += len(r.bytes)
	}
	if drawn != utf8.RuneCountInString(c) {
		t.Fatalf("runs(%q) draw %d bytes for %d characters", c, drawn, utf8.RuneCountInString(c))
	}
	const size, width = 9, 120
	if w := fonts.width(regular, size, c); math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
		t.Fatalf("width(%q) = %v", c, w)
	}
	lines := fonts.wrap(regular, size, width, c)
	for _, l := range lines {
		if w := fonts.width(regular, size, l); w > width {
			t.Fatalf("wrap(%q): line %q is %.1f points wide, over %d", c, l, w, width)
		}
	}
	if got, want := strings.ReplaceAll(strings.Join(lines, ""), " ", ""), strings.ReplaceAll(c, " ", ""); got != want {
		t.Fatalf("wrap(%q) dropped or changed text: %q", c, lines)
	}
}
