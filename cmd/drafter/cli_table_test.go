package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tableCLI runs the real binary in an empty working folder, with the key in
// the environment but no DRAFTER_DATA_DIR: a command that fell back to the
// default data folder would create ./drafter-data there.
type tableCLI struct {
	t   *testing.T
	bin string
	cwd string
	env []string
}

func newTableCLI(t *testing.T) *tableCLI {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRAFTER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_LOG_LEVEL=warn", "DRAFTER_OPERATOR=tester")
	return &tableCLI{t: t, bin: drafterBin(t), cwd: t.TempDir(), env: env}
}

func (c *tableCLI) run(extraEnv []string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.cwd
	cmd.Env = append(append([]string{}, c.env...), extraEnv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("drafter %v: %v", args, err)
	}
	c.checkCwdEmpty(args)
	return result{out.String(), errb.String(), code}
}

func (c *tableCLI) ok(args ...string) string {
	c.t.Helper()
	r := c.run(nil, args...)
	if r.code != 0 {
		c.t.Fatalf("drafter %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// checkCwdEmpty fails when a command left anything in the working folder:
// no database, data folder or file where none was named.
func (c *tableCLI) checkCwdEmpty(args []string) {
	c.t.Helper()
	ents, err := os.ReadDir(c.cwd)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(ents) > 0 {
		c.t.Fatalf("drafter %s left %s in the working folder", strings.Join(args, " "), ents[0].Name())
	}
}

// TestCLITable runs every command and subcommand of the real binary: its
// --help (exit 0, usage on standard output), its usage errors (exit 2,
// nothing on standard output), and the working commands with flags before
// and after the positional arguments and the global flags before the
// command; no command creates anything in the working folder, and every
// --json output has snake_case keys.
func TestCLITable(t *testing.T) {
	c := newTableCLI(t)
	dir := filepath.Join(t.TempDir(), "data")
	out := t.TempDir()

	// Help: every command and subcommand, as --help, -h and `help X`.
	var names []string
	for _, e := range commands {
		names = append(names, e.name)
		if ws, ok := e.cmd().(withSubcommands); ok {
			for _, s := range ws.Subcommands() {
				names = append(names, e.name+" "+s.name)
			}
		}
	}
	for _, name := range names {
		words := strings.Fields(name)
		for _, args := range [][]string{append(words, "--help"), append(words, "-h"), append([]string{"help"}, words...)} {
			r := c.run(nil, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: drafter "+words[0]) || r.stderr != "" {
				t.Errorf("drafter %s: exit %d, stdout %.80q, stderr %q; want exit 0 and the usage on stdout", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			}
			if n := strings.Count(r.stdout, "Usage: drafter "+words[0]); n != 1 {
				t.Errorf("drafter %s prints its usage %d times, want once", strings.Join(args, " "), n)
			}
			if strings.Contains(r.stdout, "(default )") {
				t.Errorf("drafter %s shows an empty default:\n%s", strings.Join(args, " "), r.stdout)
			}
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
		not  []string
	}{
		{[]string{"--help"}, []string{"Usage: drafter", "init", "completion", "Exit codes"}, nil},
		{[]string{"help"}, []string{"Usage: drafter"}, nil},
		{[]string{"run", "--help"}, []string{"originate", "statements", "nightly", "--from", "Examples:", "DRAFTER_ODFI_ROUTING"}, nil},
		{[]string{"bench", "--help"}, []string{"bench statements", "bench originate"}, nil},
		{[]string{"generate", "--help"}, []string{"--as-of", "--out"}, []string{"DRAFTER_", "--data-dir"}},
		{[]string{"runs", "--help"}, []string{"--data-dir", "DRAFTER_STALE_AFTER", "Examples:"}, []string{"DRAFTER_ODFI", "DRAFTER_MAIL"}},
		{[]string{"init", "--help"}, []string{"--data-dir", "0700", "Back the key up"}, nil},
		{[]string{"help", "settings"}, []string{"DRAFTER_ODFI_ROUTING", "DRAFTER_LOG_LEVEL"}, nil},
		{[]string{"--version"}, []string{"drafter ", "commit ", "go1."}, nil},
	} {
		r := c.run(nil, tc.args...)
		if r.code != 0 {
			t.Errorf("drafter %s: exit %d: %s", strings.Join(tc.args, " "), r.code, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("drafter %s does not say %q:\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(r.stdout, w) {
				t.Errorf("drafter %s says %q:\n%s", strings.Join(tc.args, " "), w, r.stdout)
			}
		}
	}

	// Completion scripts, and candidates from the command tree.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if s := c.ok("completion", sh); !strings.Contains(s, "drafter") {
			t.Errorf("completion %s: %.200s", sh, s)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", ""}, "runs"},
		{[]string{"__complete", "run", ""}, "nightly"},
		{[]string{"__complete", "runs", ""}, "show"},
		{[]string{"__complete", "runs", "--st"}, "--status"},
		{[]string{"__complete", "storage", "ls", "--j"}, "--json"},
		{[]string{"__complete", "help", "ru"}, "runs"},
		{[]string{"__complete", "runs", "--status", ""}, "succeeded"},
		{[]string{"__complete", "outbox", "--kind", ""}, "statement_ready"},
		{[]string{"__complete", "runs", "--job", ""}, "originate"},
	} {
		if s := c.ok(tc.args...); !strings.Contains(s, tc.want) {
			t.Errorf("drafter %s: %q, want %q among the candidates", strings.Join(tc.args, " "), s, tc.want)
		}
	}

	// A new data folder: init makes it with its key; import into a folder
	// without one names init.
	noKey := filepath.Join(t.TempDir(), "new")
	r := c.run([]string{"DRAFTER_ENCRYPTION_KEY="}, "import", "x.jsonl", "--data-dir", noKey)
	if r.code != 2 || !strings.Contains(r.stderr, "drafter init") || r.stdout != "" {
		t.Errorf("import into a folder without a key: exit %d, %q", r.code, r.stderr)
	}
	if _, err := os.Stat(noKey); !os.IsNotExist(err) {
		t.Errorf("the refused import created %s", noKey)
	}
	if r := c.run([]string{"DRAFTER_ENCRYPTION_KEY="}, "init", "--data-dir", noKey); r.code != 0 || !strings.Contains(r.stdout, "Back the key up") {
		t.Errorf("init: exit %d, %s%s", r.code, r.stdout, r.stderr)
	}
	for path, want := range map[string]os.FileMode{noKey: 0o700, filepath.Join(noKey, "encryption.key"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want mode %o", path, err, fi, want)
		}
	}
	if r := c.run(nil, "--data-dir", noKey, "init"); r.code != 1 || !strings.Contains(r.stderr, "has a key file already") {
		t.Errorf("init twice: exit %d, %s", r.code, r.stderr)
	}

	// A ledger to work on: flags before and after the positionals, and the
	// global flags before the command.
	portfolio := filepath.Join(out, "p.jsonl")
	c.ok("generate", "--as-of", "2026-03-10", "--out", portfolio, "--accounts", "40", "--seed", "7")
	c.ok("init", "--data-dir="+dir)
	jsonOK(t, c.ok("import", "--data-dir", dir, "--json", portfolio))
	jsonOK(t, c.ok("--data-dir", dir, "run", "--date", "2026-03-11", "--json", "originate"))
	var runs []map[string]any
	if err := json.Unmarshal([]byte(c.ok("runs", "--json", "--data-dir", dir)), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", err, runs)
	}
	id := strconv.Itoa(int(runs[0]["id"].(float64)))
	first := firstAccount(t, portfolio)

	// Something in every list: statements (documents, email) and an
	// exception (a rejected return file).
	jsonOK(t, c.ok("run", "statements", "--json", "--data-dir", dir, "--date", "2026-03-03"))
	garbled := filepath.Join(out, "garbled.ach")
	if err := os.WriteFile(garbled, []byte("not a NACHA file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = c.run(nil, "returns", "--data-dir", dir, "ingest", "--json", garbled, "--date", "2026-03-11")
	if r.code != 1 || !strings.Contains(r.stderr, "rejected") {
		t.Errorf("returns ingest of a garbled file: exit %d, %s", r.code, r.stderr)
	}
	jsonOK(t, r.stdout)
	var exs []map[string]any
	if err := json.Unmarshal([]byte(c.ok("exceptions", "--json", "--data-dir", dir)), &exs); err != nil || len(exs) != 1 {
		t.Fatalf("exceptions: %v %v", err, exs)
	}
	exID := strconv.Itoa(int(exs[0]["id"].(float64)))
	jsonOK(t, c.ok("exceptions", "resolve", "--note", "bank resent it", "--json", exID, "--data-dir", dir))
	var msgs []map[string]any
	if err := json.Unmarshal([]byte(c.ok("outbox", "--json", "--data-dir", dir)), &msgs); err != nil || len(msgs) == 0 {
		t.Fatalf("outbox: %v %v", err, msgs)
	}

	// Working commands, flags anywhere; every --json output is snake_case.
	for _, args := range [][]string{
		{"runs", "--data-dir", dir, "--json"},
		{"--data-dir", dir, "runs", "--json", "--job", "originate", "--status", "succeeded"},
		{"--data-dir=" + dir, "runs", "show", id, "--json"},
		{"runs", "show", "--json", id, "--data-dir", dir},
		{"runs", "--json", "show", id, "--data-dir", dir, "--items"},
		{"runs", "--data-dir", dir, "show", "--json", id},
		{"run", "--dry-run", "originate", "--data-dir", dir, "--date=2026-03-11", "--json"},
		{"rerun", "--reason", "the bank lost the file", id, "--data-dir", dir, "--json"},
		{"storage", "ls", "--json", "ach/", "--data-dir", dir},
		{"storage", "--data-dir", dir, "ls", "ach/", "--json"},
		{"--data-dir", dir, "storage", "--json", "ls"},
		{"outbox", "--data-dir", dir, "--json", "--status", "queued"},
		{"--data-dir", dir, "outbox", "--kind", "payment_scheduled", "--json"},
		{"exceptions", "--json", "--all", "--data-dir", dir},
		{"report", "return-rates", "--as-of", "2026-03-11", "--json", "--data-dir", dir},
		{"report", "--json", "--data-dir", dir, "return-rates", "--days", "30"},
		{"bank", "status", "--date", "2026-03-11", "--json", "--data-dir", dir},
		{"bank", "--json", "--data-dir", dir, "status"},
		{"schedule", "--json", "--data-dir", dir},
		{"schedule", "pause", "deliver", "--reason", "relay maintenance", "--json", "--data-dir", dir},
		{"--data-dir", dir, "schedule", "resume", "--json", "deliver"},
		{"audit", "--data-dir", dir, "--json"},
		{"audit", "--json", "--action", "schedule pause", "--data-dir", dir},
	} {
		jsonOK(t, c.ok(args...))
	}
	// The rest of the commands, flags before and after.
	demo := filepath.Join(t.TempDir(), "demo")
	c.ok("demo", "--accounts", "5", "--data-dir", demo, "--date=2026-03-11")
	c.ok("--data-dir", demo, "migrate")
	c.ok("migrate", "--data-dir="+demo)
	jsonOK(t, c.ok("bench", "--json", "statements", "--accounts", "5"))
	jsonOK(t, c.ok("bench", "originate", "--json", "--payments", "10"))
	jsonOK(t, c.ok("bench", "--payments", "10", "originate", "--json"))

	var objs []map[string]any
	if err := json.Unmarshal([]byte(c.ok("storage", "ls", "ach/outbound/", "--json", "--data-dir", dir)), &objs); err != nil || len(objs) == 0 {
		t.Fatalf("storage ls: %v %v", err, objs)
	}
	if sha, _ := objs[0]["sha256"].(string); len(sha) != 64 || objs[0]["content_type"] == "" {
		t.Errorf("storage ls --json: %v, want the sha256 and content type Put recorded", objs[0])
	}
	key := objs[0]["key"].(string)
	got := filepath.Join(out, "got.ach")
	c.ok("storage", "get", "--out", got, key, "--data-dir", dir)
	c.ok("storage", "--data-dir", dir, "get", key, "--out="+got)
	if !strings.HasPrefix(c.ok("storage", "get", key, "--data-dir", dir), "101") {
		t.Errorf("storage get to stdout is not the NACHA file")
	}
	if s := c.ok("runs", "--data-dir", dir); !strings.Contains(s, "originate") {
		t.Errorf("runs: %s", s)
	}

	// A statement on the account's cycle date renders; any other date is
	// refused, naming the cycle dates around it.
	cycle := fmt.Sprintf("2026-02-%02d", min(first.cycleDay, 28))
	pdf := filepath.Join(out, "s.pdf")
	c.ok("render", "--account", first.id, "statement", "--date", cycle, "--out", pdf, "--data-dir", dir)
	other := "2026-02-14"
	if first.cycleDay == 14 {
		other = "2026-02-15"
	}
	r = c.run(nil, "render", "statement", "--account", first.id, "--date", other, "--out", pdf, "--data-dir", dir)
	if r.code != 2 || !strings.Contains(r.stderr, "not a statement date") || !strings.Contains(r.stderr, cycle) || r.stdout != "" {
		t.Errorf("render statement on %s (cycle day %d): exit %d, %q", other, first.cycleDay, r.code, r.stderr)
	}

	// Refusals: exit 2 (usage) or 1, never anything on stdout; a usage
	// error that names a data folder does not create it.
	never := filepath.Join(out, "never")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, 2, `unknown command "bogus"`},
		{[]string{"--data-dir", dir}, 2, "which command"},
		{[]string{"--bogus", "runs"}, 2, "unknown flag"},
		{[]string{"run"}, 2, "which job"},
		{[]string{"run", "--data-dir", dir}, 2, "which job"},
		{[]string{"run", "bogus", "--date", "2026-03-11", "--data-dir", dir}, 2, `unknown job "bogus"`},
		{[]string{"run", "originate", "--data-dir", dir}, 2, "--date is required"},
		{[]string{"run", "originate", "--date", "2026-13-01", "--data-dir", dir}, 2, "--date"},
		{[]string{"run", "originate", "--date", "2026-03-11", "--from", "2026-03-01", "--to", "2026-03-11", "--data-dir", dir}, 2, "--from/--to"},
		{[]string{"run", "originate", "statements", "--date", "2026-03-11"}, 2, "one job at a time"},
		{[]string{"run", "originate", "--date"}, 2, "needs an argument"},
		{[]string{"run", "originate", "--date", "2026-03-11", "--dry-run=maybe"}, 2, "invalid argument"},
		{[]string{"run", "originate", "--date", "2026-03-11", "--json", "--data-dir", dir}, 1, "already succeeded"},
		{[]string{"runs", "show"}, 2, "want a run id"},
		{[]string{"runs", "show", "abc"}, 2, "want a run id"},
		{[]string{"runs", "show", "1", "2"}, 2, "want one run id"},
		{[]string{"runs", "--status", "bogus"}, 2, "want one of running, succeeded"},
		{[]string{"runs", "--job", "bogus"}, 2, "want one of"},
		{[]string{"runs", "--limit", "x"}, 2, "invalid argument"},
		{[]string{"runs", "--limit", "0"}, 2, "--limit"},
		{[]string{"runs", "--jsn"}, 2, "unknown flag: --jsn"},
		{[]string{"runs", "extra"}, 2, "takes no arguments"},
		{[]string{"runs", "show", "999", "--json", "--data-dir", dir}, 1, "not found"},
		{[]string{"resume"}, 2, "want a run id"},
		{[]string{"resume", "--json", "--data-dir", dir, id}, 1, "nothing is left to finish"},
		{[]string{"restart", "x"}, 2, "want a run id"},
		{[]string{"rerun"}, 2, "want a run id"},
		{[]string{"rerun", "1"}, 2, "--reason is required"},
		{[]string{"rerun", id, "--reason", "x", "--account", "ACC-NOPE", "--json", "--data-dir", dir}, 2, "no such account"},
		{[]string{"rerun", id, "--json", "--reason=again", "--data-dir", dir, "--account", first.id}, 1, "had nothing in run " + id},
		{[]string{"cancel"}, 2, "want a run id"},
		{[]string{"cancel", "1"}, 2, "--reason is required"},
		{[]string{"cancel", id, "--reason", "x", "--json", "--data-dir", dir}, 1, "nothing to stop"},
		{[]string{"schedule", "bogus"}, 2, `unknown schedule command "bogus"`},
		{[]string{"schedule", "pause"}, 2, "which job"},
		{[]string{"schedule", "pause", "originate"}, 2, "--reason is required"},
		{[]string{"schedule", "pause", "bogus", "--reason", "x"}, 2, `unknown job "bogus"`},
		{[]string{"schedule", "resume", "--all", "originate"}, 2, "not both"},
		{[]string{"audit", "extra"}, 2, "takes no arguments"},
		{[]string{"audit", "--limit", "x"}, 2, "invalid argument"},
		{[]string{"bank", "reoriginate"}, 2, "storage key"},
		{[]string{"bank", "reoriginate", "ach/outbound/x.ach"}, 2, "--reason is required"},
		{[]string{"release-file"}, 2, "storage key"},
		{[]string{"release-file", "ach/x.ach"}, 2, "--reason is required"},
		{[]string{"outbox", "--status", "bogus"}, 2, "want one of queued"},
		{[]string{"outbox", "--kind", "bogus"}, 2, "want one of payment_scheduled"},
		{[]string{"outbox", "retry"}, 2, "want a outbox id"},
		{[]string{"outbox", "retry", "x"}, 2, "outbox id"},
		{[]string{"exceptions", "resolve"}, 2, "exception id"},
		{[]string{"exceptions", "resolve", "1"}, 2, "--note is required"},
		{[]string{"exceptions", "extra"}, 2, "takes no arguments"},
		{[]string{"returns"}, 2, "returns ingest FILE"},
		{[]string{"returns", "foo"}, 2, `unknown returns command "foo"`},
		{[]string{"returns", "ingest"}, 2, "at least one"},
		{[]string{"returns", "ingest", "f.ach", "--date", "x"}, 2, "--date"},
		{[]string{"report"}, 2, "which report"},
		{[]string{"report", "foo"}, 2, `unknown report "foo"`},
		{[]string{"report", "return-rates", "--days", "0"}, 2, "--days 0"},
		{[]string{"bank"}, 2, "bank status"},
		{[]string{"bank", "foo"}, 2, `unknown bank command "foo"`},
		{[]string{"storage"}, 2, "want ls or get"},
		{[]string{"storage", "foo"}, 2, `unknown verb "foo"`},
		{[]string{"storage", "get"}, 2, "want the object's key"},
		{[]string{"storage", "ls", "--out", "x"}, 2, "--out is for get"},
		{[]string{"render"}, 2, "which document"},
		{[]string{"render", "foo"}, 2, `unknown document "foo"`},
		{[]string{"render", "statement", "--date", "2026-03-01", "--out", "x.pdf"}, 2, "--account is required"},
		{[]string{"render", "statement", "--account", "ACC-NOPE", "--date", "2026-03-01", "--out", filepath.Join(out, "x.pdf"), "--data-dir", dir}, 2, "no account"},
		{[]string{"bench"}, 2, "which benchmark"},
		{[]string{"bench", "foo"}, 2, `unknown benchmark "foo"`},
		{[]string{"bench", "originate", "--payments", "0"}, 2, "--payments 0"},
		{[]string{"bench", "statements", "--accounts", "0"}, 2, "--accounts 0"},
		{[]string{"generate"}, 2, "--as-of is required"},
		{[]string{"generate", "--as-of", "2026-03-10", "extra"}, 2, "takes no arguments"},
		{[]string{"generate", "--as-of", "2026-03-10", "--data-dir", dir}, 2, "unknown flag: --data-dir"},
		{[]string{"import"}, 2, "want one extract file"},
		{[]string{"import", "a.jsonl", "b.jsonl"}, 2, "want one extract file"},
		{[]string{"demo", "--accounts", "0"}, 2, "--accounts 0"},
		{[]string{"demo", "extra"}, 2, "takes no arguments"},
		{[]string{"init", "extra"}, 2, "takes no arguments"},
		{[]string{"migrate", "extra"}, 2, "takes no arguments"},
		{[]string{"serve", "extra"}, 2, "takes no arguments"},
		{[]string{"rotate-key", "extra"}, 2, "takes no arguments"},
		{[]string{"completion", "tcsh"}, 2, "unknown shell"},
		{[]string{"help", "bogus"}, 2, "no help for"},
		{[]string{"help", "runs", "bogus"}, 2, "no help for"},
		{[]string{"completion"}, 2, "which shell"},
		{[]string{"run", "bogus", "--date", "2026-03-11", "--data-dir", never}, 2, "unknown job"},
		{[]string{"--data-dir", never, "run", "originate", "--to", "2026-03-01", "--from", "2026-03-02"}, 2, "is before"},
		{[]string{"--data-dir", never, "runs", "--status", "done"}, 2, "want one of"},
		{[]string{"--data-dir", never, "storage", "foo"}, 2, "unknown verb"},
		{[]string{"import", "--data-dir", never, "--skip-invalid"}, 2, "want one extract file"},
	} {
		r := c.run(nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("drafter %s: exit %d, stdout %q, stderr %q; want exit %d saying %q and nothing on stdout",
				strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.code, tc.want)
		}
		if _, err := os.Stat(never); !os.IsNotExist(err) {
			t.Fatalf("drafter %s created the data folder it named", strings.Join(tc.args, " "))
		}
	}
}

// account is what a test needs of a generated account.
type account struct {
	id       string
	cycleDay int
}

func firstAccount(t *testing.T, portfolio string) account {
	t.Helper()
	line, _, _ := strings.Cut(readFile(t, portfolio), "\n")
	var a struct {
		ID       string `json:"id"`
		Contract struct {
			CycleDay int `json:"cycle_day"`
		} `json:"contract"`
	}
	if err := json.Unmarshal([]byte(line), &a); err != nil || a.ID == "" || a.Contract.CycleDay == 0 {
		t.Fatalf("first account: %v %q", err, line)
	}
	return account{a.ID, a.Contract.CycleDay}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonOK checks that out is JSON whose every key is snake_case (the keys
// of maps keyed by data, such as return codes, excepted).
func jsonOK(t *testing.T, out string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Errorf("not JSON: %v\n%s", err, out)
		return
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if !snakeCase.MatchString(k) && !dataKeyed(path) {
					t.Errorf("key %q at %s is not snake_case", k, path)
				}
				walk(path+"."+k, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
		}
	}
	walk("$", v)
}

// dataKeyed: maps whose keys are data (return codes, workers, metadata),
// not field names.
func dataKeyed(path string) bool {
	for _, suffix := range []string{"by_code", "by_change_code", "returns_by_code", "by_worker", "metadata", "params", "summary.counts"} {
		if strings.HasSuffix(path, suffix) {
			return true
		}
	}
	return false
}
