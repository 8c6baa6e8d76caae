package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Sent in modifier order: the order the day's files were allocated.
	allocated, err := env.Store.DayFiles(context.Background(), bankNight)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range sum.Files {
		if f.Modifier != allocated[i].IDModifier {
			t.Fatalf("file %d sent was %s, want %s (modifier order)", i, f.Modifier, allocated[i].IDModifier)
		}
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
	files, err := env.Store.DayFiles(context.Background(), bankNight)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Status != ledger.FileTransmitted {
			t.Errorf("%s sent: status %s, want transmitted", f.StorageKey, f.Status)
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

// TestMissedCutoffHoldOrReoriginate follows the runbook for a missed
// cutoff on a fixed clock, against a real sshd: every file of the night is
// held past the cutoff; the operator holds one (its exception resolved
// with a note: it is never sent) and re-originates another (voided, its
// payment scheduled again); the next business date's originate puts that
// payment in a new file with a later effective date, which transmit sends
// before that day's cutoff. The voided file never reaches the bank, even
// from a transmit run whose clock says the cutoff has not passed.
func TestMissedCutoffHoldOrReoriginate(t *testing.T) {
	ctx := context.Background()
	env, _, outbox, _ := bankEnv(t, map[string]string{"DRAFTER_BANK_CUTOFF": "16:00"})
	want := dayFiles(t, env)
	ny := env.Config.Zone
	clock := func(d civil.Date, hh, mm int) jobs.Transmit {
		return jobs.Transmit{Now: func() time.Time { return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, ny) }}
	}
	if sum, _, _ := transmit(t, env, clock(bankNight, 16, 1)); sum.CutoffMissed != len(want) {
		t.Fatalf("late transmit: %v", outcomes(sum))
	}
	files, err := env.Store.DayFiles(ctx, bankNight)
	if err != nil {
		t.Fatal(err)
	}
	held, voided := files[0], files[1]
	exs, _ := env.Store.Exceptions(ctx, false)
	byKey := map[string]ledger.Exception{}
	for _, e := range exs {
		byKey[e.Reference] = e
	}
	if byKey[held.StorageKey].Kind != jobs.ExceptionCutoffMissed || byKey[voided.StorageKey].Kind != jobs.ExceptionCutoffMissed {
		t.Fatalf("exceptions %+v", exs)
	}

	// Hold: resolved with a note.
	if _, err := env.Store.ResolveException(ctx, byKey[held.StorageKey].ID, "ops", "held: bank could not take it; customers called"); err != nil {
		t.Fatal(err)
	}
	// Re-originate: voided, its payments scheduled again.
	var payments []int64
	rows, _ := env.Store.DB().Query(`SELECT payment_id FROM originations WHERE ach_file_id = $1 ORDER BY payment_id`, voided.ID)
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		payments = append(payments, id)
	}
	rows.Close()
	// With the bank connection the deliver job tells no customer of a
	// debit whose file has not reached the bank: the held files' emails
	// wait, settled though they are (queuePaymentEmails does deliver's
	// first steps).
	queuePaymentEmails(t, env, true)
	var early int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE kind = 'payment_scheduled'`).Scan(&early)
	if early != 0 {
		t.Fatalf("%d payment emails queued for files the bank does not have", early)
	}
	// Had the first payment's gone out all the same (a deliver run
	// without the bank connection, the file sent by other means), its
	// customer was told the voided file's date.
	queuePaymentEmails(t, env, false)
	if _, err := env.Store.DB().Exec(`UPDATE outbox SET status = 'sent' WHERE topic = $1`, fmt.Sprintf("payment:%d:scheduled:%d", payments[0], voided.ID)); err != nil {
		t.Fatal(err)
	}
	if n, err := env.Store.VoidHeldFile(ctx, voided.ID, "ops", "missed 16:00, debit a day later, ticket 5120"); err != nil || n != len(payments) || n == 0 {
		t.Fatalf("void: %d of %d payments, %v", n, len(payments), err)
	}
	if _, err := env.Store.VoidHeldFile(ctx, voided.ID, "ops", "again"); err == nil {
		t.Fatal("voided twice")
	}
	if err := env.Store.BeginTransmission(ctx, ledger.Transmission{FileID: voided.ID, RemoteName: "x", RunID: 1}); !errors.Is(err, ledger.ErrFileReleased) {
		t.Fatalf("a transmission of the voided file: %v, want ErrFileReleased", err)
	}
	if e, _ := env.Store.Exceptions(ctx, false); len(e) != len(want)-2 {
		t.Fatalf("%d exceptions open, want %d", len(e), len(want)-2)
	}
	var audit int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'bank-reoriginate' AND target = $1 AND reason LIKE '%ticket 5120%'`, voided.StorageKey).Scan(&audit)
	if audit != 1 {
		t.Fatal("the re-origination is not in the audit log")
	}

	// A transmit run of the night whose clock says the cutoff is still
	// ahead sends what is held but never the voided file.
	if sum, _, _ := transmit(t, env, clock(bankNight, 15, 0)); outcomes(sum)[jobs.TransmitSent] != len(want)-1 {
		t.Fatalf("transmit before the cutoff after the void: %v", outcomes(sum))
	}
	voidedName := bank.RemoteName(bank.DefaultNamePattern, bank.FileName{ID: voided.ID, BusinessDate: voided.BusinessDate, EffectiveOn: voided.EffectiveOn, Modifier: voided.IDModifier})
	if _, ok := folder(t, outbox)[voidedName]; ok {
		t.Fatal("the voided file reached the bank")
	}

	// The next business date re-originates the payments with its own
	// effective date, and its transmit sends them before its cutoff.
	next := civil.MustParse("2026-11-27")
	if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: next, Trigger: "operator"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range payments {
		var file int64
		var eff civil.Date
		if err := env.Store.DB().QueryRow(`SELECT o.ach_file_id, f.effective_on FROM originations o JOIN ach_files f ON f.id = o.ach_file_id
			WHERE o.payment_id = $1`, id).Scan(&file, &eff); err != nil {
			t.Fatalf("payment %d after the next originate: %v", id, err)
		}
		if file == voided.ID || !voided.EffectiveOn.Before(eff) {
			t.Fatalf("payment %d in file %d effective %s; voided file %d was effective %s", id, file, eff, voided.ID, voided.EffectiveOn)
		}
	}
	res, err := env.Start(ctx, clock(next, 15, 0), jobs.StartSpec{Date: next, Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if sum := res.Summary.(*jobs.TransmitSummary); outcomes(sum)[jobs.TransmitSent] == 0 || sum.CutoffMissed != 0 {
		t.Fatalf("next day's transmit: %v", outcomes(sum))
	}
	if _, ok := folder(t, outbox)[voidedName]; ok {
		t.Fatal("the voided file reached the bank")
	}

	// The payment emails: the voided file's still queued were withdrawn
	// with it; each of its payments gets one from the file that
	// re-originated it once that file is at the bank, telling the new
	// date, and the customer already told the voided file's date is told
	// again.
	queuePaymentEmails(t, env, true)
	for i, id := range payments {
		rows, err := env.Store.DB().Query(`SELECT topic, status FROM outbox WHERE topic LIKE $1 ORDER BY id`, fmt.Sprintf("payment:%d:scheduled%%", id))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var topic, status string
			rows.Scan(&topic, &status)
			got = append(got, topic+" "+status)
		}
		rows.Close()
		var file int64
		env.Store.DB().QueryRow(`SELECT ach_file_id FROM originations WHERE payment_id = $1`, id).Scan(&file)
		want := []string{fmt.Sprintf("payment:%d:scheduled:%d queued", id, file)}
		if i == 0 {
			want = append([]string{fmt.Sprintf("payment:%d:scheduled:%d sent", id, voided.ID)}, want...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("payment %d's emails %q, want %q", id, got, want)
		}
	}
}

// queuePaymentEmails settles every stored file, then queues the payment
// emails of every settled file (with transmitted, of every file the bank
// has), as the deliver job's first steps do.
func queuePaymentEmails(t *testing.T, env *jobs.Env, transmitted bool) {
	t.Helper()
	if _, err := env.Store.SettleStoredFiles(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for {
		_, more, err := env.Store.QueuePaymentEmails(context.Background(), time.Now(), transmitted)
		if err != nil {
			t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

// TestTransmitRerunNeverResendsUnlessAsked, against a real sshd: a rerun
// of transmit never sends a sent file again, even once the bank has taken
// it from its outbox; only --resend KEY with a reason does, loudly (ERROR
// log, audit log, the run's timeline), and never while the file is still
// in the outbox.
func TestTransmitRerunNeverResendsUnlessAsked(t *testing.T) {
	ctx := context.Background()
	env, _, outbox, _ := bankEnv(t, nil)
	want := dayFiles(t, env)
	var logs bytes.Buffer
	env.Log = zerolog.New(&logs)
	if sum, _, err := transmit(t, env, jobs.Transmit{}); err != nil || outcomes(sum)[jobs.TransmitSent] != len(want) {
		t.Fatalf("first transmit: %v %v", err, outcomes(sum))
	}
	sameFiles(t, folder(t, outbox), want)
	// The bank takes them.
	for n := range want {
		if err := os.Remove(filepath.Join(outbox, n)); err != nil {
			t.Fatal(err)
		}
	}
	if sum, _, err := transmit(t, env, jobs.Transmit{}); err != nil || outcomes(sum)[jobs.TransmitAlreadySent] != len(want) {
		t.Fatalf("rerun: %v %v", err, outcomes(sum))
	}
	if got := folder(t, outbox); len(got) != 0 {
		t.Fatalf("a rerun sent %d files again", len(got))
	}
	files, _ := env.Store.DayFiles(ctx, bankNight)
	f := files[1]
	name := bank.RemoteName(bank.DefaultNamePattern, bank.FileName{ID: f.ID, BusinessDate: f.BusinessDate, EffectiveOn: f.EffectiveOn, Modifier: f.IDModifier})
	last := func() ledger.Run {
		runs, err := env.Store.ListRuns(ctx, ledger.RunFilter{Job: "transmit", Date: bankNight, Limit: 1})
		if err != nil || len(runs) == 0 {
			t.Fatal(err)
		}
		return runs[0]
	}
	resend := func(key string) (jobs.Result, error) {
		return env.RerunWith(ctx, jobs.Transmit{}, last(), "ops", "bank lost the file, ticket 77", "", map[string]any{"resend": key})
	}
	logs.Reset()
	res, err := resend(f.StorageKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(res.Summary.(*jobs.TransmitSummary)); got[jobs.TransmitResent] != 1 || got[jobs.TransmitAlreadySent] != len(want)-1 {
		t.Fatalf("resend: %v", got)
	}
	sameFiles(t, folder(t, outbox), map[string][]byte{name: want[name]})
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "RESENDING") || !strings.Contains(logs.String(), "ticket 77") {
		t.Fatalf("resend not logged loudly:\n%s", logs.String())
	}
	evs, _ := env.Store.RunEvents(ctx, res.Run.ID)
	found := false
	for _, e := range evs {
		found = found || (e.Event == ledger.RunEventResent && e.Actor == "ops" && strings.Contains(e.Detail, "ticket 77"))
	}
	var audits int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'transmit-resend' AND actor = 'ops'`).Scan(&audits)
	var how string
	env.Store.DB().QueryRow(`SELECT how FROM transmissions WHERE ach_file_id = $1`, f.ID).Scan(&how)
	if !found || audits != 1 || how != "resent" {
		t.Fatalf("resend recorded: event %v, audits %d, how %q; timeline %+v", found, audits, how, evs)
	}
	// Still in the outbox: not sent again.
	res, _ = resend(f.StorageKey)
	if sum := res.Summary.(*jobs.TransmitSummary); outcomes(sum)[jobs.TransmitFailed] != 1 || !strings.Contains(sum.Files[len(sum.Files)-1].Error, "still in the bank's outbox") {
		t.Fatalf("resend of a file in the outbox: %+v", sum.Files)
	}
	if _, err := resend("ach/outbound/nope.ach"); err == nil {
		t.Fatal("resend of an unknown key")
	}
}

// TestTransmitUsesTheBanksNames: with DRAFTER_BANK_FILE_NAME set, the
// files land under the names the bank dictates (here ACH_YYMMDDM.txt), and
// a rerun recognises them by those names.
func TestTransmitUsesTheBanksNames(t *testing.T) {
	const pattern = "ACH_{yymmdd}{modifier}.txt"
	env, _, outbox, _ := bankEnv(t, map[string]string{"DRAFTER_BANK_FILE_NAME": pattern})
	ctx := context.Background()
	files, err := env.Store.DayFiles(ctx, bankNight)
	if err != nil || len(files) < 2 {
		t.Fatalf("day files: %d %v", len(files), err)
	}
	want := map[string][]byte{}
	for _, f := range files {
		b, _, err := env.Docs.Get(ctx, f.StorageKey)
		if err != nil {
			t.Fatal(err)
		}
		want["ACH_261125"+f.IDModifier+".txt"] = b
	}
	if _, run, err := transmit(t, env, jobs.Transmit{}); err != nil || run.Status != ledger.RunSucceeded {
		t.Fatalf("transmit: %v %s", err, run.Status)
	}
	sameFiles(t, folder(t, outbox), want)
	sum, _, err := transmit(t, env, jobs.Transmit{})
	if err != nil || outcomes(sum)[jobs.TransmitAlreadySent] != len(want) {
		t.Fatalf("rerun: %v %v, want every file already sent", err, outcomes(sum))
	}
	for _, f := range sum.Files {
		if _, ok := want[f.RemoteName]; !ok {
			t.Errorf("recorded remote name %q is not the bank's pattern", f.RemoteName)
		}
	}
}

// TestTransmitTakenByTheBank: a file renamed for the bank (its
// transmission recorded renaming) and then gone from the bank's outbox,
// as a bank that moves files away once it has them leaves it after a
// crash, is recorded sent ("taken") and never uploaded again.
func TestTransmitTakenByTheBank(t *testing.T) {
	env, _, outbox, _ := bankEnv(t, nil)
	ctx := context.Background()
	want := dayFiles(t, env)
	files, err := env.Store.DayFiles(ctx, bankNight)
	if err != nil {
		t.Fatal(err)
	}
	f := files[0]
	name := bank.RemoteName(bank.DefaultNamePattern, bank.FileName{ID: f.ID, BusinessDate: f.BusinessDate, EffectiveOn: f.EffectiveOn, Modifier: f.IDModifier})
	if err := env.Store.BeginTransmission(ctx, ledger.Transmission{FileID: f.ID, RemoteName: name, Bytes: f.Size, SHA256: f.SHA256, RunID: 1}); err != nil {
		t.Fatal(err)
	}
	sum, _, err := transmit(t, env, jobs.Transmit{})
	if err != nil {
		t.Fatal(err)
	}
	if got := outcomes(sum); got[jobs.TransmitTaken] != 1 || got[jobs.TransmitSent] != len(want)-1 {
		t.Fatalf("outcomes %v; want 1 taken and the rest sent", got)
	}
	delete(want, name)
	sameFiles(t, folder(t, outbox), want)
	trs, err := env.Store.DayTransmissions(ctx, bankNight)
	if err != nil {
		t.Fatal(err)
	}
	if tr := trs[f.ID]; tr.State != ledger.TransmissionSent || tr.How != jobs.TransmitTaken {
		t.Errorf("transmission %+v, want sent, taken", tr)
	}
	if got, _ := env.Store.FileByKey(ctx, f.StorageKey); got.Status != ledger.FileTransmitted {
		t.Errorf("file status %s, want transmitted", got.Status)
	}
}

// TestDeliverWaitsForTheBank: with a bank connection, the deliver run
// queues a file's "payment scheduled" emails only once transmit has
// confirmed the file at the bank; then each payment's once.
func TestDeliverWaitsForTheBank(t *testing.T) {
	ctx := context.Background()
	env, _, _, _ := bankEnv(t, map[string]string{"DRAFTER_MAIL_URL": "pickup://" + filepath.Join(t.TempDir(), "mail")})
	deliver := func(d civil.Date) *jobs.DeliverSummary {
		t.Helper()
		res, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: d, Trigger: "operator"})
		if err != nil {
			t.Fatal(err)
		}
		return res.Summary.(*jobs.DeliverSummary)
	}
	if sum := deliver(bankNight); sum.PaymentEmailsQueued != 0 {
		t.Fatalf("deliver before transmit queued %d payment emails, want none", sum.PaymentEmailsQueued)
	}
	if sum, _, err := transmit(t, env, jobs.Transmit{}); err != nil || outcomes(sum)[jobs.TransmitSent] == 0 {
		t.Fatalf("transmit: %v %v", err, outcomes(sum))
	}
	var debits int
	if err := env.Store.DB().QueryRow(`SELECT COUNT(*) FROM payments WHERE kind = 'debit' AND state = 'originated'`).Scan(&debits); err != nil || debits == 0 {
		t.Fatalf("%d debits originated (%v)", debits, err)
	}
	if sum := deliver(bankNight.AddDays(1)); sum.PaymentEmailsQueued != debits || sum.SentByKind["payment_scheduled"] != debits {
		t.Fatalf("deliver after transmit: %+v, want %d payment emails queued and sent", sum, debits)
	}
	if sum := deliver(bankNight.AddDays(2)); sum.PaymentEmailsQueued != 0 || sum.Sent != 0 {
		t.Fatalf("deliver again: %+v, want nothing", sum)
	}
}
