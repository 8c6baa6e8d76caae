package statements

import (
	"fmt"
)

func checkNotice(n LeaseEndNotice, l Lender) error {
	if err := checkLender(l); err != nil {
		return err
	}
	if err := checkCustomer(n.Customer); err != nil {
		return err
	}
	texts := []string{n.AccountID, n.Vehicle, n.VIN, n.Intro, n.ProjectionMethod, n.ReturnInstruction}
	for _, m := range n.Mileage {
		texts = append(texts, m.Label, m.Value)
	}
	texts = append(texts, n.WearAndUse...)
	texts = append(texts, n.InspectionSteps...)
	for _, o := range n.Options {
		texts = append(texts, o.Title, o.Text)
	}
	if len(texts) > maxMessages {
		return fmt.Errorf("%w: %d paragraphs, at most %d", ErrTooLong, len(texts), maxMessages)
	}
	for _, s := range texts {
		if err := checkLen("notice text", s, maxMessageRunes); err != nil {
			return err
		}
	}
	return nil
}

// RenderLeaseEnd renders a lease-end notice as a US Letter PDF: the lender's
// header, the customer's address placed for a #10 window envelope, the key
// dates and amounts, the customer's options, the mileage projection, the
// excess wear and use standards, how to schedule the pre-return inspection
// and where to return the vehicle, with "Page X of Y" and the lender's
// contact details on every page. The same notice and lender always give the
// same bytes.
func RenderLeaseEnd(n LeaseEndNotice, l Lender) (out []byte, err error) {
	defer guard(&err)
	fonts, err := loadFonts()
	if err != nil {
		return nil, fmt.Errorf("render lease-end notice: %w", err)
	}
	if err := checkNotice(n, l); err != nil {
		return nil, fmt.Errorf("render lease-end notice %s: %w", n.AccountID, err)
	}
	r := &renderer{doc: newDoc(fonts, n.NoticeDate, "Lease-end notice"), lender: l,
		title: "Your lease is ending", account: n.AccountID}
	r.addPage()
	r.header([]string{
		"Date: " + dateText(n.NoticeDate),
		"Account number: " + n.AccountID,
		"Vehicle: " + n.Vehicle,
		"VIN: " + n.VIN,
	})
	addrBottom := r.windowAddress(n.Customer)
	boxBottom := r.noticeBox(n)
	r.y = max(addrBottom, boxBottom) + 14
	r.bottom = footerY - 10

	r.sections([]func(){
		func() {
			r.paragraph(marginL, bodyW, regular, 10, 13, n.Intro)
			r.y += 4
		},
		func() {
			r.heading("Your options", 3*bodyLead)
			for i, o := range n.Options {
				lines := r.wrap(regular, bodySize, bodyW-18, r.clean(o.Text))
				r.need(bodyLead * 2)
				r.text(marginL, r.y+bodySize, bold, bodySize, fmt.Sprintf("%d.", i+1))
				r.text(marginL+18, r.y+bodySize, bold, bodySize, r.clean(o.Title))
				r.y += bodyLead
				for _, ln := range lines {
					r.need(bodyLead)
					r.text(marginL+18, r.y+bodySize, regular, bodySize, ln)
					r.y += bodyLead
				}
				r.y += 3
			}
		},
		func() {
			r.heading("Mileage", 3*bodyLead)
			r.mileage(n.Mileage)
			r.y += 4
			r.gray(80)
			r.paragraph(marginL, bodyW, regular, 8, 10, n.ProjectionMethod+" The charge is owed only if you return the vehicle, on the miles actually driven.")
			r.gray(0)
		},
		func() {
			r.heading("Excess wear and use", 3*bodyLead)
			r.paragraph(marginL, bodyW, regular, bodySize, bodyLead, "Normal wear is expected. You may be charged for damage beyond it, such as:")
			r.bullets(n.WearAndUse)
		},
		func() {
			r.heading("Pre-return inspection", 3*bodyLead)
			r.bullets(n.InspectionSteps)
		},
		func() {
			r.heading("Returning your vehicle", 3*bodyLead)
			r.paragraph(marginL, bodyW, regular, bodySize, bodyLead, n.ReturnInstruction)
			r.y += 6
			r.paragraph(marginL, bodyW, regular, bodySize, bodyLead, fmt.Sprintf(
				"Questions? Call %s or visit %s.", orDash(l.Phone), orDash(l.Website)))
		},
	})

	r.footers()
	return r.output()
}

