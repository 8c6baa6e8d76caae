package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
)

// BenchCommand measures jobs end to end on a scratch database.
type BenchCommand struct{ common }

// Run implements command.
func (c *BenchCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("bench", "bench originate --payments N [--baseline] [--cpuprofile FILE] [--json]\n"+
		"       drafter bench statements --accounts N [--date YYYY-MM-DD] [--cycle] [--json]\n\n"+
		"Measures a job end to end and prints wall time, throughput and peak memory:\n"+
		"  originate   due payments into NACHA files (--baseline: moov-io/ach alone)\n"+
		"  statements  statements rendered, stored and queued (`drafter bench statements --help`)\n"+
		"Runs on a fresh scratch data dir: SQLite by default, PostgreSQL when\n"+
		"DRAFTER_DATABASE_URL names a database (it must be empty and migrated).")
	payments := fs.Int("payments", 100000, "due payments to originate")
	baseline := fs.Bool("baseline", false, "run the moov-io/ach-only baseline instead, building and writing the same entries")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON (keys payments, seconds, per_second, peak_rss_bytes; settle_seconds: the settling the deliver job does next, not in seconds)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed part to this file (go tool pprof reads it)")
	if len(args) > 0 && args[0] == "statements" {
		return c.benchStatements(ctx, args[1:])
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("which benchmark? want originate or statements (see `drafter bench --help`)")
	case pos[0] != "originate":
		return usageErrorf("unknown benchmark %q: want originate or statements", pos[0])
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	case *payments < 1:
		return usageErrorf("--payments %d: want at least 1", *payments)
	}
	what := pos[0]
	scratch, err := os.MkdirTemp("", "drafter-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	c.dataDir = scratch
	var res jobs.BenchResult
	switch what {
	case "originate":
		d := civil.MustParse("2026-12-01")
		if *baseline {
			res, err = jobs.BenchMoovBaseline(*payments, 100000, scratch)
			break
		}
		a, err := c.open(ctx, true)
		if err != nil {
			return err
		}
		defer a.close()
		if err := jobs.SeedBenchPayments(ctx, a.store, *payments, d); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		a.log = a.log.Level(zerolog.WarnLevel)
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			return err
		}
		res, err = jobs.BenchOriginate(ctx, a.env(), d)
		stop()
		if err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(res)
	}
	fmt.Printf("%s: %d payments in %.2f s, %.0f per second, peak RSS %d MiB (%s)\n", res.Name, res.Payments, res.Seconds, res.PerSecond,
		res.PeakRSSBytes>>20, filepath.Base(scratch))
	if res.SettleSeconds > 0 {
		fmt.Printf("then settling the payment rows (the deliver job's next run): %.2f s\n", res.SettleSeconds)
	}
	return nil
}

// Subcommands implements withSubcommands.
func (c *BenchCommand) Subcommands() []subcommand {
	return []subcommand{{"originate", "due payments into NACHA files"}, {"statements", "statements rendered, stored and queued"}}
}

// startCPUProfile profiles the process into path until the returned stop is
// called; with no path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
