package ledger_test

import (
	"context"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestSchedulePrenotes: a bank account that needs a prenote gets one when a
// debit waits on it, from an active autopay enrollment or from a scheduled
// payment alone; one with neither, or already prenoted, gets none.
func TestSchedulePrenotes(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		var accts []portfolio.Account
		for _, id := range []string{"P-AUTOPAY", "P-ONETIME", "P-NOTHING", "P-VERIFIED"} {
			a := testAccount(id, "11112222")
			a.BankAccounts[0].Prenote = "required"
			if id != "P-AUTOPAY" {
				a.Autopay = nil
			}
			if id == "P-VERIFIED" {
				a.BankAccounts[0].Prenote = "verified"
			}
			accts = append(accts, a)
		}
		importAll(t, s, accts)
		on := civil.MustParse("2026-12-01")
		var ps []ledger.NewPayment
		for _, id := range []string{"P-ONETIME", "P-VERIFIED"} {
			ps = append(ps, ledger.NewPayment{Source: ledger.SourceScheduled, SourceKey: id, AccountID: id, BankAccountID: "B-" + id,
				Kind: "debit", SEC: "WEB", Description: "PAYMENT", Amount: 10000, DueOn: on.AddDays(5), DraftOn: on.AddDays(5)})
		}
		if _, err := s.InsertPayments(ctx, ps); err != nil {
			t.Fatal(err)
		}
		if n, err := s.SchedulePrenotes(ctx, on); err != nil || n != 2 {
			t.Fatalf("scheduled %d prenotes (%v), want 2", n, err)
		}
		rows, err := s.DB().QueryContext(ctx, `SELECT bank_account_id FROM payments WHERE kind = 'prenote' ORDER BY bank_account_id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		if len(got) != 2 || got[0] != "B-P-AUTOPAY" || got[1] != "B-P-ONETIME" {
			t.Fatalf("prenotes for %v, want B-P-AUTOPAY and B-P-ONETIME", got)
		}
		if n, err := s.SchedulePrenotes(ctx, on); err != nil || n != 0 {
			t.Fatalf("again: scheduled %d prenotes (%v), want none", n, err)
		}
	})
}
