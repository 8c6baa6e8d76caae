package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestConsoleQueries: the console's reads answer on both databases: the
// account search by id, name and last 4; an account's payments, documents
// and audit; the outbox page, its oldest waiting message, and a resend
// recorded as a new message and in the audit.
func TestConsoleQueries(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		importAll(t, s, []portfolio.Account{testAccount("LS-1", "123456789"), testAccount("LS-22", "987654321")})
		for _, tc := range []struct {
			q    string
			want []string
		}{{"LS-1", []string{"LS-1"}}, {"LS-2", []string{"LS-22"}}, {"nguyễn", []string{"LS-1", "LS-22"}}, {"Zoë Nguyễn", []string{"LS-1", "LS-22"}},
			{"4321", []string{"LS-22"}}, {"nobody", nil}} {
			hits, _, err := s.SearchAccounts(ctx, ledger.AccountSearch{Q: tc.q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.ID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("search %q: %v, want %v", tc.q, got, tc.want)
			}
		}
		if ps, err := s.AccountPayments(ctx, "LS-1", 0, 10); err != nil || len(ps) != 0 {
			t.Errorf("payments: %v %v", ps, err)
		}
		if ds, err := s.AccountDocuments(ctx, "LS-1", 10); err != nil || len(ds) != 0 {
			t.Errorf("documents: %v %v", ds, err)
		}
		queueTestMessages(t, s, 3)
		old, err := s.OldestQueued(ctx)
		if err != nil || old.ID != 1 {
			t.Fatalf("oldest queued: %+v %v", old, err)
		}
		page, err := s.ListOutboxPage(ctx, ledger.OutboxPage{AccountID: "LS-1", Limit: 2})
		if err != nil || len(page) != 2 || page[0].ID != 3 {
			t.Fatalf("outbox page: %+v %v", page, err)
		}
		if page, err = s.ListOutboxPage(ctx, ledger.OutboxPage{BeforeID: 2}); err != nil || len(page) != 1 || page[0].ID != 1 {
			t.Fatalf("outbox next page: %+v %v", page, err)
		}
		m, err := s.ResendOutbox(ctx, 1, "alice", "customer lost it")
		if err != nil || m.ID <= 3 || m.Status != ledger.OutboxQueued || m.Recipient != "zoe@example.com" || !strings.HasSuffix(m.Topic, "#resend1") {
			t.Fatalf("resend: %+v %v", m, err)
		}
		if m, err = s.ResendOutbox(ctx, m.ID, "alice", "again"); err != nil || !strings.HasSuffix(m.Topic, "#resend2") {
			t.Fatalf("second resend: %+v %v", m, err)
		}
		if _, err := s.ResendOutbox(ctx, 99, "alice", "x"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("resend of nothing: %v", err)
		}
		audit, err := s.AccountAudit(ctx, "LS-1", 10)
		if err != nil || len(audit) != 2 || audit[1].Actor != "alice" || audit[1].Action != "outbox resend" || audit[1].Reason != "customer lost it" {
			t.Errorf("account audit: %+v %v", audit, err)
		}
	})
}

// TestAccountSearchPages: a search pages through every match once, by
// last 4, by id and by name (in name order across last names), and a
// later page keeps to the way the first matched (an id search that ran
// out does not turn into a name search).
func TestAccountSearchPages(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		var accts []portfolio.Account
		for i, last := range []string{"Nguyễn", "Ngo", "Nguyen", "Nguyễn", "Nguyen", "Nguyen"} {
			a := testAccount(fmt.Sprintf("LS-1%d", i), fmt.Sprintf("5550%d4321", i))
			a.Customer.LastName = last
			accts = append(accts, a)
		}
		importAll(t, s, accts)
		for _, tc := range []struct {
			q, by string
			want  []string
		}{
			{"4321", ledger.SearchByLast4, []string{"LS-10", "LS-11", "LS-12", "LS-13", "LS-14", "LS-15"}},
			{"LS-1", ledger.SearchByID, []string{"LS-10", "LS-11", "LS-12", "LS-13", "LS-14", "LS-15"}},
			{"ngu", ledger.SearchByName, []string{"LS-10", "LS-12", "LS-13", "LS-14", "LS-15"}},
		} {
			f := ledger.AccountSearch{Q: tc.q, Limit: 2}
			seen := map[string]int{}
			var got []string
			for page := 0; ; page++ {
				hits, by, err := s.SearchAccounts(ctx, f)
				if err != nil || by != tc.by || len(hits) > 2 || page > 5 {
					t.Fatalf("search %q page %d: %d hits by %q (%v), want at most 2 by %q", tc.q, page, len(hits), by, err, tc.by)
				}
				for _, h := range hits {
					seen[h.ID]++
					got = append(got, h.ID)
				}
				if len(hits) < 2 {
					break
				}
				f.By, f.After = by, hits[len(hits)-1].ID
			}
			slices.Sort(got)
			if strings.Join(got, ",") != strings.Join(tc.want, ",") || len(seen) != len(got) {
				t.Errorf("search %q in pages of 2: %v, want each of %v once", tc.q, got, tc.want)
			}
		}
		if hits, by, err := s.SearchAccounts(ctx, ledger.AccountSearch{Q: "LS-1", By: ledger.SearchByID, After: "LS-15"}); err != nil || len(hits) != 0 || by != ledger.SearchByID {
			t.Errorf("the page after an id search's last: %v by %q %v, want none by id", hits, by, err)
		}
	})
}
