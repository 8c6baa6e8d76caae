package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// cli runs the drafter binary on one data dir and database.
type cli struct {
	t   *testing.T
	bin string
	env []string
}

func newCLI(t *testing.T, dialect string) *cli {
	t.Helper()
	dir := t.TempDir()
	c := &cli{t: t, bin: drafterBin(t), env: append(os.Environ(),
		"DRAFTER_DATA_DIR="+dir,
		"DRAFTER_DATABASE_URL="+ledgertest.URL(t, dialect),
		"DRAFTER_ENCRYPTION_KEY="+testKeyHex,
		"DRAFTER_LOG_FORMAT=json", "DRAFTER_LOG_LEVEL=warn", "DRAFTER_OPERATOR=tester", "DRAFTER_CRASH_AT=")}
	if dialect == "postgres" {
		c.ok("migrate")
	}
	return c
}

// run runs drafter with args and extra environment, returning stdout,
// stderr and the exit code.
func (c *cli) run(extraEnv []string, args ...string) (string, string, int) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
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
	return out.String(), errb.String(), code
}

// ok runs drafter and fails the test unless it exits 0.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, code := c.run(nil, args...)
	if code != 0 {
		c.t.Fatalf("drafter %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

func (c *cli) results(args ...string) []jobs.Result {
	c.t.Helper()
	var rs []jobs.Result
	out := c.ok(append(args, "--json")...)
	jsonOK(c.t, out)
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		c.t.Fatalf("drafter %v: %v\n%s", args, err, out)
	}
	return rs
}

func (c *cli) show(id int64) ledger.Run {
	c.t.Helper()
	var r ledger.Run
	out := c.ok("runs", "show", strconv.FormatInt(id, 10), "--json")
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		c.t.Fatal(err, out)
	}
	return r
}

