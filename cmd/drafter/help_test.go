package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestEveryCommandListsItsSettings: every command and subcommand has its
// list of the settings it reads (a new command without one would show
// "any DRAFTER_* setting may apply"), and the help of every write command
// (one with --as) names DRAFTER_OPERATOR; each shows examples.
func TestEveryCommandListsItsSettings(t *testing.T) {
	type cmdline struct {
		e    entry
		args []string
	}
	var all []cmdline
	for _, e := range commands {
		all = append(all, cmdline{e, nil})
		if ws, ok := e.cmd().(withSubcommands); ok {
			for _, s := range ws.Subcommands() {
				all = append(all, cmdline{e, []string{s.name}})
			}
		}
	}
	for _, c := range all {
		line := strings.TrimSpace(c.e.name + " " + strings.Join(c.args, " "))
		fs := flagsOf(c.e.cmd, c.args...)
		if fs == nil {
			continue // completion-only or no flags of its own
		}
		if _, ok := commandSettings[fs.name]; !ok {
			t.Errorf("drafter %s (flag set %q) has no entry in commandSettings: its help says any setting may apply", line, fs.name)
			continue
		}
		if len(examples[fs.name]) == 0 {
			t.Errorf("drafter %s (flag set %q) has no examples in its help", line, fs.name)
		}
		var b bytes.Buffer
		writeHelp(&b, fs)
		if writes := fs.Lookup("as") != nil; writes != strings.Contains(b.String(), "\n  DRAFTER_OPERATOR\n") {
			t.Errorf("drafter %s: --as %v, but its settings list DRAFTER_OPERATOR: %v\n%s", line, writes, !writes, b.String())
		}
	}
	for name, want := range map[string][]string{
		"cancel":           {"DRAFTER_STALE_AFTER", "DRAFTER_OPERATOR", "DRAFTER_DATA_DIR"},
		"schedule":         {"DRAFTER_SCHEDULE_ORIGINATE", "DRAFTER_ZONE"},
		"schedule pause":   {"DRAFTER_SCHEDULE_ORIGINATE", "DRAFTER_OPERATOR"},
		"audit":            {"DRAFTER_DATA_DIR"},
		"bank reoriginate": {"DRAFTER_OPERATOR", "DRAFTER_DATA_DIR"},
	} {
		words := strings.Fields(name)
		var fs *flagSet
		for _, e := range commands {
			if e.name == words[0] {
				fs = flagsOf(e.cmd, words[1:]...)
			}
		}
		if fs == nil {
			t.Fatalf("no flags for %s", name)
		}
		var b bytes.Buffer
		writeHelp(&b, fs)
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("drafter %s --help does not name %s", name, w)
			}
		}
		for _, not := range []string{"DRAFTER_ODFI_", "DRAFTER_MAIL_", "DRAFTER_LENDER_"} {
			if strings.Contains(b.String(), not) {
				t.Errorf("drafter %s --help names %s*, which it does not read", name, not)
			}
		}
	}
}
