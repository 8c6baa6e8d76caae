package statements

import (
	"errors"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

var d = civil.MustParse

func loanInput() StatementInput {
	return StatementInput{
		AccountID: "L-1001",
		Customer: Customer{Name: "Ana Müller", Address: Address{
			Line1: "12 Elm St", City: "Columbus", State: "OH", PostalCode: "43004"}},
		Terms: Terms{
			Kind: KindLoan, Vehicle: "2024 Honda Civic", TermMonths: 60,
			FirstDueDate: d("2024-01-10"), DueDay: 10, MonthlyPayment: 450_00,
			MaturityDate: d("2028-12-10"), LateFee: 25_00, GraceDays: 10,
			APRBasisPoints: 730,
		},
		CycleStart:     d("2026-10-16"),
		CycleEnd:       d("2026-11-15"),
		Opening:        Opening{Principal: 18_250_00},
		PriorDueDate:   d("2026-11-10"),
		PriorAmountDue: 450_00,
		Autopay:        Autopay{Active: true, MaskedAccount: "****6789", DaysBeforeDue: 2},
	}
}

func leaseInput() StatementInput {
	return StatementInput{
		AccountID: "S-2002",
		Customer:  Customer{Name: "Trần Đức Thắng", Address: Address{Line1: "9 Bolsa Ave", City: "Westminster", State: "CA", PostalCode: "92683"}},
		Terms: Terms{
			Kind: KindLease, Vehicle: "2023 Toyota RAV4", TermMonths: 36,
			FirstDueDate: d("2024-01-05"), DueDay: 5, MonthlyPayment: 389_00, MonthlyTax: 29_18,
			MaturityDate: d("2026-12-05"), LateFee: 30_00, GraceDays: 10,
			MileageAllowancePerYear: 12000, StartOdometer: 12,
		},
		CycleStart:     d("2026-10-11"),
		CycleEnd:       d("2026-11-10"),
		PriorDueDate:   d("2026-11-05"),
		PriorAmountDue: 418_18,
		Transactions:   []Transaction{{PostedOn: d("2026-11-03"), Kind: TxPayment, Amount: 418_18}},
		Odometer: []OdometerReading{
			{On: d("2024-06-01"), Miles: 8_100},
			{On: d("2026-10-20"), Miles: 33_950},
			{On: d("2025-06-01"), Miles: 19_400},
		},
	}
}

func mustCompute(t *testing.T, in StatementInput) Statement {
	t.Helper()
	s, err := ComputeStatement(in)
	if err != nil {
		t.Fatalf("ComputeStatement: %v", err)
	}
	// The summary always adds up.
	sum := s.PreviousBalance - s.PaymentsReceived + s.ReturnedPayments + s.FeesCharged + s.InterestCharged + s.Adjustments
	if sum != s.NewBalance {
		t.Errorf("summary: previous %s - payments %s + returned %s + fees %s + interest %s + adj %s = %s, new balance %s",
			s.PreviousBalance, s.PaymentsReceived, s.ReturnedPayments, s.FeesCharged, s.InterestCharged, s.Adjustments, sum, s.NewBalance)
	}
	var lines money.Cents
	for _, l := range s.Lines {
		lines += l.Amount
	}
	if s.PreviousBalance+lines != s.NewBalance {
		t.Errorf("lines sum to %s, want %s", lines, s.NewBalance-s.PreviousBalance)
	}
	if s.Loan != nil && s.Loan.Principal+s.Loan.AccruedInterest+s.FeesDue > s.NewBalance+s.PastDue+s.FeesCharged {
		t.Errorf("loan buckets exceed the balance")
	}
	return s
}

func TestDailyInterest(t *testing.T) {
	tests := []struct {
		name      string
		principal money.Cents
		bps       int
		want      money.Cents
	}{
		{"zero principal", 0, 730, 0},
		{"zero rate", 10_000_00, 0, 0},
		// 10,000.00 x 7.30% / 365 = 2.00 exactly.
		{"exact", 10_000_00, 730, 2_00},
		// 18,250.00 x 7.30% / 365 = 3.65.
		{"exact 2", 18_250_00, 730, 3_65},
		// 1,000.00 x 6.49% / 365 = 0.177808... -> 0.18
		{"rounds up", 1_000_00, 649, 18},
		// 1,000.00 x 5.84% / 365 = 0.16 exactly; 1,003.125 is not cents, so
		// test the half: 0.5 cent = principal x bps / 3,650,000.
		// 1825 cents x 1000 bps / 3,650,000 = 0.5 -> 1 (half up).
		{"half up", 18_25, 1000, 1},
		{"just under half", 18_24, 1000, 0},
		// Largest allowed principal at 100%: no overflow.
		{"huge", maxAmount, 100_00, 27_397_260_274},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dailyInterest(tt.principal, tt.bps); got != tt.want {
				t.Errorf("dailyInterest(%d, %d) = %d, want %d", tt.principal, tt.bps, got, tt.want)
			}
		})
	}
}

