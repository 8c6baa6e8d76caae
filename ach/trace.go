package ach

import (
	"fmt"
	"strconv"
)

// MaxTraceSequence is the largest sequence a trace number holds: seven digits.
const MaxTraceSequence = 9_999_999

// Trace returns the 15-digit trace number of an entry: the first eight digits
// of the ODFI's routing number followed by seq, zero-padded to seven digits.
// odfiRouting must be a valid nine-digit routing number and seq within
// 1..MaxTraceSequence.
func Trace(odfiRouting string, seq int) (string, error) {
	if err := ValidRouting(odfiRouting); err != nil {
		return "", fmt.Errorf("trace: odfi %w", err)
	}
	if seq < 1 || seq > MaxTraceSequence {
		return "", fmt.Errorf("trace: sequence %d out of range 1..%d", seq, MaxTraceSequence)
	}
	// Formatted by hand: allocation makes one per payment, on the
	// writer's path, and Sprintf cost a fifth of a second a million.
	var b [15]byte
	copy(b[:8], odfiRouting[:8])
	for i := len(b) - 1; i >= 8; i-- {
		b[i] = byte('0' + seq%10)
		seq /= 10
	}
	return string(b[:]), nil
}

// ParseTrace splits a 15-digit trace number into the ODFI's eight-digit
// routing prefix and the sequence. It accepts exactly what Trace returns.
func ParseTrace(trace string) (odfi8 string, seq int, err error) {
	if len(trace) != 15 {
		return "", 0, fmt.Errorf("parse trace %q: want 15 digits, got %d characters", trace, len(trace))
	}
	for i := 0; i < len(trace); i++ {
		if trace[i] < '0' || trace[i] > '9' {
			return "", 0, fmt.Errorf("parse trace %q: want digits only", trace)
		}
	}
	seq, err = strconv.Atoi(trace[8:])
	if err != nil {
		return "", 0, fmt.Errorf("parse trace %q: %w", trace, err)
	}
	if seq < 1 {
		return "", 0, fmt.Errorf("parse trace %q: sequence is zero", trace)
	}
	return trace[:8], seq, nil
}
