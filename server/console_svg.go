package server

import (
	"fmt"
	"html"
	"html/template"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/mask"
	"github.com/drafterhq/drafter/money"
)

// Charts of the Returns page, drawn here as inline SVG: no script, no
// library. Every chart has a title and a description for screen readers,
// and the numbers are also in the tables beside it.

// rateChart draws each rate as a bar on a scale to twice its threshold,
// with the threshold marked.
func rateChart(rates []rateView) template.HTML {
	const w, rowH, left, barW = 900, 44, 130, 440
	var b strings.Builder
	h := rowH*len(rates) + 20
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="rates-title rates-desc" viewBox="0 0 %d %d" width="%d" height="%d">`, w, h, w, h)
	b.WriteString(`<title id="rates-title">Return rates over 60 days against NACHA thresholds</title>`)
	var desc []string
	for _, r := range rates {
		desc = append(desc, fmt.Sprintf("%s %s, threshold %s, %s", r.Name, r.Percent, r.Threshold, r.State))
	}
	fmt.Fprintf(&b, `<desc id="rates-desc">%s</desc>`, html.EscapeString(strings.Join(desc, "; ")))
	for i, r := range rates {
		y := 10 + i*rowH
		scale := 2 * float64(r.ThresholdBP)
		frac := r.BasisPoints() / scale
		if frac > 1 {
			frac = 1
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" class="label">%s</text>`, y+18, html.EscapeString(r.Name))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="22" class="track"/>`, left, y+4, barW)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="22" class="bar %s"/>`, left, y+4, frac*barW, r.State)
		tx := left + barW/2
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="threshold"/>`, tx, y, tx, y+30)
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="value">%s of debits, limit %s: %s</text>`, left+barW+8, y+20, r.Percent, r.Threshold, r.State)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// codeChart draws the returns by code as horizontal bars.
func codeChart(codes []codeCount) template.HTML {
	if len(codes) == 0 {
		return ""
	}
	codes = codes[:min(len(codes), 12)]
	const w, rowH, left, barW = 640, 24, 60, 480
	top := 1
	for _, c := range codes {
		top = max(top, c.Count)
	}
	var b strings.Builder
	h := rowH*len(codes) + 10
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="codes-title" viewBox="0 0 %d %d" width="%d" height="%d">`, w, h, w, h)
	b.WriteString(`<title id="codes-title">Returns by code over 60 days</title>`)
	for i, c := range codes {
		y := 5 + i*rowH
		fmt.Fprintf(&b, `<text x="0" y="%d" class="label">%s</text>`, y+15, html.EscapeString(c.Code))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="16" class="bar %s"/>`, left, y+2, float64(c.Count)/float64(top)*barW, html.EscapeString(c.Category))
		fmt.Fprintf(&b, `<text x="%d" y="%d" class="value">%d</text>`, left+int(float64(c.Count)/float64(top)*barW)+6, y+15, c.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// dayChart draws returns per day as stacked columns by category.
func dayChart(days []ledger.DayReturns) template.HTML {
	if len(days) == 0 {
		return ""
	}
	const w, h, bottom, left = 640, 180, 150, 30
	top := 1
	total := 0
	for _, d := range days {
		n := d.Unauthorized + d.Administrative + d.Other
		top = max(top, n)
		total += n
	}
	colW := float64(w-left) / float64(len(days))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" role="img" aria-labelledby="days-title days-desc" viewBox="0 0 %d %d" width="%d" height="%d">`, w, h, w, h)
	b.WriteString(`<title id="days-title">Returns per day over 60 days</title>`)
	fmt.Fprintf(&b, `<desc id="days-desc">%d returns from %s to %s; at most %d on one day</desc>`, total, days[0].Date, days[len(days)-1].Date, top)
	fmt.Fprintf(&b, `<text x="0" y="12" class="value">%d</text><text x="0" y="%d" class="value">0</text>`, top, bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" class="axis"/>`, left, bottom, w, bottom)
	scale := float64(bottom-10) / float64(top)
	for i, d := range days {
		x := float64(left) + float64(i)*colW
		y := float64(bottom)
		for _, part := range []struct {
			n     int
			class string
		}{{d.Other, "other"}, {d.Administrative, "administrative"}, {d.Unauthorized, "unauthorized"}} {
			if part.n == 0 {
				continue
			}
			hgt := float64(part.n) * scale
			y -= hgt
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="bar %s"/>`, x+1, y, colW-2, hgt, part.class)
		}
		if i%10 == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, x, bottom+16, d.Date.String()[5:])
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var consoleFuncs = template.FuncMap{
	"cents": func(c money.Cents) string { return c.String() },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"whenp": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"date": func(d civil.Date) string { return d.String() },
	"statusWord": func(s string) string {
		if s == "" {
			return "not due"
		}
		return s
	},
	"pretty": func(b []byte) string { return string(b) },
	"add":    func(a, b int) int { return a + b },
	"masked": mask.Stored,
}
