package jobs

import (
	"os"
	"runtime/debug"
	"sync"
)

// passGCPercent is the garbage collector's target heap growth while an
// origination pass runs (GOGC; Go's default is 100). The pass's heap is a
// few files' payments, bounded by the file entry limit (the file allocated,
// the next read ahead, one being built and stored), and nearly all it
// allocates dies with its file. Measured at 1,000,000 payments in files of
// 100,000 (BENCHMARKS.md, 2026-12-05): the collector's share of the CPU
// halves, and the run is about a tenth faster.
const passGCPercent = 200

// passMemoryLimit caps the Go heap while the pass runs (GOMEMLIMIT): the
// collector works harder as the heap nears it. With the target doubled and
// no cap, one run's peak RSS reached 896 MiB, too near the 1 GiB the pass
// is held to (SQLite's page caches are beside the Go heap); with this cap
// three runs peaked at 713-725 MiB (566-570 MiB at GOGC 100).
const passMemoryLimit = 512 << 20

// collector sets passGCPercent and passMemoryLimit for as long as any pass holds it, and puts
// the setting back once the last lets go: passes of different business
// dates may overlap in one process (drafter serve).
var collector struct {
	sync.Mutex
	holders int
	before  int
	limit   int64
}

// collectLess raises the collector's target for an origination pass, under
// passMemoryLimit, unless the operator set GOGC or GOMEMLIMIT, whose
// settings stand; the function it returns puts the settings back.
func collectLess() (restore func()) {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	if gogc || limit {
		return func() {}
	}
	collector.Lock()
	defer collector.Unlock()
	if collector.holders == 0 {
		collector.before = debug.SetGCPercent(passGCPercent)
		collector.limit = debug.SetMemoryLimit(passMemoryLimit)
	}
	collector.holders++
	var once sync.Once
	return func() {
		once.Do(func() {
			collector.Lock()
			defer collector.Unlock()
			collector.holders--
			if collector.holders == 0 {
				debug.SetGCPercent(collector.before)
				debug.SetMemoryLimit(collector.limit)
			}
		})
	}
}
