package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/portfolio"
)

// TestUnpackDue: a packed row splits into its twelve text fields, empty
// ones too; a row with a field more or less (a field holding the
// separator, or a short one) does not split.
func TestUnpackDue(t *testing.T) {
	fields := []string{"ACC-1", "BA-1", "debit", "WEB", "PAYMENT", "autopay", "key", "011000015", "checking", "Zoë Ñúñez", "", "waiting for prenote"}
	join := func(fs []string) string {
		out := ""
		for i, f := range fs {
			if i > 0 {
				out += string(dueSep)
			}
			out += f
		}
		return out
	}
	var p DuePayment
	if !unpackDue(join(fields), &p) {
		t.Fatal("a packed row of twelve fields did not split")
	}
	got := []string{p.AccountID, p.BankAccountID, p.Kind, p.SEC, p.Description, p.Source, p.SourceKey, p.Routing, p.AccountType,
		p.HolderName, p.IndividualID, p.Waiting}
	if !reflect.DeepEqual(got, fields) {
		t.Fatalf("split into %q, want %q", got, fields)
	}
	for name, packed := range map[string]string{
		"separator in a name": join(append(append(append([]string{}, fields[:9]...), "A\x1fB"), fields[10:]...)),
		"a field short":       join(fields[:11]),
		"a field more":        join(append(append([]string{}, fields...), "x")),
		"empty":               "",
	} {
		var p DuePayment
		if unpackDue(packed, &p) {
			t.Errorf("%s: split, want refused", name)
		}
	}
}

// TestDueAfterPackedMatchesColumns: a page's text fields are read packed
// in one column; on both databases every page so read equals the page read
// a field a column, for names in any script, empty individual ids and
// payments that wait; and a page with a field that holds the separator is
// read a field a column, whole and equal.
func TestDueAfterPackedMatchesColumns(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testDueAfterPackedMatchesColumns(t, "sqlite:"+filepath.Join(t.TempDir(), "drafter.db"))
	})
	t.Run("postgres", func(t *testing.T) { testDueAfterPackedMatchesColumns(t, testenv.Postgres(t)) })
}

func testDueAfterPackedMatchesColumns(t *testing.T, url string) {
	ctx := context.Background()
	d := civil.MustParse("2026-12-01")
	s, accts := dueLedger(t, url, 40, 11, d)
	var ps []NewPayment
	for i, a := range accts {
		ps = append(ps, NewPayment{Source: SourceScheduled, SourceKey: fmt.Sprintf("pack-%d", i), AccountID: a.ID, BankAccountID: a.BankAccounts[0].ID,
			Kind: "debit", SEC: "WEB", Description: "PAYMENT", Amount: 1000, DueOn: d, DraftOn: d})
	}
	if _, err := s.InsertPayments(ctx, ps); err != nil {
		t.Fatal(err)
	}
	// Names in other scripts, an individual id a NOC asked for, and
	// bank accounts whose payments wait.
	for _, q := range []string{
		`UPDATE bank_accounts SET holder_name = 'Zoë Ñúñez 山田' WHERE id = (SELECT min(id) FROM bank_accounts)`,
		`UPDATE bank_accounts SET individual_id = 'NOC-C09' WHERE id = (SELECT max(id) FROM bank_accounts)`,
		`UPDATE bank_accounts SET prenote = 'required' WHERE id IN (SELECT id FROM bank_accounts ORDER BY id LIMIT 3 OFFSET 5)`,
	} {
		if _, err := s.DB().ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	compare := func(t *testing.T, wantPacked bool) {
		t.Helper()
		for _, limit := range []int{1, 7, 1000} {
			var after *FileOrderKey
			for {
				args := []any{d}
				if after != nil {
					args = append(args, after.SEC, after.Description, after.AccountID, after.Source, after.SourceKey)
				}
				cols, _, err := s.duePage(ctx, args, after != nil, limit, true, false)
				if err != nil {
					t.Fatal(err)
				}
				packed, ok, err := s.duePage(ctx, args, after != nil, limit, true, true)
				if err != nil {
					t.Fatal(err)
				}
				page, err := s.DueAfter(ctx, d, after, limit, true)
				if err != nil {
					t.Fatal(err)
				}
				if ok && !reflect.DeepEqual(packed, cols) {
					t.Fatalf("pages of %d: packed\n%+v\nby column\n%+v", limit, packed, cols)
				}
				if !ok && wantPacked {
					t.Fatalf("pages of %d: a page did not split", limit)
				}
				if !reflect.DeepEqual(page, cols) {
					t.Fatalf("pages of %d: DueAfter\n%+v\nby column\n%+v", limit, page, cols)
				}
				if len(cols) < limit {
					break
				}
				k := cols[len(cols)-1].Key()
				after = &k
			}
		}
	}
	compare(t, true)
	waiting := 0
	if page, err := s.DueAfter(ctx, d, nil, 1000, true); err != nil || len(page) != len(accts) {
		t.Fatalf("one page of all: %d (%v), want %d", len(page), err, len(accts))
	} else {
		for _, p := range page {
			if p.Waiting != "" {
				waiting++
			}
		}
	}
	if waiting < 3 {
		t.Fatalf("%d wait, want the three waiting for a prenote at least", waiting)
	}
	// A name holding the separator: its page is read a field a column.
	if _, err := s.DB().ExecContext(ctx, `UPDATE bank_accounts SET holder_name = 'A'||`+map[string]string{"sqlite": "char", "postgres": "chr"}[s.Dialect()]+`(31)||'B' WHERE id = (SELECT min(id) FROM bank_accounts)`); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.duePage(ctx, []any{d}, false, 1000, true, true); err != nil || ok {
		t.Fatalf("a page with the separator in a name read packed: ok %v (%v), want refused", ok, err)
	}
	compare(t, false)
}

// dueLedger opens and migrates the ledger at url (closed when the test
// ends) with up to n generated accounts imported, each with its first bank
// account and no payments, and returns them.
func dueLedger(t *testing.T, url string, n int, seed int64, d civil.Date) (*Store, []portfolio.Account) {
	t.Helper()
	ctx := context.Background()
	c, err := NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, url, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var accts []portfolio.Account
	for a := range portfolio.Generated(portfolio.GenerateOptions{Accounts: n, Seed: seed, AsOf: d}) {
		if len(a.BankAccounts) > 0 {
			a.BankAccounts = a.BankAccounts[:1]
			a.Autopay, a.ScheduledPayments = nil, nil
			accts = append(accts, a)
		}
	}
	im, err := s.NewImporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Import(ctx, accts); err != nil {
		im.Rollback()
		t.Fatal(err)
	}
	if err := im.Commit(); err != nil {
		t.Fatal(err)
	}
	return s, accts
}
