package jobs

import (
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
)

// Crashpoints end the process abruptly at the Nth write a job commits, the
// way a power cut or a SIGKILL would: no deferred function runs, nothing is
// flushed. Crash tests set DRAFTER_CRASH_AT=N in a child process and run the
// job again after it dies. Production never sets it.
type Crashpoints struct {
	at   int64
	seen atomic.Int64
	// fault, when set, is called at the chosen write instead of ending
	// the process: the simulation's way to drop the database connection
	// at a write.
	fault func(what string)
}

// NewFaultpoint returns crashpoints that call fault at the at-th write
// (once) instead of ending the process.
func NewFaultpoint(at int64, fault func(what string)) *Crashpoints {
	return &Crashpoints{at: at, fault: fault}
}

// CrashExitCode is the exit code of a process ended by a crashpoint.
const CrashExitCode = 86

// CrashpointsFromEnv reads DRAFTER_CRASH_AT; nil when unset.
func CrashpointsFromEnv() *Crashpoints {
	v := os.Getenv("DRAFTER_CRASH_AT")
	n, err := strconv.ParseInt(v, 10, 64)
	if v == "" || err != nil || n <= 0 {
		return nil
	}
	return &Crashpoints{at: n}
}

// Hit counts a write and ends the process when it is the chosen one.
func (c *Crashpoints) Hit(what string) {
	if c.seen.Add(1) == c.at {
		if c.fault != nil {
			c.fault(what)
			return
		}
		fmt.Fprintf(os.Stderr, "crashpoint %d: exiting after %s\n", c.at, what)
		os.Exit(CrashExitCode)
	}
}
