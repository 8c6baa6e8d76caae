// Command drafter runs the nightly back office of an auto-finance servicer:
// NACHA debit files from payment schedules, returns and NOCs, statements and
// lease-end notices, customer email. `drafter --help` lists the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: a plain struct with Run over its own flag set.
type command interface {
	Run(ctx context.Context, args []string) error
}

type entry struct {
	name, usage string
	cmd         func() command
}

var commands = []entry{
	{"demo", "generate a demo portfolio, import it and run the whole nightly cycle", func() command { return &DemoCommand{} }},
	{"init", "create a data folder with a new encryption key file; back the key up", func() command { return &InitCommand{} }},
	{"generate", "write a realistic, deterministic demo portfolio in the import format", func() command { return &GenerateCommand{} }},
	{"import", "import the servicing system's extract (JSON Lines), all or nothing", func() command { return &ImportCommand{} }},
	{"migrate", "apply the database migrations embedded in this binary", func() command { return &MigrateCommand{} }},
	{"rotate-key", "re-encrypt every stored account number under a new key (DRAFTER_NEW_ENCRYPTION_KEY); resumable", func() command { return &RotateKeyCommand{} }},
	{"run", "start a job for a business date (or a range): " + jobList(), func() command { return &RunCommand{} }},
	{"resume", "finish a run that is not succeeded (failed, partial, cancelled, crashed) from where it stopped", func() command { return &ResumeCommand{} }},
	{"restart", "the same as resume (its former name)", func() command { return &ResumeCommand{name: "restart"} }},
	{"release-file", "put the payments of a NACHA file that was never stored and cannot be built back to scheduled", func() command { return &ReleaseFileCommand{} }},
	{"rerun", "run a completed run again, with a reason (money is never moved twice)", func() command { return &RerunCommand{} }},
	{"cancel", "stop a running run at its next safe point, with a reason; `resume` finishes it", func() command { return &CancelCommand{} }},
	{"schedule", "show each job's next fire and pause; `schedule pause JOB|--all --reason TEXT`, `schedule resume`", func() command { return &ScheduleCommand{} }},
	{"runs", "list the run ledger, or `runs show RUN` for one run", func() command { return &RunsCommand{} }},
	{"outbox", "show the email queue (`outbox --status failed`), or `outbox retry ID` to requeue a failed message", func() command { return &OutboxCommand{} }},
	{"returns", "ingest return and NOC files the bank sent: `returns ingest FILE...`", func() command { return &ReturnsCommand{} }},
	{"bank", "the bank connection: `bank status [--date D]` (files sent, pending, held, arrived, acknowledged); `bank reoriginate KEY --reason` (a file held by a missed cutoff)", func() command { return &BankCommand{} }},
	{"audit", "who did what, when and why: the operator actions recorded in the ledger", func() command { return &AuditCommand{} }},
	{"exceptions", "list what needs a person: unmatched, mismatched, refused, rejected", func() command { return &ExceptionsCommand{} }},
	{"report", "reports: `report return-rates [--days 60]` against the NACHA thresholds", func() command { return &ReportCommand{} }},
	{"operators", "named operators of the console and API: `operators add NAME --role viewer|operator|admin`, list, disable, rotate", func() command { return &OperatorsCommand{} }},
	{"serve", "run the schedule and the admin API (health, metrics, runs) until SIGTERM", func() command { return &ServeCommand{} }},
	{"storage", "look at document storage: `storage ls PREFIX`, `storage get KEY`", func() command { return &StorageCommand{} }},
	{"render", "render one document to look at: `render statement|notice --account ID --date D --out FILE`", func() command { return &RenderCommand{} }},
	{"simulate", "run a seeded history of nights with faults and check every invariant after each", func() command { return &SimulateCommand{} }},
	{"bench", "measure a job end to end on a scratch database: `bench originate --payments N`, `bench statements --accounts N`", func() command { return &BenchCommand{} }},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

type exitCoder interface{ ExitCode() int }

// Exit codes of a command that ran runs, by the worst outcome.
const (
	exitFailed  = 1
	exitPartial = 3
)

// outcomeError ends a command whose runs did not all succeed.
type outcomeError struct {
	code int
	msg  string
}

func (e *outcomeError) Error() string { return e.msg }

// ExitCode is 1 when a run failed, 3 when the worst was partial.
func (e *outcomeError) ExitCode() int { return e.code }
