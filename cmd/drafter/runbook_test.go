package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// runbookCommands returns the commands in the boxes of docs/operations.md's
// "When a run fails at 3 a.m." section, in order.
func runbookCommands(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## When a run fails at 3 a.m.")
	if start < 0 {
		t.Fatal(`docs/operations.md has no "When a run fails at 3 a.m." section`)
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var cmds []string
	in := false
	for _, l := range strings.Split(section, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "```"):
			in = !in
		case in && strings.HasPrefix(l, "drafter "):
			cmds = append(cmds, l)
		}
	}
	return cmds
}

// fields splits a runbook command into arguments: blanks separate them,
// except inside double quotes.
func fields(cmd string) []string {
	var out []string
	var cur strings.Builder
	quoted, have := false, false
	for _, r := range cmd {
		switch {
		case r == '"':
			quoted, have = !quoted, true
		case r == ' ' && !quoted:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		out = append(out, cur.String())
	}
	return out
}

// runListed reports whether the `drafter runs` table lists run id.
func runListed(table string, id int64) bool {
	for _, l := range strings.Split(table, "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 && f[0] == fmt.Sprint(id) {
			return true
		}
	}
	return false
}

// TestRunbook walks docs/operations.md's runbook, its commands exactly as
// the doc gives them and in its order: a statements run left partial by
// storage that refuses three statements is found with `runs
// --needs-attention`, read with `runs show`, and after the fix finished with
// `resume`, nothing done twice; then a many-chunk run that must stop: the
// schedule paused, the run cancelled from another process while it works,
// read, resumed after the fix, the schedule resumed; last a succeeded run
// rerun with a reason, which repeats nothing.
//
// The partial run is statements; the run that must stop is originate, in
// chunks (autopay instances), cancelled between two chunks.
func TestRunbook(t *testing.T) {
	d1, d2 := civil.MustParse("2026-11-30"), civil.MustParse("2026-12-01")
	env := []string{"DRAFTER_CHUNK_SIZE=50", "DRAFTER_CHUNK_WORKERS=1"}
	dir := t.TempDir()
	mustDrafter(t, dir, env, "import", writePortfolio(t, 400, 9, d1))
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, env, "run", "statements", "--date", d1.String())
	mustDrafter(t, base, env, "run", "originate", "--date", d2.String())
	want, wantOrig := readStatementsState(t, base, ""), readOriginateState(t, base, "")
	me, err := osUser()
	if err != nil {
		t.Fatal(err)
	}

	// The night: storage refuses three statements (a file stands where
	// each account's folder would be). The run ends partial.
	var due []string
	for k := range want.files {
		if strings.HasSuffix(k, "/2026-11.pdf") {
			due = append(due, k)
		}
	}
	sort.Strings(due)
	if len(due) < 10 {
		t.Fatalf("%d statements due on %s; want more", len(due), d1)
	}
	var blocked []string
	for _, k := range []string{due[0], due[len(due)/2], due[len(due)-1]} {
		p := filepath.Join(dir, "docs", filepath.FromSlash(filepath.Dir(k)))
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("in the way"), 0o600); err != nil {
			t.Fatal(err)
		}
		blocked = append(blocked, p)
	}
	if r := drafter(t, dir, env, "run", "statements", "--date", d1.String()); r.code != 3 {
		t.Fatalf("the night's statements run: exit %d, want 3 (partial)\n%s", r.code, r.stderr)
	}
	partial := lastRunID(t, dir, nil)

	var run int64 // the run the step is about
	var job, why string
	var stalled *stalledRun
	steps := []struct {
		cmd   string
		check func(r result)
	}{
		{"drafter runs --needs-attention", func(r result) {
			if !runListed(r.stdout, partial) || !strings.Contains(r.stdout, "partial") {
				t.Fatalf("the partial run %d is not listed:\n%s", partial, r.stdout)
			}
		}},
		{"drafter runs show RUN", func(r result) {
			for _, s := range []string{"partial", "failed items: 3, 1 kind(s) of error", "3 items, first ", fmt.Sprintf("drafter resume %d", partial)} {
				if !strings.Contains(r.stdout, s) {
					t.Fatalf("runs show lacks %q:\n%s", s, r.stdout)
				}
			}
			// Step 3, the fix: storage takes the three statements again.
			for _, p := range blocked {
				os.Remove(p)
			}
		}},
		{"drafter resume RUN", func(r result) {
			if got := runsJSON(t, dir, nil); len(got) != 1 || got[0].Status != ledger.RunSucceeded || got[0].Failed != 0 {
				t.Fatalf("after resume: %+v", got)
			}
			checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))
		}},
		{"drafter runs --needs-attention", func(r result) {
			if runListed(r.stdout, partial) {
				t.Fatalf("run %d still needs attention after resume:\n%s", partial, r.stdout)
			}
			// Step 5: the next night's run is working when it must
			// stop; it stalls after its first chunk until released.
			stalled = startStalled(t, dir, env, "chunk done#1", "run", "originate", "--date", d2.String())
			run, job, why = lastRunID(t, dir, nil), "originate", "wrong extract imported, ticket 4411"
		}},
		{"drafter schedule pause JOB --reason \"WHY\"", func(r result) {
			if !strings.Contains(r.stdout, "schedule paused for originate by "+me) {
				t.Fatalf("schedule pause: %s", r.stdout)
			}
		}},
		{"drafter schedule", func(r result) {
			for _, l := range strings.Split(r.stdout, "\n") {
				if strings.HasPrefix(l, "originate ") && strings.Contains(l, "PAUSED by "+me) && strings.Contains(l, why) {
					return
				}
			}
			t.Fatalf("schedule does not show originate paused:\n%s", r.stdout)
		}},
		{"drafter cancel RUN --reason \"WHY\"", func(r result) {
			if !strings.Contains(r.stdout, fmt.Sprintf("run %d (originate %s) cancelled", run, d2)) {
				t.Fatalf("cancel: %s", r.stdout)
			}
			if sr := stalled.wait(t); sr.code != 1 || !strings.Contains(sr.stderr, "cancelled by "+me) {
				t.Fatalf("the cancelled run: exit %d\n%s", sr.code, sr.stderr)
			}
		}},
		{"drafter runs show RUN", func(r result) {
			for _, s := range []string{"cancelled", "cancel requested by " + me + ": reason: " + why, "pending", fmt.Sprintf("drafter resume %d", run)} {
				if !strings.Contains(r.stdout, s) {
					t.Fatalf("runs show of the cancelled run lacks %q:\n%s", s, r.stdout)
				}
			}
		}},
		{"drafter resume RUN", func(r result) {
			if !strings.Contains(r.stdout, "succeeded") {
				t.Fatalf("resume of the cancelled run: %s", r.stdout)
			}
			compareOriginate(t, 0, wantOrig, readOriginateState(t, dir, ""))
		}},
		{"drafter schedule resume JOB", func(r result) {
			if !strings.Contains(r.stdout, "schedule resumed for originate") {
				t.Fatalf("schedule resume: %s", r.stdout)
			}
			// Step 7: the bank lost the day's files; the run is done,
			// so it is rerun with a reason.
			why = "bank lost the files, ticket 4412"
		}},
		{"drafter rerun RUN --reason \"WHY\"", func(r result) {
			runs := runsJSON(t, dir, nil, "--job", "originate")
			if runs[0].Attempt != 2 || runs[0].Status != ledger.RunSucceeded || runs[0].Reason != why {
				t.Fatalf("rerun: %+v", runs[0])
			}
			// Nothing twice: the same files, each payment originated once,
			// every statement stored and queued once.
			compareOriginate(t, 0, wantOrig, readOriginateState(t, dir, ""))
			checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))
		}},
	}
	var ours []string
	for _, s := range steps {
		ours = append(ours, s.cmd)
	}
	if doc := runbookCommands(t); strings.Join(doc, "\n") != strings.Join(ours, "\n") {
		t.Fatalf("the runbook's commands are not the ones this test walks; docs/operations.md has:\n%s\n\nthe test:\n%s",
			strings.Join(doc, "\n"), strings.Join(ours, "\n"))
	}
	for i, s := range steps {
		if strings.Contains(s.cmd, "RUN") && i < 4 {
			run = partial
		}
		var args []string
		for _, a := range fields(strings.TrimPrefix(s.cmd, "drafter ")) {
			switch a {
			case "RUN":
				a = fmt.Sprint(run)
			case "JOB":
				a = job
			case "WHY":
				a = why
			}
			args = append(args, a)
		}
		var r result
		if args[0] == "cancel" {
			r = cancelWhileStalled(t, dir, env, stalled, run, args)
		} else {
			r = drafter(t, dir, env, args...)
		}
		if r.code != 0 {
			t.Fatalf("step %d, drafter %s: exit %d\n%s\n%s", i+1, strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		s.check(r)
	}
}

// cancelWhileStalled runs `drafter cancel` (which waits for the run to
// stop) while the run is stalled, and lets the run go on once the cancel
// is in the ledger: the run then stops at its next chunk boundary.
func cancelWhileStalled(t *testing.T, dir string, env []string, s *stalledRun, id int64, args []string) result {
	t.Helper()
	cmd := exec.Command(drafterBin(t), args...)
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, ok, _ := st.CancelRequested(context.Background(), id); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cancel of run %d recorded after 30s\n%s", id, errb.String())
		}
	}
	st.Close()
	s.release(t)
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}
