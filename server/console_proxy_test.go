package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// headerTransport sends every request with the proxy's header, as an
// authenticating proxy in front of the console would (or as anyone can).
type headerTransport struct {
	name   string
	values []string
	extra  http.Header
}

func (h *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for _, v := range h.values {
		r.Header.Add(h.name, v)
	}
	for k, vs := range h.extra {
		r.Header[k] = vs
	}
	return http.DefaultTransport.RoundTrip(r)
}

// viaProxy is a browser whose requests carry header: values.
func viaProxy(t *testing.T, base, header string, values ...string) (*browser, *headerTransport) {
	b := newBrowser(t, base)
	ht := &headerTransport{name: header, values: values}
	b.c.Transport = ht
	return b, ht
}

// TestConsoleProxyHeader: behind an authenticating proxy, the configured
// header names the operator: honoured only from the configured proxy
// addresses, only for an enabled operator, with that operator's role, and
// audited under that name; the same header from anywhere else, or with no
// header configured, signs no one in.
func TestConsoleProxyHeader(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			// The test's client connects from 127.0.0.1: the proxy.
			env := testEnv(t, dialect, map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "X-Forwarded-User", "DRAFTER_CONSOLE_PROXY_FROM": "10.0.0.5,127.0.0.1"})
			admin := server.NewAdmin(env, (&recorder{}).registry("originate"), server.LockerFor(env.Store), nil)
			base := serveAdmin(t, admin)
			ctx := context.Background()
			for _, o := range []struct{ name, role string }{{"olive", ledger.RoleOperator}, {"vic", ledger.RoleViewer}, {"dora", ledger.RoleAdmin}} {
				if _, _, err := env.Store.AddOperator(ctx, o.name, o.role, "test"); err != nil {
					t.Fatal(err)
				}
			}
			if err := env.Store.SetOperatorStatus(ctx, "dora", ledger.OperatorDisabled, "test"); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.AddExceptions(ctx, []ledger.Exception{{Kind: "return_unmatched", Reference: "trace 091000010000001", Detail: "R03 for no payment"}}); err != nil {
				t.Fatal(err)
			}

			// An operator named by the proxy: signed in, its role applies,
			// its actions are audited under its name; one sign-in, then the
			// session's cookie.
			b, ht := viaProxy(t, base, "X-Forwarded-User", "olive")
			code, body, h := b.get("/exceptions")
			if code != http.StatusOK || !strings.Contains(body, "Signed in as <strong>olive</strong> (operator)") {
				t.Fatalf("GET /exceptions as olive through the proxy: %d\n%s", code, body)
			}
			if ck := h.Get("Set-Cookie"); !strings.Contains(ck, server.SessionCookie) || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") {
				t.Errorf("session cookie %q", ck)
			}
			m := csrfField.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no CSRF field:\n%s", body)
			}
			if code, _, h := b.post("/exceptions/resolve", url.Values{"csrf": {m[1]}, "id": {"1"}, "note": {"bank called back"}}); code != http.StatusSeeOther {
				t.Errorf("resolve as olive: %d %s", code, h.Get("Location"))
			}
			if code, _, _ := b.get("/"); code != http.StatusOK {
				t.Errorf("GET / again as olive: %d", code)
			}
			audit := ledgertest.Dump(t, env.Store.DB(), `SELECT actor, action FROM audit WHERE actor <> 'test' ORDER BY id`)
			if want := "olive|sign in|\nolive|resolve exception|\n--\n"; audit != want {
				t.Errorf("audit:\n%s\nwant:\n%s", audit, want)
			}

			// The proxy names someone else on the same browser: the old
			// session ends, the new operator's role applies (a viewer's
			// POST is refused).
			ht.values = []string{"vic"}
			code, body, _ = b.get("/exceptions")
			if code != http.StatusOK || !strings.Contains(body, "Signed in as <strong>vic</strong> (viewer)") {
				t.Fatalf("GET /exceptions as vic through the proxy: %d\n%s", code, body)
			}
			m = csrfField.FindStringSubmatch(body)
			if code, _, _ := b.post("/exceptions/resolve", url.Values{"csrf": {m[1]}, "id": {"1"}, "note": {"x"}}); code != http.StatusForbidden {
				t.Errorf("resolve as the viewer vic: %d, want 403", code)
			}
			if n := count(t, env, `SELECT COUNT(*) FROM console_sessions s JOIN operators o ON o.id = s.operator_id WHERE o.name = 'olive'`); n != 0 {
				t.Errorf("olive's sessions after the proxy named vic: %d", n)
			}

			// The proxy says the browser came over HTTPS: the cookie is
			// Secure.
			sb, sht := viaProxy(t, base, "X-Forwarded-User", "olive")
			sht.extra = http.Header{"X-Forwarded-Proto": {"https"}}
			if code, _, h := sb.get("/"); code != http.StatusOK || !strings.Contains(h.Get("Set-Cookie"), "Secure") {
				t.Errorf("GET / through the proxy over HTTPS: %d, cookie %q, want Secure", code, h.Get("Set-Cookie"))
			}

			// Unknown, disabled, empty or doubled names are refused: no
			// session, no page.
			for _, names := range [][]string{{"mallory"}, {"dora"}, {""}, {"olive", "vic"}, {"olive; DROP TABLE operators"}} {
				nb, _ := viaProxy(t, base, "X-Forwarded-User", names...)
				code, body, h := nb.get("/")
				if code != http.StatusForbidden || !strings.Contains(body, "not an enabled drafter operator") || h.Get("Set-Cookie") != "" {
					t.Errorf("GET / as %q through the proxy: %d %q cookie %q, want 403 and no session", names, code, body, h.Get("Set-Cookie"))
				}
				if code, _, _ := nb.post("/exceptions/resolve", url.Values{"csrf": {"x"}, "id": {"1"}, "note": {"x"}}); code != http.StatusForbidden {
					t.Errorf("POST as %q through the proxy: %d, want 403", names, code)
				}
			}
			if n := count(t, env, `SELECT COUNT(*) FROM audit WHERE actor IN ('mallory', 'dora')`); n != 0 {
				t.Errorf("audit rows of refused names: %d", n)
			}
		})
	}

	// The same header, spoofed: from an address that is not the proxy's,
	// or to a console with no proxy configured, it signs no one in.
	for name, settings := range map[string]map[string]string{
		"not from the proxy": {"DRAFTER_CONSOLE_PROXY_HEADER": "X-Forwarded-User", "DRAFTER_CONSOLE_PROXY_FROM": "10.0.0.5,192.168.0.0/16"},
		"no proxy":           nil,
	} {
		t.Run(name, func(t *testing.T) {
			env := testEnv(t, "sqlite", settings)
			admin := server.NewAdmin(env, (&recorder{}).registry("originate"), server.LockerFor(env.Store), nil)
			base := serveAdmin(t, admin)
			if _, _, err := env.Store.AddOperator(context.Background(), "olive", ledger.RoleAdmin, "test"); err != nil {
				t.Fatal(err)
			}
			b, ht := viaProxy(t, base, "X-Forwarded-User", "olive")
			ht.extra = http.Header{"X-Forwarded-Proto": {"https"}}
			if code, _, h := b.get("/"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") || h.Get("Set-Cookie") != "" {
				t.Errorf("GET / with a spoofed header: %d %s cookie %q, want a redirect to sign in and no session", code, h.Get("Location"), h.Get("Set-Cookie"))
			}
			// Nor is its X-Forwarded-Proto: the sign-in form's cookie is not
			// Secure over plain HTTP.
			if code, _, h := b.get("/login"); code != http.StatusOK || strings.Contains(h.Get("Set-Cookie"), "Secure") {
				t.Errorf("GET /login with a spoofed X-Forwarded-Proto: %d, cookie %q, want one without Secure", code, h.Get("Set-Cookie"))
			}
			if code, _, _ := b.post("/operators", url.Values{"name": {"eve"}, "role": {"admin"}}); code != http.StatusForbidden {
				t.Errorf("POST /operators with a spoofed header: %d, want 403", code)
			}
			if n := count(t, env, `SELECT COUNT(*) FROM console_sessions`); n != 0 {
				t.Errorf("sessions after a spoofed header: %d", n)
			}
		})
	}
}

func count(t *testing.T, env *jobs.Env, q string) int {
	t.Helper()
	var n int
	if err := env.Store.DB().QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}
