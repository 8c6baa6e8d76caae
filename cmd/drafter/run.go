package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
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
	fs := newFlagSet("run", "run JOB --date YYYY-MM-DD [--dry-run] [--as NAME] [--json]\n"+
		"       drafter run JOB --from D1 --to D2   (backfill)\n\n"+
		"Starts JOB for a business date. JOB is one of:\n"+jobHelp()+"\n\n"+
		"A job whose schedule is paused (`drafter schedule pause`) still runs when an\n"+
		"operator starts it here. A date whose run was cancelled is left to\n"+
		"`drafter resume RUN`.\n"+
		"A backfill runs every date of the range the job has a run for, in order,\n"+
		"by the job's calendar (DRAFTER_SCHEDULE_BANKING_DAYS: returns and originate\n"+
		"on banking days; statements, lease-end and deliver every calendar day). A\n"+
		"date already succeeded is skipped and listed; a failed one is resumed; the\n"+
		"backfill goes on after a date that fails and ends with a table of what it did.\n"+
		"--dry-run simulates the dates (and jobs) in order in one database transaction\n"+
		"rolled back at the end: each sees what the ones before it would have written,\n"+
		"nothing is stored, sent or mailed, and only run records marked dry run remain\n"+
		"(`drafter runs --dry-runs` lists them).\n"+
		"Exit code: 0 every run succeeded, 1 a run failed, 3 the worst was partial,\n"+
		"2 usage (nothing was run).")
	c.register(fs)
	date := fs.String("date", "", "business date to run for (YYYY-MM-DD)")
	from := fs.String("from", "", "first date of a backfill")
	to := fs.String("to", "", "last date of a backfill")
	dry := fs.Bool("dry-run", false, "compute and report what the runs would do, in order, writing nothing (recorded as dry runs)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("which job? want one of %s (see `drafter run --help`)", jobList())
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q: one job at a time, as in `drafter run %s --date YYYY-MM-DD`", pos[1], pos[0])
	}
	name := pos[0]
	names := []string{name}
	if name == "nightly" {
		names = nightly
	} else if _, ok := registry()[name]; !ok {
		return usageErrorf("unknown job %q: want one of %s", name, jobList())
	}
	ranged := *from != "" || *to != ""
	var first, last civil.Date
	switch {
	case ranged && *date != "":
		return usageErrorf("--date %s with --from/--to: give one date with --date, or a range with --from and --to", *date)
	case ranged:
		var err error
		if first, err = parseDate("from", *from); err != nil {
			return usageError{err}
		}
		if last, err = parseDate("to", *to); err != nil {
			return usageError{err}
		}
		if last.Before(first) {
			return usageErrorf("--to %s is before --from %s", last, first)
		}
	default:
		d, err := parseDate("date", *date)
		if err != nil {
			return usageError{err}
		}
		first, last = d, d
	}
	who, err := c.operator()
	if err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	env := a.env()
	var plan []planStep
	for d := first; !d.After(last); d = d.AddDays(1) {
		for _, n := range names {
			if !ranged || len(env.BusinessDates(n, d, d)) == 1 {
				plan = append(plan, planStep{d, n})
			}
		}
	}
	if len(plan) == 0 {
		return usageErrorf("no date from %s to %s has a run of %s by its calendar (banking days only: %s)", first, last, name, strings.Join(a.cfg.BankingDayJobs, ","))
	}
	if *dry {
		return c.dryRun(ctx, a, plan, ranged || name == "nightly", who)
	}
	var results []jobs.Result
	var rows []backfillRow
	stuck := false
	for _, st := range plan {
		job := registry()[st.job]
		res, err := env.Start(ctx, job, startSpec(a, st, who))
		row := backfillRow{date: st.date, job: st.job, note: "ran"}
		switch {
		case err == nil:
		case (ranged || name == "nightly") && errors.Is(err, ledger.ErrRunCompleted):
			prev := latestRun(ctx, a, st.job, st.date)
			row.run, row.status = prev.ID, prev.Status
			row.note = "skipped: done before"
			if prev.Status == ledger.RunPartial {
				row.note = fmt.Sprintf("skipped: partial before; `drafter resume %d` retries its failed items", prev.ID)
			}
			fmt.Fprintf(os.Stderr, "skip %s %s: %v\n", st.job, st.date, err)
			rows = append(rows, row)
			continue
		case (ranged || name == "nightly") && errors.Is(err, ledger.ErrRunCancelled):
			// An operator stopped it: left for them to resume, and the
			// other dates and jobs go on.
			prev := latestRun(ctx, a, st.job, st.date)
			row.run, row.status = prev.ID, prev.Status
			row.note = fmt.Sprintf("skipped: cancelled (%s); `drafter resume %d` finishes it", prev.Error, prev.ID)
			fmt.Fprintf(os.Stderr, "skip %s %s: %v\n", st.job, st.date, err)
			rows = append(rows, row)
			stuck = true
			continue
		case ranged && errors.Is(err, ledger.ErrRunFailedExists):
			prev := latestRun(ctx, a, st.job, st.date)
			res, err = env.Resume(ctx, job, prev.ID, who, a.cfg.StaleAfter)
			row.note = fmt.Sprintf("resumed run %d", prev.ID)
		}
		if res.Run.ID != 0 {
			results = append(results, res)
			row.run, row.status = res.Run.ID, res.Run.Status
		}
		if err != nil {
			if !ranged {
				if len(results) > 0 {
					c.print(results)
				}
				return runError(res, err)
			}
			if res.Run.ID == 0 {
				// Not begun (in progress elsewhere, refused): the date
				// still needs a run.
				prev := latestRun(ctx, a, st.job, st.date)
				row.run, row.status = prev.ID, prev.Status
				row.note = "not run: " + firstLine(err.Error())
				stuck = true
			} else {
				row.note += ": " + firstLine(err.Error())
			}
		}
		rows = append(rows, row)
	}
	if err := c.print(results); err != nil {
		return err
	}
	if len(plan) > 1 && !c.jsonOut {
		printBackfill(rows)
	}
	if err := outcomeOf(results); err != nil {
		return err
	}
	if stuck {
		return &outcomeError{exitFailed, "some dates were not run: see the table"}
	}
	return nil
}

