package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/drafterhq/drafter/ledger"
)

// subcommand is a verb of a command (`runs show`): the command's Run gets
// it as its first argument.
type subcommand struct{ name, usage string }

// withSubcommands is a command with verbs; they become the command's
// children in the command tree, for help, completion and flags before the
// verb (`runs --json show 2`).
type withSubcommands interface {
	Subcommands() []subcommand
}

// execute runs the command line args (without the program name) and
// returns the exit code: 0 done (or help), 2 usage, else the command's.
func execute(ctx context.Context, args []string) int {
	args = globalLongForm(args)
	helpAsked = asksHelp(args)
	ran := false
	root := newRoot(ctx, &ran, describingAll(args))
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return 0
	}
	if errors.Is(err, pflag.ErrHelp) || errors.Is(err, flag.ErrHelp) {
		if helpAsked {
			return 0
		}
		// A command printed its usage for want of an argument, not
		// because help was asked for: a usage error.
		return 2
	}
	name := "drafter"
	if cmd != nil {
		name = cmd.CommandPath()
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	var ec exitCoder
	switch {
	case errors.As(err, &ec):
		return ec.ExitCode()
	case !ran, isFlagError(err):
		// The parser's own refusal: an unknown command, a bad flag.
		if !ran {
			fmt.Fprintf(os.Stderr, "Run `%s --help` for usage.\n", name)
		}
		return 2
	}
	return 1
}

// asksHelp reports whether the command line asks for help: -h or --help
// before any "--", or the help command.
func asksHelp(args []string) bool {
	if len(args) > 0 && args[0] == "help" {
		return true
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--help", "-help":
			return true
		}
	}
	return false
}

// isFlagError reports whether err is pflag's refusal of a flag (a command
// that calls fs.FlagSet.Parse itself).
func isFlagError(err error) bool {
	var (
		ne *pflag.NotExistError
		vr *pflag.ValueRequiredError
		iv *pflag.InvalidValueError
		is *pflag.InvalidSyntaxError
	)
	return errors.As(err, &ne) || errors.As(err, &vr) || errors.As(err, &iv) || errors.As(err, &is)
}

// newRoot builds the command tree from the commands table: every command,
// and the verbs of those that have them. Each command parses its own flags
// (newFlagSet); the tree routes, prints help and completes. describe asks
// every command for its flags (shell completion); otherwise only commands
// with verbs are asked, so that flags before the verb are skipped right.
func newRoot(ctx context.Context, ran *bool, describe bool) *cobra.Command {
	root := &cobra.Command{
		Use:           "drafter",
		Short:         "the nightly back office of an auto-finance servicer",
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			writeRootHelp(os.Stderr)
			return usageErrorf("which command? (see the list above)")
		},
	}
	root.SetVersionTemplate("drafter {{.Version}}\n")
	root.PersistentFlags().String("data-dir", "", "data folder (DRAFTER_DATA_DIR, default ./drafter-data)")
	root.PersistentFlags().String("config", "", "config file of DRAFTER_*=value lines (DRAFTER_CONFIG)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.HiddenDefaultCmd = false

	helpers := map[*cobra.Command]func(){}
	for _, e := range commands {
		c := &cobra.Command{
			Use:                e.name,
			Short:              e.usage,
			DisableFlagParsing: true,
			SilenceErrors:      true,
			SilenceUsage:       true,
			RunE: func(cmd *cobra.Command, args []string) error {
				*ran = true
				return printedHelp(e.cmd().Run(ctx, args))
			},
		}
		helpers[c] = func() { _ = e.cmd().Run(ctx, []string{"--help"}) }
		subs := []subcommand(nil)
		if ws, ok := e.cmd().(withSubcommands); ok {
			subs = ws.Subcommands()
		}
		if describe || len(subs) > 0 {
			if fs := flagsOf(e.cmd); fs != nil {
				c.Flags().AddFlagSet(fs.FlagSet)
			}
		}
		var first []string
		if e.name == "run" {
			first = append(registry().Names(), "nightly")
		}
		c.ValidArgsFunction = completeArgs(e.name, first)
		for _, s := range subs {
			sc := &cobra.Command{
				Use:                s.name,
				Short:              s.usage,
				DisableFlagParsing: true,
				SilenceErrors:      true,
				SilenceUsage:       true,
				RunE: func(cmd *cobra.Command, args []string) error {
					*ran = true
					return printedHelp(e.cmd().Run(ctx, append([]string{s.name}, args...)))
				},
				ValidArgsFunction: completeArgs(e.name, nil),
			}
			helpers[sc] = func() { _ = e.cmd().Run(ctx, []string{s.name, "--help"}) }
			if describe {
				if fs := flagsOf(e.cmd, s.name); fs != nil {
					sc.Flags().AddFlagSet(fs.FlagSet)
				}
			}
			c.AddCommand(sc)
		}
		root.AddCommand(c)
	}
	settings := &cobra.Command{Use: "settings", Short: "every DRAFTER_* setting, its default and what it does"}
	helpers[settings] = func() { writeAllSettings(os.Stdout) }
	root.AddCommand(settings)

	// The completion command prints its scripts; without a shell (or with
	// one it does not know) it is a usage error, not help.
	root.InitDefaultCompletionCmd()
	if comp, _, err := root.Find([]string{"completion"}); err == nil && comp != root {
		comp.Args = cobra.ArbitraryArgs
		comp.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown shell %q: want bash, zsh, fish or powershell", args[0])
			}
			return usageErrorf("which shell? `drafter completion bash` (or zsh, fish, powershell)")
		}
	}

	// help COMMAND [VERB]: a topic that is none is a usage error.
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [COMMAND [VERB]]",
		Short: "the help of a command, or of settings",
		RunE: func(_ *cobra.Command, args []string) error {
			*ran = true
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 {
				return usageErrorf("no help for %q: `drafter --help` lists the commands", strings.Join(args, " "))
			}
			cmd.HelpFunc()(cmd, nil)
			return nil
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, c := range cmd.Commands() {
				if c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
					names = append(names, cobra.CompletionWithDesc(c.Name(), c.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	})

	cobraHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		switch h, ok := helpers[cmd]; {
		case cmd == root:
			writeRootHelp(os.Stdout)
		case ok:
			h()
		default:
			cobraHelp(cmd, args)
		}
	})
	return root
}

