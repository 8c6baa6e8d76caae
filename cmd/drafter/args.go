package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/pflag"
)

// errHelp ends a command that printed its help: exit code 0. It is also
// flag.ErrHelp and pflag.ErrHelp to errors.Is.
var errHelp error = helpRequested{}

type helpRequested struct{}

func (helpRequested) Error() string { return "help requested" }

func (helpRequested) Is(target error) bool { return target == flag.ErrHelp || target == pflag.ErrHelp }

// flagSet is a command's flags: a pflag.FlagSet, so flags stand anywhere
// among the arguments (`ls --json PREFIX` and `ls PREFIX --json` alike),
// as --flag=value or --flag value. Parse prints the help on standard
// output for --help or -h and returns errHelp; any other parse error is a
// usage error (exit code 2). Var also takes a standard library flag.Value.
type flagSet struct {
	*pflag.FlagSet
	name, summary string
	quiet         bool // built to be described (completion), not run
}

// newFlagSet returns the flags of the command name ("runs show");
// summary is its usage line(s), then a blank line and what it does.
func newFlagSet(name, summary string) *flagSet {
	fs := &flagSet{FlagSet: pflag.NewFlagSet("drafter "+name, pflag.ContinueOnError), name: name, summary: summary}
	fs.SortFlags = false
	fs.SetOutput(os.Stderr)
	if helpAsked {
		// A command that prints its usage itself (fs.Usage()) prints the
		// help asked for where help goes.
		fs.SetOutput(os.Stdout)
	}
	fs.Usage = func() { writeHelp(fs.Output(), fs) }
	describing.mu.Lock()
	if describing.on {
		fs.quiet = true
		fs.SetOutput(io.Discard)
		describing.last = fs
	}
	describing.mu.Unlock()
	return fs
}

// Parse parses the flags wherever they stand; fs.Args() are then the
// positional arguments in order (everything after "--" is positional).
// Go-style single-dash long flags (-date) are read as --date.
func (f *flagSet) Parse(args []string) error {
	usage := f.Usage
	f.Usage = func() {} // pflag calls it on -h; printed below, on stdout
	err := f.FlagSet.Parse(f.longForm(args))
	f.Usage = usage
	switch {
	case errors.Is(err, pflag.ErrHelp):
		if !f.quiet {
			out := f.Output()
			f.SetOutput(os.Stdout)
			usage()
			f.SetOutput(out)
		}
		return errHelp
	case err != nil:
		return usageErrorf("%v (see `drafter %s --help`)", err, f.name)
	}
	return nil
}

// longForm rewrites -name and -name=value to --name... when name is one of
// f's long flags: scripts written for the standard flag package go on
// working.
func (f *flagSet) longForm(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' {
			name, _, _ := strings.Cut(a[1:], "=")
			if len(name) > 1 && f.Lookup(name) != nil {
				a = "-" + a
			}
		}
		out = append(out, a)
	}
	return out
}

// Var defines a flag with the given value: a pflag.Value, or a standard
// library flag.Value (a boolean one, IsBoolFlag, takes no value).
func (f *flagSet) Var(v flag.Value, name, usage string) {
	if pv, ok := v.(pflag.Value); ok {
		f.FlagSet.Var(pv, name, usage)
		return
	}
	f.AddFlag(pflag.PFlagFromGoFlag(&flag.Flag{Name: name, Usage: usage, Value: v, DefValue: v.String()}))
}

// Visit calls fn for each flag given on the command line, as the standard
// library's FlagSet.Visit does (pflag's is fs.FlagSet.Visit).
func (f *flagSet) Visit(fn func(*flag.Flag)) {
	f.FlagSet.Visit(func(p *pflag.Flag) { fn(goFlag(p)) })
}

// VisitAll calls fn for each flag, as the standard library's does.
func (f *flagSet) VisitAll(fn func(*flag.Flag)) {
	f.FlagSet.VisitAll(func(p *pflag.Flag) { fn(goFlag(p)) })
}

func goFlag(p *pflag.Flag) *flag.Flag {
	return &flag.Flag{Name: p.Name, Usage: p.Usage, Value: p.Value, DefValue: p.DefValue}
}

// parseArgs parses fs's flags wherever they stand among the arguments and
// returns the positional arguments in order; everything after "--" is
// positional. A bad flag is a usage error; --help prints the help on
// standard output and returns errHelp.
func parseArgs(fs *flagSet, args []string) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return fs.Args(), nil
}

// noArgs parses a command that takes flags only: a positional argument is
// a usage error.
func noArgs(fs *flagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("unexpected argument %q: drafter %s takes no arguments (see --help)", pos[0], fs.name)
	}
	return nil
}

// oneOf checks an enumerated flag value: empty (not given) or one of
// values; anything else is a usage error naming them.
func oneOf(flagName, value string, values []string) error {
	if value == "" || slices.Contains(values, value) {
		return nil
	}
	return usageErrorf("--%s %q: want one of %s", flagName, value, strings.Join(values, ", "))
}

// isFlagSet reports whether the flag name was given on the command line.
func isFlagSet(fs *flagSet, name string) bool { return fs.Changed(name) }

// helpAsked is set by execute when the command line asks for help.
var helpAsked bool

// describing catches the flag set a command builds when it is run to be
// described (for completion and the command tree), not to do its work.
var describing struct {
	mu   sync.Mutex
	on   bool
	last *flagSet
}

// flagsOf returns the flags of a command, or of its subcommand when args
// name one: it runs the command with --help appended while newFlagSet
// records, instead of printing, and returns the last flag set built (nil
// when it builds none).
func flagsOf(mk func() command, args ...string) *flagSet {
	describing.mu.Lock()
	describing.on, describing.last = true, nil
	describing.mu.Unlock()
	defer func() {
		describing.mu.Lock()
		describing.on = false
		describing.mu.Unlock()
	}()
	_ = mk().Run(describeContext(), append(append([]string{}, args...), "--help"))
	describing.mu.Lock()
	defer describing.mu.Unlock()
	return describing.last
}

// writeHelp prints a command's help: usage, what it does, flags, examples
// and the settings it reads.
func writeHelp(w io.Writer, fs *flagSet) {
	usage, about, _ := strings.Cut(fs.summary, "\n\n")
	fmt.Fprintf(w, "Usage: drafter %s\n", usage)
	if about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(about, "\n"))
	}
	if fs.HasFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsagesWrapped(100))
	}
	if ex := examples[fs.name]; len(ex) > 0 {
		fmt.Fprintf(w, "\nExamples:\n")
		for _, e := range ex {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	writeSettings(w, fs.name, fs.Lookup("as") != nil)
}

// usageError is a bad flag or argument: exit code 2, nothing was run.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// ExitCode is 2.
func (usageError) ExitCode() int { return 2 }

func usageErrorf(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }
