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
		`SELECT 'originations ' || CAST(payment_id AS TEXT), number_enc, '' FROM originations`,
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
			table, key, _ := strings.Cut(id, " ")
			if table == "originations" {
				table = "payments" // bound to its payment (migration 0039)
			}
			n, err := s.OpenNumber(table, key, enc)
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

// Unbind makes the ledger at url look as drafter left it before migration
// 0029: every sealed number re-sealed under Key bound to no row (the
// copies of a bank account's number in its payments' entry snapshots
// byte-identical to it, as allocation wrote them then), and the current
// key version marked unbound. The next CheckKey binds them again.
func Unbind(t testing.TB, url string) {
	t.Helper()
	ctx := context.Background()
	c, err := ledger.NewCipher(Key)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := ledger.Open(ctx, url, c)
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	old, err := ledger.Open(ctx, url, c.Unbound())
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	numbers, _ := SealedNumbers(t, bound)
	db := bound.DB()
	sealed := map[string][]byte{}
	for id, n := range numbers {
		table, key, _ := strings.Cut(id, " ")
		if table != "bank_accounts" {
			continue
		}
		sealed[key] = old.SealNumber(table, key, n)
		if _, err := db.Exec(`UPDATE bank_accounts SET number_enc = $1 WHERE id = $2`, sealed[key], key); err != nil {
			t.Fatal(err)
		}
	}
	// Entry snapshots: the bank account's sealed number, copied, where the
	// bank account still holds that number.
	for id, n := range numbers {
		table, key, _ := strings.Cut(id, " ")
		if table != "payments" {
			continue
		}
		var bank string
		if err := db.QueryRow(`SELECT bank_account_id FROM payments WHERE id = $1`, key).Scan(&bank); err != nil {
			t.Fatal(err)
		}
		enc := old.SealNumber(table, key, n)
		if numbers["bank_accounts "+bank] == n {
			enc = sealed[bank]
		}
		if _, err := db.Exec(`UPDATE payments SET number_enc = $1 WHERE id = $2`, enc, key); err != nil {
			t.Fatal(err)
		}
		// Its originations record (migration 0040 copies the snapshot).
		if _, err := db.Exec(`UPDATE originations SET number_enc = $1 WHERE payment_id = $2`, enc, key); err != nil {
			t.Fatal(err)
		}
	}
	// Records of payments not settled yet: their own unbound seal.
	for id, n := range numbers {
		table, key, _ := strings.Cut(id, " ")
		if table != "originations" {
			continue
		}
		if _, ok := numbers["payments "+key]; ok {
			continue
		}
		if _, err := db.Exec(`UPDATE originations SET number_enc = $1 WHERE payment_id = $2`, old.SealNumber("payments", key, n), key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE ledger_keys SET binds_rows = FALSE`); err != nil {
		t.Fatal(err)
	}
}
