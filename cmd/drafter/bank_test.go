package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger"
)

// TestBankTransmitAndStatus runs the bank connection through the binary: a
// key the bank does not know fails the run with a message naming the key
// file and no key material in any output; a bad setting stops drafter at
// start; the restart with the right key sends every file, and `bank
// status` shows them sent.
func TestBankTransmitAndStatus(t *testing.T) {
	srv := testenv.SSHD(t)
	d := civil.MustParse("2026-12-01")
	dir := t.TempDir()
	outbox, _, env := bankFolders(t, srv)
	env = append(env, "DRAFTER_FILE_ENTRY_LIMIT=10")
	mustDrafter(t, dir, env, "import", writePortfolio(t, 40, 3, d))
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())

	stranger, _ := testenv.SSHKey(t, t.TempDir(), "stranger")
	r := drafter(t, dir, append(env, "DRAFTER_BANK_SSH_KEY="+stranger), "run", "transmit", "--date", d.String())
	out := r.stdout + r.stderr
	if r.code == 0 || !strings.Contains(out, "refused the SSH key") || !strings.Contains(out, stranger) {
		t.Fatalf("transmit with an unknown key: exit %d\n%s", r.code, out)
	}
	for _, key := range []string{stranger, srv.ClientKey} {
		b, _ := os.ReadFile(key)
		for _, line := range strings.Split(string(b), "\n")[1:3] {
			if strings.Contains(out, line) {
				t.Fatalf("the output holds private key material of %s", key)
			}
		}
	}
	if n := len(folderFiles(t, outbox)); n != 0 {
		t.Fatalf("%d files sent with a refused key", n)
	}

	r = drafter(t, dir, append(env, "DRAFTER_BANK_KNOWN_HOSTS="+filepath.Join(dir, "missing")), "run", "transmit", "--date", d.String())
	if r.code == 0 || !strings.Contains(r.stderr, "DRAFTER_BANK_KNOWN_HOSTS") {
		t.Fatalf("a missing known_hosts file: exit %d\n%s", r.code, r.stderr)
	}

	mustDrafter(t, dir, env, "restart", fmt.Sprint(lastRunID(t, dir, env)))
	var status struct {
		Bank    string `json:"bank"`
		Pending int    `json:"pending"`
		Files   []struct {
			Transmission *struct {
				State      string `json:"state"`
				RemoteName string `json:"remote_name"`
			} `json:"transmission"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, env, "bank", "status", "--date", d.String(), "--json")), &status); err != nil {
		t.Fatal(err)
	}
	sent := folderFiles(t, outbox)
	if status.Bank != srv.URL() || status.Pending != 0 || len(status.Files) == 0 || len(status.Files) != len(sent) {
		t.Fatalf("bank status %+v; %d files on the server", status, len(sent))
	}
	for _, f := range status.Files {
		if f.Transmission == nil || f.Transmission.State != "sent" || sent[f.Transmission.RemoteName] == nil {
			t.Fatalf("bank status file %+v; want sent and on the server", f.Transmission)
		}
	}
	text := mustDrafter(t, dir, env, "bank", "status", "--date", d.String())
	if !strings.Contains(text, "0 pending") || !strings.Contains(text, "sent as") {
		t.Fatalf("bank status:\n%s", text)
	}
}

// TestBankReoriginateAndResend drives the two ways out of a missed
// cutoff and a resend through the binary against a real sshd: a cutoff of
// a past day holds every file; bank reoriginate needs a reason, voids a
// held file once and puts its payments in the next day's file, which goes
// to the bank; once the bank has taken the files, rerun --resend sends one
// again, loudly and in the run's timeline, and --resend is refused for
// another job's run.
func TestBankReoriginateAndResend(t *testing.T) {
	srv := testenv.SSHD(t)
	d, next := civil.MustParse("2026-12-01"), civil.MustParse("2026-12-02")
	dir := t.TempDir()
	outbox, _, env := bankFolders(t, srv)
	env = append(env, "DRAFTER_FILE_ENTRY_LIMIT=10")
	mustDrafter(t, dir, env, "import", writePortfolio(t, 40, 3, d))
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
	// The day's cutoff is long past.
	late := append(env[:len(env):len(env)], "DRAFTER_BANK_CUTOFF=09:00")
	if r := drafter(t, dir, late, "run", "transmit", "--date", d.String()); r.code == 0 || !strings.Contains(r.stderr, "cutoff missed") {
		t.Fatalf("late transmit: exit %d\n%s", r.code, r.stderr)
	}
	if n := len(folderFiles(t, outbox)); n != 0 {
		t.Fatalf("%d files sent after the cutoff", n)
	}
	if text := mustDrafter(t, dir, late, "bank", "status", "--date", d.String()); !strings.Contains(text, "CUTOFF MISSED") {
		t.Fatalf("bank status:\n%s", text)
	}
	key := fmt.Sprintf("ach/outbound/%s/drafter-%s-A.ach", d, d)
	if r := drafter(t, dir, late, "bank", "reoriginate", key); r.code != 2 || !strings.Contains(r.stderr, "--reason is required") {
		t.Fatalf("reoriginate without a reason: exit %d\n%s", r.code, r.stderr)
	}
	out := mustDrafter(t, dir, late, "bank", "reoriginate", key, "--reason", "missed cutoff, ticket 5120", "--as", "reoriginator")
	if !strings.Contains(out, "voided") {
		t.Fatalf("reoriginate: %s", out)
	}
	var audit []ledger.AuditEntry
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, env, "audit", "--json", "--action", "bank-reoriginate")), &audit); err != nil ||
		len(audit) != 1 || audit[0].Actor != "reoriginator" || audit[0].Target != key {
		t.Fatalf("audit of the reoriginate: %v %+v; want it recorded under --as", err, audit)
	}
	if r := drafter(t, dir, late, "bank", "reoriginate", key, "--reason", "again"); r.code == 0 || !strings.Contains(r.stderr, "not held") && !strings.Contains(r.stderr, "released") {
		t.Fatalf("reoriginate twice: exit %d\n%s", r.code, r.stderr)
	}
	// The next day's file carries the payments and goes to the bank.
	mustDrafter(t, dir, env, "run", "originate", "--date", next.String())
	mustDrafter(t, dir, env, "run", "transmit", "--date", next.String())
	sent := folderFiles(t, outbox)
	if len(sent) == 0 {
		t.Fatal("nothing sent for the next day")
	}
	for name := range sent {
		if !strings.Contains(name, "20261202") {
			t.Fatalf("%s on the server: only the next day's files may go", name)
		}
	}
	// The bank takes them; a rerun sends nothing, --resend one file.
	for name := range sent {
		os.Remove(filepath.Join(outbox, name))
	}
	run := fmt.Sprint(lastRunID(t, dir, env))
	mustDrafter(t, dir, env, "rerun", run, "--reason", "check")
	if n := len(folderFiles(t, outbox)); n != 0 {
		t.Fatalf("a rerun sent %d files again", n)
	}
	nextKey := fmt.Sprintf("ach/outbound/%s/drafter-%s-A.ach", next, next)
	r := drafter(t, dir, env, "rerun", fmt.Sprint(lastRunID(t, dir, env)), "--resend", nextKey, "--reason", "bank lost it, ticket 77")
	if r.code != 0 || !strings.Contains(r.stderr, "RESENDING") || len(folderFiles(t, outbox)) != 1 {
		t.Fatalf("rerun --resend: exit %d, %d files on the server\n%s", r.code, len(folderFiles(t, outbox)), r.stderr)
	}
	if show := mustDrafter(t, dir, env, "runs", "show", fmt.Sprint(lastRunID(t, dir, env))); !strings.Contains(show, "file resent") || !strings.Contains(show, "ticket 77") {
		t.Fatalf("runs show after the resend:\n%s", show)
	}
	var originateRun int64
	var runs []struct {
		ID  int64  `json:"id"`
		Job string `json:"job"`
	}
	json.Unmarshal([]byte(mustDrafter(t, dir, env, "runs", "--json")), &runs)
	for _, r := range runs {
		if r.Job == "originate" {
			originateRun = r.ID
		}
	}
	if r := drafter(t, dir, env, "rerun", fmt.Sprint(originateRun), "--resend", nextKey, "--reason", "x"); r.code != 2 {
		t.Fatalf("--resend of an originate run: exit %d\n%s", r.code, r.stderr)
	}
}
