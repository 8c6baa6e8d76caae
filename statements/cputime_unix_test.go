//go:build unix

package statements

import (
	"syscall"
	"time"
)

// processCPU is the user and system CPU time the process has used, so that
// benchmarks on a shared machine can report CPU per document, which other
// load does not inflate the way it inflates wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
