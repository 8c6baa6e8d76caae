package main

import (
	"bufio"
	"context"
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
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// killAfterProgress starts `drafter args...` and kills it (SIGKILL) once it
// logged its first chunk of progress.
func killAfterProgress(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(drafterBin(t), args...)
	cmd.Env = append(os.Environ(), append([]string{"DRAFTER_DATA_DIR=" + dir, "DRAFTER_ENCRYPTION_KEY=" + testKeyHex,
		"DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT="}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	killed := false
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["message"] == "progress" {
			cmd.Process.Kill()
			killed = true
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	if !killed {
		t.Fatalf("drafter %v ended before it logged progress: %v", args, err)
	}
}

// TestResumeAfterKill: `drafter run statements` is killed with SIGKILL
// mid-run. Its run still says running; `drafter resume RUN` right away, with
// no flag, sees that the owner process is gone from this host, records the
// crash and finishes the run: the day ends as an uninterrupted run. A run
// that looks alive elsewhere is refused with its heartbeat's age and the
// flag that overrides it; a succeeded run is refused naming rerun.
func TestResumeAfterKill(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 400, 9, d))
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, base, nil, "run", "statements", "--date", d.String())
	want := readStatementsState(t, base, "")

	env := []string{"DRAFTER_CHUNK_WORKERS=1", "DRAFTER_CHUNK_SIZE=50"}
	killAfterProgress(t, dir, append(env, "DRAFTER_OPERATOR=night"), "run", "statements", "--date", d.String())
	running := runsJSON(t, dir, nil, "--status", "running")
	if len(running) != 1 {
		t.Fatalf("running runs after the kill: %+v", running)
	}
	id, owner := running[0].ID, running[0].Owner

	// Seen from here, a run owned by a process elsewhere with a fresh
	// heartbeat may be alive: refused, saying how old the heartbeat is and
	// which flag overrides it.
	st := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	setOwner := func(o string) {
		t.Helper()
		if _, err := st.DB().ExecContext(context.Background(), `UPDATE runs SET owner = $1, heartbeat_at = $2 WHERE id = $3`, o, time.Now().UTC(), id); err != nil {
			t.Fatal(err)
		}
	}
	setOwner("elsewhere:4656")
	r := drafter(t, dir, env, "resume", fmt.Sprint(id))
	if r.code != 1 || !strings.Contains(r.stderr, "last heartbeat") || !strings.Contains(r.stderr, "--stale-after") {
		t.Fatalf("resume of a run alive elsewhere: exit %d\n%s", r.code, r.stderr)
	}
	setOwner(owner)
	st.Close()

	out := mustDrafter(t, dir, append(env, "DRAFTER_OPERATOR=ana"), "resume", fmt.Sprint(id))
	if !strings.Contains(out, "succeeded") {
		t.Fatalf("resume right after the kill:\n%s", out)
	}
	fin := runsJSON(t, dir, nil)
	if len(fin) != 1 || fin[0].ID != id || fin[0].Status != ledger.RunSucceeded || fin[0].Done != len(want.files) {
		t.Fatalf("after resume: %+v, want run %d succeeded with %d done", fin, id, len(want.files))
	}
	checkStatementsState(t, 0, want, readStatementsState(t, dir, ""))

	// The timeline says it all: started, the crash and who found it, the
	// resume and who did it, the end.
	var shown struct {
		Timeline []ledger.RunEvent `json:"timeline"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(id), "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range shown.Timeline {
		events = append(events, e.Event+" by "+e.Actor)
	}
	if got := strings.Join(events, ", "); got != "started by night, crash detected by ana, resumed by ana, finished by " {
		t.Errorf("timeline: %s\n%+v", got, shown.Timeline)
	}
	if len(shown.Timeline) == 4 && (!strings.Contains(shown.Timeline[1].Detail, "is gone") || !strings.Contains(shown.Timeline[3].Detail, "succeeded")) {
		t.Errorf("timeline details: %+v", shown.Timeline)
	}

	r = drafter(t, dir, env, "resume", fmt.Sprint(id))
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("drafter rerun %d --reason", id)) {
		t.Fatalf("resume of a succeeded run: exit %d\n%s", r.code, r.stderr)
	}
	// The restart alias still works (and refuses the same way).
	if r2 := drafter(t, dir, env, "restart", fmt.Sprint(id)); r2.code != 1 || !strings.Contains(r2.stderr, "drafter rerun") {
		t.Fatalf("restart of a succeeded run: exit %d\n%s", r2.code, r2.stderr)
	}
}
