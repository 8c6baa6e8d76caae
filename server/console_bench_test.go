package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/server"
)

// consoleBenchData fills a PostgreSQL ledger with bulk SQL: accounts
// accounts (customer, bank account, autopay; 1% stopped), 10 payments each
// over the last 300 days (one NACHA file a day, 1% returned), a document
// and an email per account, runs runs with their events (the latest
// partial one with 20,000 failed items), and 10,000 exceptions.
var consoleBenchData = []string{
	`INSERT INTO customers (id, first_name, last_name, email, address_line1, city, state, postal_code)
		SELECT 'C-' || lpad(i::text, 8, '0'), (ARRAY['Ana','Ben','Chloe','Dev','Eva','Farid','Gia','Hugo'])[1 + i % 8],
		'Name' || lpad((i % 50000)::text, 5, '0'), 'c' || i || '@example.com', i || ' Main St', 'Springfield', 'IL', '62701'
		FROM generate_series(1, $1) i`,
	`INSERT INTO accounts (id, customer_id, kind, status, contract_state, opened_on, term_months, monthly_payment, first_due_on, due_day, cycle_day,
		maturity_on, balance_as_of, principal)
		SELECT 'ACC-' || lpad(i::text, 8, '0'), 'C-' || lpad(i::text, 8, '0'), CASE WHEN i % 3 = 0 THEN 'lease' ELSE 'loan' END, 'active', 'IL',
		DATE '2025-01-10', 48, 40000 + i % 20000, DATE '2025-02-10', 1 + i % 28, 1 + i % 28, DATE '2029-01-10', DATE '2026-11-01', 1500000
		FROM generate_series(1, $1) i`,
	`INSERT INTO bank_accounts (id, account_id, routing, number_enc, number_mac, last4, type, holder_name, prenote, status)
		SELECT 'B-' || lpad(i::text, 8, '0'), 'ACC-' || lpad(i::text, 8, '0'), '021000021', '\x00'::bytea, md5(i::text),
		lpad((i % 10000)::text, 4, '0'), 'checking', 'Holder ' || i, 'verified', 'active' FROM generate_series(1, $1) i`,
	`INSERT INTO autopay_enrollments (id, account_id, bank_account_id, authorized_on, starts_on, status, status_reason)
		SELECT 'AP-' || lpad(i::text, 8, '0'), 'ACC-' || lpad(i::text, 8, '0'), 'B-' || lpad(i::text, 8, '0'), DATE '2025-01-10', DATE '2025-02-10',
		CASE WHEN i % 100 = 0 THEN 'stopped' ELSE 'active' END, CASE WHEN i % 100 = 0 THEN 'R10 unauthorized' ELSE '' END FROM generate_series(1, $1) i`,
	`INSERT INTO ach_files (business_date, id_modifier, status, effective_on, storage_key, trace_start, trace_end, entries, debit_total, created_at)
		SELECT d, 'A', 'transmitted', d + 1, 'ach/outbound/' || d || '-A.ach', 1, 1, 0, 0, now()
		FROM generate_series(CURRENT_DATE - 299, CURRENT_DATE, interval '1 day') AS g(d0), LATERAL (SELECT d0::date AS d) x`,
	`INSERT INTO payments (source, source_key, account_id, bank_account_id, kind, sec, description, amount, due_on, draft_on, state, ach_file_id,
		trace_number, originated_on, effective_on, created_at)
		SELECT 'autopay', 'AP-' || a || ':' || k, 'ACC-' || lpad(a::text, 8, '0'), 'B-' || lpad(a::text, 8, '0'), 'debit', 'PPD', 'AUTOPAY',
		40000 + a % 20000, d, d, CASE WHEN (a + k) % 100 = 0 THEN 'returned' ELSE 'settled' END, f.id,
		'02100002' || lpad(((a::bigint * 10 + k) % 10000000)::text, 7, '0'), d, d + 1, now()
		FROM generate_series(1, $1) a, generate_series(0, 9) k,
		LATERAL (SELECT CURRENT_DATE - 299 + ((a * 7 + k * 30) % 300) AS d) x
		JOIN ach_files f ON f.business_date = x.d AND f.id_modifier = 'A'`,
	`INSERT INTO inbound_files (sha256, name, status, returns, received_at)
		SELECT md5(i::text) || md5((i + 1)::text), 'returns-' || i || '.ach', 'applied', 0, now() - (i || ' days')::interval FROM generate_series(1, 300) i`,
	// Each file's debits, as MarkFileStored counts them when it stores it.
	`INSERT INTO ach_file_debits (ach_file_id, debits) SELECT ach_file_id, COUNT(*) FROM payments WHERE kind = 'debit' GROUP BY ach_file_id`,
	`INSERT INTO returns (inbound_file_id, entry_key, original_trace, payment_id, code, amount, action, returned_on, account_id, payment_kind)
		SELECT (SELECT MIN(id) FROM inbound_files) + p.id % 300, 'payment ' || p.id, p.trace_number, p.id,
		(ARRAY['R01','R01','R01','R02','R03','R10','R09','R01'])[1 + p.id % 8], p.amount, 'recorded', p.draft_on + 2, p.account_id, p.kind
		FROM payments p WHERE p.state = 'returned'`,
	`INSERT INTO documents (account_id, kind, period, document_date, storage_key, sha256, size, created_at)
		SELECT 'ACC-' || lpad(i::text, 8, '0'), 'statement', '2026-11', DATE '2026-11-30', 'statements/ACC-' || lpad(i::text, 8, '0') || '/2026-11.pdf',
		md5(i::text), 30000, now() FROM generate_series(1, $1) i`,
	`INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, attempts, next_attempt_at, created_at)
		SELECT 'document:' || i, 'c' || i || '@example.com', 'statement_ready', 'ACC-' || lpad(i::text, 8, '0'), '{"document_id":' || i || '}',
		CASE WHEN i % 50 = 0 THEN 'failed' WHEN i % 10 = 0 THEN 'queued' ELSE 'sent' END, 1, now(), now() FROM generate_series(1, $1) i`,
	`INSERT INTO runs (job, business_date, attempt, status, trigger, selected, done, failed, started_at, heartbeat_at, finished_at)
		SELECT (ARRAY['originate','returns','statements','lease-end','deliver','transmit','receive'])[1 + i % 7], CURRENT_DATE - i / 7, 1,
		CASE WHEN i % 97 = 0 THEN 'partial' WHEN i % 89 = 0 THEN 'failed' ELSE 'succeeded' END, 'schedule', 1000, 1000, 0, now(), now(), now()
		FROM generate_series(0, $2 - 1) i`,
	// The latest partial run failed for 20,000 accounts: more than its
	// page groups.
	`INSERT INTO run_items (run_id, item, status, error)
		SELECT r.id, 'ACC-' || lpad(i::text, 8, '0') || ' 2026-11', 'failed', 'store statements/ACC-' || lpad(i::text, 8, '0') || '/2026-11.pdf: 503 SlowDown'
		FROM (SELECT id FROM runs WHERE status = 'partial' ORDER BY id DESC LIMIT 1) r, generate_series(1, 20000) i`,
	`INSERT INTO run_events (run_id, at, event, detail) SELECT id, now(), 'started', 'schedule' FROM runs
		UNION ALL SELECT id, now(), 'finished', status FROM runs`,
	`INSERT INTO exceptions (kind, reference, detail, raw, created_at)
		SELECT (ARRAY['return_unmatched','noc_unmatched','statement_held'])[1 + i % 3], 'trace ' || i, 'ACC-' || lpad((i * 97 % $1)::text, 8, '0') || ': R03 no account',
		'', now() - (i || ' minutes')::interval FROM generate_series(1, 10000) i`,
}

