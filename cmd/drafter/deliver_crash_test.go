package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// outboxRows reads the outbox through `drafter outbox --json`.
func outboxRows(t *testing.T, dir string, env []string, args ...string) []ledger.OutboxMessage {
	t.Helper()
	var ms []ledger.OutboxMessage
	out := mustDrafter(t, dir, env, append([]string{"outbox", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &ms); err != nil {
		t.Fatalf("outbox --json: %v\n%s", err, out)
	}
	return ms
}

// TestDeliverKilledAfterEveryWrite kills `drafter run deliver` after each of
// its writes in turn (each file's settlement, the claim, each SMTP
// acceptance, each mark), restarts the run with the sending lease at zero,
// and checks that every file is settled, every message is sent, each
// arrives once, and a message arrives twice, with the same
// Message-ID, only when the kill fell between its acceptance and its mark.
func TestDeliverKilledAfterEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { deliverCrashes(t, dialect) })
	}
}

func deliverCrashes(t *testing.T, dialect string) {
	d := civil.MustParse("2026-12-01")
	file := writePortfolio(t, 30, 3, d)
	mp := testenv.Mailpit(t)
	// prepare makes a data dir where the night made its statements and
	// then originated: the outbox holds the statements' emails with their
	// PDFs, and the deliver run first settles the night's files (small
	// ones, so there are several), then queues their payment emails from
	// their originations.
	prepare := func() (string, []string) {
		dir := t.TempDir()
		env := []string{"DRAFTER_MAIL_URL=" + mp.SMTPURL(), "DRAFTER_MAIL_LEASE=0s", "DRAFTER_MAIL_CONNECTIONS=1", "DRAFTER_FILE_ENTRY_LIMIT=2"}
		if dialect == "postgres" {
			env = append(env, "DRAFTER_DATABASE_URL="+ledgertest.URL(t, dialect))
			mustDrafter(t, dir, env, "migrate")
		}
		mustDrafter(t, dir, env, "import", file)
		mustDrafter(t, dir, env, "run", "statements", "--date", d.String())
		mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
		return dir, env
	}
	// What an uninterrupted run ends with: every crashed and restarted one
	// must end the same.
	want := map[string]int{}
	{
		dir, env := prepare()
		mustDrafter(t, dir, env, "run", "deliver", "--date", d.String())
		for _, m := range outboxRows(t, dir, env) {
			want[m.Kind]++
		}
		mp.DeleteAll(t)
	}
	if want["payment_scheduled"] == 0 || want["statement_ready"] == 0 {
		t.Fatalf("the night queued %v; want several payment and statement emails", want)
	}
	inFlightCrashes := 0
	for n := 1; ; n++ {
		dir, env := prepare()
		mp.DeleteAll(t)
		queued := outboxRows(t, dir, env)
		kinds := map[string]int{}
		for _, m := range queued {
			kinds[m.Kind]++
		}
		if kinds["payment_scheduled"] != 0 || kinds["statement_ready"] != want["statement_ready"] {
			t.Fatalf("before deliver the outbox holds %v; want the statements' emails and no payment email yet", kinds)
		}
		total := len(queued) + want["payment_scheduled"]
		r := drafter(t, dir, append(env, fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)), "run", "deliver", "--date", d.String())
		if r.code == 0 {
			if n < 2*total {
				t.Fatalf("the job finished before crashpoint %d with %d messages: too few checkpoints", n, total)
			}
			if inFlightCrashes == 0 {
				t.Fatal("no crash fell between an acceptance and its mark")
			}
			t.Logf("%d crashpoints exercised, %d between an acceptance and its mark", n-1, inFlightCrashes)
			checkDelivered(t, mp, outboxRows(t, dir, env), false)
			checkSettled(t, dir, env, n)
			return
		}
		if r.code != jobs.CrashExitCode {
			t.Fatalf("crash %d: exit %d\n%s", n, r.code, r.stderr)
		}
		inFlight := strings.Contains(r.stderr, "exiting after message sent")
		if inFlight {
			inFlightCrashes++
		}
		mustDrafter(t, dir, env, "restart", fmt.Sprint(lastRunID(t, dir, env)), "--stale-after", "0s")
		rows := outboxRows(t, dir, env)
		got := map[string]int{}
		for _, m := range rows {
			got[m.Kind]++
		}
		if !maps.Equal(got, want) {
			t.Fatalf("crash %d: outbox rows after %v, want %v (each payment email queued once)", n, got, want)
		}
		checkDelivered(t, mp, rows, inFlight)
		checkSettled(t, dir, env, n)
	}
}

