package statements

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Layout, in points from the top left of a US Letter page.
const (
	windowX      = 72.0  // #10 window envelope: the address shows through a
	windowY      = 146.0 // 4.5" x 1.125" window 7/8" from the left edge
	windowW      = 250.0
	summaryX     = 352.0
	summaryW     = pageW - marginR - summaryX
	couponTop    = 576.0 // the bottom 3" of page 1 tear off
	bodySize     = 9.0
	bodyLead     = 12.0
	smallSize    = 7.5
	headingSize  = 11.0
	contPageTopY = marginT + 30
)

// renderer carries a document and the flow of body text down its pages.
type renderer struct {
	*doc
	lender  Lender
	title   string
	account string
	y       float64
	bottom  float64
	onBreak func() // called after a page break, such as repeating a table header
}

func (r *renderer) clean(s string) string { return r.fonts.clean(s) }

// need breaks the page unless h points still fit above the bottom.
func (r *renderer) need(h float64) {
	if r.y+h <= r.bottom {
		return
	}
	r.addPage()
	r.continuationHeader()
	r.bottom = footerY - 10
	if r.onBreak != nil {
		r.onBreak()
	}
}

func (r *renderer) continuationHeader() {
	r.gray(0)
	r.text(marginL, marginT+10, bold, 10, r.clean(r.lender.Name))
	right := r.clean(r.title + " - account " + r.account + " (continued)")
	size := r.fit(regular, 8, 5, bodyW/2, right)
	for i, l := range r.wrap(regular, size, bodyW/2, right) {
		r.textRight(pageW-marginR, marginT+10+float64(i)*(size+2), regular, size, l)
	}
	r.line(marginL, marginT+18, pageW-marginR, marginT+18)
	r.y = contPageTopY
}

// paragraph flows wrapped text across pages.
func (r *renderer) paragraph(x, w float64, f face, size, lead float64, s string) {
	for _, l := range r.wrap(f, size, w, r.clean(s)) {
		r.need(lead)
		r.text(x, r.y+size, f, size, l)
		r.y += lead
	}
}

// heading starts a section, on a new page unless keep more points fit
// under it (so a heading never ends a page alone).
func (r *renderer) heading(s string, keep float64) {
	r.need(headingSize + 15 + keep)
	r.y += 6
	r.gray(0)
	r.text(marginL, r.y+headingSize, bold, headingSize, r.clean(s))
	r.y += headingSize + 4
	r.line(marginL, r.y, pageW-marginR, r.y)
	r.y += 5
}

// header draws the lender's name and return address (top left, in the
// envelope's return window) and the document's title block (top right).
func (r *renderer) header(rightLines []string) {
	r.gray(0)
	name := r.clean(r.lender.Name)
	y := marginT
	for _, l := range r.wrap(bold, 15, 280, name) {
		r.text(marginL, y+15, bold, 15, l)
		y += 18
	}
	r.gray(70)
	for _, a := range r.lender.Address {
		for _, l := range r.wrap(regular, 8, 280, r.clean(a)) {
			r.text(marginL, y+8, regular, 8, l)
			y += 10
		}
	}
	r.gray(0)
	ry := marginT
	title := r.clean(r.title)
	ts := r.fit(bold, 13, 8, 200, title)
	for _, l := range r.wrap(bold, ts, 200, title) {
		r.textRight(pageW-marginR, ry+ts, bold, ts, l)
		ry += ts + 3
	}
	ry += 2
	for _, s := range rightLines {
		s = r.clean(s)
		size := r.fit(regular, 8.5, 6, 220, s)
		for _, l := range r.wrap(regular, size, 220, s) {
			r.textRight(pageW-marginR, ry+size, regular, size, l)
			ry += size + 3
		}
	}
	r.y = max(y, ry)
}

// windowAddress prints the customer's name and address where a #10 window
// envelope shows it, and returns the y below it.
func (r *renderer) windowAddress(c Customer) float64 {
	y := max(windowY, r.y+8)
	lines := append([]string{c.Name}, c.Address.Lines()...)
	for i, s := range lines {
		f := regular
		if i == 0 {
			f = bold
		}
		for _, l := range r.wrap(f, 10, windowW, r.clean(s)) {
			r.text(windowX, y+10, f, 10, l)
			y += 12
		}
	}
	return y
}

