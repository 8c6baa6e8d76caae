package statements

import (
	"bytes"
	"fmt"
	"time"

	"github.com/jung-kurt/gofpdf"

	"github.com/drafterhq/drafter/civil"
)

// US Letter in points, and the margins every page keeps.
const (
	pageW   = 612.0
	pageH   = 792.0
	marginL = 54.0
	marginR = 54.0
	marginT = 48.0
	bodyW   = pageW - marginL - marginR
	footerY = 760.0 // top of the footer; body text stays above it
)

// doc wraps one gofpdf document: text goes through the code-page fonts,
// which are added to the document the first time a page of them is used.
type doc struct {
	pdf   *gofpdf.Fpdf
	fonts *fontTable
	added map[int]bool // face*256 + code page
	page  int
	// dry measures instead of drawing: text, lines and boxes are skipped
	// while the layout advances as it would.
	dry bool
	// trace, when set, is told every piece of text drawn (tests check
	// that no two overlap).
	trace func(placed)
}

// placed is a piece of text as drawn: its page, its left edge, baseline
// and width in points, from the fonts' own metrics.
type placed struct {
	page        int
	x, y, width float64
	size        float64
	text        string
}

// textTrace is a test hook: newDoc gives it to every document it makes.
var textTrace func(placed)

func newDoc(fonts *fontTable, date civil.Date, title string) *doc {
	p := gofpdf.New("P", "pt", "Letter", "")
	// Same input, same bytes: fixed dates, sorted catalog, no random ids
	// (gofpdf writes an empty /ID and the font names have fixed tags).
	tm := time.Date(date.Year, date.Month, date.Day, 0, 0, 0, 0, time.UTC)
	if date.IsZero() {
		tm = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	p.SetCreationDate(tm)
	p.SetModificationDate(tm)
	p.SetCatalogSort(true)
	p.SetCompression(false)
	p.SetAutoPageBreak(false, 0)
	p.SetMargins(marginL, marginT, marginR)
	p.SetProducer("drafter", false)
	p.SetTitle(title, false)
	p.SetLineWidth(0.6)
	return &doc{pdf: p, fonts: fonts, added: map[int]bool{}, trace: textTrace}
}

func (d *doc) addPage() {
	d.pdf.AddPage()
	d.page++
}

func fontFamily(page uint8) string { return fmt.Sprintf("dv%d", page) }

func (d *doc) setFont(f face, page uint8, size float64) {
	key := int(f)*256 + int(page)
	style := ""
	if f == bold {
		style = "B"
	}
	if !d.added[key] {
		fp := d.fonts.pages[page]
		d.pdf.AddFontFromBytes(fontFamily(page), style, fp.def[f], fp.z[f])
		d.added[key] = true
	}
	d.pdf.SetFont(fontFamily(page), style, size)
}

// text draws clean text with its baseline at y.
func (d *doc) text(x, y float64, f face, size float64, s string) {
	if d.dry {
		return
	}
	if d.trace != nil && s != "" {
		d.trace(placed{page: d.pdf.PageNo(), x: x, y: y, width: d.fonts.width(f, size, s), size: size, text: s})
	}
	for _, r := range d.fonts.runs(s) {
		d.setFont(f, r.page, size)
		d.pdf.Text(x, y, r.bytes)
		x += d.pdf.GetStringWidth(r.bytes)
	}
}

// textRight draws clean text ending at x.
func (d *doc) textRight(x, y float64, f face, size float64, s string) {
	d.text(x-d.fonts.width(f, size, s), y, f, size, s)
}

// fit returns the largest size, from size down to min, at which s fits in
// width: for amounts and dates, which are never wrapped. Below min the text
// is drawn at min and wraps (callers use fitLines).
func (d *doc) fit(f face, size, min, width float64, s string) float64 {
	for size > min && d.fonts.width(f, size, s) > width {
		size -= 0.5
	}
	return size
}

func (d *doc) wrap(f face, size, width float64, s string) []string {
	return d.fonts.wrap(f, size, width, s)
}

func (d *doc) gray(level int) { d.pdf.SetTextColor(level, level, level) }

func (d *doc) rect(x, y, w, h float64, style string) {
	if !d.dry {
		d.pdf.Rect(x, y, w, h, style)
	}
}

func (d *doc) line(x1, y1, x2, y2 float64) {
	if !d.dry {
		d.pdf.Line(x1, y1, x2, y2)
	}
}

// output finishes the document; gofpdf's error state covers every call.
func (d *doc) output() ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(96 << 10)
	if err := d.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("write pdf: %w", err)
	}
	return buf.Bytes(), nil
}