// TestCLIRuns drives the run commands on a small generated portfolio:
// start, refused duplicate, dry run, restart of a killed run, rerun with a
// reason, a scoped rerun, and a backfill. The extract is the servicing
// system's of March 10, so the statements of March 3 to 10 reconcile with
// it; originate runs on March 11, after them.
func TestCLIRuns(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, dialect)
			file := filepath.Join(t.TempDir(), "portfolio.jsonl")
			c.ok("generate", "--accounts", "60", "--seed", "7", "--as-of", "2026-03-10", "--out", file)
			c.ok("import", file)
			firstLine, _, _ := strings.Cut(readFile(t, file), "\n")
			var acct struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(firstLine), &acct); err != nil || acct.ID == "" {
				t.Fatalf("first account of the portfolio: %v %q", err, firstLine)
			}

			// A start killed at its first write, then restarted: the
			// same run finishes.
			_, errs, code := c.run([]string{"DRAFTER_CRASH_AT=1"}, "run", "originate", "--date", "2026-03-11")
			if code != jobs.CrashExitCode {
				t.Fatalf("crashed run: exit %d, want %d\n%s", code, jobs.CrashExitCode, errs)
			}
			var runs []ledger.Run
			if err := json.Unmarshal([]byte(c.ok("runs", "--status", "running", "--json")), &runs); err != nil || len(runs) != 1 {
				t.Fatalf("running runs after the crash: %v %+v", err, runs)
			}
			first := runs[0].ID
			rs := c.results("restart", strconv.FormatInt(first, 10), "--stale-after", "0s")
			if len(rs) != 1 || rs[0].Run.ID != first || rs[0].Run.Status != ledger.RunSucceeded || rs[0].Run.Attempt != 1 || rs[0].Run.TriggeredBy != "tester" {
				t.Fatalf("restart: %+v", rs)
			}

			// Refused duplicate start.
			_, errs, code = c.run(nil, "run", "originate", "--date", "2026-03-11")
			if code == 0 || !strings.Contains(errs, "already succeeded") || !strings.Contains(errs, "drafter rerun") {
				t.Errorf("duplicate start: exit %d, %s", code, errs)
			}

			// A start.
			rs = c.results("run", "statements", "--date", "2026-03-03")
			if len(rs) != 1 || rs[0].Run.Status != ledger.RunSucceeded {
				t.Fatalf("start: %+v", rs)
			}

			// Dry run: computed, reported, recorded apart (a completed run
			// of the date does not refuse it).
			rs = c.results("run", "originate", "--date", "2026-03-11", "--dry-run")
			if len(rs) != 1 || !rs[0].Run.DryRun || rs[0].Run.Status != ledger.RunSucceeded || rs[0].Run.ID == first {
				t.Fatalf("dry run: %+v", rs)
			}

			// Rerun: a reason is required, and recorded.
			if _, errs, code = c.run(nil, "rerun", strconv.FormatInt(first, 10)); code == 0 || !strings.Contains(errs, "--reason is required") {
				t.Errorf("rerun without reason: exit %d, %s", code, errs)
			}
			rs = c.results("rerun", strconv.FormatInt(first, 10), "--reason", "the bank lost the file")
			if len(rs) != 1 || rs[0].Run.Attempt != 2 || rs[0].Run.Status != ledger.RunSucceeded {
				t.Fatalf("rerun: %+v", rs)
			}
			if r := c.show(rs[0].Run.ID); r.Reason != "the bank lost the file" || r.Trigger != "operator" || r.TriggeredBy != "tester" {
				t.Errorf("rerun recorded as %+v", r)
			}

			// Scoped rerun: one account the run debited. One it did not
			// debit, or that does not exist, is refused, nothing on stdout.
			debited := c.originatedAccount()
			rs = c.results("rerun", strconv.FormatInt(first, 10), "--reason", "customer called", "--account", debited)
			if len(rs) != 1 || rs[0].Run.Scope != "account:"+debited || rs[0].Run.Status != ledger.RunSucceeded {
				t.Fatalf("scoped rerun: %+v", rs)
			}
			for _, tc := range []struct {
				account string
				code    int
				want    string
			}{{"ACC-99999999", 2, "no such account"}, {acct.ID, 1, "had nothing in run"}} {
				if acct.ID == debited && tc.code == 1 {
					continue
				}
				out, errs, code := c.run(nil, "rerun", strconv.FormatInt(first, 10), "--reason", "x", "--account", tc.account, "--json")
				if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
					t.Errorf("rerun --account %s: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.account, code, out, errs, tc.code, tc.want)
				}
			}

			// Backfill: statements run every calendar day, in order,
			// the weekend of March 7 and 8 included.
			rs = c.results("run", "statements", "--from", "2026-03-04", "--to", "2026-03-10")
			var dates []string
			for _, r := range rs {
				dates = append(dates, r.Run.BusinessDate.String()+" "+r.Run.Status)
			}
			want := []string{"2026-03-04 succeeded", "2026-03-05 succeeded", "2026-03-06 succeeded", "2026-03-07 succeeded", "2026-03-08 succeeded",
				"2026-03-09 succeeded", "2026-03-10 succeeded"}
			if strings.Join(dates, ",") != strings.Join(want, ",") {
				t.Errorf("backfill ran %v, want %v", dates, want)
			}
		})
	}
}

