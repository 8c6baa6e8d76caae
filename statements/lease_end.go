package statements

import (
	"fmt"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// LeaseEndThresholds are the default numbers of days before maturity at
// which a lease-end notice is sent, each once.
var LeaseEndThresholds = []int{90, 60, 30}

// DueThreshold says which lease-end notice is due on businessDate for a
// lease maturing on maturity: the smallest threshold that the days left have
// reached. A notice whose date fell on a day without a run (a weekend, a late
// onboarding) is still sent; the earlier, larger thresholds it passed are
// not, as the nearer one supersedes them. ok is false before the first
// threshold and after maturity. The caller sends each threshold once.
func DueThreshold(maturity, businessDate civil.Date, thresholds []int) (threshold int, ok bool) {
	if maturity.IsZero() || businessDate.IsZero() {
		return 0, false
	}
	days := maturity.DaysSince(businessDate)
	if days < 0 {
		return 0, false
	}
	for _, t := range thresholds {
		if days <= t && (!ok || t < threshold) {
			threshold, ok = t, true
		}
	}
	return threshold, ok
}

// LeaseEndInput is everything a lease-end notice is computed from.
type LeaseEndInput struct {
	AccountID  string
	Customer   Customer
	Vehicle    string // "2023 Toyota RAV4"
	VIN        string
	NoticeDate civil.Date // the business date; the notice is dated this day
	Threshold  int        // 90, 60 or 30: the notice being sent

	OpenedOn                civil.Date // lease start; the start odometer is read that day
	TermMonths              int
	MaturityDate            civil.Date
	ResidualValue           money.Cents
	PurchaseOptionFee       money.Cents
	DispositionFee          money.Cents
	ExcessMileageRate       money.Cents // per mile
	MileageAllowancePerYear int
	StartOdometer           int
	Odometer                []OdometerReading

	// InspectionContact says how to schedule the pre-return inspection
	// (a phone number or web address); ReturnLocation where to return the
	// vehicle. Empty values get the lender's general wording.
	InspectionContact string
	ReturnLocation    string
}

// LeaseEndOption is one of the customer's choices at lease end.
type LeaseEndOption struct {
	Title string
	Text  string
}

// MileageRow is one line of the notice's mileage arithmetic: what it is,
// with the numbers it comes from, and its value. Total marks a result a
// customer acts on.
type MileageRow struct {
	Label string
	Value string
	Total bool
}

// LeaseEndNotice is a computed lease-end notice, ready to render.
type LeaseEndNotice struct {
	AccountID  string
	Customer   Customer
	Vehicle    string
	VIN        string
	NoticeDate civil.Date
	Threshold  int
	// DaysToMaturity is the days left on NoticeDate: 0 on the maturity
	// date, negative after it. The wording follows it, not Threshold.
	DaysToMaturity int
	MaturityDate   civil.Date

	ResidualValue     money.Cents
	PurchaseOptionFee money.Cents
	PurchasePrice     money.Cents // residual value + purchase option fee
	DispositionFee    money.Cents
	ExcessMileageRate money.Cents

	MileageAllowancePerYear int
	TermMonths              int
	MilesAllowed            int // allowance per year x term in years, prorated by months
	StartOdometer           int
	LatestOdometer          *OdometerReading
	MilesDriven             int // latest reading - start odometer
	ProjectedMilesDriven    int // since delivery, at maturity
	ProjectedOdometer       int // at maturity; equals the latest reading when there is no trend
	ProjectedExcessMiles    int // projected miles driven - miles allowed, at least 0
	ProjectedExcessCharge   money.Cents
	// Mileage is the projection as arithmetic a customer can redo, row by
	// row, from the numbers it prints; ProjectionMethod says it in words.
	Mileage          []MileageRow
	ProjectionMethod string

	// Intro is the opening paragraph: when the lease ends and what to do
	// first, for the days left.
	Intro             string
	Options           []LeaseEndOption
	WearAndUse        []string
	InspectionSteps   []string
	ReturnInstruction string
}

// maxMiles bounds odometer readings: beyond it a reading is a typo.
const maxMiles = 10_000_000

// inspectionLeadDays is the fewest days left in which a pre-return
// inspection can still be arranged and its report used: an inspector needs
// a few days to come.
const inspectionLeadDays = 5

// inspectionAdviceDays is how long before maturity the inspection is best
// done, leaving time to repair what it finds.
const inspectionAdviceDays = 30

// DaysLeftText says the days left the way the notice and its email do:
// "in 30 days", "in 1 day", "today", "1 day ago", "3 days ago".
func DaysLeftText(days int) string {
	switch {
	case days == 0:
		return "today"
	case days == 1:
		return "in 1 day"
	case days > 1:
		return fmt.Sprintf("in %d days", days)
	case days == -1:
		return "1 day ago"
	}
	return fmt.Sprintf("%d days ago", -days)
}

// ComputeLeaseEnd computes the lease-end notice. Its wording follows the
// days left on the notice date (not the threshold that sent it): advice
// that can no longer be followed is not given, and on or after the
// maturity date the notice says what to do now.
//
// Miles are counted from delivery: miles driven = latest reading - start
// odometer. The projection is linear: the miles driven between the
// earliest known reading (the start odometer on OpenedOn, or the first
// reported reading) and the latest, per day, continue until maturity,
// rounded half up to a whole mile. A reading lower than an earlier one
// leaves the trend at zero (no negative driving).
func ComputeLeaseEnd(in LeaseEndInput) (LeaseEndNotice, error) {
	if err := validateLeaseEnd(in); err != nil {
		return LeaseEndNotice{}, err
	}
	days := in.MaturityDate.DaysSince(in.NoticeDate)
	n := LeaseEndNotice{
		AccountID:               in.AccountID,
		Customer:                in.Customer,
		Vehicle:                 in.Vehicle,
		VIN:                     in.VIN,
		NoticeDate:              in.NoticeDate,
		Threshold:               in.Threshold,
		DaysToMaturity:          days,
		MaturityDate:            in.MaturityDate,
		ResidualValue:           in.ResidualValue,
		PurchaseOptionFee:       in.PurchaseOptionFee,
		PurchasePrice:           in.ResidualValue + in.PurchaseOptionFee,
		DispositionFee:          in.DispositionFee,
		ExcessMileageRate:       in.ExcessMileageRate,
		MileageAllowancePerYear: in.MileageAllowancePerYear,
		TermMonths:              in.TermMonths,
		MilesAllowed:            allowedMiles(in.MileageAllowancePerYear, in.TermMonths),
		StartOdometer:           in.StartOdometer,
	}
	projectMileage(in, &n)

	inspection := strings.TrimSpace(in.InspectionContact)
	if inspection == "" {
		inspection = "us at the phone number or website below"
	}
	n.ReturnInstruction = strings.TrimSpace(in.ReturnLocation)
	if n.ReturnInstruction == "" {
		n.ReturnInstruction = "Return the vehicle to any authorized dealer of its make. Bring all keys, manuals and accessories, and sign the odometer statement at the dealer."
	}
	maturity := dateText(in.MaturityDate)
	vehicle := "your vehicle"
	if v := strings.TrimSpace(in.Vehicle); v != "" {
		vehicle = "the " + v
	}
	returnBy := fmt.Sprintf("Return it on or before %s.", maturity)
	switch {
	case days > inspectionAdviceDays:
		n.Intro = fmt.Sprintf("Your lease of %s ends on %s, %s. Here is what you can do, what it costs, and how to get ready. Please read it now: the pre-return inspection is best done by %s, %d days before your lease ends.",
			vehicle, maturity, DaysLeftText(days), dateText(in.MaturityDate.AddDays(-inspectionAdviceDays)), inspectionAdviceDays)
	case days >= inspectionLeadDays:
		n.Intro = fmt.Sprintf("Your lease of %s ends on %s, %s. Here is what you can do, what it costs, and how to get ready. Please act now: schedule the pre-return inspection this week, so that you have its report before you return the vehicle.",
			vehicle, maturity, DaysLeftText(days))
	case days > 0:
		n.Intro = fmt.Sprintf("Your lease of %s ends on %s, %s. There is no longer time for a pre-return inspection. Please decide now whether to return the vehicle or buy it, and call us if you cannot do either by %s.",
			vehicle, maturity, DaysLeftText(days), maturity)
	case days == 0:
		n.Intro = fmt.Sprintf("Your lease of %s ends today, %s. Please return the vehicle to a dealer today, or call us today to buy it. If you can do neither today, call us today to tell us when you will.",
			vehicle, maturity)
		returnBy = fmt.Sprintf("Return it today, %s.", maturity)
	default:
		n.Intro = fmt.Sprintf("Your lease of %s ended on %s, %s. If you still have the vehicle, please return it to a dealer now, or call us now to buy it.",
			vehicle, maturity, DaysLeftText(days))
		returnBy = fmt.Sprintf("Return it now: your lease ended on %s.", maturity)
	}
	n.Options = []LeaseEndOption{
		{"Return the vehicle", fmt.Sprintf("%s A disposition fee of %s applies, plus any excess mileage (%s a mile over %s miles) and excess wear and use.", returnBy, in.DispositionFee, in.ExcessMileageRate, groupDigits(n.MilesAllowed))},
		{"Buy the vehicle", fmt.Sprintf("Purchase price %s: the residual value %s plus the purchase option fee %s, plus any official fees and taxes. No disposition or mileage charge applies.", n.PurchasePrice, in.ResidualValue, in.PurchaseOptionFee)},
		{"Lease or buy another vehicle", "Visit a dealer to lease or finance a new vehicle; the disposition fee may be waived when you do."},
	}
	n.WearAndUse = []string{
		"Dents, scratches or chips larger than a credit card, and any rust.",
		"Cracked, chipped or pitted glass; broken lights or mirrors.",
		"Tires with less than 4/32 inch of tread, or not of matching size and rating.",
		"Tears, burns or stains in the interior; missing keys, manuals or equipment.",
		"Mechanical damage, warning lights, or repairs not to the maker's standards.",
	}
	switch {
	case days > inspectionAdviceDays:
		n.InspectionSteps = []string{
			fmt.Sprintf("Schedule a free pre-return inspection with %s by %s, %d days before %s.", inspection, dateText(in.MaturityDate.AddDays(-inspectionAdviceDays)), inspectionAdviceDays, maturity),
			"An independent inspector comes to your home or work and gives you a written report.",
			"Repair what the report lists, if you wish, before you return the vehicle.",
		}
	case days >= inspectionLeadDays:
		n.InspectionSteps = []string{
			fmt.Sprintf("Schedule a free pre-return inspection with %s now: your lease ends %s, on %s.", inspection, DaysLeftText(days), maturity),
			"An independent inspector comes to your home or work and gives you a written report.",
			"Repair what the report lists, if you wish and there is time, before you return the vehicle.",
		}
	default:
		n.InspectionSteps = []string{
			"There is no longer time for a pre-return inspection. The vehicle is inspected when you return it: ask the dealer for a copy of the inspection report.",
		}
	}
	return n, nil
}

func validateLeaseEnd(in LeaseEndInput) error {
	switch {
	case in.NoticeDate.IsZero() || in.MaturityDate.IsZero():
		return invalid("notice and maturity dates are required")
	case in.TermMonths < 1 || in.TermMonths > 1200:
		return invalid("term %d months: want 1..1200", in.TermMonths)
	case in.MileageAllowancePerYear < 0 || in.MileageAllowancePerYear > 1_000_000:
		return invalid("mileage allowance %d a year out of range", in.MileageAllowancePerYear)
	case in.StartOdometer < 0 || in.StartOdometer > maxMiles:
		return invalid("start odometer %d out of range", in.StartOdometer)
	}
	for name, c := range map[string]money.Cents{
		"residual value": in.ResidualValue, "purchase option fee": in.PurchaseOptionFee,
		"disposition fee": in.DispositionFee, "excess mileage rate": in.ExcessMileageRate,
	} {
		if c < 0 || c > maxAmount {
			return invalid("%s %s: want 0..%s", name, c, maxAmount)
		}
	}
	if in.ExcessMileageRate > 100_00 {
		return invalid("excess mileage rate %s a mile is not plausible", in.ExcessMileageRate)
	}
	for i, r := range in.Odometer {
		if r.Miles < 0 || r.Miles > maxMiles {
			return invalid("odometer reading %d: %d miles out of range", i, r.Miles)
		}
	}
	return nil
}

// projectMileage fills the notice's mileage figures and the rows that
// show how they are reached.
func projectMileage(in LeaseEndInput, n *LeaseEndNotice) {
	first := OdometerReading{On: in.OpenedOn, Miles: in.StartOdometer}
	for _, r := range in.Odometer {
		if r.On.IsZero() {
			continue
		}
		if first.On.IsZero() || r.On.Before(first.On) {
			first = r
		}
	}
	delivery := "Odometer at delivery"
	if !in.OpenedOn.IsZero() {
		delivery += ", " + dateText(in.OpenedOn)
	}
	rows := []MileageRow{{Label: delivery, Value: groupDigits(in.StartOdometer)}}
	defer func() { n.Mileage = rows }()

	last, ok := latestReading(in.Odometer)
	n.ProjectedOdometer = in.StartOdometer
	if !ok {
		rows = append(rows, MileageRow{Label: "Latest reading", Value: "None reported"})
		n.ProjectionMethod = "No odometer reading is on file, so no miles are projected. The charge, if any, is on the miles shown when you return the vehicle."
		n.allowanceRows(&rows)
		return
	}
	n.LatestOdometer = &last
	n.ProjectedOdometer = last.Miles
	rows = append(rows, MileageRow{Label: "Latest reading, " + dateText(last.On), Value: groupDigits(last.Miles)})
	if last.Miles >= in.StartOdometer {
		n.MilesDriven = last.Miles - in.StartOdometer
		rows = append(rows, MileageRow{Label: fmt.Sprintf("Miles driven since delivery (%s - %s)", groupDigits(last.Miles), groupDigits(in.StartOdometer)), Value: groupDigits(n.MilesDriven)})
	} else {
		rows = append(rows, MileageRow{Label: "Miles driven since delivery (the latest reading is below the delivery odometer)", Value: "0"})
	}
	n.ProjectedMilesDriven = n.MilesDriven

	days := last.On.DaysSince(first.On)
	ahead := in.MaturityDate.DaysSince(last.On)
	if days <= 0 || ahead <= 0 || last.Miles <= first.Miles {
		rows = append(rows, MileageRow{Label: "Projected miles driven by maturity (no trend to project: as driven so far)", Value: groupDigits(n.ProjectedMilesDriven)})
		n.ProjectionMethod = fmt.Sprintf("Based on your latest reading of %s miles on %s, with no further miles projected.", groupDigits(last.Miles), dateText(last.On))
		n.allowanceRows(&rows)
		return
	}
	driven := last.Miles - first.Miles
	// Half up: (2 x driven x ahead + days) / (2 x days); all bounded by
	// maxMiles and a lease term, far from overflow.
	extra := int(min((2*int64(driven)*int64(ahead)+int64(days))/(2*int64(days)), maxMiles))
	hundredths := (200*int64(driven) + int64(days)) / (2 * int64(days))
	since := "delivery"
	if first.On != in.OpenedOn || first.Miles != in.StartOdometer {
		since = dateText(first.On)
	}
	rows = append(rows,
		MileageRow{Label: fmt.Sprintf("Daily rate: %s miles in the %s days from %s to %s", groupDigits(driven), groupDigits(days), since, dateText(last.On)),
			Value: fmt.Sprintf("%s.%02d a day", groupDigits(int(hundredths/100)), hundredths%100)},
		MileageRow{Label: fmt.Sprintf("Projected for the %s days to maturity (%s x %s / %s)", groupDigits(ahead), groupDigits(ahead), groupDigits(driven), groupDigits(days)), Value: groupDigits(extra)},
	)
	n.ProjectedOdometer = last.Miles + extra
	if last.Miles >= in.StartOdometer {
		n.ProjectedMilesDriven = n.MilesDriven + extra
		rows = append(rows, MileageRow{Label: fmt.Sprintf("Projected miles driven by maturity (%s + %s)", groupDigits(n.MilesDriven), groupDigits(extra)), Value: groupDigits(n.ProjectedMilesDriven)})
	} else {
		n.ProjectedMilesDriven = max(0, n.ProjectedOdometer-in.StartOdometer)
		rows = append(rows, MileageRow{Label: fmt.Sprintf("Projected miles driven by maturity (%s + %s - %s)", groupDigits(last.Miles), groupDigits(extra), groupDigits(in.StartOdometer)), Value: groupDigits(n.ProjectedMilesDriven)})
	}
	n.ProjectionMethod = fmt.Sprintf("Projected at the rate you have driven since %s, continued for the %s days from your latest reading to maturity: an odometer of about %s on %s.",
		since, groupDigits(ahead), groupDigits(n.ProjectedOdometer), dateText(in.MaturityDate))
	n.allowanceRows(&rows)
}

// allowanceRows sets the projected excess from the projected miles driven
// and appends its rows: the allowance, the excess, the charge.
func (n *LeaseEndNotice) allowanceRows(rows *[]MileageRow) {
	n.ProjectedExcessMiles = max(0, n.ProjectedMilesDriven-n.MilesAllowed)
	n.ProjectedExcessCharge = money.Cents(n.ProjectedExcessMiles) * n.ExcessMileageRate
	excess := fmt.Sprintf("Projected excess miles (%s - %s)", groupDigits(n.ProjectedMilesDriven), groupDigits(n.MilesAllowed))
	if n.ProjectedExcessMiles == 0 {
		excess = fmt.Sprintf("Projected excess miles (%s is within %s)", groupDigits(n.ProjectedMilesDriven), groupDigits(n.MilesAllowed))
	}
	*rows = append(*rows,
		MileageRow{Label: fmt.Sprintf("Miles allowed (%s a year for %d months)", groupDigits(n.MileageAllowancePerYear), n.TermMonths), Value: groupDigits(n.MilesAllowed)},
		MileageRow{Label: excess, Value: groupDigits(n.ProjectedExcessMiles), Total: true},
		MileageRow{Label: fmt.Sprintf("Projected excess charge (%s x %s a mile)", groupDigits(n.ProjectedExcessMiles), n.ExcessMileageRate), Value: n.ProjectedExcessCharge.String(), Total: true},
	)
}

// groupDigits formats n with thousands separators: 36,000.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
