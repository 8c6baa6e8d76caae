package jobs

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Crashpoints end the process abruptly at the Nth write a job commits, the
// way a power cut or a SIGKILL would: no deferred function runs, nothing is
// flushed. Crash tests set DRAFTER_CRASH_AT=N in a child process and run the
// job again after it dies. Production never sets it.
//
// A test may also stall a process at a named write instead:
// DRAFTER_STALL_AT=WHAT (or WHAT#N, its Nth time) with
// DRAFTER_STALL_FILE=F stops there, creates F.stalled, and goes on once F
// exists: the way the cancel tests act while a run is between two writes.
type Crashpoints struct {
	at   int64
	seen atomic.Int64

	stallAt   string
	stallN    int64
	stallFile string
	stalls    atomic.Int64

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
	c := &Crashpoints{}
	v := os.Getenv("DRAFTER_CRASH_AT")
	if n, err := strconv.ParseInt(v, 10, 64); v != "" && err == nil && n > 0 {
		c.at = n
	}
	if what, file := os.Getenv("DRAFTER_STALL_AT"), os.Getenv("DRAFTER_STALL_FILE"); what != "" && file != "" {
		c.stallAt, c.stallN, c.stallFile = what, 1, file
		if w, n, ok := strings.Cut(what, "#"); ok {
			if k, err := strconv.ParseInt(n, 10, 64); err == nil && k > 0 {
				c.stallAt, c.stallN = w, k
			}
		}
	}
	if c.at == 0 && c.stallAt == "" {
		return nil
	}
	return c
}

// Hit counts a write and ends the process when it is the chosen one, or
// stalls it there.
func (c *Crashpoints) Hit(what string) {
	if c.seen.Add(1) == c.at {
		if c.fault != nil {
			c.fault(what)
			return
		}
		fmt.Fprintf(os.Stderr, "crashpoint %d: exiting after %s\n", c.at, what)
		os.Exit(CrashExitCode)
	}
	if c.stallAt == what && c.stalls.Add(1) == c.stallN {
		fmt.Fprintf(os.Stderr, "stalled after %s #%d until %s exists\n", what, c.stallN, c.stallFile)
		_ = os.WriteFile(c.stallFile+".stalled", nil, 0o600)
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(c.stallFile); err == nil {
				return
			}
		}
	}
}
