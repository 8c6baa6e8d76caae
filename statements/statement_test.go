package statements

import (
	"errors"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

var d = civil.MustParse

// loanInput is a loan whose cycle reconciles: 18,250.00 at the previous
// statement, an autopay payment of 450.00 and the servicing system's posted
// interest of 111.37 make the record's 17,911.37.
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
		CycleStart:      d("2026-10-16"),
		CycleEnd:        d("2026-11-15"),
		PreviousBalance: 18_250_00,
		Transactions: []Transaction{
			{PostedOn: d("2026-11-08"), Kind: TxPayment, Amount: 450_00, Description: "Autopay payment"},
			{PostedOn: d("2026-11-15"), Kind: TxInterest, Amount: 111_37, Description: "Interest"},
		},
		Record:  Record{Balance: 17_911_37, Principal: 17_800_00},
		Autopay: AutopayDebit{Active: true, MaskedAccount: "****6789", DueOn: d("2026-12-10"), DebitOn: d("2026-12-08"), Amount: 450_00},
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
		CycleStart:      d("2026-10-11"),
		CycleEnd:        d("2026-11-10"),
		PreviousBalance: 2 * 418_18,
		Record:          Record{Balance: 418_18, Principal: 389_00},
		Transactions:    []Transaction{{PostedOn: d("2026-11-03"), Kind: TxPayment, Amount: 418_18}},
		Odometer: []OdometerReading{
			{On: d("2024-06-01"), Miles: 8_100},
			{On: d("2026-10-20"), Miles: 33_950},
			{On: d("2025-06-01"), Miles: 19_400},
		},
	}
}

