package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/server"
)

// browser is a cookie-keeping HTTP client signed in to the console.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with token and returns the session's CSRF token.
func (b *browser) signIn(token string) string {
	b.t.Helper()
	_, body, _ := b.get("/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF field on the sign-in page:\n%s", body)
	}
	code, body, h := b.post("/login", url.Values{"csrf": {m[1]}, "token": {token}})
	if code != http.StatusSeeOther {
		b.t.Fatalf("sign in: %d %s", code, body)
	}
	if ck := h.Get("Set-Cookie"); !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
		b.t.Errorf("session cookie %q: want HttpOnly and SameSite=Strict", ck)
	}
	_, body, _ = b.get("/")
	m = csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF field on Tonight:\n%s", body)
	}
	return m[1]
}

// TestConsolePages: every page renders for an admin, with the security
// headers; a viewer sees no action and is refused every POST with 403; a
// form without its CSRF token is refused; signing out ends the session.
func TestConsolePages(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			reg := (&recorder{}).registry("originate")
			reg["returns"] = partialJob{}
			admin := server.NewAdmin(env, reg, server.LockerFor(env.Store), nil)
			entry, err := server.ParseEntry("originate", "0 16 * * *", false, newYork, true)
			if err != nil {
				t.Fatal(err)
			}
			admin.Schedule = server.NewScheduler(env, reg, []server.Entry{entry})
			base := serveAdmin(t, admin)
			ctx := context.Background()
			_, adminTok, _ := env.Store.AddOperator(ctx, "ada", ledger.RoleAdmin, "test")
			_, viewerTok, _ := env.Store.AddOperator(ctx, "vic", ledger.RoleViewer, "test")
			if _, err := env.Store.AddExceptions(ctx, []ledger.Exception{{Kind: "return_unmatched", Reference: "trace 091000010000001",
				Detail: "R03 for no payment", Raw: "6" + strings.Repeat("2", 11) + "123456789012     " + strings.Repeat("0", 65)}}); err != nil {
				t.Fatal(err)
			}
			run, err := env.Start(ctx, partialJob{}, jobs.StartSpec{Date: civil.MustParse("2026-03-02"), Trigger: "operator", TriggeredBy: "test"})
			if err != nil && run.Run.ID == 0 {
				t.Fatal(err)
			}

			anon := newBrowser(t, base)
			if code, _, h := anon.get("/"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
				t.Errorf("GET / signed out: %d %s, want a redirect to /login", code, h.Get("Location"))
			}
			b := newBrowser(t, base)
			csrf := b.signIn(adminTok)
			for _, p := range []string{"/", "/?through=2026-03-02", fmt.Sprintf("/runs/%d", run.Run.ID), "/exceptions", "/exceptions?kind=return_unmatched&age=1d",
				"/returns", "/files", "/accounts", "/accounts?q=nobody", "/outbox", "/outbox?status=failed", "/operators"} {
				code, body, h := b.get(p)
				if code != http.StatusOK {
					t.Errorf("GET %s: %d\n%s", p, code, body)
					continue
				}
				for k, want := range map[string]string{"Content-Security-Policy": "script-src 'self'", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
					if !strings.Contains(h.Get(k), want) {
						t.Errorf("GET %s: %s %q, want %q", p, k, h.Get(k), want)
					}
				}
				if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, "onclick") {
					t.Errorf("GET %s: inline script or style", p)
				}
			}
			if _, body, _ := b.get("/exceptions"); !strings.Contains(body, "********9012     ") || strings.Contains(body, "123456789012") {
				t.Errorf("exceptions page does not mask the raw record's account number")
			}
			if _, body, _ := b.get(fmt.Sprintf("/runs/%d", run.Run.ID)); !strings.Contains(body, "no payment with this") || !strings.Contains(body, `id="resume"`) {
				t.Errorf("run page lacks the grouped error or the resume button:\n%s", body)
			}

			// Without the CSRF token, nothing is done.
			if code, _, _ := b.post("/exceptions/resolve", url.Values{"id": {"1"}, "note": {"x"}}); code != http.StatusForbidden {
				t.Errorf("resolve without CSRF: %d, want 403", code)
			}
			if code, _, _ := b.post("/exceptions/resolve", url.Values{"csrf": {"forged"}, "id": {"1"}, "note": {"x"}}); code != http.StatusForbidden {
				t.Errorf("resolve with a forged CSRF token: %d, want 403", code)
			}
			code, _, h := b.post("/exceptions/resolve", url.Values{"csrf": {csrf}, "id": {"1"}, "note": {"bank called back"}})
			if code != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "resolved") {
				t.Errorf("resolve: %d %s", code, h.Get("Location"))
			}
			// Bulk: a checked group with one note; one resolved before is named.
			env.Store.AddExceptions(ctx, []ledger.Exception{{Kind: "noc_unmatched", Reference: "trace 1", Detail: "C01"}, {Kind: "noc_unmatched", Reference: "trace 2", Detail: "C01"}})
			code, _, h = b.post("/exceptions/resolve", url.Values{"csrf": {csrf}, "id": {"1", "2", "3"}, "note": {"corrected by phone"}})
			if loc, _ := url.QueryUnescape(h.Get("Location")); code != http.StatusSeeOther || !strings.Contains(loc, "2 exception(s) resolved by ada") || !strings.Contains(loc, "Already resolved before: 1") {
				t.Errorf("bulk resolve: %d %s", code, loc)
			}
			if open, _ := env.Store.ListExceptions(ctx, ledger.ExceptionFilter{}); len(open) != 0 {
				t.Errorf("open exceptions after bulk resolve: %+v", open)
			}

			// A viewer sees and cannot act.
			v := newBrowser(t, base)
			vcsrf := v.signIn(viewerTok)
			if _, body, _ := v.get(fmt.Sprintf("/runs/%d", run.Run.ID)); strings.Contains(body, `id="resume"`) || strings.Contains(body, "/resume\"") {
				t.Errorf("a viewer sees the resume button")
			}
			if code, _, _ := v.get("/operators"); code != http.StatusForbidden {
				t.Errorf("viewer GET /operators: %d, want 403", code)
			}
			for _, p := range []string{fmt.Sprintf("/runs/%d/resume", run.Run.ID), fmt.Sprintf("/runs/%d/rerun", run.Run.ID), "/exceptions/resolve", "/outbox/1/retry",
				"/outbox/1/resend", "/operators", "/operators/ada/disable"} {
				if code, _, _ := v.post(p, url.Values{"csrf": {vcsrf}, "reason": {"x"}, "note": {"x"}, "id": {"1"}, "name": {"eve"}, "role": {"admin"}}); code != http.StatusForbidden {
					t.Errorf("viewer POST %s: %d, want 403", p, code)
				}
			}

			// A running run can be cancelled by an operator, with a reason,
			// through the same Env.Cancel as the CLI and the API; a viewer
			// neither sees the button nor may post it.
			running, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: "originate", BusinessDate: civil.MustParse("2026-03-03"), Trigger: "operator",
				TriggeredBy: "test", Owner: env.Owner})
			if err != nil {
				t.Fatal(err)
			}
			runPath := fmt.Sprintf("/runs/%d", running.ID)
			if _, body, _ := b.get(runPath); !strings.Contains(body, `id="cancel"`) {
				t.Errorf("the running run's page has no cancel button")
			}
			if _, body, _ := v.get(runPath); strings.Contains(body, `id="cancel"`) {
				t.Errorf("a viewer sees the cancel button")
			}
			if code, _, _ := v.post(runPath+"/cancel", url.Values{"csrf": {vcsrf}, "reason": {"x"}}); code != http.StatusForbidden {
				t.Errorf("viewer POST cancel: %d, want 403", code)
			}
			if code, _, _ := b.post(runPath+"/cancel", url.Values{"csrf": {csrf}}); code != http.StatusBadRequest {
				t.Errorf("cancel without a reason: %d, want 400", code)
			}
			if _, asked, _ := env.Store.CancelRequested(ctx, running.ID); asked {
				t.Fatal("a refused cancel was recorded")
			}
			if code, _, h := b.post(runPath+"/cancel", url.Values{"csrf": {csrf}, "reason": {"wrong extract imported"}}); code != http.StatusSeeOther {
				t.Errorf("cancel: %d %s", code, h.Get("Location"))
			}
			if c, asked, err := env.Store.CancelRequested(ctx, running.ID); err != nil || !asked || c.By != "ada" || c.Reason != "wrong extract imported" {
				t.Errorf("cancel recorded: %+v %v %v, want ada's with the reason", c, asked, err)
			}

			// The schedule is paused and resumed from Tonight, recorded with
			// who and why; a viewer may do neither.
			if _, body, _ := b.get("/"); !strings.Contains(body, `id="pause-originate"`) {
				t.Errorf("Tonight has no pause button for originate")
			}
			if code, _, _ := v.post("/schedule/originate/pause", url.Values{"csrf": {vcsrf}, "reason": {"x"}}); code != http.StatusForbidden {
				t.Errorf("viewer pause: %d, want 403", code)
			}
			if code, _, _ := b.post("/schedule/originate/pause", url.Values{"csrf": {csrf}}); code != http.StatusBadRequest {
				t.Errorf("pause without a reason: %d, want 400", code)
			}
			if code, _, _ := b.post("/schedule/nojob/pause", url.Values{"csrf": {csrf}, "reason": {"x"}}); code != http.StatusNotFound {
				t.Errorf("pause of no job: %d, want 404", code)
			}
			if code, _, _ := b.post("/schedule/originate/pause", url.Values{"csrf": {csrf}, "reason": {"bank outage"}}); code != http.StatusSeeOther {
				t.Errorf("pause: %d", code)
			}
			if ps, _ := env.Store.SchedulePauses(ctx); ps["originate"].By != "ada" || ps["originate"].Reason != "bank outage" {
				t.Errorf("pauses after the console's pause: %+v", ps)
			}
			if _, body, _ := b.get("/"); !strings.Contains(body, "paused</span> by ada") || !strings.Contains(body, `id="resume-originate"`) {
				t.Errorf("Tonight does not show originate paused by ada with a resume button")
			}
			if code, _, _ := b.post("/schedule/originate/resume", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
				t.Errorf("resume: %d", code)
			}
			if ps, _ := env.Store.SchedulePauses(ctx); len(ps) != 0 {
				t.Errorf("pauses after the console's resume: %+v", ps)
			}

			// A dry run of a job for a date: a run marked dry run, its page
			// shown; a viewer may not start one, and a bad job or date is
			// refused.
			if code, _, _ := v.post("/dry-run", url.Values{"csrf": {vcsrf}, "job": {"originate"}, "date": {"2026-03-04"}}); code != http.StatusForbidden {
				t.Errorf("viewer dry run: %d, want 403", code)
			}
			for _, form := range []url.Values{{"job": {"nojob"}, "date": {"2026-03-04"}}, {"job": {"originate"}, "date": {"2026-02-30"}}} {
				form.Set("csrf", csrf)
				if code, _, _ := b.post("/dry-run", form); code != http.StatusBadRequest {
					t.Errorf("dry run %v: %d, want 400", form, code)
				}
			}
			code, _, h = b.post("/dry-run", url.Values{"csrf": {csrf}, "job": {"originate"}, "date": {"2026-03-04"}})
			var dryID int64
			if _, err := fmt.Sscanf(h.Get("Location"), "/runs/%d", &dryID); code != http.StatusSeeOther || err != nil {
				t.Fatalf("dry run: %d %q", code, h.Get("Location"))
			}
			if dr, err := env.Store.GetRun(ctx, dryID); err != nil || !dr.DryRun || dr.Job != "originate" || dr.BusinessDate != civil.MustParse("2026-03-04") || dr.TriggeredBy != "ada" {
				t.Errorf("the console's dry run: %+v %v", dr, err)
			}
			if _, body, _ := b.get(fmt.Sprintf("/runs/%d", dryID)); !strings.Contains(body, "(dry run)") {
				t.Errorf("the dry run's page does not say it is a dry run")
			}

			// Sign out ends the session on the server.
			if code, _, _ := b.post("/logout", url.Values{"csrf": {csrf}}); code != http.StatusSeeOther {
				t.Errorf("sign out: %d", code)
			}
			if code, _, _ := b.get("/"); code != http.StatusSeeOther {
				t.Errorf("GET / after sign out: %d, want a redirect to sign in", code)
			}
			audit := ledgertest.Dump(t, env.Store.DB(), `SELECT actor, action FROM audit ORDER BY id`)
			for _, want := range []string{"ada|sign in|", "ada|resolve", "ada|sign out|", "vic|sign in|"} {
				if !strings.Contains(audit, want) {
					t.Errorf("audit lacks %q:\n%s", want, audit)
				}
			}
		})
	}
}