// planStep is one run of a backfill or a nightly cycle.
type planStep struct {
	date civil.Date
	job  string
}

// startSpec is how the run command starts a step.
func startSpec(a *app, st planStep, who string) jobs.StartSpec {
	spec := jobs.StartSpec{Date: st.date, Trigger: "operator", TriggeredBy: who}
	if st.job == "receive" {
		// The bank's inbox is polled many times a day: each poll is its
		// own run, scoped to its time as the schedule's intraday fires are.
		spec.Scope = "at:" + time.Now().In(a.cfg.Zone).Format("15:04:05-0700")
	}
	return spec
}

// dryRun simulates the plan in order in one rolled-back transaction (each
// step sees what the ones before it would have written) and prints what
// each step would do. In a backfill a date whose real run is done is
// skipped, as the real backfill would skip it.
func (c *RunCommand) dryRun(ctx context.Context, a *app, plan []planStep, skipDone bool, who string) error {
	var steps []jobs.DryStep
	var rows []backfillRow
	var at []int
	for _, st := range plan {
		row := backfillRow{date: st.date, job: st.job, note: "simulated: nothing written"}
		if skipDone {
			if prev := latestRun(ctx, a, st.job, st.date); prev.Completed() {
				row.run, row.status = prev.ID, prev.Status
				row.note = "skipped: done before (the real run skips it too)"
				rows = append(rows, row)
				continue
			}
		}
		spec := startSpec(a, st, who)
		spec.DryRun = true
		steps = append(steps, jobs.DryStep{Job: registry()[st.job], Spec: spec})
		at = append(at, len(rows))
		rows = append(rows, row)
	}
	res, errs := a.env().DryRun(ctx, steps)
	var results []jobs.Result
	stuck := false
	for k, i := range at {
		r, err := res[k], errs[k]
		if r.Run.ID != 0 {
			results = append(results, r)
			rows[i].run, rows[i].status = r.Run.ID, r.Run.Status
		}
		switch {
		case err != nil && len(plan) == 1:
			c.print(results)
			return runError(r, err)
		case err != nil && r.Run.ID == 0:
			rows[i].note = "not simulated: " + firstLine(err.Error())
			stuck = true
		case err != nil:
			rows[i].note += ": " + firstLine(err.Error())
		}
	}
	if err := c.print(results); err != nil {
		return err
	}
	if len(plan) > 1 && !c.jsonOut {
		printBackfill(rows)
	}
	if err := outcomeOf(results); err != nil {
		return err
	}
	if stuck {
		return &outcomeError{exitFailed, "some dates were not simulated: see the table"}
	}
	return nil
}

// backfillRow is what a backfill or a nightly cycle did for one job and date.
type backfillRow struct {
	date   civil.Date
	job    string
	run    int64
	status string
	note   string
}

func printBackfill(rows []backfillRow) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "DATE\tJOB\tRUN\tSTATUS\tWHAT")
	for _, r := range rows {
		run, status := "-", "-"
		if r.run != 0 {
			run = strconv.FormatInt(r.run, 10)
		}
		if r.status != "" {
			status = r.status
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.date, r.job, run, status, r.note)
	}
	w.Flush()
}

// latestRun is the newest recorded run of a job and date (not a dry run,
// not scoped to one account).
func latestRun(ctx context.Context, a *app, job string, d civil.Date) ledger.Run {
	runs, err := a.store.ListRuns(ctx, ledger.RunFilter{Job: job, Date: d, Limit: 20})
	if err == nil {
		for _, r := range runs {
			if !r.DryRun && r.Scope == "" {
				return r
			}
		}
	}
	return ledger.Run{}
}

