// Command drafter runs the nightly back office of an auto-finance servicer:
// NACHA debit files from payment schedules, returns and NOCs, statements and
// lease-end notices, customer email. `drafter --help` lists the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
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
	{"generate", "write a realistic, deterministic demo portfolio in the import format", func() command { return &GenerateCommand{} }},
	{"import", "import the servicing system's extract (JSON Lines), all or nothing", func() command { return &ImportCommand{} }},
	{"migrate", "apply the database migrations embedded in this binary", func() command { return &MigrateCommand{} }},
	{"rotate-key", "re-encrypt every stored account number under a new key (DRAFTER_NEW_ENCRYPTION_KEY); resumable", func() command { return &RotateKeyCommand{} }},
	{"run", "start a job for a business date (or a range): " + jobList(), func() command { return &RunCommand{} }},
	{"resume", "finish a run that is not succeeded (failed, partial, crashed) from where it stopped", func() command { return &ResumeCommand{} }},
	{"restart", "the same as resume (its former name)", func() command { return &ResumeCommand{name: "restart"} }},
	{"release-file", "put the payments of a NACHA file that was never stored and cannot be built back to scheduled", func() command { return &ReleaseFileCommand{} }},
	{"rerun", "run a completed run again, with a reason (money is never moved twice)", func() command { return &RerunCommand{} }},
	{"runs", "list the run ledger, or `runs show RUN` for one run", func() command { return &RunsCommand{} }},
	{"outbox", "show the email queue (`outbox --status failed`), or `outbox retry ID` to requeue a failed message", func() command { return &OutboxCommand{} }},
	{"returns", "ingest return and NOC files the bank sent: `returns ingest FILE...`", func() command { return &ReturnsCommand{} }},
	{"bank", "the bank connection: `bank status [--date D]`: files sent, pending, held, arrived", func() command { return &BankCommand{} }},
	{"exceptions", "list what needs a person: unmatched, mismatched, refused, rejected", func() command { return &ExceptionsCommand{} }},
	{"report", "reports: `report return-rates [--days 60]` against the NACHA thresholds", func() command { return &ReportCommand{} }},
	{"operators", "named operators of the console and API: `operators add NAME --role viewer|operator|admin`, list, disable, rotate", func() command { return &OperatorsCommand{} }},
	{"serve", "run the schedule and the admin API (health, metrics, runs) until SIGTERM", func() command { return &ServeCommand{} }},
	{"storage", "look at document storage: `storage ls PREFIX`, `storage get KEY`", func() command { return &StorageCommand{} }},
	{"render", "render one document to look at: `render statement|notice --account ID --date D --out FILE`", func() command { return &RenderCommand{} }},
	{"bench", "measure a job end to end on a scratch database: `bench originate --payments N`", func() command { return &BenchCommand{} }},
}

func usage() {
	fmt.Fprint(os.Stderr, `drafter: the nightly back office of an auto-finance servicer.

Usage: drafter COMMAND [flags]

Commands:
`)
	for _, e := range commands {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", e.name, e.usage)
	}
	fmt.Fprint(os.Stderr, `
Every command takes --data-dir DIR (default ./drafter-data) and --config FILE;
settings come from flags, then DRAFTER_* environment variables, then the
config file. "drafter COMMAND --help" shows a command's flags and settings.

Exit codes (run, resume, rerun):
  0  succeeded: every selected item was done
  1  failed: the run stopped (an error, a dependency that kept failing, a
     crash) or no selected item could be done; any other command's error
  3  partial: the run went to the end and some items failed
  2  usage: a bad flag, argument or setting; nothing was run
A run that is not succeeded ends with an ERROR log line and is listed by
"drafter runs --needs-attention"; "drafter resume RUN" finishes it.
`)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	name, args := commandLine(os.Args[1:])
	if name == "" {
		fmt.Fprintln(os.Stderr, "drafter: which command? (the flags before it were read)")
		usage()
		os.Exit(2)
	}
	for _, e := range commands {
		if e.name == name {
			err := e.cmd().Run(ctx, args)
			if errors.Is(err, errHelp) {
				return
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "drafter %s: %v\n", name, err)
				var ec exitCoder
				if errors.As(err, &ec) {
					os.Exit(ec.ExitCode())
				}
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "drafter: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}

type exitCoder interface{ ExitCode() int }

// commandLine splits the command line into the command and its arguments.
// The flags every command takes (--data-dir, --config) may also stand
// before the command (`drafter --data-dir X runs`); they are moved to the
// end of its arguments, where every command reads them.
func commandLine(args []string) (string, []string) {
	var global []string
	for len(args) > 0 {
		a := args[0]
		flagName, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || (flagName != "data-dir" && flagName != "config") {
			break
		}
		if hasValue || len(args) == 1 {
			global, args = append(global, a), args[1:]
		} else {
			global, args = append(global, a, args[1]), args[2:]
		}
	}
	if len(args) == 0 {
		return "", global
	}
	return args[0], append(args[1:len(args):len(args)], global...)
}

// usageError is a bad flag or argument: exit code 2, nothing was run.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// ExitCode is 2.
func (usageError) ExitCode() int { return 2 }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

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