// originatedAccount is the account of the first entry of the first NACHA
// file stored (the entry's individual identification number).
func (c *cli) originatedAccount() string {
	c.t.Helper()
	var objs []struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(c.ok("storage", "ls", "ach/outbound/", "--json")), &objs); err != nil || len(objs) == 0 {
		c.t.Fatalf("stored NACHA files: %v %v", err, objs)
	}
	for line := range strings.SplitSeq(c.ok("storage", "get", objs[0].Key), "\n") {
		if strings.HasPrefix(line, "6") && len(line) >= 54 {
			return strings.TrimSpace(line[39:54])
		}
	}
	c.t.Fatalf("no entry in %s", objs[0].Key)
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestCLIServe starts drafter serve on SQLite: the admin API answers, a
// second serve on the same database and a token-less API on a
// non-loopback address are refused, and SIGTERM stops it cleanly.
func TestCLIServe(t *testing.T) {
	c := newCLI(t, "sqlite")
	if _, errs, code := c.run(nil, "serve", "--admin-addr", "0.0.0.0:0"); code == 0 || !strings.Contains(errs, "DRAFTER_ADMIN_TOKEN") {
		t.Errorf("serve on 0.0.0.0 without a token: exit %d, %s", code, errs)
	}
	cmd := exec.Command(c.bin, "serve", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(append([]string{}, c.env...), "DRAFTER_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		var line struct {
			Message string `json:"message"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "admin API listening" {
			addr = line.Addr
		}
	}
	if addr == "" {
		t.Fatal("serve never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get("http://" + addr + p)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", p, err, resp)
			continue
		}
		resp.Body.Close()
	}
	// Without a token the API only reads: no page in the operator's
	// browser (CSRF, text/plain from a foreign Origin) nor one rebinding
	// its name to loopback (a foreign Host) starts a run.
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		name, method, path, ctype, host, origin string
		code                                    int
	}{
		{"JSON POST", "POST", "/api/v1/runs", "application/json", "", "", http.StatusForbidden},
		{"CSRF", "POST", "/api/v1/runs", "text/plain", "", "http://evil.example", http.StatusForbidden},
		{"rebinding POST", "POST", "/api/v1/runs", "text/plain", "evil.example:" + port, "", http.StatusMisdirectedRequest},
		{"rebinding GET", "GET", "/api/v1/runs", "", "evil.example:" + port, "", http.StatusMisdirectedRequest},
	} {
		req, _ := http.NewRequest(tc.method, "http://"+addr+tc.path, strings.NewReader(`{"job":"statements","date":"2026-03-02"}`))
		req.Header.Set("Content-Type", tc.ctype)
		if tc.host != "" {
			req.Host = tc.host
		}
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.code)
		}
	}
	if out, _, _ := c.run(nil, "runs"); strings.Contains(out, "statements") {
		t.Errorf("a refused request started a run:\n%s", out)
	}
	if _, errs, code := c.run(nil, "serve", "--admin-addr", "127.0.0.1:0"); code == 0 || !strings.Contains(errs, "another drafter serve") {
		t.Errorf("a second serve on the same SQLite database: exit %d, %s", code, errs)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// TestCLIExceptions: a malformed return file is rejected into an
// exception, which the operator lists and resolves with a note; resolving
// without a note, twice, or an unknown id says what to do.
func TestCLIExceptions(t *testing.T) {
	c := newCLI(t, "sqlite")
	bad := filepath.Join(t.TempDir(), "garbled.ach")
	if err := os.WriteFile(bad, []byte("not a NACHA file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(nil, "returns", "ingest", bad, "--date", "2026-12-02") // exits non-zero: the file is rejected
	var exs []ledger.Exception
	if err := json.Unmarshal([]byte(c.ok("exceptions", "--json")), &exs); err != nil || len(exs) != 1 {
		t.Fatalf("exceptions after a rejected file: %v %+v", err, exs)
	}
	id := strconv.FormatInt(exs[0].ID, 10)
	if _, errs, code := c.run(nil, "exceptions", "resolve", id); code == 0 || !strings.Contains(errs, "--note is required") {
		t.Errorf("resolve without a note: exit %d, %s", code, errs)
	}
	if out := c.ok("exceptions", "resolve", "#"+id, "--note", "bank resent the file"); !strings.Contains(out, "resolved by tester") {
		t.Errorf("resolve: %s", out)
	}
	if _, errs, code := c.run(nil, "exceptions", "resolve", id, "--note", "again"); code == 0 || !strings.Contains(errs, "was resolved") || !strings.Contains(errs, "by tester: bank resent the file") {
		t.Errorf("resolve twice: exit %d, %s", code, errs)
	}
	if _, errs, code := c.run(nil, "exceptions", "resolve", "999", "--note", "x"); code == 0 || !strings.Contains(errs, "does not exist") {
		t.Errorf("resolve unknown: exit %d, %s", code, errs)
	}
	if out := c.ok("exceptions"); !strings.Contains(out, "no open exceptions") {
		t.Errorf("open exceptions after resolving: %s", out)
	}
	if out := c.ok("exceptions", "--all"); !strings.Contains(out, "resolved") || !strings.Contains(out, "by tester: bank resent the file") {
		t.Errorf("all exceptions: %s", out)
	}
}
