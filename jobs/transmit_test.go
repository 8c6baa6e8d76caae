package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// bankEnv is a job environment whose bank is a real sshd on loopback, with
// the holiday-week portfolio originated in several files (one entry each)
// for the night of 2026-11-25. It returns the env, the server and its
// outbox and inbox folders (on this machine, as the server serves it).
func bankEnv(t *testing.T, settings map[string]string) (*jobs.Env, *testenv.SSHDServer, string, string) {
	t.Helper()
	return bankEnvOn(t, "sqlite", settings)
}

// bankEnvOn is bankEnv on the ledger dialect.
func bankEnvOn(t *testing.T, dialect string, settings map[string]string) (*jobs.Env, *testenv.SSHDServer, string, string) {
	t.Helper()
	srv := testenv.SSHD(t)
	outbox, inbox := filepath.Join(srv.Dir, "incoming"), filepath.Join(srv.Dir, "outgoing")
	for _, d := range []string{outbox, inbox} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s := map[string]string{"DRAFTER_BANK_URL": srv.URL(), "DRAFTER_BANK_OUTBOX": outbox, "DRAFTER_BANK_INBOX": inbox,
		"DRAFTER_BANK_SSH_KEY": srv.ClientKey, "DRAFTER_BANK_KNOWN_HOSTS": srv.KnownHosts, "DRAFTER_FILE_ENTRY_LIMIT": "1"}
	for k, v := range settings {
		s[k] = v
	}
	env := testEnv(t, dialect, s)
	importAccounts(t, env.Store, holidayWeek())
	if _, err := env.Start(context.Background(), jobs.Originate{}, jobs.StartSpec{Date: bankNight, Trigger: "operator"}); err != nil {
		t.Fatal(err)
	}
	return env, srv, outbox, inbox
}

var bankNight = civil.MustParse("2026-11-25")

// dayFiles returns the stored bytes of the night's files by remote name.
func dayFiles(t *testing.T, env *jobs.Env) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	files, err := env.Store.DayFiles(ctx, bankNight)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, _, err := env.Docs.Get(ctx, f.StorageKey)
		if err != nil {
			t.Fatal(err)
		}
		out[bank.RemoteName(bank.DefaultNamePattern, bank.FileName{ID: f.ID, BusinessDate: f.BusinessDate, EffectiveOn: f.EffectiveOn, Modifier: f.IDModifier})] = b
	}
	if len(out) < 3 {
		t.Fatalf("the night has %d files; want several", len(out))
	}
	return out
}

// folder returns the files in a folder by name.
func folder(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

func sameFiles(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Fatalf("the bank's outbox holds %v; want %d files", names, len(want))
	}
	for n, b := range want {
		if !bytes.Equal(got[n], b) {
			t.Fatalf("%s on the server differs from the stored file (have %v)", n, names)
		}
	}
}

// transmit runs the job for the night: the first run, or a rerun of the
// last, or a restart of a failed one.
func transmit(t *testing.T, env *jobs.Env, job jobs.Transmit) (*jobs.TransmitSummary, ledger.Run, error) {
	t.Helper()
	res, err := runAgain(t, env, job)
	sum, _ := res.Summary.(*jobs.TransmitSummary)
	return sum, res.Run, err
}

func runAgain(t *testing.T, env *jobs.Env, job jobs.Job) (jobs.Result, error) {
	t.Helper()
	ctx := context.Background()
	res, err := env.Start(ctx, job, jobs.StartSpec{Date: bankNight, Trigger: "operator"})
	if !errors.Is(err, ledger.ErrRunCompleted) && !errors.Is(err, ledger.ErrRunFailedExists) {
		return res, err
	}
	runs, lerr := env.Store.ListRuns(ctx, ledger.RunFilter{Job: job.Name(), Date: bankNight, Limit: 1})
	if lerr != nil || len(runs) == 0 {
		t.Fatalf("last %s run: %v", job.Name(), lerr)
	}
	if errors.Is(err, ledger.ErrRunFailedExists) {
		return env.Restart(ctx, job, runs[0].ID, "test", 0)
	}
	return env.Rerun(ctx, job, runs[0], "test", "again", "")
}

func outcomes(sum *jobs.TransmitSummary) map[string]int {
	out := map[string]int{}
	for _, f := range sum.Files {
		out[f.Outcome]++
	}
	return out
}

func TestTransmitSendsEachFileOnce(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { transmitOnce(t, dialect) })
	}
}

