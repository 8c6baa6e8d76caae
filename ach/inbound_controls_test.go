package ach

import (
	"strings"
	"testing"
)

// TestParseInboundControls: every count and total of the batch and file
// controls is checked against the records, each refused with its line,
// the control's field and what the records add up to; a NOC entry with a
// forward transaction code is refused like a return's. (returns.ach: the
// first batch control is line 9, the file control line 38.)
func TestParseInboundControls(t *testing.T) {
	ret := func(n int, at int, with string) []byte {
		return inboundEdit(t, "returns.ach", n, inboundSplice(at, with))
	}
	for _, tc := range []struct {
		name    string
		data    []byte
		line    int
		field   string
		problem string
	}{
		{"batch entry/addenda count", ret(9, 4, "000005"), 9, "batch control entry/addenda count", "says 5; the records add up to 6"},
		{"batch entry hash", ret(9, 10, "0006300007"), 9, "batch control entry hash", "says 6300007; the records add up to 6300006"},
		{"batch total debit", ret(9, 20, "000000084118"), 9, "batch control total debit amount", "says $841.18; the entries add up to $841.17"},
		{"batch total credit", ret(9, 32, "000000000001"), 9, "batch control total credit amount", "says $0.01; the entries add up to $0.00"},
		{"file batch count", ret(38, 1, "000007"), 38, "file control batch count", "says 7 batches; the file has 6"},
		{"file block count", ret(38, 7, "000003"), 38, "file control block count", "says 3 blocks"},
		{"file entry/addenda count", ret(38, 13, "00000025"), 38, "file control entry/addenda count", "says 25; the records add up to 24"},
		{"file entry hash", ret(38, 21, "0025200025"), 38, "file control entry hash", "says 25200025; the records add up to 25200024"},
		{"file total debit", ret(38, 31, "000000366859"), 38, "file control total debit amount", "says $3,668.59; the entries add up to $3,668.58"},
		{"file total credit", ret(38, 43, "000000000100"), 38, "file control total credit amount", "says $1.00; the entries add up to $0.00"},
		{"file count not digits", ret(38, 13, "0000002X"), 38, "file control entry/addenda count", `"0000002X" is not digits`},
		{"NOC entry with a forward debit code", inboundEdit(t, "noc.ach", 3, inboundSplice(1, "27")), 3, "entry transaction code", "27 is not a return or NOC code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pe := inboundExpectError(t, tc.data, tc.line, tc.field)
			if pe.Field != tc.field || !strings.Contains(pe.Problem, tc.problem) {
				t.Errorf("got field %q problem %q, want field %q problem containing %q", pe.Field, pe.Problem, tc.field, tc.problem)
			}
			if strings.Contains(pe.Problem, "constructor") || strings.Contains(pe.Problem, "mandatory") {
				t.Errorf("problem %q is not in drafter's words", pe.Problem)
			}
		})
	}
}