// TestConsoleCookieSecureUnderTLS: served over TLS, the session cookie is
// Secure.
func TestConsoleCookieSecureUnderTLS(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	admin := server.NewAdmin(env, (&recorder{}).registry("originate"), server.LockerFor(env.Store), nil)
	admin.Addr = "" // httptest picks the port
	srv := httptest.NewTLSServer(admin.Handler())
	defer srv.Close()
	_, tok, _ := env.Store.AddOperator(context.Background(), "ada", ledger.RoleAdmin, "test")
	b := newBrowser(t, srv.URL)
	b.c.Transport = srv.Client().Transport
	_, body, _ := b.get("/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field:\n%s", body)
	}
	code, _, h := b.post("/login", url.Values{"csrf": {m[1]}, "token": {tok}})
	if ck := h.Get("Set-Cookie"); code != http.StatusSeeOther || !strings.Contains(ck, "Secure") || !strings.Contains(ck, "HttpOnly") {
		t.Errorf("sign in over TLS: %d, cookie %q: want Secure and HttpOnly", code, ck)
	}
}

var (
	accountLink = regexp.MustCompile(`<tr><td><a href="/accounts/([^"]+)">`)
	outboxRow   = regexp.MustCompile(`<tr id="outbox-(\d+)"><td>\d+</td><td>[^<]*</td><td><a href="/accounts/([^"]+)">`)
	pagerLink   = regexp.MustCompile(`<p class="pager"><a href="([^"]+)">`)
)

