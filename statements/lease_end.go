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

// LeaseEndNotice is a computed lease-end notice, ready to render.
type LeaseEndNotice struct {
	AccountID      string
	Customer       Customer
	Vehicle        string
	VIN            string
	NoticeDate     civil.Date
	Threshold      int
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
	ProjectedOdometer       int // at maturity; equals the latest reading when there is no trend
	ProjectedExcessMiles    int
	ProjectedExcessCharge   money.Cents
	ProjectionMethod        string

	Options           []LeaseEndOption
	WearAndUse        []string
	InspectionSteps   []string
	ReturnInstruction string
}

// maxMiles bounds odometer readings: beyond it a reading is a typo.
const maxMiles = 10_000_000

// ComputeLeaseEnd computes the lease-end notice.
//
// The projection is linear from two points: the earliest known reading (the
// start odometer on OpenedOn, or the first reported reading) and the latest
// reading; the average miles a day between them continue until maturity,
// rounded half up to a whole mile. A reading lower than an earlier one
// leaves the trend at zero (no negative driving).
func ComputeLeaseEnd(in LeaseEndInput) (LeaseEndNotice, error) {
	if err := validateLeaseEnd(in); err != nil {
		return LeaseEndNotice{}, err
	}
	n := LeaseEndNotice{
		AccountID:               in.AccountID,
		Customer:                in.Customer,
		Vehicle:                 in.Vehicle,
		VIN:                     in.VIN,
		NoticeDate:              in.NoticeDate,
		Threshold:               in.Threshold,
		DaysToMaturity:          in.MaturityDate.DaysSince(in.NoticeDate),
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
	n.ProjectedOdometer, n.LatestOdometer, n.ProjectionMethod = projectOdometer(in)
	n.ProjectedExcessMiles = max(0, n.ProjectedOdometer-in.StartOdometer-n.MilesAllowed)
	n.ProjectedExcessCharge = money.Cents(n.ProjectedExcessMiles) * in.ExcessMileageRate

	inspection := strings.TrimSpace(in.InspectionContact)
	if inspection == "" {
		inspection = "us at the phone number or website below"
	}
	n.ReturnInstruction = strings.TrimSpace(in.ReturnLocation)
	if n.ReturnInstruction == "" {
		n.ReturnInstruction = "Return the vehicle to any authorized dealer of its make. Bring all keys, manuals and accessories, and sign the odometer statement at the dealer."
	}
	n.Options = []LeaseEndOption{
		{"Return the vehicle", fmt.Sprintf("Return it on or before %s. A disposition fee of %s applies, plus any excess mileage (%s a mile over %s miles) and excess wear and use.", dateText(in.MaturityDate), in.DispositionFee, in.ExcessMileageRate, groupDigits(n.MilesAllowed))},
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
	n.InspectionSteps = []string{
		fmt.Sprintf("Schedule a free pre-return inspection with %s at least 30 days before %s.", inspection, dateText(in.MaturityDate)),
		"An independent inspector comes to your home or work and gives you a written report.",
		"Repair what the report lists, if you wish, before you return the vehicle.",
	}
	return n, nil
}

func validateLeaseEnd(in LeaseEndInput) error {
	switch {
	case in.NoticeDate.IsZero() || in.MaturityDate.IsZero():
		return invalid("notice and maturity dates are required")
	case in.MaturityDate.Before(in.NoticeDate):
		return invalid("maturity %s is before the notice date %s", in.MaturityDate, in.NoticeDate)
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

func projectOdometer(in LeaseEndInput) (projected int, latest *OdometerReading, method string) {
	first := OdometerReading{On: in.OpenedOn, Miles: in.StartOdometer}
	for _, r := range in.Odometer {
		if r.On.IsZero() {
			continue
		}
		if first.On.IsZero() || r.On.Before(first.On) {
			first = r
		}
	}
	last, ok := latestReading(in.Odometer)
	if !ok {
		return in.StartOdometer, nil, "No odometer reading is on file; the projection assumes the start odometer."
	}
	latest = &last
	projected = last.Miles
	days := last.On.DaysSince(first.On)
	ahead := in.MaturityDate.DaysSince(last.On)
	if days <= 0 || ahead <= 0 || last.Miles <= first.Miles {
		return projected, latest, fmt.Sprintf("Based on your latest reading of %s miles on %s.", groupDigits(last.Miles), last.On)
	}
	driven := last.Miles - first.Miles
	// Half up: (2 x driven x ahead + days) / (2 x days); all bounded by
	// maxMiles and a lease term, far from overflow.
	extra := (2*int64(driven)*int64(ahead) + int64(days)) / (2 * int64(days))
	projected = last.Miles + int(min(extra, maxMiles))
	perDay := float64(driven) / float64(days) // display only
	return projected, latest, fmt.Sprintf("Projected from %s miles driven in %d days (%.1f a day) between %s and %s, continued for the %d days to maturity.",
		groupDigits(driven), days, perDay, first.On, last.On, ahead)
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
