package jobs_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// TestConsoleFiguresMatchLedger: what the console's Returns and risk and
// Outbox pages say (debits originated, returns by code and by day, the
// accounts returned twice, the waiting email, the oldest of it) equals a
// count made independently from the ledger's payments, files, returns and
// outbox, after real nights: two originations, returns of both (one
// account twice, through its re-presentment), a third file voided after
// a missed cutoff (its payment scheduled again, so it originated nothing),
// and again on a ledger upgraded from before migration 0042 (returns
// without their payment's account and kind, a file without its count).
func TestConsoleFiguresMatchLedger(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			ctx := context.Background()
			importAccounts(t, env.Store, returnsPortfolio(12))
			body, traces := originateDay(t, env, returnsNight)
			file, err := ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: traces["LN-000"], Code: "R01"}, {Trace: traces["LN-001"], Code: "R10"},
				{Trace: traces["LN-002"], Code: "R03"}, {Trace: traces["LN-003"], Code: "R09"}}, returnsDay)
			if err != nil {
				t.Fatal(err)
			}
			ingest(t, env, "r1.ach", file, returnsDay)
			// The retries of LN-000 and LN-003 go out that night; LN-000's
			// comes back too.
			next := env.Calendar.NextBankingDay(returnsDay)
			body, traces = originateDay(t, env, returnsDay)
			if file, err = ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: traces["LN-000"], Code: "R01"}}, next); err != nil {
				t.Fatal(err)
			}
			ingest(t, env, "r2.ach", file, next)
			// LN-000's second retry is stored, then its file is voided after
			// a missed cutoff.
			originateDay(t, env, next)
			var voided int64
			var key string
			if err := env.Store.DB().QueryRow(`SELECT id, storage_key FROM ach_files WHERE business_date = $1`, next).Scan(&voided, &key); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.AddExceptions(ctx, []ledger.Exception{{Kind: "cutoff_missed", Reference: key, Detail: "not sent by 17:00"}}); err != nil {
				t.Fatal(err)
			}
			if n, err := env.Store.VoidHeldFile(ctx, voided, "test", "missed the cutoff"); err != nil || n != 1 {
				t.Fatalf("void %s: %d %v", key, n, err)
			}
			// Some email waits, one failed, one went.
			if _, err := env.Store.DB().Exec(`UPDATE outbox SET status = CASE WHEN id = (SELECT MIN(id) FROM outbox) THEN 'failed'
				WHEN id = (SELECT MAX(id) FROM outbox) THEN 'sent' ELSE status END`); err != nil {
				t.Fatal(err)
			}

			// Each file's debit count, kept from its allocation on, is
			// its records' own.
			if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM ach_files f JOIN ach_file_debits c ON c.ach_file_id = f.id
				WHERE c.debits <> (SELECT COUNT(*) FROM originations o WHERE o.ach_file_id = f.id AND o.transaction_code IN (27, 37))`); n != 0 {
				t.Errorf("%d files keep a debit count that is not their records'", n)
			}

			page := consolePages(t, env)
			through := next.AddDays(1)
			checkConsoleFigures(t, env, page, through, 14)

			// The same ledger as an older release left it: returns without
			// their payment's account and kind (migration 0043 fills them),
			// the first file's debits not counted yet (counted when read).
			if _, err := env.Store.DB().Exec(`UPDATE returns SET account_id = NULL, payment_kind = NULL`); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.DB().Exec(`DELETE FROM ach_file_debits WHERE ach_file_id = (SELECT MIN(id) FROM ach_files)`); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.DB().Exec(`DELETE FROM schema_migrations WHERE version = 43`); err != nil {
				t.Fatal(err)
			}
			if applied, err := env.Store.Migrate(ctx); err != nil || len(applied) != 1 || applied[0] != 43 {
				t.Fatalf("migrate: %v %v", applied, err)
			}
			checkConsoleFigures(t, env, page, through, 14)
			// Every file's count is kept but the voided one's: it
			// originated nothing.
			if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM ach_file_debits`); n != 2 {
				t.Errorf("%d files with their debits counted, want the 2 not voided", n)
			}
			if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM ach_file_debits WHERE ach_file_id = `+strconv.FormatInt(voided, 10)); n != 0 {
				t.Errorf("the voided file's debits are still counted")
			}
		})
	}
}

// consolePages returns a function that renders a console page for an
// admin, through the whole handler.
func consolePages(t *testing.T, env *jobs.Env) func(path string) string {
	t.Helper()
	ctx := context.Background()
	op, _, err := env.Store.AddOperator(ctx, "ada", ledger.RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	sid, _, err := env.Store.BeginSession(ctx, op, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	admin := server.NewAdmin(env, jobs.Registry{}, server.LockerFor(env.Store), nil)
	admin.Addr = ""
	h := admin.Handler()
	return func(path string) string {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(&http.Cookie{Name: server.SessionCookie, Value: sid})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, w.Code, w.Body.String())
		}
		return w.Body.String()
	}
}

var (
	codeRow     = regexp.MustCompile(`<tr><td>(R\d\d)</td><td>[^<]*</td><td>[^<]*</td><td>(\d+)</td></tr>`)
	repeatedRow = regexp.MustCompile(`<tr><td><a href="/accounts/([^"]+)">[^<]+</a></td><td>(\d+)</td><td>([^<]*)</td><td>([0-9-]+)</td></tr>`)
)

