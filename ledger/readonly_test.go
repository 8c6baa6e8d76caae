package ledger_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestOpenReadOnly: a store opened to look reads the run ledger without a
// key, and the database refuses its writes, on both databases; on SQLite
// both with a writer open (its -wal in use) and without (the file read as
// it is, no side file made).
func TestOpenReadOnly(t *testing.T) {
	ctx := context.Background()
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := ledgertest.URL(t, d)
			w := ledgertest.OpenURL(t, url)
			if _, err := w.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: civil.MustParse("2026-12-04"), Trigger: "operator", Owner: "test"}); err != nil {
				t.Fatal(err)
			}
			check := func(t *testing.T) {
				ro, err := ledger.OpenReadOnly(ctx, url)
				if err != nil {
					t.Fatal(err)
				}
				defer ro.Close()
				runs, err := ro.ListRuns(ctx, ledger.RunFilter{Limit: 10})
				if err != nil || len(runs) != 1 {
					t.Fatalf("ListRuns = %v, %v; want the one run", runs, err)
				}
				if _, err := ro.DB().ExecContext(ctx, `DELETE FROM runs`); err == nil {
					t.Fatal("a read-only store deleted runs")
				}
				if _, err := ro.OpenNumber("payments", "1", []byte("0123456789abcdef0123456789")); !errors.Is(err, ledger.ErrNoKey) {
					t.Fatalf("OpenNumber without a key = %v, want ErrNoKey", err)
				}
			}
			t.Run("writer open", check)
			if d != "sqlite" {
				return
			}
			w.Close()
			path := strings.TrimPrefix(url, "sqlite:")
			for _, side := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(path + side); err == nil {
					t.Fatalf("%s left after the writer closed", side)
				}
			}
			t.Run("no writer", check)
			for _, side := range []string{"-wal", "-shm", "-journal"} {
				if _, err := os.Stat(path + side); err == nil {
					t.Errorf("a read-only open made %s%s", path, side)
				}
			}
		})
	}
}

// TestOpenRefusesReadOnlyFile: a store that writes refuses a database file
// without write permission before SQLite opens it, naming the file, and
// leaves no side file behind.
func TestOpenRefusesReadOnlyFile(t *testing.T) {
	ctx := context.Background()
	url := ledgertest.URL(t, "sqlite")
	ledgertest.OpenURL(t, url).Close()
	path := strings.TrimPrefix(url, "sqlite:")
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	c, err := ledger.NewCipher(ledgertest.Key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := ledger.Open(ctx, url, c)
	if err == nil {
		st.Close()
		t.Fatal("opened a read-only database to write")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "0400") {
		t.Errorf("error %q does not name %s and its mode", err, path)
	}
	if m, _ := filepath.Glob(path + "-*"); len(m) > 0 {
		t.Errorf("side files left: %v", m)
	}
	// Looking still works.
	ro, err := ledger.OpenReadOnly(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
}
