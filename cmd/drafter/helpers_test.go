package main

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// drafterBin builds the drafter binary once for the package's tests: crash
// tests kill a real child process.
func drafterBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drafter-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "drafter")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build drafter: %v", binErr)
	}
	return binPath
}

// testKeyHex is the encryption key of the tests' data dirs, the same key
// ledgertest uses, so a test can open the ledger the binary wrote.
var testKeyHex = hex.EncodeToString(ledgertest.Key)

// result is what a drafter process did.
type result struct {
	stdout, stderr string
	code           int
}

// drafter runs the binary with the data dir and extra environment.
func drafter(t *testing.T, dataDir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(drafterBin(t), args...)
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dataDir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json",
		"DRAFTER_CRASH_AT=")
	cmd.Env = append(cmd.Env, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run drafter: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// mustDrafter runs drafter and fails the test unless it exits 0.
func mustDrafter(t *testing.T, dataDir string, env []string, args ...string) string {
	t.Helper()
	r := drafter(t, dataDir, env, args...)
	if r.code != 0 {
		t.Fatalf("drafter %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// writePortfolio writes a generated portfolio to a file and returns its path.
func writePortfolio(t *testing.T, accounts int, seed int64, asOf civil.Date) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "portfolio.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := portfolio.Generate(f, portfolio.GenerateOptions{Accounts: accounts, Seed: seed, AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	return path
}

// crashLoop kills a drafter command after each of its writes in turn: for
// n = 1, 2, ... it runs args in a fresh data dir from prepare with
// DRAFTER_CRASH_AT=n, restarts the killed run, and calls check with the
// result. It ends when the command finishes before its nth write (exit 0),
// checking that run too, and returns how many crashpoints it exercised.
func crashLoop(t *testing.T, prepare func() (dir, dbURL string, env []string), args []string, check func(n int, dir, dbURL string)) int {
	t.Helper()
	for n := 1; ; n++ {
		dir, dbURL, env := prepare()
		r := drafter(t, dir, append(env, fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)), args...)
		if r.code == 0 {
			check(n, dir, dbURL)
			t.Logf("%d crashpoints exercised", n-1)
			return n - 1
		}
		if r.code != jobs.CrashExitCode {
			t.Fatalf("crash %d: exit %d\n%s", n, r.code, r.stderr)
		}
		mustDrafter(t, dir, env, "restart", fmt.Sprint(lastRunID(t, dir, env)), "--stale-after", "0s")
		check(n, dir, dbURL)
	}
}