// checkConsoleFigures compares the pages' and the store's figures with
// counts straight from the ledger's tables, and with what the test made
// (wantDebits).
func checkConsoleFigures(t *testing.T, env *jobs.Env, page func(string) string, through civil.Date, wantDebits int) {
	t.Helper()
	ctx := context.Background()
	st := env.Store
	from := through.AddDays(-59)

	// Independent: every debit payment in a file of the window (by its
	// originations record: no deliver run settled the rows), every
	// return of a debit payment of drafter's by code and by day, and the
	// accounts with two or more returns, from the payments themselves.
	debits := queryInt(t, st, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id JOIN ach_files f ON f.id = o.ach_file_id
		WHERE p.kind = 'debit' AND f.business_date >= $1 AND f.business_date <= $2`, from, through)
	byCode := map[string]int{}
	byDay := map[string]int{}
	total := 0
	rows, err := st.DB().Query(`SELECT r.returned_on, r.code FROM returns r JOIN payments p ON p.id = r.payment_id
		WHERE p.kind = 'debit' AND r.returned_on >= $1 AND r.returned_on <= $2`, from, through)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d civil.Date
		var code string
		if err := rows.Scan(&d, &code); err != nil {
			t.Fatal(err)
		}
		byCode[code]++
		byDay[d.String()]++
		total++
	}
	rows.Close()
	repeated := ledgertest.Dump(t, st.DB(), `SELECT p.account_id, COUNT(*) FROM returns r JOIN payments p ON p.id = r.payment_id
		WHERE r.returned_on >= '`+from.String()+`' AND r.returned_on <= '`+through.String()+`' GROUP BY p.account_id HAVING COUNT(*) >= 2 ORDER BY p.account_id`)
	if debits != wantDebits || total != 5 || byCode["R01"] != 2 || repeated != "LN-000|2|\n--\n" {
		t.Fatalf("the ledger itself: %d debits, returns %v, repeated %q: not the nights this test made", debits, byCode, repeated)
	}

	// The store's figures.
	gotDebits, gotByCode, err := st.ReturnCounts(ctx, from, through)
	if err != nil || gotDebits != debits || !maps.Equal(gotByCode, byCode) {
		t.Errorf("ReturnCounts: %d debits %v (%v), the ledger %d %v", gotDebits, gotByCode, err, debits, byCode)
	}
	days, err := st.ReturnsByDay(ctx, from, through, func(code string) string {
		if p, ok := ach.ReturnPolicy(code); ok {
			return string(p.Category)
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	gotByDay := map[string]int{}
	for _, d := range days {
		if n := d.Unauthorized + d.Administrative + d.Other; n > 0 {
			gotByDay[d.Date.String()] = n
		}
	}
	if !maps.Equal(gotByDay, byDay) {
		t.Errorf("ReturnsByDay %v, the ledger %v", gotByDay, byDay)
	}

	// The page's figures.
	body := page("/returns?through=" + through.String())
	if want := fmt.Sprintf("%d debits originated", debits); !strings.Contains(body, want) {
		t.Errorf("Returns and risk lacks %q", want)
	}
	pageCodes := map[string]int{}
	for _, m := range codeRow.FindAllStringSubmatch(body, -1) {
		pageCodes[m[1]], _ = strconv.Atoi(m[2])
	}
	if !maps.Equal(pageCodes, byCode) {
		t.Errorf("Returns and risk by code %v, the ledger %v", pageCodes, byCode)
	}
	var pageRepeated string
	for _, m := range repeatedRow.FindAllStringSubmatch(body, -1) {
		if m[3] == "R01" {
			pageRepeated += m[1] + "|" + m[2] + "|\n"
		}
	}
	if pageRepeated+"--\n" != repeated {
		t.Errorf("Returns and risk repeated %q, the ledger %q", pageRepeated, repeated)
	}
	rates := ach.ReturnRates(debits, byCode)
	if want := fmt.Sprintf("<td>%d</td><td>%d</td>", rates.Overall.Returns, debits); !strings.Contains(body, want) {
		t.Errorf("Returns and risk lacks the overall rate's %q", want)
	}

	// The outbox: waiting counts and the oldest queued message.
	counts := map[string]int{}
	rows, err = st.DB().Query(`SELECT status, COUNT(*) FROM outbox GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		rows.Scan(&s, &n)
		counts[s] = n
	}
	rows.Close()
	if counts["queued"] == 0 || counts["failed"] != 1 || counts["sent"] != 1 {
		t.Fatalf("the ledger's outbox %v: not what this test made", counts)
	}
	oldest := queryInt(t, st, `SELECT id FROM outbox WHERE status = 'queued' ORDER BY next_attempt_at, id LIMIT 1`)
	body = page("/outbox")
	if want := fmt.Sprintf("<p>%d queued, %d sending, %d failed.\nOldest waiting: outbox %d ", counts["queued"], counts["sending"], counts["failed"], oldest); !strings.Contains(body, want) {
		t.Errorf("Outbox lacks %q", want)
	}
	body = page("/outbox?status=failed")
	if n := strings.Count(body, `<span class="badge out-failed">failed</span>`); n != counts["failed"] {
		t.Errorf("Outbox of failed email lists %d, the ledger has %d", n, counts["failed"])
	}
}
