package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
)

// TestNightlyQueriesUseIndexes: originate's nightly queries over the whole
// book read what they need by index. The two prenote steps read only the
// bank accounts waiting for a prenote, and look each one's enrollments up
// by index: without migration 0048, SQLite scanned every bank account, and
// every enrollment for each bank account needing a prenote (20,000 of
// each: 19 s, against 0.05 s with the index). The installment policy reads
// each autopay payment's one-time payments by account: without migration
// 0049, every one-time payment up to its due date. Origination's pages of
// due payments walk the file-order index (migration 0050) and sort
// nothing: without it, the whole day was read and sorted before the first
// file (2.5-2.8 s at a million payments).
func TestNightlyQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	c, err := NewCipher(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "drafter.db"), c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := civil.MustParse("2026-12-01")
	for _, tc := range []struct {
		name  string
		sql   string
		args  []any
		wants []string
	}{
		{"schedule", schedulePrenotesSQL, []any{d, time.Now()}, []string{"bank_accounts_prenote_required", "autopay_bank_account"}},
		{"verify", verifyPrenotesSQL, []any{d}, []string{"bank_accounts_prenote_sent"}},
		{"installments", autopayInstallmentsSQL, []any{d}, []string{"scheduled_payments_account"}},
		// Origination's pages walk the file-order index, and the first
		// file waits for no sort of the day.
		{"first page", dueAfterSQL("sqlite", false, 100000, true, false), []any{d}, []string{"COVERING INDEX payments_file_order"}},
		{"next page", dueAfterSQL("sqlite", true, 100000, true, false), []any{d, "WEB", "PAYMENT", "ACC-1", "autopay", "x"},
			[]string{"COVERING INDEX payments_file_order ((sec,description,account_id,source,source_key)>(?,?,?,?,?))"}},
		{"next page, no records", dueAfterSQL("sqlite", true, 100000, false, false), []any{d, "WEB", "PAYMENT", "ACC-1", "autopay", "x"},
			[]string{"COVERING INDEX payments_file_order ((sec,description,account_id,source,source_key)>(?,?,?,?,?))"}},
		{"first packed page", dueAfterSQL("sqlite", false, 100000, true, true), []any{d}, []string{"COVERING INDEX payments_file_order"}},
		{"next packed page", dueAfterSQL("sqlite", true, 100000, false, true), []any{d, "WEB", "PAYMENT", "ACC-1", "autopay", "x"},
			[]string{"COVERING INDEX payments_file_order ((sec,description,account_id,source,source_key)>(?,?,?,?,?))"}},
	} {
		rows, err := s.DB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+tc.sql, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		for _, w := range tc.wants {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the plan does not use %s:\n%s", tc.name, w, text)
			}
		}
		if strings.HasSuffix(tc.name, "page") && strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s: the plan sorts:\n%s", tc.name, text)
		}
		// The query's own tables (the foreign-key checks of the insert
		// into payments are SQLite's, and run only on a pending
		// deferred violation).
		for _, line := range plan {
			for _, table := range []string{"b", "e", "p", "sp", "bank_accounts"} {
				if line == "SCAN "+table {
					t.Errorf("%s: the plan scans a whole table (%s):\n%s", tc.name, line, text)
				}
			}
		}
	}
}

// TestDuePagesPlanOnPostgres: on PostgreSQL, a page of due payments walks
// the file-order index and sorts nothing, whatever the statistics say:
// here the records' statistics are those of an empty table (as on the
// first night, or before the night's appends are analyzed), which, with
// the records' check in the page's WHERE, planned a sort of the whole day
// for every page.
func TestDuePagesPlanOnPostgres(t *testing.T) {
	ctx := context.Background()
	d := civil.MustParse("2026-12-01")
	s, accts := dueLedger(t, testenv.Postgres(t), 200, 7, d)
	const n = 60000
	ps := make([]NewPayment, 0, n)
	for i := range n {
		a := accts[i%len(accts)]
		ps = append(ps, NewPayment{Source: SourceScheduled, SourceKey: fmt.Sprintf("plan-%d", i), AccountID: a.ID, BankAccountID: a.BankAccounts[0].ID,
			Kind: "debit", SEC: "WEB", Description: "PAYMENT", Amount: 1000, DueOn: d, DraftOn: d})
	}
	if _, err := s.InsertPayments(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx, "payments", "bank_accounts", "originations"); err != nil {
		t.Fatal(err)
	}
	for _, page := range []struct{ after, records, packed bool }{{false, true, true}, {true, true, true}, {true, false, true}, {true, true, false}} {
		after := page.after
		args := []any{d}
		if after {
			args = append(args, "WEB", "PAYMENT", accts[0].ID, SourceScheduled, "plan-0")
		}
		rows, err := s.DB().QueryContext(ctx, "EXPLAIN "+dueAfterSQL("postgres", after, 10000, page.records, page.packed), args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		text := strings.Join(plan, "\n")
		if !strings.Contains(text, "Index Scan using payments_file_order") || strings.Contains(text, "Sort") {
			t.Errorf("page (after a key: %v, records looked up: %v, packed: %v) does not walk the file-order index without sorting:\n%s",
				after, page.records, page.packed, text)
		}
	}
}
