package ach

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// TestReturnPolicyTableIsComplete walks every code R00-R99: a code is in
// drafter's table exactly when moov-io/ach knows it, and every entry is
// fully described.
func TestReturnPolicyTableIsComplete(t *testing.T) {
	codeRE := regexp.MustCompile(`^R\d\d$`)
	categories := map[ReturnCategory]bool{CategoryNSF: true, CategoryAdministrative: true, CategoryUnauthorized: true, CategoryOther: true}
	kinds := map[ReturnKind]bool{KindReturn: true, KindDishonored: true, KindContested: true}

	for i := 0; i < 100; i++ {
		code := fmt.Sprintf("R%02d", i)
		p, ok := ReturnPolicy(code)
		if known := moov.LookupReturnCode(code) != nil; known != ok {
			t.Errorf("%s: moov-io/ach knows it = %v, drafter's table has it = %v", code, known, ok)
		}
		if !ok {
			continue
		}
		if p.Code != code || !codeRE.MatchString(p.Code) {
			t.Errorf("%s: policy code %q", code, p.Code)
		}
		if strings.TrimSpace(p.Title) == "" || strings.TrimSpace(p.Reason) == "" || strings.TrimSpace(p.Why) == "" {
			t.Errorf("%s: title %q, reason %q, why %q: all are required", code, p.Title, p.Reason, p.Why)
		}
		if !categories[p.Category] {
			t.Errorf("%s: category %q is not one of nsf, administrative, unauthorized, other", code, p.Category)
		}
		if !kinds[p.Kind] {
			t.Errorf("%s: kind %q", code, p.Kind)
		}
		if strings.HasSuffix(p.Reason, ".") || p.Reason != strings.ToLower(p.Reason[:1])+p.Reason[1:] {
			t.Errorf("%s: reason %q should read inside a sentence (lowercase start, no period)", code, p.Reason)
		}
	}
	for _, must := range []string{"R01", "R36", "R53", "R61", "R62", "R67", "R70", "R71", "R77", "R85"} {
		if _, ok := ReturnPolicy(must); !ok {
			t.Errorf("%s missing from the table", must)
		}
	}
	if got := len(ReturnPolicies()); got != len(returnPolicyByCode) {
		t.Errorf("ReturnPolicies has %d entries, index %d", got, len(returnPolicyByCode))
	}
}

// TestReturnPolicyRules checks the rules DESIGN.md states over the whole
// table, so a new row cannot break them unnoticed.
func TestReturnPolicyRules(t *testing.T) {
	represent := []string{"R01", "R09"}
	for _, p := range ReturnPolicies() {
		t.Run(p.Code, func(t *testing.T) {
			inRepresent := slices.Contains(represent, p.Code)
			if p.Represent != inRepresent || p.FeeEligible != inRepresent {
				t.Errorf("represent %v, fee %v: only R01 and R09 are re-presented and fee eligible", p.Represent, p.FeeEligible)
			}
			if (p.Category == CategoryNSF) != inRepresent {
				t.Errorf("category %s: nsf is exactly R01 and R09", p.Category)
			}
			unauthorized := slices.Contains(unauthorizedReturnCodes, p.Code)
			if (p.Category == CategoryUnauthorized) != unauthorized {
				t.Errorf("category %s: unauthorized is exactly %v", p.Category, unauthorizedReturnCodes)
			}
			if unauthorized && (!p.StopAutopay || !p.FlagForReview || p.Represent) {
				t.Errorf("unauthorized code must stop autopay, flag, never represent: %+v", p)
			}
			if slices.Contains(administrativeReturnCodes, p.Code) &&
				(p.Category != CategoryAdministrative || !p.InvalidateBankAccount || !p.StopAutopay) {
				t.Errorf("R02-R04 must be administrative, invalidate the account and stop autopay: %+v", p)
			}
			if p.InvalidateBankAccount && !p.StopAutopay {
				t.Error("an invalid bank account cannot keep autopay")
			}
			if p.InvalidateBankAccount && !p.NeedsNewAuthorization {
				t.Error("a new bank account needs a new authorization")
			}
			wantKind := KindReturn
			switch {
			case moov.IsDishonoredReturnCode(p.Code):
				wantKind = KindDishonored
			case moov.IsContestedReturnCode(p.Code):
				wantKind = KindContested
			}
			if p.Kind != wantKind {
				t.Errorf("kind %s, moov-io/ach parses it as %s", p.Kind, wantKind)
			}
			if p.Kind != KindReturn && (!p.Exception || p.NotifyCustomer || p.StopAutopay || p.InvalidateBankAccount) {
				t.Errorf("dishonored and contested returns go to a person and touch nothing: %+v", p)
			}
			if p.NotifyCustomer != (p.Kind == KindReturn && !p.Exception) {
				t.Errorf("notify %v: the customer is told about every plain return a person does not hold back", p.NotifyCustomer)
			}
		})
	}
}

