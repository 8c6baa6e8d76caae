package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		wantPos  []string
		wantJSON bool
		wantOut  string
		usage    bool
	}{
		{"flags after", []string{"ls", "PREFIX", "--json"}, []string{"ls", "PREFIX"}, true, "", false},
		{"flags before", []string{"--json", "ls", "PREFIX"}, []string{"ls", "PREFIX"}, true, "", false},
		{"flags between", []string{"get", "--out", "f.pdf", "KEY"}, []string{"get", "KEY"}, false, "f.pdf", false},
		{"equals form", []string{"get", "KEY", "--out=f.pdf"}, []string{"get", "KEY"}, false, "f.pdf", false},
		{"after --", []string{"get", "--", "--json"}, []string{"get", "--json"}, false, "", false},
		{"none", nil, nil, false, "", false},
		{"unknown flag", []string{"ls", "--jsn"}, nil, false, "", true},
		{"missing value", []string{"get", "KEY", "--out"}, nil, false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			j := fs.Bool("json", false, "")
			out := fs.String("out", "", "")
			pos, err := parseArgs(fs, tc.args)
			var ue usageError
			if tc.usage {
				if !errors.As(err, &ue) || ue.ExitCode() != 2 {
					t.Fatalf("parseArgs = %v, want a usage error (exit 2)", err)
				}
				return
			}
			if err != nil || !slices.Equal(pos, tc.wantPos) || *j != tc.wantJSON || *out != tc.wantOut {
				t.Fatalf("parseArgs = %q, %v (json %v, out %q); want %q (json %v, out %q)", pos, err, *j, *out, tc.wantPos, tc.wantJSON, tc.wantOut)
			}
		})
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := parseArgs(fs, []string{"ls", "--help"}); !errors.Is(err, errHelp) {
		t.Fatalf("--help: %v, want errHelp", err)
	}
}

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		in       []string
		name     string
		wantArgs []string
	}{
		{[]string{"runs"}, "runs", nil},
		{[]string{"--data-dir", "/x", "runs", "--json"}, "runs", []string{"--json", "--data-dir", "/x"}},
		{[]string{"--data-dir=/x", "--config", "c.env", "import", "f.jsonl"}, "import", []string{"f.jsonl", "--data-dir=/x", "--config", "c.env"}},
		{[]string{"-data-dir", "/x", "storage", "ls"}, "storage", []string{"ls", "-data-dir", "/x"}},
		{[]string{"--json", "runs"}, "--json", []string{"runs"}},
		{[]string{"--data-dir", "/x"}, "", []string{"--data-dir", "/x"}},
	} {
		name, args := commandLine(tc.in)
		if name != tc.name || !slices.Equal(args, tc.wantArgs) {
			t.Errorf("commandLine(%q) = %q %q, want %q %q", tc.in, name, args, tc.name, tc.wantArgs)
		}
	}
}
