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
