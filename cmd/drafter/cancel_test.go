package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
)

// stalledRun is a drafter process stopped at a named write
// (DRAFTER_STALL_AT) until the test releases it.
type stalledRun struct {
	cmd            *exec.Cmd
	file           string
	stdout, stderr bytes.Buffer
}

// startStalled starts drafter with args and waits until it stalls after
// its write named at (WHAT or WHAT#N).
func startStalled(t *testing.T, dir string, env []string, at string, args ...string) *stalledRun {
	t.Helper()
	s := &stalledRun{file: filepath.Join(t.TempDir(), "go")}
	s.cmd = exec.Command(drafterBin(t), args...)
	s.cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json",
		"DRAFTER_CRASH_AT=", "DRAFTER_STALL_AT="+at, "DRAFTER_STALL_FILE="+s.file)
	s.cmd.Env = append(s.cmd.Env, env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.stdout, &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(s.file + ".stalled"); err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("drafter %v never reached %q", args, at)
		}
	}
}

// finish lets the process go on and waits for it.
func (s *stalledRun) finish(t *testing.T) result {
	t.Helper()
	s.release(t)
	return s.wait(t)
}

// release lets the process go on.
func (s *stalledRun) release(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(s.file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wait waits for the process to end.
func (s *stalledRun) wait(t *testing.T) result {
	t.Helper()
	err := s.cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{s.stdout.String(), s.stderr.String(), code}
}

// TestCancelThenResumeStatements: a statements run of many chunks is
// cancelled from another process while it works its second chunk. It stops
// at the next chunk boundary: exit 1, status cancelled with who and why,
// the timeline saying both, listed as needing attention; a plain start is
// refused naming resume; `resume` finishes it and the day ends as an
// uninterrupted run, nothing done twice.
func TestCancelThenResumeStatements(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 400, 9, d))
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, nil, "run", "statements", "--date", d.String())
	want := readStatementsState(t, base, "")
	env := []string{"DRAFTER_CHUNK_SIZE=50", "DRAFTER_CHUNK_WORKERS=1"}

	run := startStalled(t, dir, env, "chunk done#2", "run", "statements", "--date", d.String())
	id := lastRunID(t, dir, nil)
	if out := mustDrafter(t, dir, nil, "cancel", fmt.Sprint(id), "--reason", "wrong extract, ticket 7", "--as", "ana", "--wait", "0"); !strings.Contains(out, "requested by ana") {
		t.Fatalf("cancel --wait 0: %s", out)
	}
	if show := mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(id)); !strings.Contains(show, "cancel:    asked by ana") || !strings.Contains(show, ": running") {
		t.Fatalf("runs show of the run asked to cancel:\n%s", show)
	}
	var pending ledger.RunDetail
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(id), "--json")), &pending); err != nil ||
		pending.Status != ledger.RunRunning || pending.CancelRequested == nil || pending.CancelRequested.By != "ana" ||
		pending.CancelRequested.Reason != "wrong extract, ticket 7" || pending.CancelRequested.At.IsZero() {
		t.Fatalf("runs show --json of the run asked to cancel: %v %+v", err, pending)
	}
	r := run.finish(t)
	if r.code != 1 || !strings.Contains(r.stderr, "cancelled by ana: wrong extract, ticket 7") || !strings.Contains(r.stderr, fmt.Sprintf("drafter resume %d", id)) {
		t.Fatalf("the cancelled run: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if fin := logLines(r.stderr, "run finished"); len(fin) != 1 || fin[0]["level"] != "error" || fin[0]["status"] != ledger.RunCancelled {
		t.Fatalf("run finished lines: %v", fin)
	}
	att := runsJSON(t, dir, nil, "--needs-attention")
	if len(att) != 1 || att[0].ID != id || att[0].Status != ledger.RunCancelled || att[0].Done == 0 || att[0].Done >= len(want.files) {
		t.Fatalf("runs --needs-attention: %+v; want the cancelled run, stopped part way (%d statements in all)", att, len(want.files))
	}
	show := mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(id))
	for _, s := range []string{"cancel requested by ana: reason: wrong extract, ticket 7", "cancelled by ana: stopped at a safe point", "pending", fmt.Sprintf("`drafter resume %d`", id)} {
		if !strings.Contains(show, s) {
			t.Fatalf("runs show lacks %q:\n%s", s, show)
		}
	}
	if got := documentCount(t, dir); got != att[0].Done {
		t.Fatalf("%d statements stored, the cancelled run says %d done", got, att[0].Done)
	}
	if r := drafter(t, dir, env, "run", "statements", "--date", d.String()); r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("drafter resume %d", id)) {
		t.Fatalf("a plain start after the cancel: exit %d\n%s", r.code, r.stderr)
	}
	// A backfill leaves the cancelled date alone and says so (exit 1).
	r = drafter(t, dir, env, "run", "statements", "--from", d.String(), "--to", d.String())
	if r.code != 1 || !strings.Contains(r.stderr, "skip statements "+d.String()) || !strings.Contains(r.stderr, "some dates were not run") {
		t.Fatalf("a backfill over the cancelled date: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	mustDrafter(t, dir, env, "resume", fmt.Sprint(id), "--as", "bo")
	runs := runsJSON(t, dir, nil)
	if len(runs) != 1 || runs[0].Status != ledger.RunSucceeded || runs[0].Done != len(want.files) || runs[0].Failed != 0 {
		t.Fatalf("after resume: %+v, want succeeded with %d done", runs, len(want.files))
	}
	checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))
	if show := mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(id)); !strings.Contains(show, "resumed by bo: was cancelled") {
		t.Fatalf("timeline after resume:\n%s", show)
	}
}