// TestReturnPolicyActions pins the action of the codes drafter sees most.
func TestReturnPolicyActions(t *testing.T) {
	type act struct{ represent, fee, invalidate, stop, newAuth, flag, exception bool }
	tests := []struct {
		code string
		cat  ReturnCategory
		want act
	}{
		{"R01", CategoryNSF, act{represent: true, fee: true}},
		{"R09", CategoryNSF, act{represent: true, fee: true}},
		{"R02", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R03", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R04", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R12", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R13", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R20", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true}},
		{"R28", CategoryAdministrative, act{invalidate: true, stop: true, newAuth: true, exception: true}},
		{"R05", CategoryUnauthorized, act{stop: true, newAuth: true, flag: true}},
		{"R07", CategoryUnauthorized, act{stop: true, newAuth: true, flag: true}},
		{"R10", CategoryUnauthorized, act{stop: true, newAuth: true, flag: true}},
		{"R11", CategoryUnauthorized, act{stop: true, flag: true}},
		{"R29", CategoryUnauthorized, act{stop: true, newAuth: true, flag: true}},
		{"R51", CategoryUnauthorized, act{stop: true, newAuth: true, flag: true}},
		{"R08", CategoryOther, act{stop: true, newAuth: true}},
		{"R06", CategoryOther, act{exception: true}},
		{"R14", CategoryOther, act{invalidate: true, stop: true, newAuth: true, flag: true, exception: true}},
		{"R15", CategoryOther, act{invalidate: true, stop: true, newAuth: true, flag: true, exception: true}},
		{"R16", CategoryOther, act{stop: true, flag: true, exception: true}},
		{"R17", CategoryOther, act{flag: true, exception: true}},
		{"R24", CategoryOther, act{flag: true, exception: true}},
		{"R36", CategoryOther, act{exception: true}},
		{"R62", CategoryOther, act{exception: true}},
		{"R68", CategoryOther, act{exception: true}},
		{"R77", CategoryOther, act{exception: true}},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			p, ok := ReturnPolicy(tt.code)
			if !ok {
				t.Fatal("not in the table")
			}
			got := act{p.Represent, p.FeeEligible, p.InvalidateBankAccount, p.StopAutopay, p.NeedsNewAuthorization, p.FlagForReview, p.Exception}
			if got != tt.want || p.Category != tt.cat {
				t.Errorf("got %s %+v, want %s %+v", p.Category, got, tt.cat, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "R00", "R48", "R63", "R78", "R99", "r01", "C01", "R1"} {
		if _, ok := ReturnPolicy(bad); ok {
			t.Errorf("ReturnPolicy(%q) found a policy", bad)
		}
	}
}

func TestCorrectionPolicy(t *testing.T) {
	for i := 0; i < 100; i++ {
		code := fmt.Sprintf("C%02d", i)
		p, ok := CorrectionPolicy(code)
		if known := moov.LookupChangeCode(code) != nil; known != ok {
			t.Errorf("%s: moov-io/ach knows it = %v, drafter's table has it = %v", code, known, ok)
		}
		if !ok {
			continue
		}
		var want CorrectionAction
		switch {
		case code == "C04" || code == "C08" || code == "C13" || code == "C14":
			want = CorrectionReview
		case i <= 9:
			want = CorrectionApply
		case i >= 61 && i <= 69:
			want = CorrectionRefused
		}
		if p.Action != want {
			t.Errorf("%s: action %q, want %q", code, p.Action, want)
		}
		if p.Action == CorrectionRefused != moov.IsRefusedChangeCode(code) {
			t.Errorf("%s: refused %v disagrees with moov-io/ach", code, p.Action == CorrectionRefused)
		}
		if p.Code != code || p.Title == "" || p.Fields == "" || p.Why == "" {
			t.Errorf("%s: incomplete %+v", code, p)
		}
	}
	if got := len(CorrectionPolicies()); got != len(correctionPolicyByCode) {
		t.Errorf("CorrectionPolicies has %d entries, index %d", got, len(correctionPolicyByCode))
	}
}

func TestRepresentmentDecision(t *testing.T) {
	settled := civil.MustParse("2026-03-02")
	tests := []struct {
		name     string
		code     string
		attempts int
		returned civil.Date
		want     bool
		reason   string // a fragment of the reason
	}{
		{"first R01", "R01", 1, settled.AddDays(2), true, "retry 1 of 2"},
		{"second R01", "R01", 2, settled.AddDays(20), true, "retry 2 of 2"},
		{"third R01 schedules nothing", "R01", 3, settled.AddDays(40), false, "no retries left"},
		{"fourth attempt", "R09", 4, settled.AddDays(40), false, "no retries left"},
		{"R09 retries", "R09", 1, settled.AddDays(3), true, "must settle by 2026-08-29"},
		{"day 180 still retries", "R01", 1, settled.AddDays(180), true, "retry 1 of 2"},
		{"day 181 schedules nothing", "R01", 1, settled.AddDays(181), false, "181 days after"},
		{"R07 never", "R07", 1, settled.AddDays(2), false, "never re-presented"},
		{"R08 never", "R08", 1, settled.AddDays(2), false, "never re-presented"},
		{"R02 never", "R02", 1, settled.AddDays(2), false, "never re-presented"},
		{"unknown code", "R99", 1, settled.AddDays(2), false, "not a return code"},
		{"zero attempts", "R01", 0, settled.AddDays(2), false, "at least one"},
		{"return before settlement", "R01", 1, settled.AddDays(-1), false, "before the original settlement"},
		{"no return date", "R01", 1, civil.Date{}, false, "both needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := RepresentmentDecision(tt.code, tt.attempts, settled, tt.returned)
			if ok != tt.want || !strings.Contains(reason, tt.reason) {
				t.Errorf("RepresentmentDecision = %v, %q; want %v and a reason containing %q", ok, reason, tt.want, tt.reason)
			}
		})
	}
	if got := RepresentmentDeadline(settled); got != civil.MustParse("2026-08-29") {
		t.Errorf("RepresentmentDeadline = %s", got)
	}
}

// TestReturnsDocIsCurrent keeps docs/returns.md in step with the tables:
// it fails when the file differs from what the code says, and -update
// rewrites it.
func TestReturnsDocIsCurrent(t *testing.T) {
	const path = "../docs/returns.md"
	want := policyDocMarkdown()
	if *inboundUpdate {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date with ach/policy.go; run go test ./ach/ -run TestReturnsDocIsCurrent -update", path)
	}
}

func policyDocMarkdown() string {
	var b strings.Builder
	yes := func(v bool) string {
		if v {
			return "yes"
		}
		return "no"
	}
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	b.WriteString(`# Returns and notifications of change

What drafter does with each entry its bank sends back. This file is generated
from ` + "`ach/policy.go` and `ach/rates.go`" + ` by
` + "`go test ./ach/ -run TestReturnsDocIsCurrent -update`" + `; a test fails when it
is out of date, so change the code, not this file.

## Return codes

Every return code NACHA defines, and R90 (accepted by moov-io/ach and sent by
some banks). An inbound file with any other code is rejected whole, before
anything is applied, and becomes an exception.

Actions:

- **re-present**: schedule a retry (see Re-presentment below).
- **invalidate account**: mark the bank account invalid; nothing is originated
  to it again.
- **stop autopay**: end the autopay enrollment on that bank account.
- **new authorization**: no debit until the customer signs a new authorization.
- **flag**: flag the loan or lease account for a person to review.
- **exception**: the return needs a person; nothing else happens by itself.

Category is one of nsf, administrative (the account data is wrong),
unauthorized (the customer disputes the debit) and other. Kind says which
Addenda 99 layout the code arrives in: return (from the RDFI), dishonored
(the ODFI refuses a return) or contested (the RDFI answers a dishonor).
"Email" says whether the customer gets the payment-returned email with the
reason shown.

| Code | Title | Category | Kind | Action | Re-presented | Fee | Email | Customer reason | Why |
|---|---|---|---|---|---|---|---|---|---|
`)
	for _, p := range ReturnPolicies() {
		var acts []string
		for _, a := range []struct {
			on   bool
			name string
		}{
			{p.Represent, "re-present"}, {p.InvalidateBankAccount, "invalidate account"}, {p.StopAutopay, "stop autopay"},
			{p.NeedsNewAuthorization, "new authorization"}, {p.FlagForReview, "flag"}, {p.Exception, "exception"},
		} {
			if a.on {
				acts = append(acts, a.name)
			}
		}
		if len(acts) == 0 {
			acts = []string{"none"}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			p.Code, cell(p.Title), p.Category, p.Kind, strings.Join(acts, ", "), yes(p.Represent), yes(p.FeeEligible),
			yes(p.NotifyCustomer), cell(p.Reason), cell(p.Why))
	}
	fmt.Fprintf(&b, `
## Re-presentment

Only R01 and R09 are re-presented. A payment is presented at most %d times
(the original and %d retries), and a retry must settle within %d days of the
original entry's settlement date: a return processed on day %d can still
schedule one if it settles that day (same-day ACH); a return on day %d
schedules nothing. Each retry goes in its own batch with Company Entry Description
`+"`RETRY PYMT`"+`, with the same company name, company ID and amount as the
original. R07 and the other unauthorized codes are never retried; R08 needs
a new authorization first. `+"`ach.RepresentmentDecision`"+` gives the answer and
the reason in words.

## Returned-payment fee

Only after R01 or R09 (fee eligible above), one fee per return, and only
where the contract and the state allow it and the customer was told in
advance. The policy table says a fee may apply; the contract sets the fee,
and the lender's table of state caps (`+"`DRAFTER_RETURNED_FEE_CAPS`"+`, such as
`+"`CA=15.00,TX=30`"+`) lowers it for a contract governed by a capped state: the
fee charged is the lower of the two (`+"`ach.ReturnedPaymentFee`"+`), and a cap
of zero charges none. drafter ships no caps: state law changes, and the
lender's counsel keeps the table.

## Notifications of change

A NOC must be applied within six banking days of receiving it or before the
next entry to that account, whichever is later.

| Code | Title | Action | Corrected data | Why |
|---|---|---|---|---|
`, MaxPresentments, MaxPresentments-1, RepresentmentWindowDays, RepresentmentWindowDays, RepresentmentWindowDays+1)
	for _, p := range CorrectionPolicies() {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Code, cell(p.Title), p.Action, cell(p.Fields), cell(p.Why))
	}
	fmt.Fprintf(&b, `
C10 to C12 (company name and identification changes, for entries to
companies) are not in the table: moov-io/ach does not accept them and drafter
originates no such entries, so a file carrying one is rejected whole and a
person takes it up with the bank.

## Return-rate thresholds

Measured over the last 60 days against the debit entries originated in them
(`+"`ach.ReturnRates`"+`). A return counts on the day the bank sent it, the
creation date in its return file's header, even when the file was applied
later (after an outage). A rate is exceeded when it is above the threshold (at
the threshold is not above) and warns past half of it. The decision is made in
integers (returns x 10,000 against threshold in basis points x debits).

| Rate | Return codes counted | Threshold | Warning past |
|---|---|---|---|
`)
	r := ReturnRates(1, nil)
	for _, rate := range []Rate{r.Unauthorized, r.Administrative, r.Overall} {
		codes := strings.Join(rate.Codes, ", ")
		if codes == "" {
			codes = "every return (not dishonored or contested ones)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rate.Name, codes, policyDocPercent(rate.ThresholdBP), policyDocPercent(rate.ThresholdBP/2))
	}
	b.WriteString(`
Administrative here is NACHA's narrow set (R02, R03, R04); the
administrative category in the table above is wider (R12, R13, R20, R28 are
also account-data problems) but only these three count toward the 3%.
`)
	return b.String()
}

func policyDocPercent(bp int) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", bp/100, bp%100), "0"), ".") + "%"
}

func TestReturnedPaymentFee(t *testing.T) {
	caps := map[string]money.Cents{"CA": 15_00, "NY": 0, "TX": 30_00}
	tests := []struct {
		name     string
		contract money.Cents
		state    string
		caps     map[string]money.Cents
		want     money.Cents
		capped   bool
	}{
		{"no table", 25_00, "CA", nil, 25_00, false},
		{"state without a cap", 25_00, "DE", caps, 25_00, false},
		{"cap below the contract's fee", 25_00, "CA", caps, 15_00, true},
		{"cap of zero: no fee", 25_00, "NY", caps, 0, true},
		{"cap above the contract's fee", 25_00, "TX", caps, 25_00, false},
		{"cap equal to the fee", 15_00, "CA", caps, 15_00, false},
		{"state spelled loosely", 25_00, " ca ", caps, 15_00, true},
		{"no state on the contract", 25_00, "", caps, 25_00, false},
		{"contract without a fee", 0, "CA", caps, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, capped := ReturnedPaymentFee(tt.contract, tt.state, tt.caps)
			if got != tt.want || capped != tt.capped {
				t.Errorf("ReturnedPaymentFee(%s, %q) = %s, %v; want %s, %v", tt.contract, tt.state, got, capped, tt.want, tt.capped)
			}
		})
	}
}