// TestConsoleListsPaginate: an account search with more hits than a page,
// and an account's email beyond its page, are paged through to the end,
// each row once.
func TestConsoleListsPaginate(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			ctx := context.Background()
			var buf bytes.Buffer
			if err := portfolio.Generate(&buf, portfolio.GenerateOptions{Accounts: 120, Seed: 5, AsOf: civil.MustParse("2026-11-30")}); err != nil {
				t.Fatal(err)
			}
			if _, err := jobs.ImportFile(ctx, env.Store, &buf, "generated.jsonl", jobs.ImportOptions{}); err != nil {
				t.Fatal(err)
			}
			// One name for every customer, so that a name search finds 120.
			if _, err := env.Store.DB().Exec(`UPDATE customers SET last_name = CASE WHEN id < (SELECT MIN(id) FROM customers) || 'x' THEN 'Pagerd' ELSE 'Pager' END`); err != nil {
				t.Fatal(err)
			}
			var acct string
			env.Store.DB().QueryRow(`SELECT MIN(id) FROM accounts`).Scan(&acct)
			for i := range 60 {
				if _, err := env.Store.DB().Exec(`INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
					VALUES ($1, 'a@example.com', 'statement_ready', $2, '{}', 'sent', $3, $3)`, fmt.Sprintf("document:%d", i), acct, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			admin := server.NewAdmin(env, (&recorder{}).registry("originate"), server.LockerFor(env.Store), nil)
			base := serveAdmin(t, admin)
			_, tok, _ := env.Store.AddOperator(ctx, "ada", ledger.RoleViewer, "test")
			b := newBrowser(t, base)
			b.signIn(tok)

			// follow reads every page from path on, collecting rows.
			follow := func(path string, row *regexp.Regexp) ([][]string, int) {
				var rows [][]string
				pages := 0
				for path != "" && pages < 10 {
					code, body, _ := b.get(path)
					if code != http.StatusOK {
						t.Fatalf("GET %s: %d\n%s", path, code, body)
					}
					pages++
					rows = append(rows, row.FindAllStringSubmatch(body, -1)...)
					path = ""
					if m := pagerLink.FindStringSubmatch(body); m != nil {
						path = strings.ReplaceAll(m[1], "&amp;", "&")
					}
				}
				return rows, pages
			}
			rows, pages := follow("/accounts?q=pager", accountLink)
			seen := map[string]bool{}
			for _, r := range rows {
				seen[r[1]] = true
			}
			if len(rows) != 120 || len(seen) != 120 || pages != 3 {
				t.Errorf("search pager: %d rows (%d accounts) in %d pages, want 120 accounts once each in 3 pages", len(rows), len(seen), pages)
			}

			code, body, _ := b.get("/accounts/" + acct)
			m := pagerLink.FindAllStringSubmatch(body, -1)
			var more string
			for _, l := range m {
				if strings.Contains(l[1], "/outbox?") {
					more = strings.ReplaceAll(l[1], "&amp;", "&")
				}
			}
			if code != http.StatusOK || more == "" || strings.Count(body, "<td>a@example.com</td>") != 50 {
				t.Fatalf("account %s: %d, %d emails listed, link to the older ones %q: want 50 and a link", acct, code, strings.Count(body, "<td>a@example.com</td>"), more)
			}
			rest, _ := follow(more, outboxRow)
			ids := map[string]bool{}
			for _, r := range rest {
				if r[2] != acct {
					t.Errorf("older email of %s lists outbox %s of %s", acct, r[1], r[2])
				}
				ids[r[1]] = true
			}
			if len(rest) != 10 || len(ids) != 10 {
				t.Errorf("older email of %s: %d rows (%d distinct), want the 10 beyond the account page's 50", acct, len(rest), len(ids))
			}
		})
	}
}

