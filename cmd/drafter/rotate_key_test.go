package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// keyHex is the i-th test key: ledgertest.Key for 0.
func keyHex(i int) string {
	if i == 0 {
		return testKeyHex
	}
	return hex.EncodeToString(bytes.Repeat([]byte{byte(i)}, 32))
}

// importedDataDir is a data dir with a portfolio imported with the test key
// (and its PostgreSQL database migrated), and its database URL.
func importedDataDir(t *testing.T, dialect string, accounts int) (dir, dbURL string, env []string) {
	t.Helper()
	dir = t.TempDir()
	dbURL = "sqlite:" + filepath.Join(dir, "drafter.db")
	env = []string{"DRAFTER_FILE_ENTRY_LIMIT=20"}
	if dialect == "postgres" {
		dbURL = ledgertest.URL(t, dialect)
		env = append(env, "DRAFTER_DATABASE_URL="+dbURL)
		mustDrafter(t, dir, env, "migrate")
	}
	mustDrafter(t, dir, env, "import", writePortfolio(t, accounts, 5, civil.MustParse("2026-12-01")))
	return dir, dbURL, env
}

// TestWrongKeyRefused: import, run and serve started with another key than
// the ledger's stop before touching data, say which key and what to do,
// and never print a key or the check value.
func TestWrongKeyRefused(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir, dbURL, env := importedDataDir(t, dialect, 30)
			wrong := append(env, "DRAFTER_ENCRYPTION_KEY="+keyHex(1))
			var check []byte
			s := ledgertest.OpenURL(t, dbURL)
			if err := s.DB().QueryRow(`SELECT check_value FROM ledger_keys WHERE state = 'current'`).Scan(&check); err != nil {
				t.Fatalf("no key check value after the import: %v", err)
			}
			counts := func() string {
				return ledgertest.Dump(t, s.DB(), `SELECT COUNT(*) FROM payments`, `SELECT COUNT(*) FROM runs`, `SELECT COUNT(*) FROM ledger_keys`,
					`SELECT COUNT(*), MIN(number_mac) FROM bank_accounts`)
			}
			before := counts()
			refused := func(what string, r result) {
				t.Helper()
				out := r.stdout + r.stderr
				if r.code == 0 || !strings.Contains(r.stderr, "wrong encryption key") || !strings.Contains(r.stderr, "DRAFTER_ENCRYPTION_KEY") ||
					!strings.Contains(r.stderr, "created with") || !strings.Contains(r.stderr, "rotate-key") {
					t.Fatalf("%s with the wrong key: exit %d\n%s", what, r.code, out)
				}
				for _, secret := range []string{keyHex(0), keyHex(1), hex.EncodeToString(check), fmt.Sprintf("%x", check)} {
					if strings.Contains(strings.ToLower(out), secret) {
						t.Fatalf("%s printed a key or the check value", what)
					}
				}
				if got := counts(); got != before {
					t.Fatalf("%s with the wrong key changed the ledger:\n%s\nwas\n%s", what, got, before)
				}
			}
			refused("import", drafter(t, dir, wrong, "import", writePortfolio(t, 5, 9, civil.MustParse("2026-12-01"))))
			refused("run originate", drafter(t, dir, wrong, "run", "originate", "--date", "2026-12-01"))
			// serve must exit at start, not serve a ledger it cannot read.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, drafterBin(t), "serve", "--admin-addr", "127.0.0.1:0")
			cmd.Env = append(append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT="), wrong...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatal("serve with the wrong key kept running")
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			refused("serve", result{stdout.String(), stderr.String(), code})
			if dialect == "sqlite" {
				// The key from the data dir's key file: the message names it.
				// (Look-ups such as runs need no key; a job does.)
				if err := os.WriteFile(filepath.Join(dir, "encryption.key"), []byte(keyHex(2)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				r := drafter(t, dir, append(env, "DRAFTER_ENCRYPTION_KEY="), "run", "originate", "--date", "2026-12-01")
				if r.code == 0 || !strings.Contains(r.stderr, "encryption.key") || !strings.Contains(r.stderr, "created with") {
					t.Fatalf("run with the wrong key file: exit %d\n%s", r.code, r.stderr)
				}
				if r := drafter(t, dir, append(env, "DRAFTER_ENCRYPTION_KEY="), "runs"); r.code != 0 {
					t.Fatalf("runs, which needs no key, with a wrong key file: exit %d\n%s", r.code, r.stderr)
				}
			}
			mustDrafter(t, dir, env, "run", "originate", "--date", "2026-12-01")
		})
	}
}