func transmitOnce(t *testing.T, dialect string) {
	var logs bytes.Buffer
	env, srv, outbox, _ := bankEnvOn(t, dialect, nil)
	env.Log = zerolog.New(&logs)
	want := dayFiles(t, env)
	sum, run, err := transmit(t, env, jobs.Transmit{})
	if err != nil || run.Status != ledger.RunSucceeded {
		t.Fatalf("transmit: %v %s", err, run.Status)
	}
	if got := outcomes(sum); got[jobs.TransmitSent] != len(want) {
		t.Fatalf("outcomes %v; want %d sent", got, len(want))
	}
	sameFiles(t, folder(t, outbox), want)
	before := map[string]time.Time{}
	for n := range want {
		fi, _ := os.Stat(filepath.Join(outbox, n))
		before[n] = fi.ModTime()
	}

	// Again: nothing is sent twice.
	sum, _, err = transmit(t, env, jobs.Transmit{})
	if err != nil || outcomes(sum)[jobs.TransmitAlreadySent] != len(want) {
		t.Fatalf("second transmit: %v %v; want every file already sent", err, outcomes(sum))
	}
	for n, m := range before {
		if fi, _ := os.Stat(filepath.Join(outbox, n)); !fi.ModTime().Equal(m) {
			t.Fatalf("%s was written again", n)
		}
	}
	trs, err := env.Store.DayTransmissions(context.Background(), bankNight)
	if err != nil || len(trs) != len(want) {
		t.Fatalf("transmissions %v %v", trs, err)
	}
	for _, tr := range trs {
		if tr.State != ledger.TransmissionSent || tr.SentAt == nil || tr.RunID != run.ID || len(tr.SHA256) != 64 {
			t.Fatalf("transmission %+v; want sent by run %d with its sha256", tr, run.ID)
		}
	}
	key, _ := os.ReadFile(srv.ClientKey)
	for _, line := range strings.Split(string(key), "\n")[1:3] {
		if strings.Contains(logs.String(), line) {
			t.Fatal("the log holds the private key")
		}
	}
}

