package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/redact"
)

// statementsBench is what `drafter bench statements` reports.
type statementsBench struct {
	Documents    int     `json:"documents"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"per_second"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
}

// benchStatements measures the statements job end to end (select, render,
// store, record, queue) on a fresh scratch data dir: it generates and
// imports a portfolio of n accounts (not timed), then times one statements
// run. By default every active account is treated as due on the date (the
// job's AllAccounts mode), so the run renders about n statements; --cycle
// runs only the accounts whose cycle ends on the date, as the nightly job
// does (about n/30).
func (c *BenchCommand) benchStatements(ctx context.Context, args []string) error {
	fs := newFlagSet("bench statements", "bench statements --accounts N [--date YYYY-MM-DD] [--cycle] [--json]\n\n"+
		"Runs on a fresh scratch data dir: SQLite by default, PostgreSQL when\n"+
		"DRAFTER_DATABASE_URL names a database (it must be empty and migrated).\n"+
		"Documents go to DRAFTER_STORAGE_URL (default a folder in the scratch dir).\n"+
		"GOMAXPROCS sets the rendering workers.")
	n := fs.Int("accounts", 5000, "accounts in the generated portfolio")
	date := fs.String("date", "2026-11-30", "statement date (and the portfolio's as-of date)")
	cycle := fs.Bool("cycle", false, "only accounts whose cycle ends on --date, instead of every account")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON (keys documents, seconds, per_second, peak_rss_bytes)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	d, err := parseDate("date", *date)
	if err != nil {
		return usageError{err}
	}
	if *n < 1 {
		return usageErrorf("--accounts %d: want at least 1", *n)
	}
	scratch, err := os.MkdirTemp("", "drafter-bench-statements-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	c.dataDir = scratch
	a, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close()
	file := filepath.Join(scratch, "portfolio.jsonl")
	if err := generateTo(file, portfolio.GenerateOptions{Accounts: *n, Seed: 7, AsOf: d}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	if _, err := importFile(ctx, a, file, false, ""); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	a.log = a.log.Level(zerolog.WarnLevel)
	env := a.env()
	jobs.ResetPeakRSS() // the peak of the run, not of the import before it
	cpu0 := cpuTime()
	start := time.Now()
	res, err := env.Start(ctx, jobs.Statements{AllAccounts: !*cycle}, jobs.StartSpec{Date: d, Trigger: "bench", TriggeredBy: "bench"})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	sum := res.Summary.(*jobs.DocumentSummary)
	out := statementsBench{Documents: sum.Stored, Seconds: secs, PerSecond: float64(sum.Stored) / secs, PeakRSSBytes: jobs.PeakRSS()}
	if c.jsonOut {
		return printJSON(out)
	}
	fmt.Printf("statements: %d documents (%d failed) in %.2f s, %.0f per second, peak RSS %d MiB; CPU %.2f s (%.2f ms a document); GOMAXPROCS %d, %s, %s\n",
		out.Documents, sum.Failed, out.Seconds, out.PerSecond, out.PeakRSSBytes>>20, cpu, 1000*cpu/float64(max(out.Documents, 1)),
		runtime.GOMAXPROCS(0), a.store.Dialect(), redact.URL(a.cfg.StorageURL))
	return nil
}

// cpuTime is the CPU time (user and system) the process has used, or zero
// where getrusage is not available: on a shared machine it says more than
// wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