// mustCompute computes a statement that must reconcile and checks that its
// summary and its lines both add up to the record's balance.
func mustCompute(t *testing.T, in StatementInput) Statement {
	t.Helper()
	s, err := ComputeStatement(in)
	if err != nil {
		t.Fatalf("ComputeStatement: %v", err)
	}
	sum := s.PreviousBalance - s.PaymentsReceived + s.ReturnedPayments + s.FeesCharged + s.InterestCharged + s.Adjustments
	if sum != s.NewBalance || s.NewBalance != in.Record.Balance {
		t.Errorf("summary: previous %s - payments %s + returned %s + fees %s + interest %s + adj %s = %s, new balance %s, record %s",
			s.PreviousBalance, s.PaymentsReceived, s.ReturnedPayments, s.FeesCharged, s.InterestCharged, s.Adjustments, sum, s.NewBalance, in.Record.Balance)
	}
	var lines money.Cents
	for _, l := range s.Lines {
		lines += l.Amount
	}
	if s.PreviousBalance+lines != s.NewBalance {
		t.Errorf("lines sum to %s, want %s", lines, s.NewBalance-s.PreviousBalance)
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
		// 1,000.00 x 6.49% / 365 = 0.177808... -> 0.18
		{"rounds up", 1_000_00, 649, 18},
		// Half a cent = principal x bps / 3,650,000: 1825 x 1000 -> 0.5 -> 1.
		{"half up", 18_25, 1000, 1},
		{"just under half", 18_24, 1000, 0},
		{"huge", maxAmount, 100_00, 27_397_260_274},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DailyInterest(tt.principal, tt.bps); got != tt.want {
				t.Errorf("DailyInterest(%d, %d) = %d, want %d", tt.principal, tt.bps, got, tt.want)
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
			name: "current loan: the record's figures, payoff and late fee",
			edit: func(*StatementInput) {},
			check: func(t *testing.T, s Statement) {
				if s.InterestCharged != 111_37 || s.PaymentsReceived != 450_00 || len(s.Lines) != 2 {
					t.Errorf("interest %s payments %s lines %d: the statement must show the posted interest once, nothing of its own",
						s.InterestCharged, s.PaymentsReceived, len(s.Lines))
				}
				if s.DueDate != d("2026-12-10") || s.AmountDue != 450_00 || s.PastDue != 0 {
					t.Errorf("due %s amount due %s past due %s", s.DueDate, s.AmountDue, s.PastDue)
				}
				ln := s.Loan
				// 17,800.00 x 7.30% / 365 = 3.56 a day; 10 days to Nov 25.
				if ln.PerDiem != 3_56 || ln.PayoffThrough != d("2026-11-25") || ln.Payoff != 17_911_37+10*3_56 {
					t.Errorf("payoff %s through %s per diem %s", ln.Payoff, ln.PayoffThrough, ln.PerDiem)
				}
				// Dec 10, 2026 .. Dec 10, 2028: 25 due dates.
				if ln.RemainingPayments != 25 || ln.MaturityDate != d("2028-12-10") {
					t.Errorf("remaining %d maturity %s", ln.RemainingPayments, ln.MaturityDate)
				}
				if s.LateFee != 25_00 || s.LateFeeAfter != d("2026-12-20") {
					t.Errorf("late fee %s after %s", s.LateFee, s.LateFeeAfter)
				}
				for _, want := range []string{"late fee of $25.00 will be charged", "December 20, 2026",
					"Payoff amount: $17,946.97, good through November 25, 2026", "add $3.56 for each day"} {
					if !hasMessage(s, want) {
						t.Errorf("no message with %q in %q", want, s.Messages)
					}
				}
				if hasMessage(s, "past due") {
					t.Errorf("a current account is told it is past due: %q", s.Messages)
				}
			},
		},
		{
			name: "past due: the record's amount, in the amount due and a message saying what to do",
			edit: func(in *StatementInput) {
				in.Transactions = []Transaction{
					{PostedOn: d("2026-10-21"), Kind: TxLateFee, Amount: 25_00, Description: "Late fee"},
					{PostedOn: d("2026-11-15"), Kind: TxInterest, Amount: 112_00, Description: "Interest"},
				}
				in.Record = Record{Balance: 18_387_00, Principal: 18_250_00, PastDue: 450_00, FeesDue: 25_00}
				in.Autopay = AutopayDebit{}
			},
			check: func(t *testing.T, s Statement) {
				if s.PastDue != 450_00 || s.FeesDue != 25_00 || s.AmountDue != 925_00 {
					t.Errorf("past due %s fees %s amount due %s", s.PastDue, s.FeesDue, s.AmountDue)
				}
				if !hasMessage(s, "Your account is past due: $450.00") || !hasMessage(s, "call us today") {
					t.Errorf("messages %q", s.Messages)
				}
				if !strings.Contains(s.Autopay.Message, "Autopay is off") {
					t.Errorf("autopay %q", s.Autopay.Message)
				}
			},
		},
		{
			name: "returned payment and drafter's fee",
			edit: func(in *StatementInput) {
				in.Transactions = append(in.Transactions,
					Transaction{PostedOn: d("2026-11-10"), Kind: TxReturnedPayment, Amount: 450_00, Description: "Returned payment (R01)"},
					Transaction{PostedOn: d("2026-11-10"), Kind: TxReturnedPaymentFee, Amount: 15_00, Description: "Returned payment fee (R01)"})
				in.Record = Record{Balance: 18_376_37, Principal: 18_250_00, PastDue: 450_00}
			},
			check: func(t *testing.T, s Statement) {
				if s.ReturnedPayments != 450_00 || s.FeesCharged != 15_00 {
					t.Errorf("returned %s fees %s", s.ReturnedPayments, s.FeesCharged)
				}
				if !hasMessage(s, "returned unpaid by your bank") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "paid off: no payoff, no amount due, no late fee",
			edit: func(in *StatementInput) {
				in.PreviousBalance = 450_00
				in.Transactions = []Transaction{{PostedOn: d("2026-11-08"), Kind: TxPayment, Amount: 450_00}}
				in.Record = Record{}
				in.Autopay = AutopayDebit{Active: true, MaskedAccount: "****6789"}
			},
			check: func(t *testing.T, s Statement) {
				if !s.Loan.PaidOff || s.AmountDue != 0 || s.Loan.Payoff != 0 || s.LateFee != 0 {
					t.Errorf("paid off %v amount due %s payoff %s late fee %s", s.Loan.PaidOff, s.AmountDue, s.Loan.Payoff, s.LateFee)
				}
				if !hasMessage(s, "paid in full") || hasMessage(s, "Payoff amount") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "overpayment is a credit balance",
			edit: func(in *StatementInput) {
				in.PreviousBalance = 300_00
				in.Transactions = []Transaction{{PostedOn: d("2026-11-08"), Kind: TxPayment, Amount: 450_00}}
				in.Record = Record{Balance: -150_00, Principal: -150_00}
			},
			check: func(t *testing.T, s Statement) {
				if s.NewBalance != -150_00 || s.AmountDue != 0 || !hasMessage(s, "credit balance of $150.00") {
					t.Errorf("balance %s due %s messages %q", s.NewBalance, s.AmountDue, s.Messages)
				}
			},
		},
		{
			name: "last installment is capped at the balance",
			edit: func(in *StatementInput) {
				in.PreviousBalance = 500_00
				in.Transactions = []Transaction{{PostedOn: d("2026-11-08"), Kind: TxPayment, Amount: 450_00}, {PostedOn: d("2026-11-15"), Kind: TxInterest, Amount: 30}}
				in.Record = Record{Balance: 50_30, Principal: 50_00}
			},
			check: func(t *testing.T, s Statement) {
				if s.AmountDue != 50_30 || s.CurrentInstallment != 50_30 {
					t.Errorf("amount due %s installment %s", s.AmountDue, s.CurrentInstallment)
				}
			},
		},
		{
			name: "autopay amount is printed as given, with what is left to pay",
			edit: func(in *StatementInput) {
				in.Autopay.Amount = 300_00
			},
			check: func(t *testing.T, s Statement) {
				want := "Autopay will debit $300.00 from your account ****6789 on December 8, 2026 for the payment due December 10, 2026. Please pay the remaining $150.00"
				if !strings.HasPrefix(s.Autopay.Message, want) || s.Autopay.Amount != 300_00 || s.Autopay.DebitOn != d("2026-12-08") {
					t.Errorf("autopay %+v", s.Autopay)
				}
			},
		},
		{
			name: "autopay debits nothing when a one-time payment covers the installment",
			edit: func(in *StatementInput) {
				in.Autopay.Amount, in.Autopay.Covered = 0, 450_00
			},
			check: func(t *testing.T, s Statement) {
				if !strings.Contains(s.Autopay.Message, "nothing will be debited for the payment due December 10, 2026") {
					t.Errorf("autopay %q", s.Autopay.Message)
				}
			},
		},
		{
			name: "NOC applied",
			edit: func(in *StatementInput) { in.NOCAccount = "****4321" },
			check: func(t *testing.T, s Statement) {
				if !hasMessage(s, "account ending ****4321") {
					t.Errorf("messages %q", s.Messages)
				}
			},
		},
		{
			name: "negative adjustment credits the balance",
			edit: func(in *StatementInput) {
				in.Transactions = append(in.Transactions, Transaction{PostedOn: d("2026-11-01"), Kind: TxAdjustment, Amount: -11_37})
				in.Record.Balance = 17_900_00
			},
			check: func(t *testing.T, s Statement) {
				if s.Adjustments != -11_37 {
					t.Errorf("adjustments %s", s.Adjustments)
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

// TestComputeStatementHeld: when the previous balance and the cycle's
// transactions do not reach the servicing system's balance, the statement
// is unreconciled, with both figures and the difference.
func TestComputeStatementHeld(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*StatementInput)
		computed money.Cents
		diff     money.Cents
	}{
		{"interest the record has and the transactions do not", func(in *StatementInput) {
			in.Transactions = in.Transactions[:1]
		}, 17_800_00, 111_37},
		{"a payment the record does not have", func(in *StatementInput) {
			in.Transactions = append(in.Transactions, Transaction{PostedOn: d("2026-11-12"), Kind: TxPayment, Amount: 20_00})
		}, 17_891_37, 20_00},
		{"a previous balance that is not the record's", func(in *StatementInput) { in.PreviousBalance += 1 }, 17_911_38, -1},
		{"one cent", func(in *StatementInput) { in.Record.Balance += 1 }, 17_911_37, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loanInput()
			tt.edit(&in)
			_, err := ComputeStatement(in)
			var u *Unreconciled
			if !errors.As(err, &u) || !errors.Is(err, ErrUnreconciled) {
				t.Fatalf("err = %v, want *Unreconciled", err)
			}
			if u.Computed != tt.computed || u.Record != in.Record.Balance || u.Difference != tt.diff || u.Previous != in.PreviousBalance {
				t.Errorf("computed %s record %s difference %s; want computed %s difference %s", u.Computed, u.Record, u.Difference, tt.computed, tt.diff)
			}
			for _, want := range []string{u.Computed.String(), u.Record.String(), u.Difference.String(), "L-1001"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %s", err, want)
				}
			}
		})
	}
}

// TestLateFeeAfter: the fee is charged after the due date plus the grace
// days, across month ends and leap days.
func TestLateFeeAfter(t *testing.T) {
	tests := []struct {
		cycleEnd string
		dueDay   int
		grace    int
		due      string
		after    string
	}{
		{"2026-11-15", 10, 10, "2026-12-10", "2026-12-20"},
		{"2026-12-20", 25, 10, "2026-12-25", "2027-01-04"}, // over the year end
		{"2027-01-31", 31, 10, "2027-02-28", "2027-03-10"}, // Feb 28 in a common year
		{"2028-01-31", 31, 10, "2028-02-29", "2028-03-10"}, // Feb 29 in a leap year
		{"2028-02-10", 20, 10, "2028-02-20", "2028-03-01"}, // the grace period crosses Feb 29
		{"2027-02-10", 20, 10, "2027-02-20", "2027-03-02"}, // and a common February
		{"2026-04-15", 30, 15, "2026-04-30", "2026-05-15"},
		{"2026-04-29", 31, 0, "2026-04-30", "2026-04-30"}, // no grace: the due date itself
		{"2026-01-31", 31, 5, "2026-02-28", "2026-03-05"},
	}
	for _, tt := range tests {
		t.Run(tt.cycleEnd+"/"+tt.due, func(t *testing.T) {
			in := loanInput()
			in.CycleEnd = d(tt.cycleEnd)
			in.CycleStart = in.CycleEnd.AddDays(-27)
			in.Terms.DueDay, in.Terms.GraceDays = tt.dueDay, tt.grace
			in.Transactions = nil
			in.Record.Balance = in.PreviousBalance
			in.Autopay = AutopayDebit{}
			s := mustCompute(t, in)
			if s.DueDate != d(tt.due) || s.LateFeeAfter != d(tt.after) {
				t.Errorf("due %s, late fee after %s; want %s, %s", s.DueDate, s.LateFeeAfter, tt.due, tt.after)
			}
		})
	}
}

// TestPayoff: the per-diem is the record's principal x APR / 365, the
// payoff the record's balance plus PayoffDays of it, also over Feb 29.
func TestPayoff(t *testing.T) {
	tests := []struct {
		name      string
		end       string
		balance   money.Cents
		principal money.Cents
		bps       int
		perDiem   money.Cents
		through   string
	}{
		{"plain", "2026-11-15", 17_911_37, 17_800_00, 730, 3_56, "2026-11-25"},
		{"over Feb 29", "2028-02-25", 10_010_00, 10_000_00, 730, 2_00, "2028-03-06"},
		{"over the year end", "2026-12-28", 26_000_00, 25_906_79, 1789, 12_70, "2027-01-07"},
		{"zero APR", "2026-11-15", 5_000_00, 5_000_00, 0, 0, "2026-11-25"},
		{"credit principal accrues nothing", "2026-11-15", 10_00, -5_00, 730, 0, "2026-11-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := loanInput()
			in.CycleEnd = d(tt.end)
			in.CycleStart = in.CycleEnd.AddDays(-29)
			in.Terms.APRBasisPoints = tt.bps
			in.Transactions = nil
			in.PreviousBalance = tt.balance
			in.Record = Record{Balance: tt.balance, Principal: tt.principal}
			in.Autopay = AutopayDebit{}
			s := mustCompute(t, in)
			ln := s.Loan
			if ln.PerDiem != tt.perDiem || ln.PayoffThrough != d(tt.through) || ln.Payoff != tt.balance+PayoffDays*tt.perDiem {
				t.Errorf("per diem %s through %s payoff %s; want %s, %s, %s", ln.PerDiem, ln.PayoffThrough, ln.Payoff,
					tt.perDiem, tt.through, tt.balance+PayoffDays*tt.perDiem)
			}
		})
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
				if s.NewBalance != 418_18 || s.PastDue != 0 || s.DueDate != d("2026-12-05") {
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
				if s.LateFee != 30_00 || s.LateFeeAfter != d("2026-12-15") {
					t.Errorf("late fee %s after %s", s.LateFee, s.LateFeeAfter)
				}
			},
		},
		{
			name: "after the last payment: nothing more is billed",
			edit: func(in *StatementInput) {
				in.CycleStart, in.CycleEnd = d("2026-11-11"), d("2026-12-10")
				in.PreviousBalance = 418_18
				in.Transactions = []Transaction{{PostedOn: d("2026-12-01"), Kind: TxPayment, Amount: 418_18}}
				in.Record = Record{}
			},
			check: func(t *testing.T, s Statement) {
				if s.Lease.RemainingPayments != 0 || s.AmountDue != 0 || s.CurrentInstallment != 0 || s.LateFee != 0 {
					t.Errorf("remaining %d due %s late fee %s", s.Lease.RemainingPayments, s.AmountDue, s.LateFee)
				}
			},
		},
		{
			name: "missed payment",
			edit: func(in *StatementInput) {
				in.CycleStart, in.CycleEnd = d("2026-09-11"), d("2026-10-10")
				in.PreviousBalance = 3 * 418_18
				in.Transactions = []Transaction{{PostedOn: d("2026-09-16"), Kind: TxLateFee, Amount: 30_00}}
				in.Record = Record{Balance: 3*418_18 + 30_00, PastDue: 418_18, FeesDue: 30_00}
			},
			check: func(t *testing.T, s Statement) {
				if s.FeesCharged != 30_00 || s.PastDue != 418_18 || s.AmountDue != 418_18+30_00+418_18 {
					t.Errorf("fees %s past due %s amount due %s", s.FeesCharged, s.PastDue, s.AmountDue)
				}
				if s.Lease.RemainingPayments != 2 || !hasMessage(s, "past due: $418.18") {
					t.Errorf("remaining %d messages %q", s.Lease.RemainingPayments, s.Messages)
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
		{"too large", func(in *StatementInput) { in.Record.Balance = maxAmount + 1 }},
		{"negative past due", func(in *StatementInput) { in.Record.PastDue = -1 }},
		{"autopay debit without a date", func(in *StatementInput) { in.Autopay.DebitOn = civil.Date{} }},
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