// TestTransmitAfterACrashLooksFirst leaves the server as crashes would: one
// file already under its final name (renamed, not recorded), one as a
// leftover temporary upload (cut short). The rerun records the first sent
// without uploading it and redoes the second.
func TestTransmitAfterACrashLooksFirst(t *testing.T) {
	env, _, outbox, _ := bankEnv(t, nil)
	want := dayFiles(t, env)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if err := os.WriteFile(filepath.Join(outbox, names[0]), want[names[0]], 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(outbox, names[0]), old, old)
	if err := os.WriteFile(filepath.Join(outbox, bank.TempName(names[1])), want[names[1]][:50], 0o644); err != nil {
		t.Fatal(err)
	}
	sum, _, err := transmit(t, env, jobs.Transmit{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum); got[jobs.TransmitFound] != 1 || got[jobs.TransmitSent] != len(want)-1 {
		t.Fatalf("outcomes %v; want 1 found and the rest sent", got)
	}
	sameFiles(t, folder(t, outbox), want)
	if fi, _ := os.Stat(filepath.Join(outbox, names[0])); !fi.ModTime().Equal(old) {
		t.Fatalf("%s, found on the server, was uploaded again", names[0])
	}
}

// TestTransmitNeverReplacesAnotherFile: a file of the final name but other
// bytes on the server is another sender's; it is not replaced.
func TestTransmitNeverReplacesAnotherFile(t *testing.T) {
	env, _, outbox, _ := bankEnv(t, nil)
	want := dayFiles(t, env)
	var first string
	for n := range want {
		if first == "" || n < first {
			first = n
		}
	}
	other := bytes.Repeat([]byte("x"), 10)
	os.WriteFile(filepath.Join(outbox, first), other, 0o644)
	sum, run, err := transmit(t, env, jobs.Transmit{})
	if err != nil || run.Status != ledger.RunPartial || outcomes(sum)[jobs.TransmitFailed] != 1 {
		t.Fatalf("transmit: %v %s %v; want partial with one failed", err, run.Status, outcomes(sum))
	}
	if b, _ := os.ReadFile(filepath.Join(outbox, first)); !bytes.Equal(b, other) {
		t.Fatal("another sender's file was replaced")
	}
}

// TestTransmitRefusesAFileTheLedgerDoesNotKnow: bytes in storage that are
// not the ledger's are never sent, and a person is told.
func TestTransmitRefusesAFileTheLedgerDoesNotKnow(t *testing.T) {
	env, _, outbox, _ := bankEnv(t, nil)
	want := dayFiles(t, env)
	ctx := context.Background()
	if _, err := env.Store.DB().ExecContext(ctx, `UPDATE ach_files SET sha256 = 'aaaa' WHERE id = (SELECT MIN(id) FROM ach_files)`); err != nil {
		t.Fatal(err)
	}
	sum, _, err := transmit(t, env, jobs.Transmit{})
	if err != nil || outcomes(sum)[jobs.TransmitFailed] != 1 || outcomes(sum)[jobs.TransmitSent] != len(want)-1 {
		t.Fatalf("transmit: %v %v", err, outcomes(sum))
	}
	if got := folder(t, outbox); len(got) != len(want)-1 {
		t.Fatalf("the outbox has %d files; want all but the mismatched one", len(got))
	}
	exs, err := env.Store.Exceptions(ctx, false)
	if err != nil || len(exs) != 1 || exs[0].Kind != "transmit_mismatch" {
		t.Fatalf("exceptions %+v %v; want one transmit_mismatch", exs, err)
	}
}

// TestTransmitHoldsAFileAfterTheCutoff: on a fixed clock past the day's
// last cutoff nothing is sent; an exception says what to do; then, as the
// runbook says for a bank that agrees to take the file late, a run without
// the cutoff sends it.
func TestTransmitHoldsAFileAfterTheCutoff(t *testing.T) {
	env, _, outbox, _ := bankEnv(t, map[string]string{"DRAFTER_BANK_CUTOFF": "10:30,16:00"})
	want := dayFiles(t, env)
	var logs bytes.Buffer
	env.Log = zerolog.New(&logs)
	ny := env.Config.Zone
	early := jobs.Transmit{Now: func() time.Time { return time.Date(2026, 11, 25, 15, 59, 0, 0, ny) }}
	late := jobs.Transmit{Now: func() time.Time { return time.Date(2026, 11, 25, 16, 1, 0, 0, ny) }}

	// Every file held: no item could be done, so the run is failed (a
	// missed cutoff never looks like success).
	sum, run, err := transmit(t, env, late)
	if err == nil || run.Status != ledger.RunFailed || outcomes(sum)[jobs.TransmitCutoffMissed] != len(want) {
		t.Fatalf("late transmit: %v %s %v; want every file held", err, run.Status, outcomes(sum))
	}
	if got := folder(t, outbox); len(got) != 0 {
		t.Fatalf("files sent after the cutoff: %d", len(got))
	}
	if sum.CutoffMissed != len(want) || !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "cutoff missed") {
		t.Fatalf("missed %d; log %s", sum.CutoffMissed, logs.String())
	}
	exs, _ := env.Store.Exceptions(context.Background(), false)
	if len(exs) != len(want) || exs[0].Kind != jobs.ExceptionCutoffMissed || !strings.Contains(exs[0].Detail, "re-originate") {
		t.Fatalf("exceptions %+v", exs)
	}

	// Before the cutoff (a clock that was wrong) it would have gone.
	if sum, _, _ := transmit(t, env, early); outcomes(sum)[jobs.TransmitSent] != len(want) {
		t.Fatalf("early transmit: %v", outcomes(sum))
	}
	sameFiles(t, folder(t, outbox), want)
}

func TestTransmitRefusesAChangedHostKey(t *testing.T) {
	env, srv, outbox, _ := bankEnv(t, nil)
	_, other := testenv.SSHKey(t, t.TempDir(), "impostor")
	srv.PinHostKey(t, other)
	_, run, err := transmit(t, env, jobs.Transmit{})
	if !errors.Is(err, bank.ErrHostKey) || run.Status != ledger.RunFailed {
		t.Fatalf("transmit to a changed host key: %v %s; want failed with ErrHostKey", err, run.Status)
	}
	if got := folder(t, outbox); len(got) != 0 {
		t.Fatal("files sent to a host that was not pinned")
	}
}

func TestTransmitWithoutABankDoesNothing(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	res, err := env.Start(context.Background(), jobs.Transmit{}, jobs.StartSpec{Date: bankNight, Trigger: "operator"})
	if err != nil || res.Run.Status != ledger.RunSucceeded || res.Summary.(*jobs.TransmitSummary).Bank != "" {
		t.Fatalf("transmit with no bank: %v %+v", err, res)
	}
}
