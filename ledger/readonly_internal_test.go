package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainSQLiteNamesSideFiles: SQLite's "readonly" and "unable to
// open" errors name no file; drafter's name the database's side files and
// folder that its user may not write, with their modes.
func TestExplainSQLiteNamesSideFiles(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "drafter.db")
	for name, mode := range map[string]os.FileMode{db: 0o600, db + "-wal": 0o600, db + "-shm": 0o444} {
		if err := os.WriteFile(name, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	err := explainSQLite("sqlite:"+db, errors.New("attempt to write a readonly database (8)"))
	if !strings.Contains(err.Error(), db+"-shm is mode 0444") || strings.Contains(err.Error(), db+"-wal") {
		t.Errorf("error %q: want the -shm file named with its mode, and only it", err)
	}
	other := errors.New("no such table: runs")
	if got := explainSQLite("sqlite:"+db, other); got != other {
		t.Errorf("an unrelated error was changed: %v", got)
	}
	if err := readOnlyFile(db); err == nil || !strings.Contains(err.Error(), db+"-shm") {
		t.Errorf("readOnlyFile = %v, want the -shm file named", err)
	}
}
