package statements

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/money"
)

// widest is the widest amount any field may hold, and the widest signed.
const (
	widest    = maxAmount
	widestNeg = -maxAmount
	// widestMiles is the largest odometer reading accepted.
	widestMiles = maxMiles - 1
)

// traceRender renders with every drawn piece of text recorded.
func traceRender(t *testing.T, render func() ([]byte, error)) ([]byte, []placed) {
	t.Helper()
	var got []placed
	textTrace = func(p placed) { got = append(got, p) }
	defer func() { textTrace = nil }()
	pdf, err := render()
	if err != nil {
		t.Fatal(err)
	}
	return pdf, got
}

// checkNoOverlap fails for any two pieces of text on a page whose boxes
// (widths from the fonts' own metrics, ascent and descent from the size)
// intersect, and for any text outside the page's margins: every cell's
// text fits its column, or it would run into the next one.
func checkNoOverlap(t *testing.T, name string, texts []placed) {
	t.Helper()
	const eps = 0.01
	// gutter is the least space between two texts side by side: less
	// reads as one phrase ("for Odometer at delivery").
	const gutter = 6.0
	box := func(p placed) (x0, y0, x1, y1 float64) {
		return p.x - gutter/2, p.y - 0.76*p.size, p.x + p.width + gutter/2, p.y + 0.24*p.size
	}
	for i, a := range texts {
		ax0, ay0, ax1, ay1 := box(a)
		if ax0+gutter/2 < marginL-eps || ax1-gutter/2 > pageW-marginR+eps || ay0 < 0 || ay1 > pageH {
			t.Errorf("%s page %d: %q (x %.1f to %.1f) is outside the margins %.0f to %.0f", name, a.page, a.text, ax0+gutter/2, ax1-gutter/2, marginL, pageW-marginR)
		}
		for _, b := range texts[i+1:] {
			if a.page != b.page {
				continue
			}
			bx0, by0, bx1, by1 := box(b)
			if ax0 < bx1-eps && bx0 < ax1-eps && ay0 < by1-eps && by0 < ay1-eps {
				t.Errorf("%s page %d: %q (x %.1f-%.1f, y %.1f) runs into %q (x %.1f-%.1f, y %.1f)",
					name, a.page, a.text, a.x, a.x+a.width, a.y, b.text, b.x, b.x+b.width, b.y)
			}
		}
	}
}

// widestNotice is a notice with every figure at its field's maximum and
// the longest dates: the widest allowance, and (with a tiny allowance) the
// widest projected excess and its charge at $100.00 a mile.
func widestNotice(t *testing.T, days int) LeaseEndNotice {
	t.Helper()
	return widestNoticeOf(t, days, 1_000_000)
}

func widestNoticeOf(t *testing.T, days, allowancePerYear int) LeaseEndNotice {
	t.Helper()
	in := leaseEndInput()
	in.MaturityDate = d("2026-09-30")
	in.NoticeDate = in.MaturityDate.AddDays(-days)
	in.OpenedOn = d("2023-09-30")
	in.TermMonths = 1200
	in.MileageAllowancePerYear = allowancePerYear
	in.StartOdometer = 0
	in.Odometer = []OdometerReading{{On: d("2025-09-30"), Miles: widestMiles / 2}, {On: d("2026-09-28"), Miles: widestMiles}}
	in.ResidualValue, in.PurchaseOptionFee, in.DispositionFee, in.ExcessMileageRate = widest, widest, widest, 100_00
	in.Vehicle = "2026 Mercedes-Benz GLS 450 4MATIC Sport Utility Vehicle with a long trim name"
	in.VIN = "WDC1679591A999999"
	in.InspectionContact = "our inspection partner at 1-800-555-0199 or https://drafter.example/lease-end/inspection"
	n, err := ComputeLeaseEnd(in)
	if err != nil {
		t.Fatal(err)
	}
	n.MilesAllowed = widestMiles
	n.StartOdometer = widestMiles
	n.ProjectedExcessMiles = widestMiles
	n.ProjectedExcessCharge = widest
	n.PurchasePrice = widest
	return n
}

