package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/server"
)

// ScheduleCommand shows the schedule, and pauses and resumes it.
type ScheduleCommand struct{ common }

const scheduleHelp = "schedule [--json]\n" +
	"       drafter schedule pause JOB...|--all --reason TEXT [--as NAME]\n" +
	"       drafter schedule resume JOB...|--all [--reason TEXT] [--as NAME]\n\n" +
	"Without a verb: each job, its schedule (DRAFTER_SCHEDULE_*), its next fire\n" +
	"time in DRAFTER_ZONE (computed by the scheduler's own calendar: banking days\n" +
	"where the job runs on them) and whether it is paused, by whom, when and why.\n\n" +
	"pause: `drafter serve` fires no run of the job until it is resumed, on every\n" +
	"replica (each reads the pauses from the ledger before each fire). A run in\n" +
	"progress goes on (`drafter cancel RUN` stops it). An operator's `drafter run`\n" +
	"still runs a paused job. resume: the schedule fires it again, and the dates it\n" +
	"held back run within the catch-up window (DRAFTER_CATCHUP_DAYS). Both are\n" +
	"recorded in the audit log with the operator (--as, DRAFTER_OPERATOR or the OS\n" +
	"user) and the reason."

// Run implements command.
func (c *ScheduleCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "pause" || args[0] == "resume") {
		return c.change(ctx, args[0], args[1:])
	}
	fs := newFlagSet("schedule", scheduleHelp)
	c.register(fs)
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unknown schedule command %q: want pause or resume (or nothing, to show the schedule)", pos[0])
	}
	a, err := c.openReadOnly(ctx) // a look-up: no key, no write
	if err != nil {
		return err
	}
	defer a.close()
	return printSchedule(ctx, a, c.jsonOut)
}

// printSchedule prints each job's schedule, next fire and pause.
func printSchedule(ctx context.Context, a *app, asJSON bool) error {
	rows, err := scheduleRows(ctx, a, time.Now())
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(rows)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "JOB\tSCHEDULE\tNEXT FIRE (%s)\tSTATE\n", a.cfg.Zone)
	for _, r := range rows {
		spec, next := "off", "-"
		if r.Spec != "" {
			spec = r.Spec
			if r.BankingDays {
				spec += " (banking days)"
			}
		}
		if r.NextFire != nil {
			next = r.NextFire.In(a.cfg.Zone).Format("2006-01-02 15:04:05 MST")
		}
		state := "active"
		if r.Spec == "" {
			state = "not scheduled"
		}
		if p := r.Paused; p != nil {
			state = fmt.Sprintf("PAUSED by %s at %s: %s", p.By, p.At.In(a.cfg.Zone).Format("2006-01-02 15:04 MST"), p.Reason)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Job, spec, next, state)
	}
	return w.Flush()
}

// ScheduleRow is one job of `drafter schedule`.
type ScheduleRow struct {
	Job         string                `json:"job"`
	Spec        string                `json:"spec,omitempty"`
	BankingDays bool                  `json:"banking_days"`
	NextFire    *time.Time            `json:"next_fire,omitempty"`
	Paused      *ledger.SchedulePause `json:"paused,omitempty"`
}

// scheduleRows is every job with its schedule, next fire after now (by
// the scheduler serve runs) and pause.
func scheduleRows(ctx context.Context, a *app, now time.Time) ([]ScheduleRow, error) {
	reg := registry()
	entries, err := server.EntriesFromConfig(a.cfg, reg)
	if err != nil {
		return nil, err
	}
	sched := server.NewScheduler(a.env(), reg, entries)
	pauses, err := a.store.SchedulePauses(ctx)
	if err != nil {
		return nil, err
	}
	byJob := map[string]*server.Entry{}
	for i := range entries {
		byJob[entries[i].Job] = &entries[i]
	}
	var rows []ScheduleRow
	for _, job := range reg.Names() {
		r := ScheduleRow{Job: job}
		if e, ok := byJob[job]; ok {
			r.Spec, r.BankingDays = e.Spec, e.BankingDays
			if f := sched.NextFire(e, now); !f.IsZero() {
				f = f.UTC()
				r.NextFire = &f
			}
		}
		if p, ok := pauses[job]; ok {
			r.Paused = &p
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// change pauses or resumes jobs' schedules.
func (c *ScheduleCommand) change(ctx context.Context, verb string, args []string) error {
	fs := newFlagSet("schedule "+verb, scheduleHelp)
	c.register(fs)
	c.registerOperator(fs)
	all := fs.Bool("all", false, "every job")
	reason := fs.String("reason", "", "why (recorded in the audit log; required to pause)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the schedule as JSON afterwards")
	names, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	reg := registry()
	switch {
	case *all && len(names) > 0:
		return usageErrorf("schedule %s: name jobs or give --all, not both", verb)
	case *all:
		names = reg.Names()
	case len(names) == 0:
		return usageErrorf("schedule %s: which job? name one or more of %s, or give --all", verb, strings.Join(reg.Names(), ", "))
	}
	for _, n := range names {
		if _, ok := reg[n]; !ok {
			return usageErrorf("schedule %s: unknown job %q: want one of %s", verb, n, strings.Join(reg.Names(), ", "))
		}
	}
	if verb == "pause" && strings.TrimSpace(*reason) == "" {
		return usageErrorf("schedule pause: --reason is required: say why (for example \"bank outage, ticket 4411\")")
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
	if verb == "pause" {
		if err := a.store.PauseSchedule(ctx, names, who, *reason); err != nil {
			return err
		}
		a.log.Info().Strs("jobs", names).Str("by", who).Str("reason", *reason).Msg("schedule paused")
		if !c.jsonOut {
			fmt.Printf("schedule paused for %s by %s: the scheduler fires none of them until `drafter schedule resume`; `drafter run` by hand still works\n", strings.Join(names, ", "), who)
		}
	} else {
		resumed, err := a.store.ResumeSchedule(ctx, names, who, *reason)
		if err != nil {
			return err
		}
		a.log.Info().Strs("jobs", resumed).Str("by", who).Str("reason", *reason).Msg("schedule resumed")
		if !c.jsonOut {
			if len(resumed) == 0 {
				fmt.Printf("none of %s was paused: nothing to resume\n", strings.Join(names, ", "))
			} else {
				fmt.Printf("schedule resumed for %s by %s\n", strings.Join(resumed, ", "), who)
			}
		}
	}
	if c.jsonOut {
		rows, err := scheduleRows(ctx, a, time.Now())
		if err != nil {
			return err
		}
		return printJSON(rows)
	}
	return nil
}

// Subcommands implements withSubcommands.
func (c *ScheduleCommand) Subcommands() []subcommand {
	return []subcommand{
		{"pause", "stop the schedule firing a job (or --all) until resumed, on every replica (audited)"},
		{"resume", "let the schedule fire a paused job again (audited)"},
	}
}