// BenchmarkConsolePages renders each console page against a PostgreSQL
// ledger of DRAFTER_BENCH_ACCOUNTS accounts (default 10,000; the issue's
// size is 1,000,000) with 10 payments each and DRAFTER_BENCH_RUNS runs
// (default 5,000), through the whole handler (session, queries, template).
func BenchmarkConsolePages(b *testing.B) {
	accounts, runs := envInt("DRAFTER_BENCH_ACCOUNTS", 10000), envInt("DRAFTER_BENCH_RUNS", 5000)
	// DRAFTER_BENCH_DATABASE_URL keeps the data between runs: it is built
	// once, when the database has no account yet.
	url := os.Getenv("DRAFTER_BENCH_DATABASE_URL")
	if url == "" {
		url = testenv.Postgres(b)
	}
	start := time.Now()
	env := jobstest.Env(b, url, nil)
	b.Logf("opened and migrated in %s", time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	start = time.Now()
	var have int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&have)
	for _, q := range consoleBenchData {
		if have > 0 {
			accounts = have
			break
		}
		var args []any
		switch {
		case containsArg(q, "$2"):
			args = []any{runs}
			q = strings.ReplaceAll(q, "$2", "$1")
		case containsArg(q, "$1"):
			args = []any{accounts}
		}
		if _, err := env.Store.DB().ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	// The test server runs without autovacuum; a production one vacuums
	// a table after this many inserts, which sets the visibility map that
	// index-only scans (the outbox's counts, the returns of a window)
	// rely on. Once built, a kept database vacuums in seconds.
	if _, err := env.Store.DB().ExecContext(ctx, `VACUUM (ANALYZE)`); err != nil {
		b.Fatal(err)
	}
	var payments int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM payments`).Scan(&payments)
	b.Logf("built %d accounts, %d payments, %d runs in %s", accounts, payments, runs, time.Since(start).Round(time.Second))

	reg := (&recorder{}).registry("originate", "returns", "statements", "lease-end", "deliver", "transmit", "receive")
	admin := server.NewAdmin(env, reg, server.LockerFor(env.Store), nil)
	admin.Addr = "" // requests go straight to the handler
	env.Store.DB().Exec(`DELETE FROM console_sessions`)
	env.Store.DB().Exec(`DELETE FROM operators WHERE name = 'bench'`)
	op, _, err := env.Store.AddOperator(ctx, "bench", ledger.RoleAdmin, "bench")
	if err != nil {
		b.Fatal(err)
	}
	sid, _, err := env.Store.BeginSession(ctx, op, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	h := admin.Handler()
	var runID int64
	env.Store.DB().QueryRow(`SELECT id FROM runs WHERE status = 'partial' ORDER BY id DESC LIMIT 1`).Scan(&runID)
	acct := fmt.Sprintf("ACC-%08d", accounts/2)
	get := func(b *testing.B, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: sid})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK && w.Code != http.StatusSeeOther {
			b.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
		}
	}
	pages := []struct{ name, path string }{
		{"tonight", "/"}, {"run", fmt.Sprintf("/runs/%d", runID)}, {"exceptions", "/exceptions"},
		{"exceptions_kind", "/exceptions?kind=noc_unmatched&age=1d"}, {"returns", "/returns"}, {"files", "/files"},
		{"account_search_id", "/accounts?q=" + acct[:10]}, {"account_search_name", "/accounts?q=Name00042"}, {"account_search_last4", "/accounts?q=0042"},
		{"account_search_id_page2", "/accounts?q=ACC-0000&by=id&after=ACC-00000050"},
		{"account", "/accounts/" + acct}, {"outbox", "/outbox"}, {"outbox_failed", "/outbox?status=failed"}, {"operators", "/operators"},
	}
	// The first render of each page, before any cache (the database's or
	// ach_file_debits) is warm.
	for _, p := range pages {
		t0 := time.Now()
		get(b, p.path)
		b.Logf("first render %-22s %s", p.name, time.Since(t0).Round(100*time.Microsecond))
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				get(b, p.path)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func containsArg(q, arg string) bool {
	for i := 0; i+len(arg) <= len(q); i++ {
		if q[i:i+len(arg)] == arg && (i+len(arg) == len(q) || q[i+len(arg)] < '0' || q[i+len(arg)] > '9') {
			return true
		}
	}
	return false
}
