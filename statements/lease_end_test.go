package statements

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

func TestDueThreshold(t *testing.T) {
	maturity := d("2027-03-01")
	tests := []struct {
		date   string
		want   int
		wantOK bool
	}{
		{"2026-11-30", 0, false}, // 91 days
		{"2026-12-01", 90, true}, // 90 days
		{"2026-12-15", 90, true}, // 76 days: the 90-day notice, if not sent yet
		{"2026-12-31", 60, true}, // 60 days
		{"2027-01-30", 30, true}, // 30 days
		{"2027-02-28", 30, true}, // 1 day
		{"2027-03-01", 30, true}, // maturity day
		{"2027-03-02", 0, false}, // matured
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			got, ok := DueThreshold(maturity, d(tt.date), LeaseEndThresholds)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("DueThreshold = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if _, ok := DueThreshold(civil.Date{}, d("2027-01-01"), LeaseEndThresholds); ok {
		t.Error("zero maturity: want no threshold")
	}
}

func leaseEndInput() LeaseEndInput {
	return LeaseEndInput{
		AccountID: "S-2002",
		Customer:  Customer{Name: "Nguyễn Thị Ánh", Address: Address{Line1: "9 Bolsa Ave", City: "Westminster", State: "CA", PostalCode: "92683"}},
		Vehicle:   "2023 Toyota RAV4", VIN: "2T3P1RFV5PW123456",
		NoticeDate: d("2026-09-06"), Threshold: 90,
		OpenedOn: d("2023-12-05"), TermMonths: 36, MaturityDate: d("2026-12-05"),
		ResidualValue: 18_450_00, PurchaseOptionFee: 350_00, DispositionFee: 395_00,
		ExcessMileageRate: 25, MileageAllowancePerYear: 12_000, StartOdometer: 12,
		Odometer: []OdometerReading{
			{On: d("2026-08-27"), Miles: 36_512},
			{On: d("2025-01-10"), Miles: 14_000},
		},
	}
}

func TestComputeLeaseEnd(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*LeaseEndInput)
		check func(*testing.T, LeaseEndNotice)
	}{
		{
			name: "over the allowance",
			edit: func(*LeaseEndInput) {},
			check: func(t *testing.T, n LeaseEndNotice) {
				// 36,500 miles in 996 days (2023-12-05 .. 2026-08-27), 100
				// days to maturity: 36,500 x 100 / 996 = 3,664.66 -> 3,665.
				if n.ProjectedOdometer != 36_512+3_665 {
					t.Errorf("projected %d, want %d", n.ProjectedOdometer, 36_512+3_665)
				}
				if n.MilesAllowed != 36_000 || n.ProjectedExcessMiles != 36_512+3_665-12-36_000 {
					t.Errorf("allowed %d excess %d", n.MilesAllowed, n.ProjectedExcessMiles)
				}
				if n.ProjectedExcessCharge != money.Cents(n.ProjectedExcessMiles)*25 {
					t.Errorf("charge %s", n.ProjectedExcessCharge)
				}
				if n.PurchasePrice != 18_800_00 || n.DaysToMaturity != 90 {
					t.Errorf("purchase price %s, days %d", n.PurchasePrice, n.DaysToMaturity)
				}
				if len(n.Options) != 3 || len(n.InspectionSteps) == 0 || n.ReturnInstruction == "" || n.ProjectionMethod == "" {
					t.Errorf("notice incomplete: %+v", n)
				}
			},
		},
		{
			name: "under the allowance",
			edit: func(in *LeaseEndInput) { in.Odometer = []OdometerReading{{On: d("2026-08-27"), Miles: 20_000}} },
			check: func(t *testing.T, n LeaseEndNotice) {
				if n.ProjectedExcessMiles != 0 || n.ProjectedExcessCharge != 0 {
					t.Errorf("excess %d charge %s", n.ProjectedExcessMiles, n.ProjectedExcessCharge)
				}
			},
		},
		{
			name: "no readings",
			edit: func(in *LeaseEndInput) { in.Odometer = nil },
			check: func(t *testing.T, n LeaseEndNotice) {
				if n.ProjectedOdometer != 12 || n.LatestOdometer != nil {
					t.Errorf("projected %d", n.ProjectedOdometer)
				}
			},
		},
		{
			name: "reading going backwards gives no trend",
			edit: func(in *LeaseEndInput) {
				in.OpenedOn = civil.Date{}
				in.Odometer = []OdometerReading{{On: d("2025-01-01"), Miles: 30_000}, {On: d("2026-08-01"), Miles: 29_000}}
			},
			check: func(t *testing.T, n LeaseEndNotice) {
				if n.ProjectedOdometer != 29_000 {
					t.Errorf("projected %d", n.ProjectedOdometer)
				}
			},
		},
		{
			name: "prorated allowance for a 39-month term",
			edit: func(in *LeaseEndInput) { in.TermMonths = 39 },
			check: func(t *testing.T, n LeaseEndNotice) {
				if n.MilesAllowed != 39_000 {
					t.Errorf("allowed %d, want 39,000", n.MilesAllowed)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := leaseEndInput()
			tt.edit(&in)
			n, err := ComputeLeaseEnd(in)
			if err != nil {
				t.Fatalf("ComputeLeaseEnd: %v", err)
			}
			tt.check(t, n)
		})
	}
}