// mileageValueW is the width of the mileage table's value column: wide
// enough for the largest figures it prints ($1,000,000,000.00, 10,000,000.00
// a day) at the body size.
const mileageValueW = 110.0

// mileageRowH is the height of a one-line mileage row.
const mileageRowH = bodyLead + 2

// mileage prints the mileage rows as a sum a customer can follow: each
// label (wrapped in its column) with its value right-aligned beside it,
// results in bold.
func (r *renderer) mileage(rows []MileageRow) {
	labelW := bodyW - mileageValueW - 12
	for _, row := range rows {
		f := regular
		if row.Total {
			f = bold
		}
		value := r.clean(row.Value)
		size := r.fit(f, bodySize, 6, mileageValueW, value)
		lines := r.wrap(f, bodySize, labelW, r.clean(row.Label))
		// A row keeps its rule clear of the descenders above it.
		h := float64(len(lines)-1)*bodyLead + mileageRowH
		r.need(h)
		for j, l := range lines {
			r.text(marginL, r.y+bodySize+1+float64(j)*bodyLead, f, bodySize, l)
		}
		r.textRight(pageW-marginR, r.y+bodySize+1, f, size, value)
		r.y += h
		r.pdf.SetDrawColor(200, 200, 200)
		r.line(marginL, r.y-0.5, pageW-marginR, r.y-0.5)
		r.pdf.SetDrawColor(0, 0, 0)
	}
}

// daysLeftBox is the days left as the notice box shows them.
func daysLeftBox(days int) string {
	switch {
	case days == 0:
		return "Ends today"
	case days < 0:
		return "Ended " + DaysLeftText(days)
	}
	return fmt.Sprint(days)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (r *renderer) bullets(items []string) {
	for _, it := range items {
		for i, ln := range r.wrap(regular, bodySize, bodyW-14, r.clean(it)) {
			r.need(bodyLead)
			if i == 0 {
				r.text(marginL+2, r.y+bodySize, regular, bodySize, "\u2022")
			}
			r.text(marginL+14, r.y+bodySize, regular, bodySize, ln)
			r.y += bodyLead
		}
		r.y += 2
	}
}

// noticeBox draws the key dates and amounts at the top right and returns
// the y below it.
func (r *renderer) noticeBox(n LeaseEndNotice) float64 {
	const pad = 8.0
	x, y, w := summaryX, max(windowY-40, r.y+8), summaryW
	inner := w - 2*pad
	top := y
	r.pdf.SetFillColor(232, 238, 246)
	r.rect(x, y, w, 18, "F")
	r.gray(0)
	r.text(x+pad, y+12.5, bold, 9.5, r.clean("Lease end at a glance"))
	y += 26
	r.text(x+pad, y+8, regular, 8.5, r.clean("Maturity date"))
	md := dateText(n.MaturityDate)
	size := r.fit(bold, 16, 6, inner, md)
	r.textRight(x+w-pad, y+size+10, bold, size, md)
	y += size + 16
	rows := [][2]string{
		{"Days left", daysLeftBox(n.DaysToMaturity)},
		{"Residual value", n.ResidualValue.String()},
		{"Purchase option fee", n.PurchaseOptionFee.String()},
		{"Purchase price", n.PurchasePrice.String()},
		{"Disposition fee", n.DispositionFee.String()},
		{"Excess mileage rate", n.ExcessMileageRate.String() + " a mile"},
		{"Projected excess charge", n.ProjectedExcessCharge.String()},
	}
	r.line(x+pad, y, x+w-pad, y)
	y += 4
	for i, row := range rows {
		f := regular
		if i == 3 {
			f = bold
		}
		label := r.clean(row[0])
		lw := r.fonts.width(regular, 8.5, label)
		size := r.fit(f, 8.5, 5, inner-lw-6, row[1])
		r.text(x+pad, y+9, regular, 8.5, label)
		r.textRight(x+w-pad, y+9, f, size, row[1])
		y += 12.5
	}
	y += 4
	r.pdf.SetDrawColor(120, 140, 170)
	r.rect(x, top, w, y-top, "D")
	r.pdf.SetDrawColor(0, 0, 0)
	return y
}
