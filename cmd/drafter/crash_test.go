package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// originateState is what must come out of an originate run however often
// it is killed: the stored files byte for byte and the originated payments.
type originateState struct {
	files    map[string]string // storage key -> bytes
	payments []string          // source key, state, trace, file modifier
	outbox   int
}

func readOriginateState(t *testing.T, dataDir, dbURL string) originateState {
	t.Helper()
	st := originateState{files: map[string]string{}}
	root := filepath.Join(dataDir, "docs")
	filepath.Walk(filepath.Join(root, "ach"), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(info.Name(), ".") {
			b, _ := os.ReadFile(path)
			rel, _ := filepath.Rel(root, path)
			st.files[rel] = string(b)
		}
		return nil
	})
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dataDir, "drafter.db")
	}
	s := ledgertest.OpenURL(t, dbURL)
	defer s.Close()
	// A payment's origination is its originations record: originate
	// leaves the payment rows to the deliver job to settle.
	rows, err := s.DB().QueryContext(context.Background(), `SELECT p.source || ':' || p.source_key,
			CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END,
			COALESCE(o.trace_number, ''), COALESCE(f.id_modifier, '')
		FROM payments p LEFT JOIN originations o ON o.payment_id = p.id LEFT JOIN ach_files f ON f.id = o.ach_file_id
		ORDER BY p.source, p.source_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	traces := map[string]bool{}
	for rows.Next() {
		var id, state, trace, mod string
		rows.Scan(&id, &state, &trace, &mod)
		if trace != "" {
			if traces[trace] {
				t.Fatalf("trace %s on two payments", trace)
			}
			traces[trace] = true
		}
		st.payments = append(st.payments, fmt.Sprintf("%s %s %s %s", id, state, trace, mod))
	}
	s.DB().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&st.outbox)
	return st
}

func lastRunID(t *testing.T, dataDir string, env []string) int64 {
	t.Helper()
	var runs []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dataDir, env, "runs", "--json")), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs --json: %v %v", runs, err)
	}
	return runs[0].ID
}

// TestOriginateKilledAfterEveryWrite kills `drafter run originate` after each
// of its writes in turn (a process exit, not a returned error), restarts the
// run, and checks that every time the day ends exactly as an uninterrupted
// run: every due payment originated once, every file stored and identical.
func TestOriginateKilledAfterEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { originateCrashes(t, dialect) })
	}
}

func originateCrashes(t *testing.T, dialect string) {
	d := civil.MustParse("2026-12-01")
	file := writePortfolio(t, 400, 5, d)
	// prepare makes a data dir with the portfolio imported; small files,
	// so the day has several and a crash can fall between them.
	prepare := func() (dir, dbURL string, env []string) {
		dir = t.TempDir()
		env = []string{"DRAFTER_FILE_ENTRY_LIMIT=20"}
		if dialect == "postgres" {
			dbURL = ledgertest.URL(t, dialect)
			env = append(env, "DRAFTER_DATABASE_URL="+dbURL)
			mustDrafter(t, dir, env, "migrate")
		}
		mustDrafter(t, dir, env, "import", file)
		spoilAndCover(t, dir, dbURL)
		return dir, dbURL, env
	}
	baseDir, baseDB, env := prepare()
	mustDrafter(t, baseDir, env, "run", "originate", "--date", d.String())
	want := readOriginateState(t, baseDir, baseDB)
	if len(want.files) < 3 {
		t.Fatalf("baseline made %d files; want several", len(want.files))
	}
	held, covered := 0, 0
	for _, p := range want.payments {
		held += strings.Count(p, " scheduled ")
		covered += strings.Count(p, " cancelled ")
	}
	if held == 0 || covered == 0 {
		t.Fatalf("baseline held %d and covered %d payments; want some of each, so that a crash can fall in those steps", held, covered)
	}
	crashes := crashLoop(t, prepare, []string{"run", "originate", "--date", d.String()}, func(n int, dir, dbURL string) {
		compareOriginate(t, n, want, readOriginateState(t, dir, dbURL))
	})
	if crashes < 5 {
		t.Fatalf("only %d crashpoints: too few writes checkpointed", crashes)
	}
}

// spoilAndCover gives the night payments the originate run must hold (two
// bank accounts with a routing number that no longer passes its check
// digit) and installments a one-time payment covers in full or in part
// (autopay accounts due on the 2nd, debited on the due date).
func spoilAndCover(t *testing.T, dir, dbURL string) {
	t.Helper()
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "drafter.db")
	}
	s := ledgertest.OpenURL(t, dbURL)
	defer s.Close()
	for _, q := range []string{
		`UPDATE bank_accounts SET routing = '011000016' WHERE id IN (SELECT e.bank_account_id FROM autopay_enrollments e
			JOIN accounts a ON a.id = e.account_id WHERE e.status = 'active' AND a.due_day = 1 ORDER BY e.id LIMIT 2)`,
		`INSERT INTO scheduled_payments (id, account_id, bank_account_id, amount, debit_on, channel, authorized_at)
			SELECT 'SP-COVER-' || e.id, e.account_id, e.bank_account_id,
				CASE WHEN e.id < 'M' THEN a.monthly_payment + a.monthly_tax ELSE 10000 END, '2026-12-02', 'web', '2026-11-20T10:00:00Z'
			FROM autopay_enrollments e JOIN accounts a ON a.id = e.account_id
			WHERE e.status = 'active' AND e.amount = 0 AND a.due_day = 2`,
	} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func compareOriginate(t *testing.T, n int, want, got originateState) {
	t.Helper()
	if len(got.files) != len(want.files) {
		t.Fatalf("crash %d: %d files, want %d: %v", n, len(got.files), len(want.files), keys(got.files))
	}
	for k, b := range want.files {
		if got.files[k] != b {
			t.Fatalf("crash %d: file %s differs from the uninterrupted run", n, k)
		}
	}
	if strings.Join(got.payments, "\n") != strings.Join(want.payments, "\n") {
		for i := range want.payments {
			if i >= len(got.payments) || got.payments[i] != want.payments[i] {
				g := "(none)"
				if i < len(got.payments) {
					g = got.payments[i]
				}
				t.Fatalf("crash %d: payments differ from the uninterrupted run at row %d: got %q want %q (%d vs %d rows)", n, i, g, want.payments[i], len(got.payments), len(want.payments))
			}
		}
		t.Fatalf("crash %d: %d payments, want %d", n, len(got.payments), len(want.payments))
	}
	if got.outbox != want.outbox {
		t.Fatalf("crash %d: %d emails queued, want %d", n, got.outbox, want.outbox)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