// widestStatement is a statement with every amount at its field's maximum,
// the longest dates and a wide odometer reading.
func widestStatement(t *testing.T, lease bool) Statement {
	t.Helper()
	s := sampleLoan(t)
	if lease {
		s = sampleLease(t)
	}
	long := d("2026-09-30")
	s.StatementDate, s.CycleStart, s.CycleEnd, s.DueDate = long, d("2026-09-01"), long, long
	s.PreviousBalance, s.PaymentsReceived, s.ReturnedPayments = widest, widest, widest
	s.FeesCharged, s.InterestCharged, s.Adjustments, s.NewBalance = widest, widest, widestNeg, widestNeg
	s.PastDue, s.FeesDue, s.CurrentInstallment, s.AmountDue = widest, widest, widest, widest
	s.Vehicle = "2026 Mercedes-Benz GLS 450 4MATIC Sport Utility Vehicle"
	for i := range s.Lines {
		s.Lines[i].Date = long
		s.Lines[i].Amount = widestNeg
	}
	if s.Loan != nil {
		l := *s.Loan
		l.APRBasisPoints, l.RemainingPayments = 9999, 999
		l.Principal, l.Payoff, l.PerDiem = widest, widest, widest
		l.MaturityDate, l.PayoffThrough = long, long
		s.Loan = &l
	}
	if s.Lease != nil {
		l := *s.Lease
		l.BasePayment, l.Tax, l.RemainingPayments = widest, widest, 1200
		l.LastPaymentDue, l.MaturityDate = long, long
		l.MileageAllowancePerYear, l.MileageAllowanceTotal = 1_000_000, widestMiles
		l.LatestOdometer = &OdometerReading{On: long, Miles: widestMiles}
		s.Lease = &l
	}
	s.Autopay.DebitOn, s.Autopay.Amount = long, widest
	return s
}

// TestRenderNoTextOverlaps renders both documents with the widest figures
// and longest dates every cell can hold, and checks with the fonts'
// metrics that no text runs into other text or off the page.
func TestRenderNoTextOverlaps(t *testing.T) {
	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{"notice sample", func() ([]byte, error) { return RenderLeaseEnd(sampleNotice(t), testLender()) }},
		{"loan statement sample", func() ([]byte, error) { return RenderStatement(sampleLoan(t), testLender()) }},
		{"lease statement sample", func() ([]byte, error) { return RenderStatement(sampleLease(t), testLender()) }},
		{"loan statement widest", func() ([]byte, error) { return RenderStatement(widestStatement(t, false), testLender()) }},
		{"lease statement widest", func() ([]byte, error) { return RenderStatement(widestStatement(t, true), testLender()) }},
	}
	for _, days := range []int{90, 30, 10, 1, 0, -3} {
		days := days
		tests = append(tests, struct {
			name   string
			render func() ([]byte, error)
		}{fmt.Sprintf("notice widest %d days", days), func() ([]byte, error) { return RenderLeaseEnd(widestNotice(t, days), testLender()) }},
			struct {
				name   string
				render func() ([]byte, error)
			}{fmt.Sprintf("notice widest excess %d days", days), func() ([]byte, error) { return RenderLeaseEnd(widestNoticeOf(t, days, 1), testLender()) }})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, texts := traceRender(t, tt.render)
			if len(texts) < 50 {
				t.Fatalf("%d pieces of text drawn: the trace missed the document", len(texts))
			}
			checkNoOverlap(t, tt.name, texts)
		})
	}
}

