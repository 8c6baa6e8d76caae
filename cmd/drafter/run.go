package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// RunCommand starts a job for a business date, or one run per business date
// of a range (a backfill).
type RunCommand struct{ common }

// Run implements command.
func (c *RunCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("run", "run JOB --date YYYY-MM-DD [--dry-run] [--json]\n       drafter run JOB --from D1 --to D2   (backfill: one run per business date, in order)")
	c.register(fs)
	date := fs.String("date", "", "business date to run for (YYYY-MM-DD)")
	from := fs.String("from", "", "first business date of a backfill")
	to := fs.String("to", "", "last business date of a backfill")
	dry := fs.Bool("dry-run", false, "compute and report everything, write nothing (recorded as a dry run)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return errHelp
	}
	name := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var dates []civil.Date
	if *from != "" || *to != "" {
		d1, err := parseDate("from", *from)
		if err != nil {
			return err
		}
		d2, err := parseDate("to", *to)
		if err != nil {
			return err
		}
		if d2.Before(d1) {
			return fmt.Errorf("--to %s is before --from %s", d2, d1)
		}
		cal := jobs.NewCachedCalendar()
		for d := d1; !d.After(d2); d = d.AddDays(1) {
			if cal.IsBankingDay(d) {
				dates = append(dates, d)
			}
		}
	} else {
		d, err := parseDate("date", *date)
		if err != nil {
			return err
		}
		dates = []civil.Date{d}
	}
	names := []string{name}
	if name == "nightly" {
		names = nightly
	} else if _, ok := registry()[name]; !ok {
		return fmt.Errorf("unknown job %q: want one of %s", name, jobList())
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	env := a.env()
	var results []jobs.Result
	for _, d := range dates {
		for _, n := range names {
			spec := jobs.StartSpec{Date: d, DryRun: *dry, Trigger: "operator", TriggeredBy: operator()}
			if n == "receive" {
				// The bank's inbox is polled many times a day: each poll
				// is its own run, scoped to its time as the schedule's
				// intraday fires are.
				spec.Scope = "at:" + time.Now().In(a.cfg.Zone).Format("15:04:05-0700")
			}
			res, err := env.Start(ctx, registry()[n], spec)
			results = append(results, res)
			if err != nil {
				if errors.Is(err, ledger.ErrRunCompleted) && name == "nightly" {
					fmt.Fprintf(os.Stderr, "skip: %v\n", err)
					continue
				}
				c.print(results)
				return err
			}
		}
	}
	return c.print(results)
}

func (c *common) print(results []jobs.Result) error {
	if c.jsonOut {
		return printJSON(results)
	}
	for _, r := range results {
		if r.Run.ID == 0 {
			continue
		}
		printRunLine(r.Run)
		printSummary(r.Summary)
	}
	return nil
}

// RestartCommand finishes a failed run.
type RestartCommand struct{ common }

// Run implements command.
func (c *RestartCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("restart", "restart RUN [--stale-after 2m] [--json]")
	c.register(fs)
	stale := fs.Duration("stale-after", 2*time.Minute, "treat a running run whose heartbeat is older than this as dead")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	_, job, err := runAndJob(ctx, a, id)
	if err != nil {
		return err
	}
	res, err := a.env().Restart(ctx, job, id, operator(), *stale)
	if perr := c.print([]jobs.Result{res}); perr != nil {
		return perr
	}
	return err
}

// RerunCommand runs a completed run again, recorded with a reason.
type RerunCommand struct{ common }

// Run implements command.
func (c *RerunCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("rerun", "rerun RUN --reason TEXT [--account ID] [--json]")
	c.register(fs)
	reason := fs.String("reason", "", "why the run is run again (required; recorded)")
	account := fs.String("account", "", "rerun for one account only")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	if *reason == "" {
		return errors.New("--reason is required: say why the run is run again")
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	prev, job, err := runAndJob(ctx, a, id)
	if err != nil {
		return err
	}
	scope := ""
	if *account != "" {
		scope = "account:" + *account
	}
	res, err := a.env().Rerun(ctx, job, prev, operator(), *reason, scope)
	if perr := c.print([]jobs.Result{res}); perr != nil {
		return perr
	}
	return err
}

// runAndJob returns a recorded run and the job that runs it.
func runAndJob(ctx context.Context, a *app, id int64) (ledger.Run, jobs.Job, error) {
	prev, err := a.store.GetRun(ctx, id)
	if err != nil {
		return prev, nil, err
	}
	job, ok := registry()[prev.Job]
	if !ok {
		return prev, nil, fmt.Errorf("run %d is of unknown job %q", id, prev.Job)
	}
	return prev, job, nil
}

func runIDArg(fs *flag.FlagSet, args []string) (int64, error) {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return 0, errHelp
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want a run id (a number from `drafter runs`), got %q", args[0])
	}
	return id, fs.Parse(args[1:])
}
