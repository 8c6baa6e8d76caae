package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strconv"
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
		{"go style", []string{"ls", "-json", "-out=f.pdf"}, []string{"ls"}, true, "f.pdf", false},
		{"unknown flag", []string{"ls", "--jsn"}, nil, false, "", true},
		{"bad value", []string{"ls", "--json=maybe"}, nil, false, "", true},
		{"missing value", []string{"get", "KEY", "--out"}, nil, false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newFlagSet("x", "x")
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
	fs := newFlagSet("x", "x")
	fs.SetOutput(io.Discard)
	fs.quiet = true
	if _, err := parseArgs(fs, []string{"ls", "--help"}); !errors.Is(err, errHelp) {
		t.Fatalf("--help: %v, want errHelp", err)
	}
}

// goBool is a standard library flag.Value without pflag's Type.
type goBool struct{ set bool }

func (b *goBool) String() string   { return strconv.FormatBool(b.set) }
func (b *goBool) Set(string) error { b.set = true; return nil }
func (b *goBool) IsBoolFlag() bool { return true }

// A flag.Value from the standard library is taken as it was by flag.Var:
// code written for the old flag sets compiles and behaves.
func TestFlagSetGoValue(t *testing.T) {
	fs := newFlagSet("x", "x")
	var v goBool
	fs.Var(&v, "force", "")
	pos, err := parseArgs(fs, []string{"a", "--force", "b"})
	if err != nil || !v.set || !slices.Equal(pos, []string{"a", "b"}) {
		t.Fatalf("parseArgs = %q, %v (force %v)", pos, err, v.set)
	}
	var visited []string
	fs.Visit(func(f *flag.Flag) { visited = append(visited, f.Name) })
	if !slices.Equal(visited, []string{"force"}) || !isFlagSet(fs, "force") {
		t.Errorf("Visit: %q, want the flag given", visited)
	}
	fs.quiet = true
	if err := fs.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) || !errors.Is(err, errHelp) {
		t.Errorf("--help: %v, want errHelp that is also flag.ErrHelp", err)
	}
}

func TestGlobalLongForm(t *testing.T) {
	got := globalLongForm([]string{"-data-dir", "/x", "-config=c.env", "runs", "-json"})
	want := []string{"--data-dir", "/x", "--config=c.env", "runs", "-json"}
	if !slices.Equal(got, want) {
		t.Fatalf("globalLongForm = %q, want %q", got, want)
	}
}