// TestNoticeAmountsPrintWhole checks that the widest notice prints its
// figures whole (shrunk to fit, never cut or wrapped apart).
func TestNoticeAmountsPrintWhole(t *testing.T) {
	pdf, _ := traceRender(t, func() ([]byte, error) { return RenderLeaseEnd(widestNotice(t, 10), testLender()) })
	text := checkPDF(t, "notice-widest", pdf)
	for _, want := range []string{money.Cents(widest).String(), "9,999,999", "September 30, 2026", "$100.00 a mile"} {
		if !strings.Contains(text, want) {
			t.Errorf("widest notice does not print %s whole:\n%s", want, text)
		}
	}
}

// pageTexts splits a PDF's text into pages with pdftotext.
func pageTexts(t *testing.T, name string, pdf []byte) []string {
	t.Helper()
	checkPDF(t, name, pdf)
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\f"), "\f")
}

// bodyLines counts the lines of a continuation page between its header
// and its footer.
func bodyLines(page string) int {
	n := 0
	for _, l := range strings.Split(page, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.Contains(l, "(continued)") || strings.Contains(l, "Page ") {
			continue
		}
		n++
	}
	return n
}

// TestNoticeNoOrphanPage: every notice fits one page, or its last page
// starts with a section and holds a good part of the notice, never a few
// stray lines.
func TestNoticeNoOrphanPage(t *testing.T) {
	cases := map[string]LeaseEndNotice{}
	for _, days := range []int{90, 60, 30, 10, 1, 0} {
		cases[fmt.Sprintf("%d days", days)] = noticeAt(t, days)
		cases[fmt.Sprintf("widest %d days", days)] = widestNotice(t, days)
		cases[fmt.Sprintf("widest excess %d days", days)] = widestNoticeOf(t, days, 1)
	}
	long := noticeAt(t, 30)
	long.ReturnInstruction = strings.Repeat("Return the vehicle to the dealer named in your contract, with all keys. ", 12)
	cases["long return instruction"] = long
	for name, n := range cases {
		t.Run(name, func(t *testing.T) {
			pdf, err := RenderLeaseEnd(n, testLender())
			if err != nil {
				t.Fatal(err)
			}
			pages := pageTexts(t, "orphan", pdf)
			if len(pages) == 1 {
				return
			}
			last := pages[len(pages)-1]
			if got := bodyLines(last); got < 8 {
				t.Errorf("last of %d pages holds %d lines:\n%s", len(pages), got, last)
			}
			var first string
			for _, l := range strings.Split(last, "\n")[1:] {
				if l = strings.TrimSpace(l); l != "" {
					first = l
					break
				}
			}
			switch first {
			case "Your options", "Mileage", "Excess wear and use", "Pre-return inspection", "Returning your vehicle":
			default:
				t.Errorf("last page starts mid-section with %q:\n%s", first, last)
			}
		})
	}
}

// noticeAt is the sample notice sent days before maturity, for the
// threshold due that day.
func noticeAt(t *testing.T, days int) LeaseEndNotice {
	t.Helper()
	in := leaseEndInput()
	in.InspectionContact = "our inspection partner at 1-800-555-0199 or drafter.example/inspect"
	in.NoticeDate = in.MaturityDate.AddDays(-days)
	in.Odometer = []OdometerReading{{On: d("2025-01-10"), Miles: 14_000}, {On: in.NoticeDate.AddDays(-10), Miles: 36_512}}
	th, ok := DueThreshold(in.MaturityDate, in.NoticeDate, LeaseEndThresholds)
	if !ok {
		t.Fatalf("no threshold %d days before maturity", days)
	}
	in.Threshold = th
	n, err := ComputeLeaseEnd(in)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNoticeGoldenByDaysLeft: the notice's text for the days left, from
// the first threshold to the maturity date itself.
func TestNoticeGoldenByDaysLeft(t *testing.T) {
	for _, days := range []int{90, 60, 30, 10, 1, 0} {
		t.Run(fmt.Sprint(days), func(t *testing.T) {
			name := fmt.Sprintf("lease-end-notice-%dd", days)
			pdf, err := RenderLeaseEnd(noticeAt(t, days), testLender())
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, checkPDF(t, name, pdf))
		})
	}
}
