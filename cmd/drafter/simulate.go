package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/sim"
)

// SimulateCommand runs a seeded, deterministic history of nights against a
// fresh ledger and checks every invariant after each night.
type SimulateCommand struct{ common }

// Run implements command.
func (c *SimulateCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("simulate", "simulate --accounts N --days D --seed S [--faults kill,storage,mail,bank,db] [--database-url URL] [--prune] [--cpuprofile FILE] [--json]\n\n"+
		"Runs a lender's history night by night on a fresh ledger (a scratch data dir unless\n"+
		"--data-dir is given; PostgreSQL with --database-url, an empty database): the servicing\n"+
		"system, the bank and the customers are simulated from the seed; drafter's real jobs\n"+
		"run each night; invariants are checked after every night. A broken invariant prints\n"+
		"the seed, the night and the invariant, and exits 1; the same seed reproduces it.")
	c.register(fs)
	accounts := fs.Int("accounts", 2000, "accounts in the portfolio on the first night")
	days := fs.Int("days", 45, "nights to simulate")
	seed := fs.Int64("seed", 1, "the seed of the whole history")
	start := fs.String("start", "2027-01-04", "the first night's business date")
	faults := fs.String("faults", "", "faults to inject, comma-separated: "+strings.Join(sim.AllFaults, ",")+" (or all)")
	dbURL := fs.String("database-url", "", "PostgreSQL database to run on (empty; default SQLite in the data dir)")
	prune := fs.Bool("prune", false, "after each night that holds, delete the mail delivered into the pickup folder and the PDFs of documents sent over --prune-after nights ago (their records stay): a long history fits on a disk")
	pruneAfter := fs.Int("prune-after", sim.DefaultPruneAfter, "with --prune, the nights a stored document is kept (at least 7: past any rerun or backfill of its night)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole history to this file (go tool pprof reads it; the jobs the kill fault runs as child processes are not in it)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	first, err := parseDate("start", *start)
	if err != nil {
		return usageError{err}
	}
	var fl []string
	if *faults == "all" {
		fl = sim.AllFaults
	} else if *faults != "" {
		fl = strings.Split(*faults, ",")
	}
	for _, f := range fl {
		if !slices.Contains(sim.AllFaults, f) {
			return usageErrorf("--faults: unknown fault %q: want some of %s, or all", f, strings.Join(sim.AllFaults, ","))
		}
	}
	if *accounts < 1 || *days < 1 {
		return usageErrorf("--accounts %d --days %d: want at least 1 of each", *accounts, *days)
	}
	if *pruneAfter < 7 {
		return usageErrorf("--prune-after %d: want at least 7 nights, past any rerun or backfill of a document's night", *pruneAfter)
	}
	if c.dataDir == "" {
		dir, err := os.MkdirTemp("", "drafter-simulate-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.dataDir = dir
	}
	if *dbURL != "" {
		os.Setenv("DRAFTER_DATABASE_URL", *dbURL)
		cfg, err := c.load()
		if err != nil {
			return err
		}
		st, err := openStoreNoKey(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		_, err = st.Migrate(ctx)
		st.Close()
		if err != nil {
			return err
		}
	}
	a, err := c.open(ctx, true)
	if err != nil {
		return err
	}
	defer a.close()
	env := a.env()
	env.Log = zerolog.Nop()
	env.Progress = nil
	self, err := os.Executable()
	if err != nil {
		return err
	}
	opt := sim.Options{Accounts: *accounts, Days: *days, Seed: *seed, Start: first, Faults: fl,
		Child: childRunner(self, c.dataDir, c.configFile), Prune: *prune, PruneAfter: *pruneAfter}
	if !c.jsonOut {
		opt.Night = func(n sim.NightReport) {
			jobs := make([]string, 0, len(n.Runs))
			for j, st := range n.Runs {
				jobs = append(jobs, j+"="+st)
			}
			sort.Strings(jobs)
			line := fmt.Sprintf("night %3d %s: imported %d, %s", n.Night, n.Date, n.Imported, strings.Join(jobs, " "))
			if len(n.Faults) > 0 {
				line += " faults=" + strings.Join(n.Faults, ",")
			}
			if len(n.Responses) > 0 {
				line += " runbook: " + strings.Join(n.Responses, "; ")
			}
			fmt.Printf("%s (%.1fs)\n", line, n.Seconds)
		}
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	rep, err := sim.Run(ctx, env, opt)
	stopProfile()
	if c.jsonOut && rep != nil {
		if perr := printJSON(rep); perr != nil {
			return perr
		}
	} else if rep != nil {
		fmt.Printf("simulated %d nights (%s..%s), %d accounts, seed %d, faults %v injected %v: %d payments, %d returns, %d documents, %d emails, %d files to the bank, %d re-originated after a missed cutoff, %d dishonored or contested returns sent (%d checked); %d runbook responses, %d invariant checks%s; %.1fs (%.2f nights/s)\n",
			rep.Nights, rep.First, rep.Last, rep.Accounts, rep.Seed, rep.Faults, rep.Injected, rep.Payments, rep.Returns, rep.Documents, rep.Emails,
			rep.Transmitted, rep.Reoriginated, rep.Dishonored, rep.DishonorsChecked, rep.Responses, rep.Checks, pruned(rep), rep.Seconds, rep.NightsPerSecond)
	}
	if errors.Is(err, sim.ErrViolation) && rep != nil && rep.Violation != nil {
		v := rep.Violation
		return fmt.Errorf("seed %d, night %d (%s): invariant %s broken: %s\nreproduce: drafter simulate --accounts %d --days %d --seed %d --faults %q",
			v.Seed, v.Night, v.Date, v.Invariant, v.Detail, *accounts, *days, v.Seed, strings.Join(fl, ","))
	}
	return err
}

// childRunner runs `drafter run JOB --date D` as a child process on the
// same data dir and database, ended at its crashAt-th write
// (DRAFTER_CRASH_AT): a SIGKILL at a write.
func childRunner(bin, dataDir, configFile string) func(ctx context.Context, job string, d civil.Date, crashAt int) (int, error) {
	return func(ctx context.Context, job string, d civil.Date, crashAt int) (int, error) {
		args := []string{"run", job, "--date", d.String(), "--data-dir", dataDir}
		if configFile != "" {
			args = append(args, "--config", configFile)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "DRAFTER_CRASH_AT="+strconv.Itoa(crashAt), "DRAFTER_LOG_LEVEL=error", "DRAFTER_OPERATOR=simulation")
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		if err != nil {
			return 0, err
		}
		return 0, nil
	}
}

// pruned is what --prune deleted, for the report's line.
func pruned(rep *sim.Report) string {
	if rep.PrunedEmails == 0 && rep.PrunedDocuments == 0 {
		return ""
	}
	return fmt.Sprintf(", pruned %d delivered emails and %d stored documents", rep.PrunedEmails, rep.PrunedDocuments)
}
