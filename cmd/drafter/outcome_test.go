package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger"
)

// readOnly makes the folder read-only for everyone, root included (a
// read-only bind mount over itself), until the test ends or the returned
// function is called. A test that cannot mount is skipped.
func readOnly(t *testing.T, dir string) (undo func()) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot make %s read-only with a bind mount (needs root and mount): %v %s", dir, err, out)
	}
	mounted := true
	undo = func() {
		if mounted {
			if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
				t.Fatalf("umount %s: %v %s", dir, err, out)
			}
			mounted = false
		}
	}
	t.Cleanup(undo)
	return undo
}

// logLines returns the JSON log lines of stderr that carry msg.
func logLines(stderr, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func runsJSON(t *testing.T, dir string, env []string, args ...string) []ledger.Run {
	t.Helper()
	var runs []ledger.Run
	out := mustDrafter(t, dir, env, append([]string{"runs", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("runs %v: %v\n%s", args, err, out)
	}
	return runs
}

func documentCount(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.Walk(filepath.Join(dir, "docs", "statements"), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(path, ".pdf") {
			n++
		}
		return nil
	})
	return n
}

// TestUnwritableStorageFailsTheRun: with document storage read-only from
// the start, `run statements` is failed (exit 1), ends with an ERROR line
// saying so, and is listed by `runs --status failed` and
// `runs --needs-attention`; after the fix `resume` finishes it (exit 0) and
// stores every statement once.
func TestUnwritableStorageFailsTheRun(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 60, 9, d))
	fix := readOnly(t, filepath.Join(dir, "docs"))

	r := drafter(t, dir, nil, "run", "statements", "--date", d.String())
	if r.code != 1 {
		t.Fatalf("run with read-only storage: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	fin := logLines(r.stderr, "run finished")
	if len(fin) != 1 || fin[0]["level"] != "error" || fin[0]["status"] != ledger.RunFailed {
		t.Fatalf("last log line: %v, want one ERROR run finished with status failed\n%s", fin, r.stderr)
	}
	if !strings.Contains(r.stderr, "drafter resume") {
		t.Errorf("the error does not say how to finish the run:\n%s", r.stderr)
	}
	failed := runsJSON(t, dir, nil, "--status", "failed")
	// The probe found it before any account was selected.
	if len(failed) != 1 || failed[0].Job != "statements" || failed[0].Selected != 0 ||
		!strings.Contains(failed[0].Error, "document storage is not usable") || !strings.Contains(failed[0].Error, "read-only file system") {
		t.Fatalf("runs --status failed: %+v", failed)
	}
	if att := runsJSON(t, dir, nil, "--needs-attention"); len(att) != 1 || att[0].ID != failed[0].ID {
		t.Fatalf("runs --needs-attention: %+v", att)
	}
	if n := documentCount(t, dir); n != 0 {
		t.Fatalf("%d statements stored on read-only storage", n)
	}

	fix()
	out := mustDrafter(t, dir, nil, "resume", fmt.Sprint(failed[0].ID))
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("resume after the fix:\n%s", out)
	}
	runs := runsJSON(t, dir, nil)
	if len(runs) != 1 || runs[0].Status != ledger.RunSucceeded || runs[0].Done == 0 || runs[0].Done != runs[0].Selected {
		t.Fatalf("after resume: %+v", runs)
	}
	if n := documentCount(t, dir); n != runs[0].Done {
		t.Fatalf("%d statements stored, run says %d done", n, runs[0].Done)
	}
	if att := runsJSON(t, dir, nil, "--needs-attention"); len(att) != 0 {
		t.Fatalf("needs attention after resume: %+v", att)
	}
}

// portfolioAccounts returns the account ids of a portfolio file, sorted.
func portfolioAccounts(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range strings.Split(string(b), "\n") {
		var rec struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		}
		if json.Unmarshal([]byte(l), &rec) == nil && rec.ID != "" && (rec.Kind == "loan" || rec.Kind == "lease") {
			ids = append(ids, rec.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// TestStorageFailingMidRunStopsEarly: document storage refuses every write
// from some account on (a file stands where each account's folder would
// be, which stops root as well as anyone). The statements run stops after
// DRAFTER_MAX_CONSECUTIVE_FAILURES failures in a row instead of trying
// every account, fails (exit 1) naming storage as the cause, keeps what it
// stored; after the fix `resume` stores the rest, nothing twice.
func TestStorageFailingMidRunStopsEarly(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	file := writePortfolio(t, 400, 9, d)
	mustDrafter(t, dir, nil, "import", file)
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, nil, "run", "statements", "--date", d.String())
	want := readStatementsState(t, base, "")
	accts := portfolioAccounts(t, file)
	if len(accts) < 100 {
		t.Fatalf("%d accounts in the portfolio", len(accts))
	}
	blocked := accts[len(accts)/3:]
	for _, a := range blocked {
		p := filepath.Join(dir, "docs", "statements", a)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("in the way"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"DRAFTER_CHUNK_WORKERS=1", "DRAFTER_CHUNK_SIZE=1000"}
	r := drafter(t, dir, env, "run", "statements", "--date", d.String())
	if r.code != 1 {
		t.Fatalf("run with storage failing: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "document storage failed 5 times in a row") {
		t.Fatalf("the error does not name storage as the cause:\n%s", r.stderr)
	}
	// Early: the accounts the run tried after storage broke are few.
	if tried := len(logLines(r.stderr, "item failed")); tried > 5+16 {
		t.Errorf("%d items tried and failed after storage broke; want the run to stop after 5 (and the uploads in flight)", tried)
	}
	if fin := logLines(r.stderr, "run finished"); len(fin) != 1 || fin[0]["level"] != "error" {
		t.Errorf("run finished lines: %v", fin)
	}
	failed := runsJSON(t, dir, nil, "--status", "failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Error, "document storage") {
		t.Fatalf("runs --status failed: %+v", failed)
	}
	before := documentCount(t, dir)
	if before == 0 {
		t.Fatal("nothing stored before storage broke")
	}

	for _, a := range blocked {
		os.Remove(filepath.Join(dir, "docs", "statements", a))
	}
	mustDrafter(t, dir, env, "resume", fmt.Sprint(failed[0].ID))
	runs := runsJSON(t, dir, nil)
	if len(runs) != 1 || runs[0].Status != ledger.RunSucceeded || runs[0].Done != runs[0].Selected || runs[0].Failed != 0 {
		t.Fatalf("after resume: %+v", runs)
	}
	after := documentCount(t, dir)
	if after <= before || after != runs[0].Done {
		t.Fatalf("statements stored: %d before, %d after, run done %d", before, after, runs[0].Done)
	}
	// The day ends as an uninterrupted run: every statement stored once,
	// byte for byte, recorded once, its email queued once.
	checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))
}

// TestPartialThenResume: three accounts' statement keys are folders in
// document storage (the items fail, storage is fine). The run
// goes to the end partial (exit 3, ERROR line, listed as needing
// attention); once the stray files are gone, `resume` retries the failed
// items and the day ends as an uninterrupted run, nothing done twice.
func TestPartialThenResume(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 400, 9, d))
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, nil, "run", "statements", "--date", d.String())
	want := readStatementsState(t, base, "")
	var stray []string
	for k := range want.files {
		if len(stray) < 3 {
			stray = append(stray, k)
			// A folder where the statement goes: storage works, this one
			// key cannot be written. (Other bytes under the key would no
			// longer do: a document the ledger never recorded is replaced.)
			p := filepath.Join(dir, "docs", filepath.FromSlash(k))
			if err := os.MkdirAll(filepath.Join(p, "in-the-way"), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := []string{"DRAFTER_CHUNK_SIZE=100"}
	r := drafter(t, dir, env, "run", "statements", "--date", d.String())
	if r.code != 3 || !strings.Contains(r.stderr, "partial: 3 of") || !strings.Contains(r.stderr, "drafter resume") {
		t.Fatalf("run with three keys in the way: exit %d, want 3\n%s", r.code, r.stderr)
	}
	if fin := logLines(r.stderr, "run finished"); len(fin) != 1 || fin[0]["level"] != "error" || fin[0]["status"] != ledger.RunPartial {
		t.Fatalf("run finished lines: %v", fin)
	}
	att := runsJSON(t, dir, nil, "--needs-attention")
	if len(att) != 1 || att[0].Status != ledger.RunPartial || att[0].Failed != 3 {
		t.Fatalf("runs --needs-attention: %+v", att)
	}
	// runs show groups the three failures as one kind of error and says
	// what to do next.
	show := mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(att[0].ID))
	if !strings.Contains(show, "failed items: 3, 1 kind(s) of error") || !strings.Contains(show, "3 items, first ") ||
		!strings.Contains(show, "statements/<account>/2026-11.pdf") || !strings.Contains(show, fmt.Sprintf("drafter resume %d", att[0].ID)) {
		t.Fatalf("runs show:\n%s", show)
	}
	if items := mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(att[0].ID), "--items"); strings.Count(items, "failed item ") != 3 {
		t.Fatalf("runs show --items:\n%s", items)
	}
	for _, k := range stray {
		os.RemoveAll(filepath.Join(dir, "docs", filepath.FromSlash(k)))
	}
	mustDrafter(t, dir, env, "resume", fmt.Sprint(att[0].ID))
	runs := runsJSON(t, dir, nil)
	if len(runs) != 1 || runs[0].Status != ledger.RunSucceeded || runs[0].Done != len(want.files) || runs[0].Failed != 0 {
		t.Fatalf("after resume: %+v, want succeeded with %d done", runs, len(want.files))
	}
	checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))
}

