package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// bankFolders makes a fresh outbox and inbox on the sshd and returns the
// settings that point drafter at them.
func bankFolders(t *testing.T, srv *testenv.SSHDServer) (outbox, inbox string, env []string) {
	t.Helper()
	dir, err := os.MkdirTemp(srv.Dir, "bank")
	if err != nil {
		t.Fatal(err)
	}
	outbox, inbox = filepath.Join(dir, "incoming"), filepath.Join(dir, "outgoing")
	for _, d := range []string{outbox, inbox} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return outbox, inbox, []string{"DRAFTER_BANK_URL=" + srv.URL(), "DRAFTER_BANK_OUTBOX=" + outbox, "DRAFTER_BANK_INBOX=" + inbox,
		"DRAFTER_BANK_SSH_KEY=" + srv.ClientKey, "DRAFTER_BANK_KNOWN_HOSTS=" + srv.KnownHosts}
}

// storedFiles returns the NACHA files drafter stored, by file name.
func storedFiles(t *testing.T, dataDir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	filepath.Walk(filepath.Join(dataDir, "docs", "ach", "outbound"), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(info.Name(), ".") {
			b, _ := os.ReadFile(path)
			out[path] = b
		}
		return nil
	})
	return out
}

func folderFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = b
	}
	return out
}

// TestTransmitKilledAfterEveryStep kills `drafter run transmit` after each
// of its writes in turn (uploads, renames, ledger records), restarts it,
// and checks that every time each stored file is on the bank's server
// exactly once, byte-identical, under its final name, with nothing left
// behind, and recorded sent once.
func TestTransmitKilledAfterEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	srv := testenv.SSHD(t)
	d := civil.MustParse("2026-12-01")
	file := writePortfolio(t, 60, 7, d)
	template := t.TempDir()
	base := []string{"DRAFTER_FILE_ENTRY_LIMIT=4"}
	mustDrafter(t, template, base, "import", file)
	mustDrafter(t, template, base, "run", "originate", "--date", d.String())
	want := storedFiles(t, template)
	if len(want) < 3 {
		t.Fatalf("the night has %d files; want several", len(want))
	}
	var outbox string
	prepare := func() (string, string, []string) {
		dir := t.TempDir()
		copyDir(t, template, dir)
		var env []string
		outbox, _, env = bankFolders(t, srv)
		return dir, "", append(env, base...)
	}
	crashes := crashLoop(t, prepare, []string{"run", "transmit", "--date", d.String()}, func(n int, dir, _ string) {
		t.Helper()
		got := folderFiles(t, outbox)
		var names []string
		for name := range got {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(got) != len(want) {
			t.Fatalf("crash %d: the outbox holds %v; want %d files", n, names, len(want))
		}
		// Every stored file is there once, byte for byte.
		for key, b := range want {
			found := 0
			for _, g := range got {
				if bytes.Equal(g, b) {
					found++
				}
			}
			if found != 1 {
				t.Fatalf("crash %d: %s is on the server %d times (outbox %v)", n, key, found, names)
			}
		}
		s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
		defer s.Close()
		var sent, rows int
		s.DB().QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0) FROM transmissions`).Scan(&rows, &sent)
		if rows != len(want) || sent != len(want) {
			t.Fatalf("crash %d: %d transmissions, %d sent; want %d", n, rows, sent, len(want))
		}
	})
	if crashes < 3*len(want) {
		t.Fatalf("only %d crashpoints for %d files: too few steps checkpointed", crashes, len(want))
	}
}

// TestReceiveKilledAfterEveryStep kills `drafter run receive` after each of
// its writes in turn and restarts it: every file the bank left is stored
// once under ach/inbound/, byte-identical, and gone from the bank.
func TestReceiveKilledAfterEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	srv := testenv.SSHD(t)
	d := civil.MustParse("2026-12-03")
	template := t.TempDir()
	mustDrafter(t, template, nil, "migrate")
	sent := map[string][]byte{}
	for i := range 3 {
		sent[fmt.Sprintf("RET%d.ACH", i)] = []byte(fmt.Sprintf("return file %d\n", i))
	}
	var inbox string
	prepare := func() (string, string, []string) {
		dir := t.TempDir()
		copyDir(t, template, dir)
		var env []string
		_, inbox, env = bankFolders(t, srv)
		for name, b := range sent {
			if err := os.WriteFile(filepath.Join(inbox, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir, "", env
	}
	crashes := crashLoop(t, prepare, []string{"run", "receive", "--date", d.String()}, func(n int, dir, _ string) {
		t.Helper()
		if left := folderFiles(t, inbox); len(left) != 0 {
			t.Fatalf("crash %d: %d files left in the bank's inbox", n, len(left))
		}
		stored := folderFiles(t, filepath.Join(dir, "docs", "ach", "inbound"))
		if len(stored) != len(sent) {
			t.Fatalf("crash %d: %d files stored under ach/inbound; want %d", n, len(stored), len(sent))
		}
		for name, b := range sent {
			if !bytes.Equal(stored[name], b) {
				t.Fatalf("crash %d: ach/inbound/%s is not the bank's file", n, name)
			}
		}
	})
	if crashes < 2*len(sent) {
		t.Fatalf("only %d crashpoints for %d files", crashes, len(sent))
	}
	// Polled again the same day: its own run, nothing new.
	dir, _, env := prepare()
	mustDrafter(t, dir, env, "run", "receive", "--date", d.String())
	time.Sleep(1100 * time.Millisecond)
	out := mustDrafter(t, dir, env, "run", "receive", "--date", d.String(), "--json")
	if !strings.Contains(strings.Join(strings.Fields(out), ""), `"files":[]`) {
		t.Fatalf("second poll: %s", out)
	}
}
