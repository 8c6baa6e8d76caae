// Package ledgertest opens real stores for tests: SQLite in a temporary
// folder and PostgreSQL in a fresh database on the test server, so one suite
// runs against both.
package ledgertest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger"
)

// Key is the fixed encryption key of test stores.
var Key = []byte("0123456789abcdef0123456789abcdef")

// Dialects are the databases every store test runs on.
var Dialects = []string{"sqlite", "postgres"}

// URL returns a database URL of a fresh, empty database of the dialect.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == "postgres" {
		return testenv.Postgres(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "drafter.db")
}

// Open returns a migrated store on a fresh database of the dialect, closed
// when t ends.
func Open(t testing.TB, dialect string) *ledger.Store {
	t.Helper()
	return OpenURL(t, URL(t, dialect))
}

// OpenURL returns a migrated store on the database at url, closed when t ends.
func OpenURL(t testing.TB, url string) *ledger.Store {
	t.Helper()
	c, err := ledger.NewCipher(Key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), url, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Each runs fn as a subtest on a fresh store of every dialect.
func Each(t *testing.T, fn func(t *testing.T, s *ledger.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { fn(t, Open(t, d)) })
	}
}