// TestDeliverRelayDownThenUp: with the mail server down, `run deliver`
// probes it before claiming anything and fails (exit 1) naming the server;
// nothing was tried. With the server back, a plain `resume` sends every
// message once.
func TestDeliverRelayDownThenUp(t *testing.T) {
	d := civil.MustParse("2026-12-01")
	mp := testenv.Mailpit(t)
	dir := t.TempDir()
	env := []string{"DRAFTER_MAIL_URL=" + mp.SMTPURL()}
	mustDrafter(t, dir, env, "import", writePortfolio(t, 50, 3, d))
	// The night's payment emails are queued by the deliver run itself,
	// from the originations of the night's file.
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
	mp.Stop(t)
	r := drafter(t, dir, env, "run", "deliver", "--date", d.String())
	if r.code != 1 || !strings.Contains(r.stderr, "mail server is not usable") {
		t.Fatalf("deliver with the relay down: exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, m := range outboxRows(t, dir, env) {
		if m.Attempts != 0 {
			t.Fatalf("outbox %d tried %d times with the relay down", m.ID, m.Attempts)
		}
	}
	failed := runsJSON(t, dir, env, "--status", "failed")
	if len(failed) != 1 || failed[0].Job != "deliver" {
		t.Fatalf("runs --status failed: %+v", failed)
	}
	mp.Start(t)
	mustDrafter(t, dir, env, "resume", fmt.Sprint(failed[0].ID))
	queued := outboxRows(t, dir, env)
	if len(queued) == 0 {
		t.Fatal("the resumed deliver queued nothing")
	}
	if sent := outboxRows(t, dir, env, "--status", "sent"); len(sent) != len(queued) {
		t.Fatalf("%d sent after resume, want %d", len(sent), len(queued))
	}
	if n := len(mp.WaitMessages(t, len(queued))); n != len(queued) {
		t.Fatalf("mailpit holds %d messages, want %d", n, len(queued))
	}
}