// ledgerNumbers decrypts every sealed number of the ledger at dbURL with
// the key: "table id" -> number; and the bank accounts' MACs, checked
// against the MAC the key's store computes.
func ledgerNumbers(t *testing.T, dbURL, keyHexText string) (numbers, macs map[string]string) {
	t.Helper()
	key, _ := hex.DecodeString(keyHexText)
	c, err := ledger.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := ledger.Open(ctx, dbURL, c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckKey(ctx); err != nil {
		t.Fatalf("the ledger refuses key %s...: %v", keyHexText[:4], err)
	}
	return ledgertest.SealedNumbers(t, s)
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRotateKeyKilledAfterEveryBatch rotates the key of an originated
// ledger again and again, each time killing rotate-key (a real child
// process) after one more of its writes and running it again to the end.
// Every time: every number decrypts with the new key to the same text, the
// MACs stay, the old key is refused, and a rebuild of the day's NACHA files
// from the ledger is byte-identical to the files first stored.
func TestRotateKeyKilledAfterEveryBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { rotateKeyCrashes(t, dialect) })
	}
}

func rotateKeyCrashes(t *testing.T, dialect string) {
	d := civil.MustParse("2026-12-01")
	dir, dbURL, env := importedDataDir(t, dialect, 240)
	mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
	want := readOriginateState(t, dir, dbURL)
	numbers, macs := ledgerNumbers(t, dbURL, keyHex(0))
	var snapshots int
	for id := range numbers {
		// The entry snapshots: in the originations records (and on the
		// payment rows of a ledger from before them).
		if strings.HasPrefix(id, "payments ") || strings.HasPrefix(id, "originations ") {
			snapshots++
		}
	}
	if len(want.files) < 2 || snapshots < 30 {
		t.Fatalf("baseline: %d files, %d entry snapshots; want several", len(want.files), snapshots)
	}
	withKeys := func(from, to int) []string {
		return append(env[:len(env):len(env)], "DRAFTER_ENCRYPTION_KEY="+keyHex(from), "DRAFTER_NEW_ENCRYPTION_KEY="+keyHex(to))
	}
	const batch = 40
	crashes := 0
	for n := 1; ; n++ {
		from, to := n-1, n
		r := drafter(t, dir, append(withKeys(from, to), fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)), "rotate-key", "--batch", fmt.Sprint(batch))
		if r.code != 0 {
			if r.code != jobs.CrashExitCode {
				t.Fatalf("rotation %d: exit %d\n%s", n, r.code, r.stderr)
			}
			crashes++
			if n == 2 {
				for _, k := range []int{from, to} {
					r := drafter(t, dir, append(env, "DRAFTER_ENCRYPTION_KEY="+keyHex(k)), "run", "originate", "--date", d.String())
					if r.code == 0 || !strings.Contains(r.stderr, "not finished") || !strings.Contains(r.stderr, "rotate-key") {
						t.Fatalf("run during an unfinished rotation, key %d: exit %d\n%s", k, r.code, r.stderr)
					}
				}
			}
			rr := drafter(t, dir, withKeys(from, to), "rotate-key", "--batch", fmt.Sprint(batch))
			if rr.code != 0 {
				t.Fatalf("rotation %d rerun: exit %d\n%s", n, rr.code, rr.stderr)
			}
			out := rr.stdout
			for _, k := range []string{keyHex(from), keyHex(to)} {
				if strings.Contains(r.stdout+r.stderr+rr.stdout+rr.stderr, k) {
					t.Fatalf("rotation %d printed a key", n)
				}
			}
			// Killed after its last write, the rotation is done already.
			if !strings.Contains(out, "key rotated") && !strings.Contains(out, "already uses the new key") {
				t.Fatalf("rotation %d rerun: %s", n, out)
			}
		}
		got, gotMACs := ledgerNumbers(t, dbURL, keyHex(to))
		if !sameMap(got, numbers) || !sameMap(gotMACs, macs) {
			t.Fatalf("rotation %d (killed after write %d): numbers or MACs differ from before the rotations", n, n)
		}
		if r := openWithKey(t, dir, append(env, "DRAFTER_ENCRYPTION_KEY="+keyHex(from))); openedWithKey(r) || !strings.Contains(r.stderr, "wrong encryption key") {
			t.Fatalf("rotation %d: the old key still opens the ledger: exit %d\n%s", n, r.code, r.stderr)
		}
		if r.code == 0 {
			break
		}
	}
	// 2 writes besides the batches: begin and finish.
	if want := (len(numbers)+batch-1)/batch + 2; crashes < want {
		t.Fatalf("%d crashpoints exercised, want at least %d", crashes, want)
	}
	t.Logf("%d crashpoints exercised", crashes)
	last := crashes + 1
	// Rebuild the day's files from the ledger alone: the stored copies are
	// gone, the entry snapshots are under the last key.
	if err := os.RemoveAll(filepath.Join(dir, "docs", "ach")); err != nil {
		t.Fatal(err)
	}
	final := append(env, "DRAFTER_ENCRYPTION_KEY="+keyHex(last))
	mustDrafter(t, dir, final, "rerun", fmt.Sprint(lastRunID(t, dir, final)), "--reason", "rebuild after key rotation")
	compareOriginate(t, last, want, readOriginateState(t, dir, dbURL))
}

