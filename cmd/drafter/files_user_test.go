package main

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// nobody is the uid and gid another local user reads as.
const nobody = 65534

// readAs reports whether uid can read path (cat run as uid succeeds).
func readAs(t *testing.T, uid uint32, path string) bool {
	t.Helper()
	cmd := exec.Command("cat", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("cat %s as uid %d: %v", path, uid, err)
		}
	}
	return err == nil
}

// TestCLIFilesUnreadableByAnotherUser: the review's finding, as another
// local user sees it. In a data folder that was 0755 (and whose parent any
// user may enter), after a demo night another user reads none of
// drafter's files: not the database or its side files, the key, the
// documents or the email. The files are private themselves, not only by
// the folder: with the folder opened to others again (an operator's chmod,
// a restored backup) they still cannot be read.
func TestCLIFilesUnreadableByAnotherUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a reader as another user (uid 65534)")
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test sees what another user can: a file left open to others in
	// this folder is read.
	for p := parent; p != "/" && p != "."; p = filepath.Dir(p) {
		if strings.HasPrefix(p, os.TempDir()) && p != os.TempDir() {
			os.Chmod(p, 0o755)
		}
	}
	canary := filepath.Join(dir, "canary")
	if err := os.WriteFile(canary, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if !readAs(t, nobody, canary) {
		t.Skipf("uid %d cannot read a 0644 file in %s: the temp folder is not reachable by another user, so the test would prove nothing", nobody, dir)
	}
	os.Remove(canary)

	c := &cli{t: t, bin: drafterBin(t), env: append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_DATABASE_URL=", "DRAFTER_ENCRYPTION_KEY=",
		"DRAFTER_STORAGE_URL=", "DRAFTER_MAIL_URL=", "DRAFTER_LOG_FORMAT=json", "DRAFTER_LOG_LEVEL=warn", "DRAFTER_OPERATOR=tester", "DRAFTER_CRASH_AT=")}
	c.ok("demo", "--accounts", "5", "--date", "2026-03-02")

	check := func(when string) {
		t.Helper()
		n := 0
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(p, ".serve.lock") {
				return err
			}
			n++
			if readAs(t, nobody, p) {
				rel, _ := filepath.Rel(dir, p)
				t.Errorf("%s: another user reads %s", when, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 4 {
			t.Fatalf("%s: only %d files to check", when, n)
		}
	}
	check("after the demo")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"docs", "outbox"} {
		filepath.WalkDir(filepath.Join(dir, sub), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	}
	check("with the folders opened to others")
}

// TestDataDirWarnsWhenItCannotBeTightened: drafter migrate (which makes
// the SQLite database, and now tightens the folder as every command that
// opens the ledger does) run by a user who does not own its data folder
// (a shared folder, 0777, root's) cannot restrict it to 0700; it says so
// in a warning with what to do, and goes on, its own files still private.
func TestDataDirWarnsWhenItCannotBeTightened(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run drafter as another user (uid 65534)")
	}
	parent := t.TempDir()
	for p := parent; strings.HasPrefix(p, os.TempDir()) && p != os.TempDir(); p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	bin := filepath.Join(parent, "drafter")
	b, err := os.ReadFile(drafterBin(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(parent, "shared")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	cmd := exec.Command(bin, "migrate")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Env = append(os.Environ(), "HOME="+dir, "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "permission denied") && !strings.Contains(string(out), "data folder") {
			t.Skipf("uid %d cannot run drafter here: %s", nobody, out)
		}
		t.Fatalf("migrate as another user: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"level":"warn"`) || !strings.Contains(string(out), "data folder: others may read it; chmod 700 it as its owner") ||
		!strings.Contains(string(out), "cannot be restricted to 0700") {
		t.Errorf("no warning that the folder stays open:\n%s", out)
	}
	if info, err := os.Stat(filepath.Join(dir, "drafter.db")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("drafter.db: %v %v, want 0600", info, err)
	}
}