func TestComputeStatementLoan(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*StatementInput)
		check func(*testing.T, Statement)
	}{
		{
			name: "full payment on time",
			edit: func(in *StatementInput) {
				in.Transactions = []Transaction{{PostedOn: d("2026-11-08"), Kind: TxPayment, Amount: 450_00}}
			},
			check: func(t *testing.T, s Statement) {
				// 23 days (Oct 16..Nov 7) on 18,250.00 at 3.65/day, then 8
				// days on 17,800.00 + 0 accrued... the payment posted Nov 8
				// pays the 83.95 accrued first, then 366.05 principal.
				wantAccruedBefore := money.Cents(23 * 3_65)
				if s.Loan.InterestPaid != wantAccruedBefore {
					t.Errorf("interest paid %s, want %s", s.Loan.InterestPaid, wantAccruedBefore)
				}
				if s.Loan.PrincipalPaid != 450_00-wantAccruedBefore {
					t.Errorf("principal paid %s", s.Loan.PrincipalPaid)
				}
				p := money.Cents(18_250_00 - (450_00 - 23*3_65))
				day := dailyInterest(p, 730)
				if s.InterestCharged != 23*3_65+8*day {
					t.Errorf("interest %s, want %s", s.InterestCharged, 23*3_65+8*day)
				}
				if s.PastDue != 0 || s.AmountDue != 450_00 || s.DueDate != d("2026-12-10") {
					t.Errorf("past due %s, due %s on %s", s.PastDue, s.AmountDue, s.DueDate)
				}
				if s.Autopay.DebitOn != d("2026-12-08") || s.Autopay.Amount != 450_00 {
					t.Errorf("autopay %+v", s.Autopay)
				}
				if len(s.Lines) != 2 || s.Lines[0].Amount != -450_00 {
					t.Errorf("lines %+v", s.Lines)
				}
			},
		},
		{
			name: "payments go to fees, then interest, then principal",
			edit: func(in *StatementInput) {
				in.Opening.FeesDue = 25_00
				in.Opening.AccruedInterest = 10_00
				in.Transactions = []Transaction{{PostedOn: d("2026-10-16"), Kind: TxPayment, Amount: 30_00}}
			},
			check: func(t *testing.T, s Statement) {
				if s.Loan.FeesPaid != 25_00 || s.Loan.InterestPaid != 5_00 || s.Loan.PrincipalPaid != 0 {
					t.Errorf("split fees %s interest %s principal %s", s.Loan.FeesPaid, s.Loan.InterestPaid, s.Loan.PrincipalPaid)
				}
			},
		},
		{
			name: "partial payment leaves past due and a late fee",
			edit: func(in *StatementInput) {
				in.PriorDueDate = d("2026-10-20")
				in.Transactions = []Transaction{{PostedOn: d("2026-10-25"), Kind: TxPayment, Amount: 200_00}}
			},
			check: func(t *testing.T, s Statement) {
				if s.FeesCharged != 25_00 {
					t.Fatalf("fees %s, want the late fee", s.FeesCharged)
				}
				var fee *Line
				for i := range s.Lines {
					if s.Lines[i].Kind == TxLateFee {
						fee = &s.Lines[i]
					}
				}
				if fee == nil || fee.Date != d("2026-10-31") {
					t.Fatalf("late fee line %+v, want on 2026-10-31 (due 10-20 + 10 grace days + 1)", fee)
				}
				if s.PastDue != 250_00 {
					t.Errorf("past due %s, want 250.00", s.PastDue)
				}
				if s.AmountDue != 250_00+25_00+450_00 {
					t.Errorf("amount due %s, want past due + fee + installment", s.AmountDue)
				}
				if !hasMessage(s, "past due by $250.00") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "payment inside the grace period: no late fee",
			edit: func(in *StatementInput) {
				in.PriorDueDate = d("2026-10-20")
				in.Transactions = []Transaction{{PostedOn: d("2026-10-30"), Kind: TxPayment, Amount: 450_00}}
			},
			check: func(t *testing.T, s Statement) {
				if s.FeesCharged != 0 || s.PastDue != 0 {
					t.Errorf("fees %s past due %s", s.FeesCharged, s.PastDue)
				}
			},
		},
		{
			name: "late fee already posted is not charged twice",
			edit: func(in *StatementInput) {
				in.PriorDueDate = d("2026-10-20")
				in.Transactions = []Transaction{{PostedOn: d("2026-10-31"), Kind: TxLateFee, Amount: 25_00}}
			},
			check: func(t *testing.T, s Statement) {
				if s.FeesCharged != 25_00 {
					t.Errorf("fees %s", s.FeesCharged)
				}
			},
		},
		{
			name: "returned payment re-adds the amount with a fee and a message",
			edit: func(in *StatementInput) {
				in.PriorDueDate = d("2026-10-20")
				in.Transactions = []Transaction{
					{PostedOn: d("2026-10-20"), Kind: TxPayment, Amount: 450_00},
					{PostedOn: d("2026-10-23"), Kind: TxReturnedPayment, Amount: 450_00, Description: "Payment returned: R01 insufficient funds"},
					{PostedOn: d("2026-10-23"), Kind: TxReturnedPaymentFee, Amount: 15_00},
				}
			},
			check: func(t *testing.T, s Statement) {
				if s.ReturnedPayments != 450_00 || s.PastDue != 450_00 {
					t.Errorf("returned %s past due %s", s.ReturnedPayments, s.PastDue)
				}
				// The late fee follows: the return left the due date unpaid.
				if s.FeesCharged != 15_00+25_00 {
					t.Errorf("fees %s, want returned payment fee + late fee", s.FeesCharged)
				}
				if !hasMessage(s, "was returned unpaid") {
					t.Errorf("messages %q", s.Messages)
				}
				if s.Lines[1].Description != "Payment returned: R01 insufficient funds" || s.Lines[1].Amount != 450_00 {
					t.Errorf("line %+v", s.Lines[1])
				}
			},
		},
		{
			name: "paid-off loan",
			edit: func(in *StatementInput) {
				in.Opening.Principal = 300_00
				in.Opening.AccruedInterest = 1_20
				in.PriorAmountDue = 301_20
				in.Transactions = []Transaction{{PostedOn: d("2026-10-16"), Kind: TxPayment, Amount: 301_20, Description: "Payoff"}}
			},
			check: func(t *testing.T, s Statement) {
				if !s.Loan.PaidOff || s.NewBalance != 0 || s.AmountDue != 0 || s.InterestCharged != 0 {
					t.Errorf("paid off %v balance %s due %s interest %s", s.Loan.PaidOff, s.NewBalance, s.AmountDue, s.InterestCharged)
				}
				if s.Autopay.Amount != 0 || !s.Autopay.DebitOn.IsZero() {
					t.Errorf("autopay scheduled on a paid-off loan: %+v", s.Autopay)
				}
				if !hasMessage(s, "paid in full") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "overpayment is a credit balance",
			edit: func(in *StatementInput) {
				in.Opening.Principal = 100_00
				in.Transactions = []Transaction{{PostedOn: d("2026-10-16"), Kind: TxPayment, Amount: 150_00}}
			},
			check: func(t *testing.T, s Statement) {
				if s.NewBalance != -50_00 || s.AmountDue != 0 || !hasMessage(s, "credit balance of $50.00") {
					t.Errorf("balance %s due %s messages %q", s.NewBalance, s.AmountDue, s.Messages)
				}
			},
		},
		{
			name: "last installment is capped at the balance",
			edit: func(in *StatementInput) {
				in.Opening.Principal = 120_00
				in.PriorDueDate = civil.Date{}
				in.PriorAmountDue = 0
			},
			check: func(t *testing.T, s Statement) {
				if s.AmountDue != s.NewBalance || s.AmountDue >= 450_00 {
					t.Errorf("amount due %s, balance %s", s.AmountDue, s.NewBalance)
				}
			},
		},
		{
			name: "zero amounts",
			edit: func(in *StatementInput) {
				in.Opening = Opening{}
				in.Terms.MonthlyPayment = 0
				in.PriorAmountDue = 0
			},
			check: func(t *testing.T, s Statement) {
				if s.NewBalance != 0 || s.AmountDue != 0 || s.InterestCharged != 0 {
					t.Errorf("balance %s due %s", s.NewBalance, s.AmountDue)
				}
			},
		},
		{
			name: "huge amounts",
			edit: func(in *StatementInput) {
				in.Opening.Principal = maxAmount
				in.Terms.APRBasisPoints = 100_00
				in.Terms.MonthlyPayment = maxAmount
				in.PriorAmountDue = maxAmount
				in.Transactions = []Transaction{{PostedOn: d("2026-10-20"), Kind: TxPayment, Amount: maxAmount}}
			},
			check: func(t *testing.T, s Statement) {
				if s.NewBalance <= 0 || s.InterestCharged <= 0 {
					t.Errorf("balance %s interest %s", s.NewBalance, s.InterestCharged)
				}
			},
		},
		{
			name: "autopay off",
			edit: func(in *StatementInput) { in.Autopay = Autopay{} },
			check: func(t *testing.T, s Statement) {
				if s.Autopay.Active || !strings.Contains(s.Autopay.Message, "Autopay is off") {
					t.Errorf("autopay %+v messages %q", s.Autopay, s.Messages)
				}
			},
		},
		{
			name: "fixed autopay amount short of the amount due",
			edit: func(in *StatementInput) {
				in.Autopay.Amount = 400_00
			},
			check: func(t *testing.T, s Statement) {
				if s.Autopay.Amount != 400_00 || !strings.Contains(s.Autopay.Message, "remaining $") {
					t.Errorf("autopay %+v messages %q", s.Autopay, s.Messages)
				}
			},
		},
		{
			name: "NOC applied",
			edit: func(in *StatementInput) { in.NOCAccount = "****4321" },
			check: func(t *testing.T, s Statement) {
				if !hasMessage(s, "ending ****4321") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "negative adjustment credits the principal",
			edit: func(in *StatementInput) {
				in.Transactions = []Transaction{{PostedOn: d("2026-10-16"), Kind: TxAdjustment, Amount: -50_00, Description: "Goodwill credit"}}
			},
			check: func(t *testing.T, s Statement) {
				if s.Adjustments != -50_00 || s.Loan.Principal != 18_200_00 {
					t.Errorf("adjustments %s principal %s", s.Adjustments, s.Loan.Principal)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loanInput()
			tt.edit(&in)
			tt.check(t, mustCompute(t, in))
		})
	}
}

func TestInterestAcrossLeapDay(t *testing.T) {
	// 2028 is a leap year. A cycle over Feb 29 accrues 29 days (Feb 15 ..
	// Mar 14), each at principal x APR / 365; the leap day is one more day,
	// and the divisor stays 365.
	in := loanInput()
	in.Opening.Principal = 36_500_00 // 36,500.00 x 10% / 365 = 10.00 a day
	in.Terms.APRBasisPoints = 10_00
	in.CycleStart, in.CycleEnd = d("2028-02-15"), d("2028-03-14")
	in.PriorDueDate, in.PriorAmountDue = civil.Date{}, 0
	s := mustCompute(t, in)
	if s.Loan.InterestDays != 29 || s.InterestCharged != 29*10_00 {
		t.Errorf("leap cycle: %d days, interest %s; want 29 days, $290.00", s.Loan.InterestDays, s.InterestCharged)
	}
	// The same dates a year earlier have no Feb 29: 28 days.
	in.CycleStart, in.CycleEnd = d("2027-02-15"), d("2027-03-14")
	s = mustCompute(t, in)
	if s.Loan.InterestDays != 28 || s.InterestCharged != 28*10_00 {
		t.Errorf("common cycle: %d days, interest %s; want 28 days, $280.00", s.Loan.InterestDays, s.InterestCharged)
	}
}

func TestDueDayClampedInFebruary(t *testing.T) {
	tests := []struct {
		cycleEnd string
		dueDay   int
		want     string
	}{
		{"2026-01-31", 31, "2026-02-28"},
		{"2028-01-31", 31, "2028-02-29"},
		{"2026-02-28", 31, "2026-03-31"},
		{"2026-02-28", 30, "2026-03-30"},
		{"2026-01-15", 10, "2026-02-10"},
		{"2026-01-15", 20, "2026-01-20"},
		{"2026-12-20", 5, "2027-01-05"},
	}
	for _, tt := range tests {
		t.Run(tt.cycleEnd+"/"+tt.want, func(t *testing.T) {
			in := loanInput()
			in.CycleEnd = d(tt.cycleEnd)
			in.CycleStart = in.CycleEnd.AddDays(-27)
			in.Terms.DueDay = tt.dueDay
			in.PriorDueDate, in.PriorAmountDue = civil.Date{}, 0
			s := mustCompute(t, in)
			if s.DueDate != d(tt.want) {
				t.Errorf("due date %s, want %s", s.DueDate, tt.want)
			}
		})
	}
}

func TestCycleDay31InFebruary(t *testing.T) {
	// Cycle day 31 ends February's cycle on the 28th: Jan 31 + 1 .. Feb 28.
	end := d("2026-02-01").OnDay(31)
	in := loanInput()
	in.CycleStart, in.CycleEnd = d("2026-02-01"), end
	in.Terms.DueDay = 31
	in.PriorDueDate, in.PriorAmountDue = civil.Date{}, 0
	s := mustCompute(t, in)
	if s.CycleEnd != d("2026-02-28") || s.Loan.InterestDays != 28 || s.DueDate != d("2026-03-31") {
		t.Errorf("cycle end %s, %d days, due %s", s.CycleEnd, s.Loan.InterestDays, s.DueDate)
	}
}

func TestComputeStatementLease(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*StatementInput)
		check func(*testing.T, Statement)
	}{
		{
			name: "paid on time, lease end near",
			edit: func(*StatementInput) {},
			check: func(t *testing.T, s Statement) {
				if s.NewBalance != 0 || s.PastDue != 0 || s.DueDate != d("2026-12-05") {
					t.Errorf("balance %s past due %s due date %s", s.NewBalance, s.PastDue, s.DueDate)
				}
				if s.Lease.RemainingPayments != 1 || s.AmountDue != 418_18 {
					t.Errorf("remaining %d amount due %s", s.Lease.RemainingPayments, s.AmountDue)
				}
				if s.Lease.MileageAllowanceTotal != 36000 || s.Lease.LatestOdometer == nil || s.Lease.LatestOdometer.Miles != 33_950 {
					t.Errorf("mileage %+v", s.Lease)
				}
				if !hasMessage(s, "lease ends on December 5, 2026 (in 25 days)") || !hasMessage(s, "final scheduled lease payment") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "after the last payment: nothing more is billed",
			edit: func(in *StatementInput) {
				in.CycleStart, in.CycleEnd = d("2026-11-11"), d("2026-12-10")
				in.PriorDueDate = d("2026-12-05")
				in.Transactions = []Transaction{{PostedOn: d("2026-12-01"), Kind: TxPayment, Amount: 418_18}}
			},
			check: func(t *testing.T, s Statement) {
				if s.Lease.RemainingPayments != 0 || s.AmountDue != 0 || s.CurrentInstallment != 0 {
					t.Errorf("remaining %d due %s", s.Lease.RemainingPayments, s.AmountDue)
				}
			},
		},
		{
			name: "missed payment",
			edit: func(in *StatementInput) {
				in.CycleStart, in.CycleEnd = d("2026-09-11"), d("2026-10-10")
				in.PriorDueDate = d("2026-09-05")
				in.Transactions = nil
			},
			check: func(t *testing.T, s Statement) {
				// Due Sep 5, grace ends Sep 15: fee on Sep 16.
				if s.FeesCharged != 30_00 || s.PastDue != 418_18 || s.AmountDue != 418_18+30_00+418_18 {
					t.Errorf("fees %s past due %s amount due %s", s.FeesCharged, s.PastDue, s.AmountDue)
				}
				if s.Lease.RemainingPayments != 2 {
					t.Errorf("remaining %d", s.Lease.RemainingPayments)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := leaseInput()
			tt.edit(&in)
			tt.check(t, mustCompute(t, in))
		})
	}
}

func TestComputeStatementRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*StatementInput)
	}{
		{"kind", func(in *StatementInput) { in.Terms.Kind = "mortgage" }},
		{"cycle backwards", func(in *StatementInput) { in.CycleEnd = in.CycleStart.AddDays(-1) }},
		{"due day", func(in *StatementInput) { in.Terms.DueDay = 32 }},
		{"negative payment", func(in *StatementInput) {
			in.Transactions = []Transaction{{PostedOn: d("2026-10-20"), Kind: TxPayment, Amount: -1}}
		}},
		{"unknown kind", func(in *StatementInput) {
			in.Transactions = []Transaction{{PostedOn: d("2026-10-20"), Kind: "refund", Amount: 1}}
		}},
		{"outside the cycle", func(in *StatementInput) {
			in.Transactions = []Transaction{{PostedOn: d("2026-11-16"), Kind: TxPayment, Amount: 1}}
		}},
		{"full account number", func(in *StatementInput) { in.Autopay.MaskedAccount = "000123456789" }},
		{"too large", func(in *StatementInput) { in.Opening.Principal = maxAmount + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loanInput()
			tt.edit(&in)
			if _, err := ComputeStatement(in); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("err = %v, want ErrInvalidInput", err)
			}
		})
	}
}

func hasMessage(s Statement, sub string) bool {
	for _, m := range s.Messages {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}
