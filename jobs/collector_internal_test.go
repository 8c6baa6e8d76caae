package jobs

import (
	"os"
	"runtime/debug"
	"testing"
)

// TestCollectLess: a pass raises the collector's target and puts it back
// when the last of overlapping passes ends; a GOGC the operator set stands.
func TestCollectLess(t *testing.T) {
	for _, v := range []string{"GOGC", "GOMEMLIMIT"} {
		if _, set := os.LookupEnv(v); set {
			t.Skipf("%s is set in this environment: collectLess leaves the collector alone, by design", v)
		}
	}
	percent := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	before, beforeLimit := percent(), limit()
	defer debug.SetGCPercent(before)
	defer debug.SetMemoryLimit(beforeLimit)
	a := collectLess()
	if got := percent(); got != passGCPercent {
		t.Fatalf("during a pass: GOGC %d, want %d", got, passGCPercent)
	}
	if got := limit(); got != passMemoryLimit {
		t.Fatalf("during a pass: memory limit %d, want %d", got, passMemoryLimit)
	}
	b := collectLess()
	a()
	a() // twice changes nothing
	if got := percent(); got != passGCPercent {
		t.Fatalf("one of two overlapping passes ended: GOGC %d, want %d still", got, passGCPercent)
	}
	b()
	if got, gotLimit := percent(), limit(); got != before || gotLimit != beforeLimit {
		t.Fatalf("after both: GOGC %d, memory limit %d; want %d and %d back", got, gotLimit, before, beforeLimit)
	}
	t.Setenv("GOGC", "150")
	debug.SetGCPercent(150)
	c := collectLess()
	if got := percent(); got != 150 {
		t.Fatalf("with GOGC set by the operator: %d, want 150 kept", got)
	}
	c()
	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC")
	t.Setenv("GOMEMLIMIT", "1GiB")
	if c := collectLess(); percent() != 150 || limit() != beforeLimit {
		t.Fatalf("with GOMEMLIMIT set by the operator: GOGC %d, memory limit %d; want both left alone", percent(), limit())
	} else {
		c()
	}
}
