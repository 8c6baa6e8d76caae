package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// statementsState is what a statements run must leave however often it is
// killed: each statement stored once, recorded once with the stored bytes'
// sha256, and its email queued once.
type statementsState struct {
	files map[string]string // storage key -> bytes
	docs  map[string]string // storage key -> recorded sha256
	mails map[string]int    // storage key -> outbox rows of its document
	rows  int               // document rows
}

func readStatementsState(t *testing.T, dataDir, dbURL string) statementsState {
	t.Helper()
	st := statementsState{files: map[string]string{}, docs: map[string]string{}, mails: map[string]int{}}
	root := filepath.Join(dataDir, "docs")
	filepath.WalkDir(filepath.Join(root, "statements"), func(path string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			b, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(root, path)
			st.files[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dataDir, "drafter.db")
	}
	s := ledgertest.OpenURL(t, dbURL)
	defer s.Close()
	rows, err := s.DB().Query(`SELECT d.storage_key, d.sha256, (SELECT COUNT(*) FROM outbox o WHERE o.topic = 'document:' || CAST(d.id AS TEXT))
		FROM documents d WHERE d.kind = 'statement'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, sha string
		var mails int
		if err := rows.Scan(&key, &sha, &mails); err != nil {
			t.Fatal(err)
		}
		st.rows++
		st.docs[key] = sha
		st.mails[key] = mails
	}
	return st
}

// TestStatementsKilledAfterEveryWrite kills `drafter run statements` after
// each of its writes in turn (every document put, every chunk recorded),
// restarts the run, and checks that the day always ends as an uninterrupted
// run: every due statement stored once, byte for byte the same, recorded
// once with its sha256 and its email queued once.
func TestStatementsKilledAfterEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { statementsCrashes(t, dialect) })
	}
}

func statementsCrashes(t *testing.T, dialect string) {
	d := civil.MustParse("2026-11-30")
	file := writePortfolio(t, 150, 9, d)
	// The SQLite data dir is prepared once and copied fresh for each
	// crash; PostgreSQL gets a fresh database and import each time.
	var template string
	prepare := func() (dir, dbURL string, env []string) {
		dir = t.TempDir()
		if dialect == "postgres" {
			dbURL = ledgertest.URL(t, dialect)
			env = append(env, "DRAFTER_DATABASE_URL="+dbURL)
			mustDrafter(t, dir, env, "migrate")
			mustDrafter(t, dir, env, "import", file)
			return dir, dbURL, env
		}
		if template == "" {
			template = t.TempDir()
			mustDrafter(t, template, nil, "import", file)
		}
		if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
			t.Fatal(err)
		}
		return dir, "", nil
	}
	baseDir, baseDB, env := prepare()
	mustDrafter(t, baseDir, env, "run", "statements", "--date", d.String())
	want := readStatementsState(t, baseDir, baseDB)
	if len(want.files) < 4 {
		t.Fatalf("baseline stored %d statements; want several", len(want.files))
	}
	checkStatementsState(t, 0, want, want)
	crashes := crashLoop(t, prepare, []string{"run", "statements", "--date", d.String()}, func(n int, dir, dbURL string) {
		checkStatementsState(t, n, want, readStatementsState(t, dir, dbURL))
	})
	if crashes < len(want.files) {
		t.Fatalf("only %d crashpoints for %d statements: a put is not checkpointed", crashes, len(want.files))
	}
}

func checkStatementsState(t *testing.T, n int, want, got statementsState) {
	t.Helper()
	if len(got.files) != len(want.files) || got.rows != len(want.files) {
		t.Fatalf("crash %d: %d statements stored and %d recorded, want %d: %v", n, len(got.files), got.rows, len(want.files), keys(got.files))
	}
	for k, b := range want.files {
		if got.files[k] != b {
			t.Fatalf("crash %d: %s differs from the uninterrupted run", n, k)
		}
		sum := sha256.Sum256([]byte(b))
		if got.docs[k] != hex.EncodeToString(sum[:]) {
			t.Fatalf("crash %d: %s recorded with sha256 %s, stored bytes have %x", n, k, got.docs[k], sum)
		}
		if got.mails[k] != 1 {
			t.Fatalf("crash %d: %s has %d emails queued, want 1", n, k, got.mails[k])
		}
	}
}
