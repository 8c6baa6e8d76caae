package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

func TestResolveOperator(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	user := func(name string, err error) func() (string, error) {
		return func() (string, error) { return name, err }
	}
	noUser := user("", errors.New("unknown userid 4242"))
	for _, tc := range []struct {
		name, as, env string
		osUser        func() (string, error)
		want, errHas  string
	}{
		{name: "flag first", as: "ana", env: "bo", osUser: user("root", nil), want: "ana"},
		{name: "then the environment", env: "bo", osUser: user("root", nil), want: "bo"},
		{name: "then the OS user", osUser: user("svc-drafter", nil), want: "svc-drafter"},
		{name: "none", osUser: noUser, errHas: "give --as NAME, or set DRAFTER_OPERATOR"},
		{name: "a newline", as: "ana\nINF forged", osUser: noUser, errHas: "printable"},
		{name: "too long", env: strings.Repeat("x", 65), osUser: noUser, errHas: "from DRAFTER_OPERATOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveOperator(tc.as, env(tc.env), tc.osUser)
			if tc.errHas != "" {
				var ue usageError
				if err == nil || !strings.Contains(err.Error(), tc.errHas) || !errors.As(err, &ue) {
					t.Fatalf("resolveOperator = %q, %v; want a usage error saying %q", got, err, tc.errHas)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("resolveOperator = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// writeCommands are the write commands with arguments they accept: each
// must refuse to run without an operator.
var writeCommands = [][]string{
	{"import", "extract.jsonl"},
	{"run", "statements", "--date", "2026-11-30"},
	{"resume", "1"},
	{"restart", "1"},
	{"rerun", "1", "--reason", "x"},
	{"cancel", "1", "--reason", "x"},
	{"release-file", "ach/outbound/2026-12-01/drafter-2026-12-01-A.ach", "--reason", "x"},
	{"exceptions", "resolve", "1", "--note", "x"},
	{"outbox", "retry", "1"},
	{"outbox", "resend", "1", "--reason", "x"},
	{"operators", "add", "ana", "--role", "viewer"},
	{"returns", "ingest", "return.ach"},
	{"rotate-key"},
	{"schedule", "pause", "originate", "--reason", "x"},
	{"schedule", "resume", "--all"},
	{"bank", "reoriginate", "ach/outbound/2026-12-01/drafter-2026-12-01-A.ach", "--reason", "x"},
}

// TestWriteWithoutOperatorRefused: a write command run by a user the
// password database does not know, with no --as and no DRAFTER_OPERATOR
// (cron, systemd or a container with an arbitrary uid), refuses with exit
// 2 and says how to name one; a name with a control character is refused
// the same way.
func TestWriteWithoutOperatorRefused(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("runs drafter as a uid without a user name, which needs root")
	}
	// A copy of the binary another uid may run.
	binDir, err := os.MkdirTemp("", "drafter-anon-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(binDir)
	os.Chmod(binDir, 0o755)
	bin := filepath.Join(binDir, "drafter")
	src, err := os.Open(drafterBin(t))
	if err != nil {
		t.Fatal(err)
	}
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(dst, src)
	src.Close()
	dst.Close()
	dir := t.TempDir()
	for _, args := range writeCommands {
		cmd := exec.Command(bin, args...)
		cmd.Dir = binDir
		cmd.Env = []string{"PATH=/usr/bin:/bin", "USER=someone", "DRAFTER_DATA_DIR=" + dir, "DRAFTER_NEW_ENCRYPTION_KEY=" + strings.Repeat("ab", 32)}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4242, Gid: 4242}}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "no operator to record this write under") ||
			!strings.Contains(string(out), "DRAFTER_OPERATOR") {
			t.Errorf("drafter %s with no operator: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for _, args := range writeCommands[:2] {
		r := drafter(t, dir, nil, append(args, "--as", "ana\x1b[2J")...)
		if r.code != 2 || !strings.Contains(r.stderr, "printable") {
			t.Errorf("drafter %s --as with an escape: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}

// TestEveryWriteNamesItsOperator runs each write command under its own
// operator name (--as or DRAFTER_OPERATOR) and finds each name in the
// audit log (and the run ledger for the runs it began) beside its action.
func TestEveryWriteNamesItsOperator(t *testing.T) {
	d := civil.MustParse("2026-11-30")
	dir := t.TempDir()
	as := func(name string) []string { return []string{"DRAFTER_OPERATOR=" + name} }
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 60, 9, d), "--as", "imp")
	mustDrafter(t, dir, as("orig"), "run", "originate", "--date", "2026-12-01")
	mustDrafter(t, dir, nil, "run", "statements", "--date", d.String(), "--as", "stmt")
	stmtRun := lastRunID(t, dir, nil)
	mustDrafter(t, dir, nil, "rerun", fmt.Sprint(stmtRun), "--reason", "bank lost it", "--as", "rerunner")
	// The rerun's timeline says whose rerun of which run, and why.
	var rerun ledger.RunDetail
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "runs", "show", fmt.Sprint(lastRunID(t, dir, nil)), "--json")), &rerun); err != nil ||
		len(rerun.Timeline) == 0 || rerun.Timeline[0].Event != ledger.RunEventStarted || rerun.Timeline[0].Actor != "rerunner" ||
		!strings.Contains(rerun.Timeline[0].Detail, fmt.Sprintf("rerun of run %d", stmtRun)) || !strings.Contains(rerun.Timeline[0].Detail, "reason: bank lost it") {
		t.Fatalf("the rerun's timeline: %v %+v", err, rerun.Timeline)
	}

	// A run whose process died: cancel records it cancelled at once, and
	// resume finishes it.
	if r := drafter(t, dir, []string{"DRAFTER_CRASH_AT=1"}, "run", "statements", "--date", "2026-12-01", "--as", "crashed"); r.code != jobs.CrashExitCode {
		t.Fatalf("statements under a crashpoint: exit %d\n%s", r.code, r.stderr)
	}
	deadRun := lastRunID(t, dir, nil)
	if out := mustDrafter(t, dir, nil, "cancel", fmt.Sprint(deadRun), "--reason", "stuck", "--as", "canceller"); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel of a dead run: %s", out)
	}
	mustDrafter(t, dir, nil, "resume", fmt.Sprint(deadRun), "--as", "resumer")

	bad := filepath.Join(t.TempDir(), "garbled.ach")
	os.WriteFile(bad, []byte("not a NACHA file\n"), 0o600)
	drafter(t, dir, nil, "returns", "ingest", bad, "--date", "2026-12-02", "--as", "ingester") // the file is rejected into an exception
	mustDrafter(t, dir, nil, "exceptions", "resolve", "1", "--note", "bank resent it", "--as", "resolver")

	s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	key := "ach/outbound/2026-12-01/drafter-2026-12-01-A.ach"
	for _, q := range []string{
		`UPDATE outbox SET status = 'failed' WHERE id = (SELECT MIN(id) FROM outbox)`,
		`UPDATE ach_files SET status = 'allocated', sha256 = '' WHERE storage_key = '` + key + `'`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	var outboxID int64
	s.DB().QueryRow(`SELECT id FROM outbox WHERE status = 'failed'`).Scan(&outboxID)
	s.Close()
	if err := removeStored(dir, key); err != nil {
		t.Fatal(err)
	}
	mustDrafter(t, dir, as("retrier"), "outbox", "retry", fmt.Sprint(outboxID), "--reason", "address fixed")
	mustDrafter(t, dir, nil, "release-file", key, "--reason", "cannot be built", "--as", "releaser")
	mustDrafter(t, dir, nil, "schedule", "pause", "originate", "--reason", "bank outage", "--as", "pauser")
	mustDrafter(t, dir, nil, "schedule", "resume", "originate", "--reason", "bank back", "--as", "unpauser")
	newKey := hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	mustDrafter(t, dir, []string{"DRAFTER_NEW_ENCRYPTION_KEY=" + newKey}, "rotate-key", "--as", "rotator")

	withNewKey := []string{"DRAFTER_ENCRYPTION_KEY=" + newKey}
	var log []ledger.AuditEntry
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, withNewKey, "audit", "--json", "--limit", "200")), &log); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range log {
		got[e.Action+" by "+e.Actor] = true
	}
	for _, want := range []string{"import by imp", "rerun by rerunner", "cancel by canceller", "resume by resumer",
		"returns ingest by ingester", "resolve exception by resolver", "outbox retry by retrier", "release-file by releaser",
		"schedule pause by pauser", "schedule resume by unpauser", "rotate-key by rotator"} {
		if !got[want] {
			t.Errorf("the audit log has no %q: %v", want, got)
		}
	}
	runs := runsJSON(t, dir, withNewKey)
	by := map[string]bool{}
	for _, r := range runs {
		by[fmt.Sprintf("%s %s attempt %d by %s", r.Job, r.BusinessDate, r.Attempt, r.TriggeredBy)] = true
	}
	for _, want := range []string{"originate 2026-12-01 attempt 1 by orig", "statements 2026-11-30 attempt 1 by stmt",
		"statements 2026-11-30 attempt 2 by rerunner", "statements 2026-12-01 attempt 1 by crashed"} {
		if !by[want] {
			t.Errorf("no run %q: %v", want, by)
		}
	}
	show := mustDrafter(t, dir, withNewKey, "runs", "show", fmt.Sprint(deadRun))
	for _, want := range []string{"started by crashed", "cancel requested by canceller", "cancelled by canceller", "resumed by resumer"} {
		if !strings.Contains(show, want) {
			t.Errorf("the timeline of run %d lacks %q:\n%s", deadRun, want, show)
		}
	}
}