// checkSettled checks that every stored file is settled: its payment rows
// say what their originations records say.
func checkSettled(t *testing.T, dir string, env []string, n int) {
	t.Helper()
	url := "sqlite:" + filepath.Join(dir, "drafter.db")
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "DRAFTER_DATABASE_URL="); ok {
			url = v
		}
	}
	s := ledgertest.OpenURL(t, url)
	defer s.Close()
	var files, unsettled, records, differ int
	err := s.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM ach_files),
		(SELECT COUNT(*) FROM ach_files WHERE settled_at IS NULL),
		(SELECT COUNT(*) FROM originations),
		(SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
			WHERE p.state <> 'originated' OR p.ach_file_id IS NULL OR p.ach_file_id <> o.ach_file_id
				OR p.trace_number IS NULL OR p.trace_number <> o.trace_number)`).Scan(&files, &unsettled, &records, &differ)
	if err != nil {
		t.Fatal(err)
	}
	if files < 2 || records == 0 || unsettled != 0 || differ != 0 {
		t.Fatalf("crash %d: %d files (%d unsettled), %d originations records, %d payment rows differing from theirs; want several files, all settled, none differing",
			n, files, unsettled, records, differ)
	}
}

// checkDelivered checks that every row is sent and in mailpit under its
// Message-ID once, or twice for the one row in flight at a crash.
func checkDelivered(t *testing.T, mp *testenv.MailpitServer, rows []ledger.OutboxMessage, inFlight bool) {
	t.Helper()
	want := len(rows)
	if inFlight {
		want++
	}
	got := map[string]int{}
	for _, s := range mp.WaitMessages(t, want) {
		got[s.MessageID]++
	}
	dups := 0
	for _, row := range rows {
		if row.Status != ledger.OutboxSent {
			t.Fatalf("row %d (%s) is %s after the rerun: %s", row.ID, row.Kind, row.Status, row.LastError)
		}
		switch got[row.MessageID] {
		case 1:
		case 2:
			dups++
		default:
			t.Fatalf("row %d (%s) arrived %d times as %s", row.ID, row.Kind, got[row.MessageID], row.MessageID)
		}
	}
	if len(got) != len(rows) {
		t.Fatalf("mailpit holds %d distinct messages for %d rows", len(got), len(rows))
	}
	if wantDups := want - len(rows); dups != wantDups {
		t.Fatalf("%d messages arrived twice, want %d (in flight at the crash: %v)", dups, wantDups, inFlight)
	}
}

// TestOutboxCommand shows failed messages to an operator and requeues one,
// with an audit record.
func TestOutboxCommand(t *testing.T) {
	d := civil.MustParse("2026-12-01")
	mp := testenv.MailpitWith(t, testenv.MailpitConfig{AllowedRecipients: `^nobody@drafter\.test$`})
	dir := t.TempDir()
	env := []string{"DRAFTER_MAIL_URL=" + mp.SMTPURL()}
	mustDrafter(t, dir, env, "import", writePortfolio(t, 50, 3, d))
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
	// Every message refused: no item could be done, the run is failed.
	if r := drafter(t, dir, env, "run", "deliver", "--date", d.String()); r.code != 1 || !strings.Contains(r.stderr, "no selected item could be done") {
		t.Fatalf("deliver: exit %d, want 1 (failed)\n%s", r.code, r.stderr)
	}
	failed := outboxRows(t, dir, env, "--status", "failed")
	if len(failed) == 0 || len(outboxRows(t, dir, env, "--status", "sent")) != 0 {
		t.Fatalf("failed %d; want every message refused", len(failed))
	}
	text := mustDrafter(t, dir, env, "outbox", "--status", "failed")
	if !strings.Contains(text, fmt.Sprintf("%d failed", len(failed))) || !strings.Contains(text, "550") || !strings.Contains(text, failed[0].Recipient) {
		t.Fatalf("outbox --status failed:\n%s", text)
	}

	id := fmt.Sprint(failed[0].ID)
	out := mustDrafter(t, dir, append(env, "DRAFTER_OPERATOR=ana"), "outbox", "retry", id, "--reason", "address corrected")
	if !strings.Contains(out, "requeued") {
		t.Fatalf("outbox retry: %s", out)
	}
	queued := outboxRows(t, dir, env, "--status", "queued")
	if len(queued) != 1 || queued[0].ID != failed[0].ID || queued[0].Attempts != 0 {
		t.Fatalf("after retry, queued = %+v", queued)
	}
	if r := drafter(t, dir, env, "outbox", "retry", id); r.code == 0 || !strings.Contains(r.stderr, "only failed messages") {
		t.Fatalf("retry of a queued message: exit %d %s", r.code, r.stderr)
	}
	if r := drafter(t, dir, env, "outbox", "--status", "lost"); r.code == 0 {
		t.Fatal("outbox --status lost accepted")
	}
	st := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	var actor, target, reason string
	if err := st.DB().QueryRowContext(context.Background(), `SELECT actor, target, reason FROM audit WHERE action = 'outbox retry'`).Scan(&actor, &target, &reason); err != nil {
		t.Fatal(err)
	}
	if actor != "ana" || target != "outbox "+id || reason != "address corrected" {
		t.Fatalf("audit: %s %s %s", actor, target, reason)
	}
}
