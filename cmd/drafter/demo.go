package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/redact"
)

// DemoCommand makes a data dir, generates and imports a demo portfolio and
// runs the nightly cycle on it.
type DemoCommand struct{ common }

// Run implements command.
func (c *DemoCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("demo", "demo [--accounts N] [--date YYYY-MM-DD] [--seed S]\n\n"+
		"Makes the data folder (and its key file) when there is none, generates a\n"+
		"demo portfolio, imports it, runs the nightly cycle on it, plays the bank\n"+
		"(returns and NOCs) and the next morning's email, and prints a summary.")
	c.register(fs)
	n := fs.Int("accounts", 2000, "accounts in the demo portfolio")
	date := fs.String("date", "", "business date of the nightly cycle (default today in DRAFTER_ZONE)")
	seed := fs.Int64("seed", 1, "portfolio seed")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *n < 1 {
		return usageErrorf("--accounts %d: want at least 1", *n)
	}
	var day civil.Date
	if *date != "" {
		var err error
		if day, err = parseDate("date", *date); err != nil {
			return usageError{err}
		}
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	d := civil.Of(time.Now().In(cfg.Zone))
	if *date != "" {
		d = day
	}
	a, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close()
	start := time.Now()
	// The portfolio holds every account number in plain text: it is
	// generated outside the data folder (which is backed up) and deleted
	// once imported; the same seed generates it again.
	tmp, err := os.MkdirTemp("", "drafter-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, fmt.Sprintf("portfolio-%s-%d-%d.jsonl", d, *n, *seed))
	if err := generateTo(file, portfolio.GenerateOptions{Accounts: *n, Seed: *seed, AsOf: d}); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	rep, err := importFile(ctx, a, file, false, "")
	if err != nil {
		return fmt.Errorf("import %s: %w", file, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("delete the demo portfolio %s: %w", file, err)
	}
	// Earlier demos left their portfolio in the data folder.
	old, _ := filepath.Glob(filepath.Join(a.cfg.DataDir, "portfolio-*-*-*.jsonl"))
	for _, f := range old {
		if err := os.Remove(f); err == nil {
			fmt.Printf("deleted %s, the plain-text portfolio an earlier demo left in the data folder\n", f)
		}
	}
	env := a.env()
	fmt.Printf("drafter demo: business date %s, data in %s\n", d, a.cfg.DataDir)
	fmt.Printf("portfolio: %d accounts (%s, generated outside the data folder and deleted once imported)\n", rep.Imported, filepath.Base(file))
	for _, name := range nightly {
		res, err := env.Start(ctx, registry()[name], jobs.StartSpec{Date: d, Trigger: "demo", TriggeredBy: "demo"})
		if errors.Is(err, ledger.ErrRunCompleted) {
			fmt.Printf("%s: already ran for %s (see `drafter runs`)\n", name, d)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		printRunLine(res.Run)
		printSummary(res.Summary)
	}
	// The bank answers the night's files with returns and NOCs, applied on
	// the next banking day.
	if err := simulateBank(ctx, env, d, *seed); err != nil {
		return err
	}
	// The next morning's email: the "payment returned" messages.
	next := env.Calendar.NextBankingDay(d)
	res, err := env.Start(ctx, registry()["deliver"], jobs.StartSpec{Date: next, Trigger: "demo", TriggeredBy: "demo"})
	switch {
	case errors.Is(err, ledger.ErrRunCompleted):
		fmt.Printf("deliver: already ran for %s (see `drafter runs`)\n", next)
	case err != nil:
		return fmt.Errorf("deliver: %w", err)
	default:
		printRunLine(res.Run)
		printSummary(res.Summary)
	}
	fmt.Printf("documents and NACHA files: %s\n", redact.URL(a.cfg.StorageURL))
	fmt.Printf("email pickup folder:       %s\n", redact.URL(a.cfg.MailURL))
	fmt.Printf("done in %s\n", time.Since(start).Round(time.Millisecond))
	printDemoTour(ctx, a)
	return nil
}