// completeArgs completes the arguments of command name: the values of
// its enumerated flags (--job, --status, --kind), a folder after
// --data-dir, first (when given) for the first positional argument, files
// otherwise.
func completeArgs(name string, first []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "--") && !strings.Contains(args[n-1], "=") {
			switch flagName := args[n-1][2:]; {
			case flagName == "data-dir":
				return nil, cobra.ShellCompDirectiveFilterDirs
			case enumValues(name, flagName) != nil:
				return enumValues(name, flagName), cobra.ShellCompDirectiveNoFileComp
			}
		}
		if first != nil && !strings.HasPrefix(toComplete, "-") && !slices.ContainsFunc(args, func(a string) bool { return slices.Contains(first, a) }) {
			return first, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveDefault
	}
}

// enumValues are the values an enumerated flag of a command takes, or nil.
func enumValues(command, flagName string) []string {
	switch {
	case flagName == "job":
		return registry().Names()
	case flagName == "status" && command == "runs":
		return ledger.RunStatuses
	case flagName == "status" && command == "outbox":
		return ledger.OutboxStatuses
	case flagName == "kind" && command == "outbox":
		return ledger.OutboxKinds
	}
	return nil
}

// printedHelp is a command's error as cobra is to see it. A command
// prints its own help and returns errHelp, which is also pflag.ErrHelp;
// cobra would print the help a second time. Help asked for is done (exit
// 0); usage printed for want of an argument stays an error that exit
// codes read as usage (2), in a form cobra does not answer with help.
func printedHelp(err error) error {
	if err == nil || !errors.Is(err, pflag.ErrHelp) {
		return err
	}
	if helpAsked {
		return nil
	}
	return flag.ErrHelp
}

// describingAll reports whether the command line asks the shell completion
// for candidates: then every command is asked for its flags.
func describingAll(args []string) bool {
	return len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd)
}

// describeContext is the context a command runs in while it is described:
// cancelled, so that nothing it might start goes anywhere.
func describeContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// globalLongForm rewrites the Go-style -data-dir and -config before the
// command to their -- form, which the command tree skips right.
func globalLongForm(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name != "data-dir" && name != "config" {
			break
		}
		out[i] = "--" + strings.TrimLeft(a, "-")
		if !hasValue {
			i++ // its value
		}
	}
	return out
}

// writeRootHelp prints `drafter --help`.
func writeRootHelp(w io.Writer) {
	fmt.Fprint(w, `drafter: the nightly back office of an auto-finance servicer.

Usage: drafter [--data-dir DIR] [--config FILE] COMMAND [flags] [arguments]

Commands:
`)
	for _, e := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", e.name, e.usage)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "completion", "shell completion: `source <(drafter completion bash)` (also zsh, fish, powershell)")
	fmt.Fprintf(w, "  %-12s %s\n", "help", "`drafter help COMMAND` is `drafter COMMAND --help`; `drafter help settings` lists every setting")
	fmt.Fprint(w, `
Flags go before or after the arguments (--flag value or --flag=value);
--data-dir DIR (default ./drafter-data) and --config FILE may also stand
before the command. Settings come from flags, then DRAFTER_* environment
variables, then the config file. "drafter COMMAND --help" shows a
command's usage, flags, examples and the settings it reads.
--version prints the version, commit and Go version.

Every command that writes (run, resume, rerun, cancel, import, release-file,
rotate-key, returns ingest, exceptions resolve, outbox retry, bank
reoriginate, schedule pause/resume) records who ran it: --as NAME, else
DRAFTER_OPERATOR, else the OS user's name. With none it refuses to run
(exit 2). A name is 1 to 64 printable characters.

Exit codes:
  0  succeeded: every selected item was done (or help was printed)
  1  failed: the run stopped (an error, a dependency that kept failing, a
     crash), no selected item could be done, or it was cancelled; any other
     command's error
  3  partial: the run went to the end and some items failed
  2  usage: an unknown command, a bad flag, argument or setting; nothing
     was run
A run that is not succeeded ends with an ERROR log line and is listed by
"drafter runs --needs-attention"; "drafter resume RUN" finishes it.
`)
}
