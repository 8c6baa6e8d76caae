package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestTransmitWithPGPKilledAfterEveryStep is the crash test of transmit
// with PGP on: encryption makes other bytes each time, so a rerun must
// finish the hand-over of the bytes it recorded, never seal the file
// again under its name. After every crash and restart each stored file is
// on the bank's server once, gpg (as the bank) decrypts it to the stored
// bytes with a good signature, and the ledger's sha256 of what was sent is
// that of the bytes on the server.
func TestTransmitWithPGPKilledAfterEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	srv := testenv.SSHD(t)
	const pass = "crash pass 4411"
	bankHome := testenv.GPG(t, "bank", "")
	drafterHome := testenv.GPG(t, "drafter", pass)
	bankHome.Import(t, drafterHome.Pub)
	d := civil.MustParse("2026-12-01")
	template := t.TempDir()
	base := []string{"DRAFTER_FILE_ENTRY_LIMIT=8"}
	mustDrafter(t, template, base, "import", writePortfolio(t, 40, 7, d))
	mustDrafter(t, template, base, "run", "originate", "--date", d.String())
	want := storedFiles(t, template)
	if len(want) < 2 {
		t.Fatalf("the night has %d files; want several", len(want))
	}
	base = append(base, "DRAFTER_BANK_PGP_PUBLIC_KEY="+bankHome.Pub, "DRAFTER_PGP_PRIVATE_KEY="+drafterHome.Sec, "DRAFTER_PGP_PASSPHRASE="+pass)
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
		if len(got) != len(want) {
			t.Fatalf("crash %d: the outbox holds %d files; want %d", n, len(got), len(want))
		}
		sent := map[string]bool{}
		status := filepath.Join(bankHome.Dir, "status")
		for name, sealed := range got {
			in := filepath.Join(bankHome.Dir, "in")
			if err := os.WriteFile(in, sealed, 0o600); err != nil {
				t.Fatal(err)
			}
			plain := bankHome.Run(t, nil, "--status-file", status, "--decrypt", in)
			st, _ := os.ReadFile(status)
			if !bytes.Contains(st, []byte("GOODSIG")) {
				t.Fatalf("crash %d: %s: no good signature:\n%s", n, name, st)
			}
			matched := ""
			for key, b := range want {
				if bytes.Equal(plain, b) {
					matched = key
				}
			}
			if matched == "" || sent[matched] {
				t.Fatalf("crash %d: %s decrypts to no stored file, or to one already on the server (%q)", n, name, matched)
			}
			sent[matched] = true
		}
		s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
		defer s.Close()
		rows, err := s.DB().Query(`SELECT remote_name, sha256, bytes, state FROM transmissions`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		count := 0
		for rows.Next() {
			var name, sha, state string
			var size int64
			if err := rows.Scan(&name, &sha, &size, &state); err != nil {
				t.Fatal(err)
			}
			count++
			sum := sha256.Sum256(got[name])
			if state != "sent" || hex.EncodeToString(sum[:]) != sha || int64(len(got[name])) != size {
				t.Fatalf("crash %d: transmission of %s (%s, %d bytes, %s) is not what the server holds", n, name, state, size, sha)
			}
		}
		if count != len(want) {
			t.Fatalf("crash %d: %d transmissions; want %d", n, count, len(want))
		}
	})
	if crashes < 3*len(want) {
		t.Fatalf("only %d crashpoints for %d files", crashes, len(want))
	}
}
