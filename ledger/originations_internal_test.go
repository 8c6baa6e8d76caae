package ledger

import (
	"slices"
	"testing"
)

// TestByPayment: a copy in payment id order, every allocation whole, the
// caller's slice as it was.
func TestByPayment(t *testing.T) {
	in := []Allocation{{PaymentID: 30, TraceNumber: "c"}, {PaymentID: 10, TraceNumber: "a"}, {PaymentID: 20, TraceNumber: "b"}, {PaymentID: 5, TraceNumber: "z"}}
	before := slices.Clone(in)
	var got []Allocation
	for _, a := range byPayment(in) {
		got = append(got, *a)
	}
	want := []Allocation{{PaymentID: 5, TraceNumber: "z"}, {PaymentID: 10, TraceNumber: "a"}, {PaymentID: 20, TraceNumber: "b"}, {PaymentID: 30, TraceNumber: "c"}}
	if !slices.Equal(got, want) {
		t.Fatalf("byPayment = %v, want %v", got, want)
	}
	if !slices.Equal(in, before) {
		t.Fatalf("the caller's allocations changed: %v", in)
	}
	if got := byPayment(nil); len(got) != 0 {
		t.Fatalf("byPayment(nil) = %v", got)
	}
}
