package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// TestReadOnlyLookups copies a demo's data folder, takes away its key and
// every write permission, and looks at it with every look-up command: each
// works, and afterwards every file and folder is as it was, to the byte,
// the mtime and the mode, with no file added. Tests run as root, where
// permissions stop no write: what proves the look-ups write nothing is the
// comparison, not the permissions.
func TestReadOnlyLookups(t *testing.T) {
	src := t.TempDir()
	mustDrafter(t, src, nil, "demo", "--accounts", "200", "--date", "2026-12-04")
	dir := copyDataDir(t, src)
	os.Remove(filepath.Join(dir, "encryption.key"))
	withoutWrites(t, dir)
	before := snapshot(t, dir)
	noKey := []string{"DRAFTER_ENCRYPTION_KEY=", "DRAFTER_LOG_FORMAT=json"}
	for _, args := range [][]string{
		{"runs"},
		{"runs", "--json"},
		{"runs", "show", "3"},
		{"runs", "show", "3", "--json"},
		{"outbox"},
		{"outbox", "--json"},
		{"exceptions"},
		{"report", "return-rates", "--as-of", "2026-12-08"},
		{"storage", "ls", "statements/"},
		{"bank", "status", "--date", "2026-12-04"},
		{"audit"},
		{"audit", "--json"},
		{"schedule"},
		{"schedule", "--json"},
	} {
		r := drafter(t, dir, noKey, args...)
		if r.code != 0 {
			t.Errorf("drafter %s on a read-only copy without a key: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
			continue
		}
		if strings.TrimSpace(r.stdout) == "" {
			t.Errorf("drafter %s printed nothing", strings.Join(args, " "))
		}
	}
	ls := drafter(t, dir, noKey, "storage", "ls", "statements/")
	key, _, _ := strings.Cut(strings.TrimSpace(ls.stdout), "\t")
	key = strings.Fields(key)[0]
	if r := drafter(t, dir, noKey, "storage", "get", key); r.code != 0 || !strings.HasPrefix(r.stdout, "%PDF") {
		t.Errorf("storage get %s on a read-only copy: exit %d, %d bytes\n%s", key, r.code, len(r.stdout), r.stderr)
	}
	if diff := compareSnapshots(before, snapshot(t, dir)); diff != "" {
		t.Fatalf("a look-up changed the data folder:\n%s", diff)
	}

	// A command that writes refuses the read-only database before SQLite
	// opens it, naming the file, and leaves no side file behind.
	r := drafter(t, dir, nil, "run", "statements", "--date", "2026-12-05")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Join(dir, "drafter.db")) || !strings.Contains(r.stderr, "read-only") {
		t.Errorf("run on a read-only database: exit %d, want an error naming drafter.db:\n%s", r.code, r.stderr)
	}
	if diff := compareSnapshots(before, snapshot(t, dir)); diff != "" {
		t.Fatalf("a refused run changed the data folder:\n%s", diff)
	}

	// On a file system that refuses every write, root's included.
	t.Run("read-only mount", func(t *testing.T) {
		readOnly(t, dir)
		for _, args := range [][]string{{"runs"}, {"runs", "show", "3"}, {"outbox"}, {"exceptions"}} {
			if r := drafter(t, dir, noKey, args...); r.code != 0 {
				t.Errorf("drafter %s on a read-only mount: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
			}
		}
	})
}

// TestReadOnlySchemaVersions: a look-up never migrates. A ledger older
// than the binary says to run `drafter migrate`, one newer says to use the
// newer drafter, and neither is changed.
func TestReadOnlySchemaVersions(t *testing.T) {
	src := t.TempDir()
	mustDrafter(t, src, nil, "demo", "--accounts", "50", "--date", "2026-12-04")
	for _, tc := range []struct {
		name, sql, want string
	}{
		{"older", `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`, "run `drafter migrate`"},
		{"newer", `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99999, '99999_future.sql', '2030-01-01T00:00:00Z')`, "newer drafter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDataDir(t, src)
			db, err := sql.Open("sqlite", filepath.Join(dir, "drafter.db"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			db.Close()
			before := snapshot(t, dir)
			r := drafter(t, dir, []string{"DRAFTER_ENCRYPTION_KEY="}, "runs")
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("runs on a %s ledger: exit %d, want an error saying %q:\n%s", tc.name, r.code, tc.want, r.stderr)
			}
			if diff := compareSnapshots(before, snapshot(t, dir)); diff != "" {
				t.Errorf("runs changed the %s ledger:\n%s", tc.name, diff)
			}
		})
	}
	// No data folder: an error, and no folder made.
	missing := filepath.Join(t.TempDir(), "nothing-here")
	r := drafter(t, missing, []string{"DRAFTER_ENCRYPTION_KEY="}, "runs")
	if r.code == 0 || !strings.Contains(r.stderr, "nothing was imported") {
		t.Errorf("runs without a data folder: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("runs made the data folder %s", missing)
	}
}

// copyDataDir copies a data folder with cp -a (modes and times kept).
func copyDataDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	return dst
}

// withoutWrites takes every write permission away under dir, and gives it back
// when the test ends so that t.TempDir can remove it.
func withoutWrites(t *testing.T, dir string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			paths = append(paths, p)
		}
		return err
	})
	for i := len(paths) - 1; i >= 0; i-- {
		info, err := os.Lstat(paths[i])
		if err != nil || info.Mode()&fs.ModeSymlink != 0 {
			continue
		}
		if err := os.Chmod(paths[i], info.Mode().Perm()&^0o222); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, p := range paths {
			os.Chmod(p, 0o700)
		}
	})
}

// fileState is what snapshot keeps of a path.
type fileState struct {
	mode  fs.FileMode
	mtime int64
	size  int64
	sha   string
}

// snapshot records every path under dir: mode, mtime, size and, for a
// file, its sha256.
func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	m := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := fileState{mode: info.Mode(), mtime: info.ModTime().UnixNano(), size: info.Size()}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			e.sha = hex.EncodeToString(sum[:])
		}
		rel, _ := filepath.Rel(dir, p)
		m[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func compareSnapshots(a, b map[string]fileState) string {
	var diffs []string
	for p, e := range a {
		f, ok := b[p]
		switch {
		case !ok:
			diffs = append(diffs, "removed "+p)
		case e != f:
			diffs = append(diffs, fmt.Sprintf("changed %s: %+v -> %+v", p, e, f))
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, "added "+p)
		}
	}
	return strings.Join(diffs, "\n")
}
