package sim

import (
	"context"
	"fmt"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestDrafterPostingsOfManyAccounts names 5,000 accounts: a night of a
// large book touches thousands (the 100,000-account soak stopped at night
// 120 when an OR of one comparison an account passed SQLite's expression
// depth of 1,000).
func TestDrafterPostingsOfManyAccounts(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, st *ledger.Store) {
		ids := map[string]bool{}
		for i := range 5000 {
			ids[fmt.Sprintf("ACC-%08d", i)] = true
		}
		out, err := drafterPostings(context.Background(), st, civil.MustParse("2027-05-03"), []int{3, 31}, ids)
		if err != nil || len(out) != 0 {
			t.Fatalf("drafterPostings of 5,000 accounts on an empty ledger: %d accounts, %v", len(out), err)
		}
	})
}