// errorSuffix is ": " and the first line of a run's error, or nothing.
func errorSuffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + firstLine(msg)
}

// runError is the error a command ends with when a run returned err: a run
// that was recorded failed says how to look at it and finish it.
func runError(res jobs.Result, err error) error {
	if res.Run.ID != 0 && res.Run.Status == ledger.RunCancelled {
		return &outcomeError{exitFailed, fmt.Sprintf("run %d (%s %s) %s: it stopped at a safe point; what it did stays done\n  look: drafter runs show %d\n  finish it: drafter resume %d",
			res.Run.ID, res.Run.Job, res.Run.BusinessDate, res.Run.Error, res.Run.ID, res.Run.ID)}
	}
	if res.Run.ID == 0 || res.Run.Status != ledger.RunFailed {
		return err
	}
	if res.Run.DryRun {
		return &outcomeError{exitFailed, fmt.Sprintf("dry run %d (%s %s) would fail: %v\n  look: drafter runs show %d",
			res.Run.ID, res.Run.Job, res.Run.BusinessDate, err, res.Run.ID)}
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
		if lr.DryRun {
			// Nothing to resume: the exit code says what the real run
			// would come to, the message where to look.
			code := exitPartial
			if lr.Status != ledger.RunPartial {
				code = exitFailed
			}
			if worst == nil || worst.code != exitFailed {
				worst = &outcomeError{code, fmt.Sprintf("dry run %d (%s %s) would end %s: %d of %d items would fail%s\n  look: drafter runs show %d",
					lr.ID, lr.Job, lr.BusinessDate, lr.Status, lr.Failed, lr.Selected, errorSuffix(lr.Error), lr.ID)}
			}
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
		recorded := []jobs.Result{}
		for _, r := range results {
			if r.Run.ID != 0 {
				recorded = append(recorded, r)
			}
		}
		return printJSON(recorded)
	}
	for _, r := range results {
		if r.Run.ID == 0 {
			continue
		}
		printRunLine(r.Run)
		printRunSummary(r.Run, r.Summary)
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
	c.registerOperator(fs)
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	who, err := c.operator()
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
	res, err := a.env().Resume(ctx, job, id, who, after)
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

// RerunCommand runs a completed run again, recorded with a reason.
type RerunCommand struct{ common }

// Run implements command.
func (c *RerunCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("rerun", "rerun RUN --reason TEXT [--account ID] [--resend KEY] [--json]")
	c.register(fs)
	reason := fs.String("reason", "", "why the run is run again (required; recorded)")
	account := fs.String("account", "", "rerun for one account only")
	resend := fs.String("resend", "", "transmit only: send this file (its storage key) to the bank again although it was sent; "+
		"the bank may debit its entries twice, so it is logged at ERROR and recorded in the audit log and the run's timeline")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	c.registerOperator(fs)
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("--reason is required: say why the run is run again")
	}
	who, err := c.operator()
	if err != nil {
		return err
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
		if _, err := a.store.DocumentAccount(ctx, *account); errors.Is(err, ledger.ErrNotFound) {
			return usageErrorf("--account %s: no such account in the ledger; nothing was run", *account)
		} else if err != nil {
			return err
		}
		had, err := jobs.AccountInRun(ctx, a.store, prev, *account)
		if err != nil {
			return err
		}
		if !had {
			return &outcomeError{exitFailed, fmt.Sprintf("account %s had nothing in run %d (%s %s): no payment, document or failed item of it; nothing was run",
				*account, prev.ID, prev.Job, prev.BusinessDate)}
		}
		scope = "account:" + *account
	}
	var params map[string]any
	if *resend != "" {
		if prev.Job != "transmit" {
			return usageErrorf("--resend is for transmit runs; run %d is %s", id, prev.Job)
		}
		params = map[string]any{"resend": *resend}
	}
	res, err := a.env().RerunWith(ctx, job, prev, who, *reason, scope, params)
	if res.Run.ID == 0 {
		return err
	}
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

// runIDArg parses a command that takes one run id and flags.
func runIDArg(fs *flagSet, args []string) (int64, error) {
	return idArg(fs, args, "run id (a number from `drafter runs`)")
}

// idArg parses a command that takes one numeric id (what says which) and
// flags: a missing, extra or non-numeric id is a usage error.
func idArg(fs *flagSet, args []string, what string) (int64, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 0, err
	}
	switch {
	case len(pos) == 0:
		return 0, usageErrorf("want a %s (see `drafter %s --help`)", what, fs.name)
	case len(pos) > 1:
		return 0, usageErrorf("want one %s, got %q", what, pos)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("want a %s, got %q", what, pos[0])
	}
	return id, nil
}
