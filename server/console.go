package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// The operations console: server-rendered pages at / for the people who
// run the nights. It signs operators in with their token and keeps a
// session (a cookie naming a row of console_sessions), checks a CSRF token
// on every form, and acts through the same code as the API and the CLI.

//go:embed console
var consoleFiles embed.FS

// Session cookie and limits.
const (
	SessionCookie = "drafter_session"
	loginCookie   = "drafter_login"
	// SessionTTL is how long a session lives at most; SessionIdle how long
	// it lives without a request.
	SessionTTL  = 12 * time.Hour
	SessionIdle = 30 * time.Minute
	pageSize    = 50
)

// contentSecurityPolicy allows only this server's own scripts, styles and
// images: no inline script, no framing, forms post only here.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type console struct {
	a     *Admin
	pages map[string]*template.Template
}

func newConsole(a *Admin) *console {
	c := &console{a: a, pages: map[string]*template.Template{}}
	base := template.Must(template.New("layout.html").Funcs(consoleFuncs).ParseFS(consoleFiles, "console/layout.html"))
	names, err := fs.Glob(consoleFiles, "console/page_*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		t := template.Must(template.Must(base.Clone()).ParseFS(consoleFiles, n))
		c.pages[strings.TrimSuffix(strings.TrimPrefix(n, "console/page_"), ".html")] = t
	}
	return c
}

// routes adds the console's routes to mux.
func (c *console) routes(mux *http.ServeMux) {
	static, _ := fs.Sub(consoleFiles, "console/static")
	mux.Handle("GET /static/", c.headers(http.StripPrefix("/static/", http.FileServerFS(static))))
	mux.Handle("GET /login", c.headers(http.HandlerFunc(c.loginPage)))
	mux.Handle("POST /login", c.headers(http.HandlerFunc(c.login)))
	mux.Handle("POST /logout", c.act(ledger.RoleViewer, c.logout))

	mux.Handle("GET /{$}", c.view(c.tonight))
	mux.Handle("GET /runs/{id}", c.view(c.runPage))
	mux.Handle("POST /schedule/{job}/pause", c.act(ledger.RoleOperator, c.pauseSchedule))
	mux.Handle("POST /dry-run", c.act(ledger.RoleOperator, c.dryRun))
	mux.Handle("POST /schedule/{job}/resume", c.act(ledger.RoleOperator, c.resumeSchedule))
	mux.Handle("POST /runs/{id}/resume", c.act(ledger.RoleOperator, c.resume))
	mux.Handle("POST /runs/{id}/rerun", c.act(ledger.RoleOperator, c.rerunRun))
	mux.Handle("POST /runs/{id}/cancel", c.act(ledger.RoleOperator, c.cancel))
	mux.Handle("GET /exceptions", c.view(c.exceptionsPage))
	mux.Handle("POST /exceptions/resolve", c.act(ledger.RoleOperator, c.resolve))
	mux.Handle("GET /returns", c.view(c.returnsPage))
	mux.Handle("GET /files", c.view(c.filesPage))
	mux.Handle("GET /files/{id}/download", c.view(c.download))
	mux.Handle("GET /accounts", c.view(c.accountsPage))
	mux.Handle("GET /accounts/{id}", c.view(c.accountPage))
	mux.Handle("GET /documents/{id}", c.view(c.document))
	mux.Handle("GET /outbox", c.view(c.outboxPage))
	mux.Handle("POST /outbox/{id}/retry", c.act(ledger.RoleOperator, c.retry))
	mux.Handle("POST /outbox/{id}/resend", c.act(ledger.RoleOperator, c.resend))
	mux.Handle("GET /operators", c.view(c.operatorsPage))
	mux.Handle("POST /operators", c.act(ledger.RoleAdmin, c.addOperator))
	mux.Handle("POST /operators/{name}/{verb}", c.act(ledger.RoleAdmin, c.changeOperator))
}

// headers sets the console's security headers on every response.
func (c *console) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// page is what every page template gets.
type page struct {
	Title   string
	Nav     string
	Op      ledger.Operator
	CSRF    string
	CanAct  bool
	IsAdmin bool
	Flash   string
	Error   string
	// Refresh: the page reloads its main part every few seconds (a run
	// that is running).
	Refresh bool
	Path    string
	Data    any
}

type sessionKey struct{}

type request struct {
	w    http.ResponseWriter
	r    *http.Request
	sess ledger.Session
	c    *console
}

// session returns the request's live session, or false.
func (c *console) session(r *http.Request) (ledger.Session, bool) {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return ledger.Session{}, false
	}
	s, err := c.a.Env.Store.SessionByID(r.Context(), ck.Value, c.idle())
	if err != nil {
		if !errors.Is(err, ledger.ErrNoSession) {
			c.a.Log.Error().Err(err).Msg("console session")
		}
		return ledger.Session{}, false
	}
	return s, true
}

