package sim

import (
	"context"
	"fmt"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestDrafterPostingsOfManyAccounts names 5,000 accounts, one of them with
// a posting of drafter's: a night of a large book touches thousands (the
// 100,000-account soak stopped at night 120 when an OR of one comparison
// an account passed SQLite's expression depth of 1,000), and the named
// account's posting is found among them.
func TestDrafterPostingsOfManyAccounts(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, st *ledger.Store) {
		ctx := context.Background()
		d := civil.MustParse("2027-05-03")
		if _, err := newServicing(3, 1, d, 0).importExtract(ctx, st, d, portfolio.GenerateOptions{Accounts: 3, Seed: 1, AsOf: d}); err != nil {
			t.Fatal(err)
		}
		var acct string
		if err := st.DB().QueryRowContext(ctx, `SELECT MIN(id) FROM accounts`).Scan(&acct); err != nil {
			t.Fatal(err)
		}
		if _, err := st.DB().ExecContext(ctx, `INSERT INTO transactions (id, account_id, posted_on, kind, amount, source)
			VALUES ('fee:test', $1, $2, 'returned_payment_fee', 2500, 'drafter')`, acct, d); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{acct: true}
		for i := range 5000 {
			ids[fmt.Sprintf("ACC-X%07d", i)] = true
		}
		out, err := drafterPostings(ctx, st, d, []int{31}, ids)
		if err != nil {
			t.Fatalf("drafterPostings of 5,001 accounts: %v", err)
		}
		if got := out[acct]; len(out) != 1 || len(got) != 1 || got[0].ID != "fee:test" || got[0].Amount != 2500 {
			t.Fatalf("drafterPostings: %+v, want %s's one fee", out, acct)
		}
	})
}