// TestRotateKeyUsage: --help explains; a missing new key is a usage error.
func TestRotateKeyUsage(t *testing.T) {
	dir := t.TempDir()
	r := drafter(t, dir, nil, "rotate-key", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "DRAFTER_NEW_ENCRYPTION_KEY") || !strings.Contains(r.stdout, "continues where it") {
		t.Fatalf("rotate-key --help: exit %d\n%s", r.code, r.stdout)
	}
	r = drafter(t, dir, []string{"DRAFTER_NEW_ENCRYPTION_KEY="}, "rotate-key")
	if r.code != 2 || !strings.Contains(r.stderr, "new key is missing") {
		t.Fatalf("rotate-key without a new key: exit %d\n%s", r.code, r.stderr)
	}
}

// TestBindKilledAfterEveryBatch: on a ledger from before migration 0029
// (numbers bound to no row), the first command binds every number to its
// row. Killed after each of its writes (a real child process), the next
// command goes on and finishes it: the numbers and MACs are the same, and
// a rebuild of the day's NACHA files from the ledger is byte-identical to
// the files first stored.
func TestBindKilledAfterEveryBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			d := civil.MustParse("2026-12-01")
			dir, dbURL, env := importedDataDir(t, dialect, 120)
			mustDrafter(t, dir, env, "run", "originate", "--date", d.String())
			want := readOriginateState(t, dir, dbURL)
			numbers, macs := ledgerNumbers(t, dbURL, keyHex(0))
			crashes := 0
			for n := 1; ; n++ {
				ledgertest.Unbind(t, dbURL)
				r := openWithKey(t, dir, append(env, fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)))
				if !openedWithKey(r) {
					if r.code != jobs.CrashExitCode || !strings.Contains(r.stderr, "key binding") {
						t.Fatalf("binding %d: exit %d\n%s", n, r.code, r.stderr)
					}
					crashes++
					if r := openWithKey(t, dir, env); !openedWithKey(r) {
						t.Fatalf("binding %d: the rerun did not open the ledger: exit %d\n%s", n, r.code, r.stderr)
					}
				}
				got, gotMACs := ledgerNumbers(t, dbURL, keyHex(0))
				if !sameMap(got, numbers) || !sameMap(gotMACs, macs) {
					t.Fatalf("binding killed after write %d: numbers or MACs differ", n)
				}
				s := ledgertest.OpenURL(t, dbURL)
				if got := ledgertest.Dump(t, s.DB(), `SELECT binds_rows FROM ledger_keys WHERE state = 'current'`); !strings.Contains(got, "true") && !strings.Contains(got, "1|") {
					t.Fatalf("binding %d: the current key version does not bind rows:\n%s", n, got)
				}
				if openedWithKey(r) {
					break
				}
			}
			// begin, bank_accounts, payments, finish
			if crashes < 4 {
				t.Fatalf("%d crashpoints exercised, want 4", crashes)
			}
			if err := os.RemoveAll(filepath.Join(dir, "docs", "ach")); err != nil {
				t.Fatal(err)
			}
			mustDrafter(t, dir, env, "rerun", fmt.Sprint(lastRunID(t, dir, env)), "--reason", "rebuild after binding")
			compareOriginate(t, crashes+1, want, readOriginateState(t, dir, dbURL))
		})
	}
}

// openWithKey runs a command that opens the ledger with its key and then
// changes nothing: resolving an exception that does not exist. Opening
// checks the key and binds an unbound ledger's numbers; look-ups such as
// `runs` need no key and do neither.
func openWithKey(t *testing.T, dir string, env []string) result {
	t.Helper()
	return drafter(t, dir, append(env, "DRAFTER_OPERATOR=key-check"), "exceptions", "resolve", "999999999", "--note", "key check")
}

// openedWithKey reports whether openWithKey got past opening the ledger.
func openedWithKey(r result) bool {
	return r.code == 1 && strings.Contains(r.stderr, "exception 999999999 does not exist")
}
