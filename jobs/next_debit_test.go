package jobs_test

import (
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// TestNextAutopayDebit: the debit a document announces is origination's:
// the schedule's draft date (lead days, moved back over weekends and
// holidays), the enrollment's amount, and the installment policy with the
// one-time payments of the installment's window.
func TestNextAutopayDebit(t *testing.T) {
	d := civil.MustParse
	enrollment := func(dueDay int, edit func(*ledger.AutopayEnrollment)) ledger.AutopayEnrollment {
		e := ledger.AutopayEnrollment{ID: "AP-1", AccountID: "L-1", StartsOn: d("2025-02-10"), MonthlyPayment: 735_47,
			FirstDueOn: d("2025-02-01").OnDay(dueDay), DueDay: dueDay, MaturityOn: d("2030-01-01").OnDay(dueDay)}
		if edit != nil {
			edit(&e)
		}
		return e
	}
	opened := d("2025-01-05")
	tests := []struct {
		name    string
		e       ledger.AutopayEnrollment
		oneTime []ledger.OneTimePayment
		asOf    civil.Date
		sched   jobs.AutopaySchedule
		want    jobs.NextDebit
		ok      bool
	}{
		{name: "the monthly payment on the due date", e: enrollment(10, nil), asOf: d("2026-11-20"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "the enrollment's fixed amount, not the payment", e: enrollment(10, func(e *ledger.AutopayEnrollment) { e.Amount = 825_00 }), asOf: d("2026-11-20"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 825_00, Scheduled: 825_00}, ok: true},
		{name: "lease: payment plus tax", e: enrollment(10, func(e *ledger.AutopayEnrollment) { e.MonthlyTax = 52_10 }), asOf: d("2026-11-20"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 787_57, Scheduled: 787_57}, ok: true},
		{name: "the configured lead days when the enrollment has none", e: enrollment(10, nil), asOf: d("2026-11-20"), sched: jobs.AutopaySchedule{LeadDays: 2},
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-08")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "the enrollment's own lead days win", e: enrollment(10, func(e *ledger.AutopayEnrollment) { e.DaysBeforeDue = 3 }), asOf: d("2026-11-20"), sched: jobs.AutopaySchedule{LeadDays: 2},
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-07")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "a Sunday due date after Christmas drafts the Thursday before", e: enrollment(27, nil), asOf: d("2026-12-01"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-27"), DraftOn: d("2026-12-24")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "drafted already: the next month's", e: enrollment(10, nil), asOf: d("2026-12-10"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2027-01-10"), DraftOn: d("2027-01-08")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "a one-time payment of the installment reduces the debit", e: enrollment(10, nil), asOf: d("2026-11-20"),
			oneTime: []ledger.OneTimePayment{{DebitOn: d("2026-11-25"), Amount: 200_00}, {DebitOn: d("2026-11-10"), Amount: 900_00}, {DebitOn: d("2026-12-11"), Amount: 900_00}},
			want:    jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 535_47, Scheduled: 735_47, OneTime: 200_00}, ok: true},
		{name: "one covering the installment leaves nothing to debit", e: enrollment(10, nil), asOf: d("2026-11-20"),
			oneTime: []ledger.OneTimePayment{{DebitOn: d("2026-12-10"), Amount: 800_00}},
			want:    jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 0, Scheduled: 735_47, OneTime: 800_00}, ok: true},
		{name: "debit-both ignores it", e: enrollment(10, nil), asOf: d("2026-11-20"), sched: jobs.AutopaySchedule{Policy: jobs.DebitBoth},
			oneTime: []ledger.OneTimePayment{{DebitOn: d("2026-12-10"), Amount: 800_00}},
			want:    jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2026-12-10"), DraftOn: d("2026-12-10")}, Amount: 735_47, Scheduled: 735_47, OneTime: 800_00}, ok: true},
		{name: "not before the enrollment starts", e: enrollment(10, func(e *ledger.AutopayEnrollment) { e.StartsOn = d("2027-01-10") }), asOf: d("2026-11-20"),
			want: jobs.NextDebit{Installment: jobs.Installment{DueOn: d("2027-01-10"), DraftOn: d("2027-01-08")}, Amount: 735_47, Scheduled: 735_47}, ok: true},
		{name: "after the last installment: none", e: enrollment(10, nil), asOf: d("2030-01-10")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sched.Calendar = jobs.NewCachedCalendar()
			got, ok := jobs.NextAutopayDebit(tt.e, opened, tt.oneTime, tt.asOf, tt.sched)
			if ok != tt.ok || got != tt.want {
				t.Errorf("NextAutopayDebit = %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
			if ok {
				// The same date and amount origination's functions give.
				lead := tt.e.DaysBeforeDue
				if lead == 0 {
					lead = tt.sched.LeadDays
				}
				if dr := jobs.DraftDate(got.DueOn, lead, tt.sched.Calendar); dr != got.DraftOn {
					t.Errorf("draft date %s, DraftDate says %s", got.DraftOn, dr)
				}
				if amt := jobs.AutopayAmount(tt.e.Amount, tt.e.MonthlyPayment, tt.e.MonthlyTax); amt != got.Scheduled {
					t.Errorf("scheduled %s, AutopayAmount says %s", got.Scheduled, amt)
				}
			}
		})
	}
}
