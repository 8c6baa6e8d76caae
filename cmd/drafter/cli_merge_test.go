package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// oldStyleCommand is written the way commands were before the flag
// library (and may still be on other branches): it must merge and behave.
type oldStyleCommand struct{ common }

type oldValue struct{ s string }

func (v *oldValue) String() string     { return v.s }
func (v *oldValue) Set(s string) error { v.s = s; return nil }

func (c *oldStyleCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "sub" {
		fs := newFlagSet("oldstyle sub", "oldstyle sub X")
		c.register(fs)
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return usageErrorf("want X")
		}
		fmt.Println("sub", fs.Arg(0), c.dataDir)
		return nil
	}
	fs := newFlagSet("oldstyle", "oldstyle ID [--n N] [--json]")
	c.register(fs)
	n := fs.Int("n", 1, "n")
	wait := fs.Duration("wait", time.Second, "wait")
	var v oldValue
	fs.Var(&v, "v", "a flag.Value")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return flag.ErrHelp
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	set := 0
	fs.Visit(func(*flag.Flag) { set++ })
	fmt.Println(pos, *n, *wait, v.s, c.jsonOut, c.dataDir, set)
	return nil
}

// captureStdout runs f with os.Stdout going to a pipe and returns what it
// wrote.
func captureStdout(t *testing.T, f func() int) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	code := f()
	os.Stdout = stdout
	w.Close()
	return code, <-done
}

// TestOldStyleCommandMerges: a command added the old way (newFlagSet, a
// flag.Value, fs.Parse or parseArgs, fs.Usage() and flag.ErrHelp, an entry
// in the commands table) gets flags anywhere, global flags before it, help
// on stdout, and exit 2 for wrong usage, with no edit.
func TestOldStyleCommandMerges(t *testing.T) {
	commands = append(commands, entry{"oldstyle", "a command written the old way", func() command { return &oldStyleCommand{} }})
	defer func() { commands = commands[:len(commands)-1] }()
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"oldstyle", "a", "--n", "3", "-v", "x", "--wait=2s", "--json", "--data-dir", "D"}, 0, "[a] 3 2s x true D 5"},
		{[]string{"--data-dir", "D", "oldstyle", "--json", "b"}, 0, "[b] 1 1s  true D 2"},
		{[]string{"oldstyle", "sub", "q", "--data-dir", "E"}, 0, "sub q E"},
		{[]string{"oldstyle", "--help"}, 0, "Usage: drafter oldstyle ID"},
		{[]string{"help", "oldstyle"}, 0, "Usage: drafter oldstyle ID"},
		{[]string{"oldstyle", "sub", "--help"}, 0, "Usage: drafter oldstyle sub X"},
		{[]string{"oldstyle"}, 2, ""},
		{[]string{"oldstyle", "sub"}, 2, ""},
		{[]string{"oldstyle", "a", "--n", "x"}, 2, ""},
		{[]string{"oldstyle", "a", "--nope"}, 2, ""},
	} {
		code, out := captureStdout(t, func() int { return execute(context.Background(), tc.args) })
		if code != tc.code || !strings.Contains(out, tc.out) || tc.out == "" && out != "" {
			t.Errorf("drafter %s: exit %d, stdout %q; want exit %d, %q", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
		}
	}
	if !errors.Is(errHelp, flag.ErrHelp) {
		t.Error("errHelp is not flag.ErrHelp")
	}
}
