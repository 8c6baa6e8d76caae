package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIFilesArePrivate: the demo in a data folder created open to others
// (0755) leaves it 0700, the database and its side files, the key, the
// documents and the email 0600, and no plain-text portfolio in it (not its
// own, nor one an earlier demo left); render --out writes 0600.
func TestCLIFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	left := filepath.Join(dir, "portfolio-2026-01-05-5-1.jsonl")
	if err := os.WriteFile(left, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, bin: drafterBin(t), env: append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_DATABASE_URL=", "DRAFTER_ENCRYPTION_KEY=",
		"DRAFTER_STORAGE_URL=", "DRAFTER_MAIL_URL=", "DRAFTER_LOG_FORMAT=json", "DRAFTER_LOG_LEVEL=warn", "DRAFTER_OPERATOR=tester", "DRAFTER_CRASH_AT=")}
	c.ok("demo", "--accounts", "5", "--date", "2026-03-02")

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %o, want 700", info.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl*")); len(left) != 0 {
		t.Errorf("plain-text portfolio in the data folder: %v", left)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		seen[rel] = true
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if strings.HasSuffix(p, ".serve.lock") {
			return nil
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: %o, want %o", rel, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"drafter.db", "encryption.key", "docs", "outbox"} {
		if !seen[want] {
			t.Errorf("the demo made no %s (made %v)", want, seen)
		}
	}

	out := filepath.Join(t.TempDir(), "statement.pdf")
	c.ok("render", "statement", "--account", "ACC-00000001", "--date", "2026-02-18", "--out", out)
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("render --out: %v %v, want 0600", info.Mode(), err)
	}
}