// TestCancelThenResumeOriginate: origination cancelled right after its
// first file's allocation commits stops before the next file (never inside
// an allocation) with that file stored; `resume` allocates the rest, and
// the day's files and payments are exactly those of an uninterrupted run.
func TestCancelThenResumeOriginate(t *testing.T) {
	d := civil.MustParse("2026-12-01")
	file := writePortfolio(t, 400, 5, d)
	env := []string{"DRAFTER_FILE_ENTRY_LIMIT=20"}
	dir := t.TempDir()
	mustDrafter(t, dir, env, "import", file)
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, env, "run", "originate", "--date", d.String())
	want := readOriginateState(t, base, "")
	if len(want.files) < 3 {
		t.Fatalf("the uninterrupted run made %d files; want several", len(want.files))
	}

	run := startStalled(t, dir, env, "file allocated#1", "run", "originate", "--date", d.String())
	id := lastRunID(t, dir, nil)
	mustDrafter(t, dir, []string{"DRAFTER_OPERATOR=cy"}, "cancel", fmt.Sprint(id), "--reason", "bank holiday moved", "--wait", "0")
	// The run looks for a cancel at most once a second between files.
	time.Sleep(1100 * time.Millisecond)
	r := run.finish(t)
	if r.code != 1 || !strings.Contains(r.stderr, "cancelled by cy: bank holiday moved") {
		t.Fatalf("the cancelled run: exit %d, want 1\n%s", r.code, r.stderr)
	}
	got := readOriginateState(t, dir, "")
	if len(got.files) != 1 {
		t.Fatalf("%d files stored by the cancelled run; want the one allocated before the cancel: %v", len(got.files), keys(got.files))
	}
	if runs := runsJSON(t, dir, nil); len(runs) != 1 || runs[0].Status != ledger.RunCancelled {
		t.Fatalf("after the cancel: %+v", runs)
	}
	mustDrafter(t, dir, env, "resume", fmt.Sprint(id))
	if runs := runsJSON(t, dir, nil); len(runs) != 1 || runs[0].Status != ledger.RunSucceeded {
		t.Fatalf("after resume: %+v", runs)
	}
	compareOriginate(t, 0, want, readOriginateState(t, dir, ""))
}

// TestCancelDeadRunKeepsItsChunks: a statements run killed with SIGKILL
// after two chunks is cancelled: its process is gone, so it is recorded
// cancelled at once, with the counts of the chunks it finished (what is
// stored), not its last heartbeat's; `resume` finishes it.
func TestCancelDeadRunKeepsItsChunks(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 400, 9, d))
	env := []string{"DRAFTER_CHUNK_WORKERS=1", "DRAFTER_CHUNK_SIZE=50"}
	// Killed (SIGKILL) right after its second chunk is recorded done.
	run := startStalled(t, dir, env, "chunk done#2", "run", "statements", "--date", d.String())
	id := lastRunID(t, dir, nil)
	run.cmd.Process.Kill()
	run.cmd.Wait()
	out := mustDrafter(t, dir, nil, "cancel", fmt.Sprint(id), "--reason", "wrong extract", "--as", "ana", "--json")
	var r ledger.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Status != ledger.RunCancelled {
		t.Fatalf("cancel of a dead run: %v %s", err, out)
	}
	stored := documentCount(t, dir)
	if stored == 0 || r.Done != stored || r.Selected < r.Done {
		t.Fatalf("the dead run cancelled says selected %d, done %d; %d statements are stored", r.Selected, r.Done, stored)
	}
	mustDrafter(t, dir, env, "resume", fmt.Sprint(id), "--as", "bo")
	fin := runsJSON(t, dir, nil)
	if len(fin) != 1 || fin[0].Status != ledger.RunSucceeded || fin[0].Done != documentCount(t, dir) {
		t.Fatalf("after resume: %+v, %d stored", fin, documentCount(t, dir))
	}
}
