// Package ledgertest opens real stores for tests: SQLite in a temporary
// folder and PostgreSQL in a fresh database on the test server, so one suite
// runs against both.
package ledgertest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
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

// Dump renders the rows of each query as text, one line a row and "--"
// after each query, so tests compare whole ledger states.
func Dump(t testing.TB, db *sql.DB, queries ...string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("%v\n%s", err, q)
			}
			for _, v := range vals {
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprintf(&b, "%v|", v)
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

// SealedNumbers decrypts every sealed account number of the ledger with s's
// key: "table id" -> number; and the bank accounts' MACs, each checked to be
// the MAC of its number under s's key.
func SealedNumbers(t testing.TB, s *ledger.Store) (numbers, macs map[string]string) {
	t.Helper()
	numbers, macs = map[string]string{}, map[string]string{}
	for _, q := range []string{
		`SELECT 'bank_accounts ' || id, number_enc, number_mac FROM bank_accounts`,
		`SELECT 'payments ' || CAST(id AS TEXT), number_enc, '' FROM payments WHERE number_enc IS NOT NULL`,
	} {
		rows, err := s.DB().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id, mac string
			var enc []byte
			if err := rows.Scan(&id, &enc, &mac); err != nil {
				t.Fatal(err)
			}
			n, err := s.Decrypt(enc)
			if err != nil {
				t.Fatalf("%s does not decrypt with the ledger's key: %v", id, err)
			}
			numbers[id] = n
			if mac != "" {
				if s.MAC(n) != mac {
					t.Fatalf("%s: stored MAC is not the MAC of its number under the ledger's key", id)
				}
				macs[id] = mac
			}
		}
		rows.Close()
	}
	return numbers, macs
}
