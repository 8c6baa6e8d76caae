package jobs

import (
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
)

// TestPickTargetAmbiguous: a return whose trace names two payments of the
// same account and amount, neither returned yet, is held for a person
// with both named, never applied to the newer by guess; one already
// returned leaves the other; a NOC (the bank account's, the same for
// both) still applies.
func TestPickTargetAmbiguous(t *testing.T) {
	const number, routing = "123456789", "011000015"
	sha, rdfi := ach.AccountNumberSHA256(number), routing[:8]
	cand := func(id int64, on string, returned bool) ledger.ReturnTarget {
		return ledger.ReturnTarget{PaymentID: id, Kind: "debit", Amount: 61709, OriginatedOn: civil.MustParse(on),
			OriginatedRouting: routing, OriginatedNumber: number, Returned: returned}
	}
	on := civil.MustParse("2027-03-02")
	for _, tc := range []struct {
		name        string
		cands       []ledger.ReturnTarget
		checkAmount bool
		want        int64
		problem     string
	}{
		{"one payment", []ledger.ReturnTarget{cand(2, "2027-03-01", false)}, true, 2, ""},
		{"two alike, neither returned", []ledger.ReturnTarget{cand(20707, "2027-03-01", false), cand(8885, "2027-02-01", false)}, true, 20707, "also names payment 8885"},
		{"the newer returned already", []ledger.ReturnTarget{cand(20707, "2027-03-01", true), cand(8885, "2027-02-01", false)}, true, 8885, ""},
		{"a NOC", []ledger.ReturnTarget{cand(20707, "2027-03-01", false), cand(8885, "2027-02-01", false)}, false, 20707, ""},
		{"one after the return's day", []ledger.ReturnTarget{cand(30001, "2027-03-05", false), cand(20707, "2027-03-01", false)}, true, 20707, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, problem, ok := pickTarget(tc.cands, tc.checkAmount, money.Cents(61709), sha, "6789", rdfi, on)
			if !ok || got.PaymentID != tc.want {
				t.Fatalf("picked %d (ok %v), want %d", got.PaymentID, ok, tc.want)
			}
			if (tc.problem == "") != (problem == "") || !strings.Contains(problem, tc.problem) {
				t.Fatalf("problem %q, want %q", problem, tc.problem)
			}
		})
	}
}