func TestComputeLeaseEndRejects(t *testing.T) {
	for name, edit := range map[string]func(*LeaseEndInput){
		"no term":         func(in *LeaseEndInput) { in.TermMonths = 0 },
		"negative fee":    func(in *LeaseEndInput) { in.DispositionFee = -1 },
		"absurd odometer": func(in *LeaseEndInput) { in.Odometer[0].Miles = maxMiles + 1 },
	} {
		t.Run(name, func(t *testing.T) {
			in := leaseEndInput()
			edit(&in)
			if _, err := ComputeLeaseEnd(in); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

// TestLeaseEndWordingFollowsDaysLeft: the notice's advice is what can
// still be done with the days left, whatever threshold sent it.
func TestLeaseEndWordingFollowsDaysLeft(t *testing.T) {
	tests := []struct {
		days      int
		want      []string
		forbidden []string
	}{
		{90, []string{"in 90 days", "by November 5, 2026, 30 days before"}, []string{"today"}},
		{31, []string{"in 31 days", "by November 5, 2026"}, nil},
		{30, []string{"in 30 days", "inspection this week", "with our partner now"}, []string{"30 days before"}},
		{5, []string{"in 5 days", "inspection this week"}, []string{"30 days before", "by November"}},
		{4, []string{"in 4 days", "no longer time for a pre-return inspection"}, []string{"30 days before", "Schedule"}},
		{1, []string{"in 1 day", "no longer time"}, []string{"1 days", "30 days before"}},
		{0, []string{"ends today, December 5, 2026", "return the vehicle to a dealer today", "Return it today"}, []string{"in 0 days", "30 days before", "on or before"}},
		{-3, []string{"ended on December 5, 2026, 3 days ago", "return it to a dealer now", "Return it now"}, []string{"in -3", "30 days before", "on or before"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.days), func(t *testing.T) {
			in := leaseEndInput()
			in.InspectionContact = "our partner"
			in.NoticeDate = in.MaturityDate.AddDays(-tt.days)
			in.Odometer = nil
			n, err := ComputeLeaseEnd(in)
			if err != nil {
				t.Fatal(err)
			}
			if n.DaysToMaturity != tt.days {
				t.Errorf("days to maturity %d, want %d", n.DaysToMaturity, tt.days)
			}
			text := n.Intro + "\n" + strings.Join(n.InspectionSteps, "\n")
			for _, o := range n.Options {
				text += "\n" + o.Text
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("notice does not say %q:\n%s", w, text)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(text, f) {
					t.Errorf("notice says %q with %d days left:\n%s", f, tt.days, text)
				}
			}
		})
	}
}

// TestLeaseEndMileageArithmetic: the printed rows add up from delivery:
// driven so far + projected = projected driven; minus the allowance = the
// excess; times the rate = the charge.
func TestLeaseEndMileageArithmetic(t *testing.T) {
	n, err := ComputeLeaseEnd(leaseEndInput())
	if err != nil {
		t.Fatal(err)
	}
	want := []MileageRow{
		{Label: "Odometer at delivery, December 5, 2023", Value: "12"},
		{Label: "Latest reading, August 27, 2026", Value: "36,512"},
		{Label: "Miles driven since delivery (36,512 - 12)", Value: "36,500"},
		{Label: "Daily rate: 36,500 miles in the 996 days from delivery to August 27, 2026", Value: "36.65 a day"},
		{Label: "Projected for the 100 days to maturity (100 x 36,500 / 996)", Value: "3,665"},
		{Label: "Projected miles driven by maturity (36,500 + 3,665)", Value: "40,165"},
		{Label: "Miles allowed (12,000 a year for 36 months)", Value: "36,000"},
		{Label: "Projected excess miles (40,165 - 36,000)", Value: "4,165", Total: true},
		{Label: "Projected excess charge (4,165 x $0.25 a mile)", Value: "$1,041.25", Total: true},
	}
	if len(n.Mileage) != len(want) {
		t.Fatalf("%d mileage rows, want %d: %+v", len(n.Mileage), len(want), n.Mileage)
	}
	for i := range want {
		if n.Mileage[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, n.Mileage[i], want[i])
		}
	}
	if n.MilesDriven != 36_500 || n.ProjectedMilesDriven != 40_165 || n.ProjectedOdometer != 40_177 || n.ProjectedExcessMiles != 4_165 {
		t.Errorf("figures: driven %d projected %d odometer %d excess %d", n.MilesDriven, n.ProjectedMilesDriven, n.ProjectedOdometer, n.ProjectedExcessMiles)
	}
}