// TestConsoleRunGroupsBounded: a run with more failed items than its page
// groups says how many of them the groups count.
func TestConsoleRunGroupsBounded(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			ctx := context.Background()
			run, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "schedule", Owner: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.DB().Exec(`INSERT INTO run_items (run_id, item, status, error)
				WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10005)
				SELECT $1, 'ACC-' || CAST(100000 + i AS TEXT) || ' 2026-11', 'failed', 'store ACC-' || CAST(100000 + i AS TEXT) || ': 503 SlowDown' FROM n`, run.ID); err != nil {
				t.Fatal(err)
			}
			admin := server.NewAdmin(env, (&recorder{}).registry("statements"), server.LockerFor(env.Store), nil)
			base := serveAdmin(t, admin)
			_, tok, _ := env.Store.AddOperator(ctx, "vic", ledger.RoleViewer, "test")
			b := newBrowser(t, base)
			b.signIn(tok)
			code, body, _ := b.get(fmt.Sprintf("/runs/%d", run.ID))
			if code != http.StatusOK || !strings.Contains(body, "the first 10000 only, in item order") ||
				!strings.Contains(body, "<tr><td>10000</td><td>ACC-100001 2026-11</td><td>ACC-110000 2026-11</td><td class=\"wrap\">store &lt;account&gt;: 503 SlowDown</td></tr>") {
				t.Errorf("run %d with 10,005 failed items: %d\n%s", run.ID, code, body)
			}
		})
	}
}