// footers draws "Page X of Y" and the lender's contact details on every
// page, once the page count is known.
func (r *renderer) footers() {
	n := r.pdf.PageCount()
	contact := r.clean(strings.Join(nonEmpty(r.lender.Name, r.lender.Phone, r.lender.Website), "  |  "))
	for p := 1; p <= n; p++ {
		r.pdf.SetPage(p)
		r.gray(90)
		pageText := fmt.Sprintf("Page %d of %d", p, n)
		r.textRight(pageW-marginR, footerY+18, regular, smallSize, pageText)
		w := bodyW - r.fonts.width(regular, smallSize, pageText) - 18
		size := r.fit(regular, smallSize, 5.5, w, contact)
		for i, l := range r.wrap(regular, size, w, contact) {
			r.text(marginL, footerY+18+float64(i)*(size+2), regular, size, l)
		}
	}
	r.gray(0)
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// keyValues prints label/value pairs in two columns; values wrap within
// their column.
func (r *renderer) keyValues(pairs [][2]string) {
	const colW = bodyW / 2
	const labelW = 120.0
	for i := 0; i < len(pairs); i += 2 {
		var cols [2][]string
		rows := 1
		for c := 0; c < 2 && i+c < len(pairs); c++ {
			// Values are drawn bold: wrap them at the bold widths.
			cols[c] = r.wrap(bold, bodySize, colW-labelW-10, r.clean(pairs[i+c][1]))
			rows = max(rows, len(cols[c]))
		}
		r.need(float64(rows) * bodyLead)
		for c := 0; c < 2 && i+c < len(pairs); c++ {
			x := marginL + float64(c)*colW
			r.gray(80)
			r.text(x, r.y+bodySize, regular, bodySize, r.clean(pairs[i+c][0]))
			r.gray(0)
			for j, l := range cols[c] {
				r.text(x+labelW, r.y+bodySize+float64(j)*bodyLead, bold, bodySize, l)
			}
		}
		r.y += float64(rows) * bodyLead
	}
}

// guard turns a panic inside gofpdf into an error: bad input must never
// take the process down.
func guard(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("render pdf: %v", p)
	}
}

func dateText(d civil.Date) string {
	if d.IsZero() {
		return "-"
	}
	return d.In(time.UTC).Format("January 2, 2006")
}

func amountLine(label string, c money.Cents) [2]string { return [2]string{label, c.String()} }

// newPage starts a continuation page.
func (r *renderer) newPage() {
	r.addPage()
	r.continuationHeader()
	r.bottom = footerY - 10
	if r.onBreak != nil {
		r.onBreak()
	}
}

// measure returns the height draw takes, drawing nothing.
func (r *renderer) measure(draw func()) float64 {
	y, bottom, dry := r.y, r.bottom, r.dry
	r.y, r.bottom, r.dry = 0, math.Inf(1), true
	draw()
	h := r.y
	r.y, r.bottom, r.dry = y, bottom, dry
	return h
}

// minLastPage is the least a last page holds when sections can be moved
// onto it: no page of a few orphaned lines.
const minLastPage = 12 * bodyLead

// sections draws blocks that stay whole on a page when they fit on one: a
// block that does not fit in what is left of a page starts the next. When
// that would leave the last page nearly empty, blocks move from the page
// before onto it, so the document breaks at a sensible place.
func (r *renderer) sections(blocks []func()) {
	hs := make([]float64, len(blocks))
	for i, b := range blocks {
		hs[i] = r.measure(b)
	}
	room := (footerY - 10) - contPageTopY
	// Plan: which block starts each page after the first.
	var starts []int
	y := r.y
	for i, h := range hs {
		if i > 0 && y+h > r.bottom && h <= room && (len(starts) == 0 || starts[len(starts)-1] != i) {
			starts = append(starts, i)
			y = contPageTopY
		}
		y += h
		if y > r.bottom { // a block taller than a page flows on
			y = contPageTopY + math.Mod(y-r.bottom, room)
		}
	}
	if n := len(starts); n > 0 {
		prevStart := 0
		if n > 1 {
			prevStart = starts[n-2]
		}
		last := 0.0
		for _, h := range hs[starts[n-1]:] {
			last += h
		}
		for last < minLastPage && starts[n-1]-1 > prevStart && last+hs[starts[n-1]-1] <= room {
			starts[n-1]--
			last += hs[starts[n-1]]
		}
	}
	next := 0
	for i, b := range blocks {
		if next < len(starts) && starts[next] == i {
			r.newPage()
			next++
		} else if r.y+hs[i] > r.bottom && hs[i] <= room {
			r.newPage()
		}
		b()
	}
}
