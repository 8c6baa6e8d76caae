package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"

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
		return usageError{err}
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
			res, err := env.Start(ctx, registry()[n], jobs.StartSpec{Date: d, DryRun: *dry, Trigger: "operator", TriggeredBy: operator()})
			results = append(results, res)
			if err != nil {
				if errors.Is(err, ledger.ErrRunCompleted) && name == "nightly" {
					fmt.Fprintf(os.Stderr, "skip: %v\n", err)
					continue
				}
				c.print(results)
				return runError(res, err)
			}
		}
	}
	if err := c.print(results); err != nil {
		return err
	}
	return outcomeOf(results)
}

// runError is the error a command ends with when a run returned err: a run
// that was recorded failed says how to look at it and finish it.
func runError(res jobs.Result, err error) error {
	if res.Run.ID == 0 || res.Run.Status != ledger.RunFailed {
		return err
	}
	return &outcomeError{exitFailed, fmt.Sprintf("run %d (%s %s) failed: %v\n  look: drafter runs show %d\n  finish after the fix: drafter resume %d",
		res.Run.ID, res.Run.Job, res.Run.BusinessDate, err, res.Run.ID, res.Run.ID)}
}

// outcomeOf is nil when every run succeeded, else the error of the worst
// outcome: exit 1 when a run failed, 3 when the worst is partial.
func outcomeOf(results []jobs.Result) error {
	var worst *outcomeError
	for _, r := range results {
		lr := r.Run
		if lr.ID == 0 || lr.DryRun && lr.Status == ledger.RunSucceeded {
			continue
		}
		switch lr.Status {
		case ledger.RunFailed, ledger.RunCancelled:
			msg := fmt.Sprintf("run %d (%s %s) %s: %s\n  look: drafter runs show %d\n  finish after the fix: drafter resume %d",
				lr.ID, lr.Job, lr.BusinessDate, lr.Status, firstLine(lr.Error), lr.ID, lr.ID)
			if worst == nil || worst.code != exitFailed {
				worst = &outcomeError{exitFailed, msg}
			}
		case ledger.RunPartial:
			if worst == nil {
				worst = &outcomeError{exitPartial, fmt.Sprintf("run %d (%s %s) partial: %d of %d items failed\n  look: drafter runs show %d\n  retry the failed items after the fix: drafter resume %d",
					lr.ID, lr.Job, lr.BusinessDate, lr.Failed, lr.Selected, lr.ID, lr.ID)}
			}
		}
	}
	if worst == nil {
		return nil
	}
	return worst
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

// ResumeCommand finishes a run that is not succeeded; `restart` is its
// former name.
type ResumeCommand struct {
	common
	name string
}

// Run implements command.
func (c *ResumeCommand) Run(ctx context.Context, args []string) error {
	name := c.name
	if name == "" {
		name = "resume"
	}
	fs := newFlagSet(name, name+" RUN [--stale-after D] [--json]\n\n"+
		"Finishes a run that is not succeeded: a failed or cancelled run from where it\n"+
		"stopped, a partial run by retrying its failed items (what was done is not\n"+
		"done again), a crashed run (running, but its process died). A run owned by a\n"+
		"process of this host that no longer exists is crashed at once; otherwise a\n"+
		"running run is crashed when its heartbeat is older than --stale-after.\n"+
		"Exit code as for run: 0 succeeded, 1 failed, 3 partial, 2 usage.")
	c.register(fs)
	stale := fs.Duration("stale-after", 0, "treat a running run whose heartbeat is older than this as crashed (default DRAFTER_STALE_AFTER)")
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
	after := a.cfg.StaleAfter
	if isFlagSet(fs, "stale-after") {
		after = *stale
	}
	res, err := a.env().Resume(ctx, job, id, operator(), after)
	if res.Run.ID != 0 {
		if perr := c.print([]jobs.Result{res}); perr != nil {
			return perr
		}
	}
	if err != nil {
		return runError(res, err)
	}
	return outcomeOf([]jobs.Result{res})
}

func isFlagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
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
		return 0, usageErrorf("want a run id (a number from `drafter runs`), got %q", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 0, usageError{err}
	}
	return id, nil
}