// signedIn returns the request's session: the one its cookie names, or,
// behind a trusted authenticating proxy, one of the operator the proxy's
// header names, begun (and set as the cookie) when the cookie names none
// or another operator. The header is believed only from the configured
// proxy addresses; from anywhere else it is ignored, as if absent. An
// error refuses the request: the proxy named no enabled operator.
func (c *console) signedIn(w http.ResponseWriter, r *http.Request) (ledger.Session, bool, error) {
	s, ok := c.session(r)
	name, proxied := c.proxyOperator(r)
	if !proxied || (ok && s.Operator.Name == name) {
		return s, ok, nil
	}
	ctx := r.Context()
	// A name no operator can have is not looked up.
	op, err := ledger.Operator{}, ledger.CheckOperatorName(name)
	if err == nil {
		op, err = c.a.Env.Store.OperatorByName(ctx, name)
	} else {
		err = ledger.ErrNotFound
	}
	if errors.Is(err, ledger.ErrNotFound) || (err == nil && op.Status != ledger.OperatorActive) {
		c.a.Log.Warn().Str("header", c.a.ProxyHeader).Str("remote", r.RemoteAddr).Msg("console: the proxy named no enabled operator; refused")
		return ledger.Session{}, false, refuse(http.StatusForbidden, "the proxy signed in %q, who is not an enabled drafter operator: an admin adds it "+
			"(drafter operators add NAME --role viewer) or enables it, with exactly the name the proxy sends in %s", name, c.a.ProxyHeader)
	}
	if err != nil {
		return ledger.Session{}, false, err
	}
	if ok {
		// The proxy now names someone else: the old operator's session ends.
		ck, _ := r.Cookie(SessionCookie)
		if err := c.a.Env.Store.EndSession(ctx, ck.Value); err != nil {
			return ledger.Session{}, false, err
		}
	}
	id, sess, err := c.a.Env.Store.BeginSession(ctx, op, c.ttl())
	if err != nil {
		return ledger.Session{}, false, err
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(c.ttl().Seconds())})
	c.a.Log.Info().Str("operator", op.Name).Str("role", op.Role).Str("header", c.a.ProxyHeader).Msg("console sign in by the proxy")
	return sess, true, nil
}

// proxyOperator returns the operator name in the trusted proxy header, and
// whether the request carries one the console believes: the header is
// configured and the connection comes from the proxy. More than one
// value names no one ("" is refused as a name).
func (c *console) proxyOperator(r *http.Request) (string, bool) {
	if c.a.ProxyHeader == "" {
		return "", false
	}
	vals := r.Header.Values(c.a.ProxyHeader)
	if len(vals) == 0 {
		return "", false
	}
	if !c.viaProxy(r) {
		// Anyone can send the header; only the proxy's is believed.
		c.a.Log.Warn().Str("header", c.a.ProxyHeader).Str("remote", r.RemoteAddr).Msg("console: proxy header from an address not in DRAFTER_CONSOLE_PROXY_FROM; ignored")
		return "", false
	}
	if len(vals) > 1 {
		return "", true
	}
	return strings.TrimSpace(vals[0]), true
}

// viaProxy reports whether the request came through the configured
// authenticating proxy, whose headers are believed.
func (c *console) viaProxy(r *http.Request) bool {
	return c.a.ProxyHeader != "" && (c.a.ProxyAny || c.fromProxy(r.RemoteAddr))
}

func (c *console) fromProxy(remote string) bool {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return false
	}
	addr := ap.Addr().Unmap()
	for _, p := range c.a.ProxyFrom {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func (c *console) ttl() time.Duration {
	if c.a.SessionTTL > 0 {
		return c.a.SessionTTL
	}
	return SessionTTL
}

func (c *console) idle() time.Duration {
	if c.a.SessionIdle > 0 {
		return c.a.SessionIdle
	}
	return SessionIdle
}

// view serves a page to a signed-in operator; without a session it sends
// the browser to sign in.
func (c *console) view(fn func(*request) error) http.Handler {
	return c.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok, err := c.signedIn(w, r)
		if err != nil {
			code, msg := c.a.status(err)
			http.Error(w, msg, code)
			return
		}
		if !ok {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		c.run(w, r, s, fn)
	}))
}

// act serves a form post: a live session, the session's CSRF token in the
// form, and at least role; else 403 and nothing is done.
func (c *console) act(role string, fn func(*request) error) http.Handler {
	return c.headers(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		s, ok, err := c.signedIn(w, r)
		if err != nil {
			code, msg := c.a.status(err)
			http.Error(w, msg, code)
			return
		}
		if !ok {
			http.Error(w, "not signed in: sign in at /login", http.StatusForbidden)
			return
		}
		got := r.PostFormValue("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
			http.Error(w, "the form's CSRF token is missing or wrong: reload the page and try again", http.StatusForbidden)
			return
		}
		if !s.Operator.Can(role) {
			http.Error(w, fmt.Sprintf("operator %s has role %s: this needs role %s", s.Operator.Name, s.Operator.Role, role), http.StatusForbidden)
			return
		}
		c.run(w, r, s, fn)
	}))
}

