package ledger_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestOpenRedactsURL: a database URL that does not parse, or whose server
// refuses, is named in the error without its password, wherever the
// password is (user information, a password parameter, a broken escape).
func TestOpenRedactsURL(t *testing.T) {
	c, err := ledger.NewCipher(ledgertest.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, url string }{
		{"bad port", "postgres://drafter:hunter2@127.0.0.1:54x2/drafter"},
		{"bad escape", "postgres://drafter:hunter2%zz@127.0.0.1:5432/drafter"},
		{"password parameter, refused", "postgres://drafter@127.0.0.1:1/drafter?password=hunter2&connect_timeout=2"},
		{"user information, refused", "postgres://drafter:hunter2@127.0.0.1:1/drafter?connect_timeout=2"},
		{"slash in the password", "postgres://drafter:12/hunter2@127.0.0.1:1/drafter"},
		{"unknown scheme", "mysql://drafter:hunter2@127.0.0.1/drafter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := ledger.Open(context.Background(), tc.url, c)
			if err == nil {
				st.Close()
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

// TestSQLiteFilesPrivate: the database and its -wal and -shm files are
// 0600 while drafter writes, whether drafter creates the database or finds
// it open to others.
func TestSQLiteFilesPrivate(t *testing.T) {
	for _, existing := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "drafter.db")
		if existing {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{"-wal", "-shm"} {
				if err := os.WriteFile(path+side, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		st := ledgertest.OpenURL(t, "sqlite:"+path) // migrates: writes
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatalf("existing %v: %v", existing, err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("existing %v: %s: %o, want 600", existing, filepath.Base(p), info.Mode().Perm())
			}
		}
		st.Close()
	}
}

// TestDryRunSavepoints: inside a dry run, a transaction that fails undoes
// its own writes and leaves the dry run usable (on PostgreSQL too, whose
// transaction would otherwise be aborted), one that succeeds is seen by
// what follows, and nothing outlives the dry run.
func TestDryRunSavepoints(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		count := func(q interface {
			QueryRowContext(context.Context, string, ...any) *sql.Row
		}, who string) int {
			var n int
			if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE actor = $1`, who).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		err := s.DryRun(ctx, func(d *ledger.Store) error {
			failed := d.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target) VALUES ($1, 'dry', 'a', 'b')`, time.Now()); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO no_such_table VALUES (1)`)
				return err
			})
			if failed == nil {
				t.Fatal("a failing statement did not fail")
			}
			if err := d.InTx(ctx, func(tx *sql.Tx) error {
				if n := count(tx, "dry"); n != 0 {
					t.Errorf("the failed transaction left %d rows", n)
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target) VALUES ($1, 'dry', 'a', 'b')`, time.Now())
				return err
			}); err != nil {
				t.Fatalf("a transaction after a failed one: %v", err)
			}
			return d.DrySavepoint(ctx, func() error {
				return d.InTx(ctx, func(tx *sql.Tx) error {
					if n := count(tx, "dry"); n != 1 {
						t.Errorf("the committed transaction's row: %d, want 1", n)
					}
					return nil
				})
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(s.DB(), "dry"); n != 0 {
			t.Fatalf("the dry run left %d rows", n)
		}
	})
}

// TestCheckpoint: both databases checkpoint on the store's own role
// (the tests' is a superuser on PostgreSQL), and the rows are all there
// after it.
func TestCheckpoint(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		if _, err := s.DB().ExecContext(ctx, `INSERT INTO audit (at, actor, action, target) VALUES ($1, 'bench', 'seed', 'x')`, time.Now()); err != nil {
			t.Fatal(err)
		}
		done, err := s.Checkpoint(ctx)
		if err != nil || !done {
			t.Fatalf("Checkpoint = %v, %v; want true, nil", done, err)
		}
		var n int
		if err := s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE actor = 'bench'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("after the checkpoint: %d rows, %v; want 1", n, err)
		}
	})
}