func (c *console) run(w http.ResponseWriter, r *http.Request, s ledger.Session, fn func(*request) error) {
	r = r.WithContext(withOperator(context.WithValue(r.Context(), sessionKey{}, s), s.Operator))
	if err := fn(&request{w: w, r: r, sess: s, c: c}); err != nil {
		code, msg := c.a.status(err)
		c.render(&request{w: w, r: r, sess: s, c: c}, code, "error", page{Title: "Error", Error: msg})
	}
}

// render executes a page template into a buffer, then writes it.
func (c *console) render(q *request, code int, name string, p page) {
	if q.sess.CSRF != "" {
		p.Op, p.CSRF = q.sess.Operator, q.sess.CSRF
	}
	p.CanAct, p.IsAdmin = q.sess.Operator.Can(ledger.RoleOperator), q.sess.Operator.Can(ledger.RoleAdmin)
	p.Path = q.r.URL.RequestURI()
	if p.Flash == "" {
		p.Flash = q.r.URL.Query().Get("flash")
	}
	t, ok := c.pages[name]
	if !ok {
		panic("no console page " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		c.a.Log.Error().Err(err).Str("page", name).Msg("console template")
		http.Error(q.w, "the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(code)
	_, _ = buf.WriteTo(q.w)
}

// done sends the browser back to a page after an action, with a message.
func (q *request) done(to, flash string) error {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(q.w, q.r, to+sep+"flash="+url.QueryEscape(flash), http.StatusSeeOther)
	return nil
}

func (q *request) who() string { return q.sess.Operator.Name }

func (q *request) id(name string) (int64, error) {
	id, err := strconv.ParseInt(q.r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, refuse(http.StatusBadRequest, "want a number for %s, got %q", name, q.r.PathValue(name))
	}
	return id, nil
}

// secure reports whether cookies must be Secure: under TLS, when the
// server says it is behind TLS, or when the trusted proxy says the
// browser reached it over HTTPS (X-Forwarded-Proto).
func (c *console) secure(r *http.Request) bool {
	return r.TLS != nil || c.a.SecureCookies || (c.viaProxy(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))
}

func (c *console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok, _ := c.signedIn(w, r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.showLogin(w, r, http.StatusOK, "")
}

func (c *console) showLogin(w http.ResponseWriter, r *http.Request, code int, msg string) {
	// A login form has no session yet: its CSRF token is a cookie it must
	// echo (double submit), so another site cannot sign a browser in.
	tok, _ := ledger.NewToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: 600})
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	c.render(&request{w: w, r: r, c: c}, code, "login", page{Title: "Sign in", CSRF: tok, Error: msg, Data: map[string]string{"Next": next}})
}

func (c *console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	ck, err := r.Cookie(loginCookie)
	got := r.PostFormValue("csrf")
	if err != nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ck.Value)) != 1 {
		http.Error(w, "the form's CSRF token is missing or wrong: reload the sign-in page and try again", http.StatusForbidden)
		return
	}
	op, err := c.a.Authenticate(r.Context(), strings.TrimSpace(r.PostFormValue("token")))
	if err != nil {
		if !errors.Is(err, ledger.ErrBadToken) {
			c.a.Log.Error().Err(err).Msg("console sign in")
		}
		c.showLogin(w, r, http.StatusUnauthorized, "That token signs no one in: check it, or ask an admin for a new one (drafter operators rotate NAME).")
		return
	}
	if op.ID == 0 {
		// The bootstrap token has no row to hang a session on: it is for
		// the API and for adding the first operators.
		c.showLogin(w, r, http.StatusUnauthorized, "DRAFTER_ADMIN_TOKEN is the API's bootstrap credential: add a named operator (drafter operators add NAME --role admin) and sign in with its token.")
		return
	}
	ttl := c.ttl()
	id, _, err := c.a.Env.Store.BeginSession(r.Context(), op, ttl)
	if err != nil {
		c.a.Log.Error().Err(err).Msg("console sign in")
		http.Error(w, "could not sign in: "+err.Error(), http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, Secure: c.secure(r),
		SameSite: http.SameSiteStrictMode, MaxAge: int(ttl.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: "/login", MaxAge: -1})
	c.a.Log.Info().Str("operator", op.Name).Str("role", op.Role).Msg("console sign in")
	next := r.PostFormValue("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *console) logout(q *request) error {
	if ck, err := q.r.Cookie(SessionCookie); err == nil {
		if err := c.a.Env.Store.EndSession(q.r.Context(), ck.Value); err != nil {
			return err
		}
	}
	_ = c.a.Env.Store.Audit(q.r.Context(), q.who(), "sign out", "console", "")
	http.SetCookie(q.w, &http.Cookie{Name: SessionCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: c.secure(q.r), SameSite: http.SameSiteStrictMode})
	http.Redirect(q.w, q.r, "/login", http.StatusSeeOther)
	return nil
}
