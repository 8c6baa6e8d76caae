package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// BootstrapOperator is the operator name audited for a request made with
// DRAFTER_ADMIN_TOKEN, the bootstrap admin (named operators have their own
// tokens: `drafter operators add`).
const BootstrapOperator = "admin-token"

// Admin is the admin HTTP API: health, readiness, metrics, the run ledger,
// and starting and rerunning runs. Runs it starts go on in the background
// under RunContext.
type Admin struct {
	Env     *jobs.Env
	Jobs    jobs.Registry
	Locker  Locker
	Metrics *Metrics
	// Token is the bearer token every /api and /metrics request must
	// carry. Empty: the read-only endpoints answer without it (CheckListen
	// then allows loopback only) and every state-changing request is
	// refused: the write API is off.
	Token string
	// Addr is the configured admin address (host:port). Requests whose
	// Host header names another host are refused (DNS rebinding), unless
	// Addr listens on every interface (0.0.0.0, ::), where a token is
	// required anyway. Empty: no Host check.
	Addr string
	// Origins are the browser origins (scheme://host[:port]) allowed to
	// call the API; a request carrying any other Origin is refused.
	Origins []string
	Log     zerolog.Logger
	// RunContext is the context of the runs the API starts (serve cancels
	// it after the shutdown grace).
	RunContext context.Context
	// Schedule, when set, gives the console its next fire times and the
	// dates a job should have run.
	Schedule *Scheduler
	// SessionTTL and SessionIdle bound a console session (0: SessionTTL,
	// SessionIdle); SecureCookies marks its cookie Secure even without TLS
	// on this connection (a TLS-terminating proxy in front).
	SessionTTL, SessionIdle time.Duration
	SecureCookies           bool
	// ProxyHeader, when set, is the header an authenticating proxy names
	// the console's operator in (DRAFTER_CONSOLE_PROXY_HEADER). It is
	// believed only on connections from ProxyFrom, or from anyone when
	// ProxyAny; elsewhere it is ignored. The API still takes bearer
	// tokens only.
	ProxyHeader string
	ProxyFrom   []netip.Prefix
	ProxyAny    bool

	wg sync.WaitGroup
}

// NewAdmin returns the admin API over env.
func NewAdmin(env *jobs.Env, reg jobs.Registry, locker Locker, metrics *Metrics) *Admin {
	return &Admin{Env: env, Jobs: reg, Locker: locker, Metrics: metrics, Token: env.Config.AdminToken, Log: env.Log,
		Addr: env.Config.AdminAddr, Origins: env.Config.AdminOrigins, RunContext: context.Background(),
		ProxyHeader: env.Config.ConsoleProxyHeader, ProxyFrom: env.Config.ConsoleProxyFrom, ProxyAny: env.Config.ConsoleProxyAny}
}

// MinTokenLength is the shortest admin token drafter accepts.
const MinTokenLength = config.MinAdminTokenLength

// CheckListen refuses to serve the API on a non-loopback address without
// a token.
func CheckListen(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &config.Error{Setting: "DRAFTER_ADMIN_ADDR", Value: addr, Want: "HOST:PORT such as 127.0.0.1:8080"}
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return &config.Error{Setting: "DRAFTER_ADMIN_TOKEN", Want: fmt.Sprintf("a bearer token to serve the admin API on %s, which is not a loopback address (or set DRAFTER_ADMIN_ADDR to 127.0.0.1:PORT)", addr)}
}

// Handler returns the API's routes, behind the Host and Origin checks.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.ready)
	if a.Metrics != nil {
		mux.Handle("GET /metrics", a.auth(promhttp.HandlerFor(a.Metrics.Registry, promhttp.HandlerOpts{})))
	}
	mux.Handle("GET /api/v1/runs", a.auth(http.HandlerFunc(a.listRuns)))
	mux.Handle("GET /api/v1/runs/{id}", a.auth(http.HandlerFunc(a.showRun)))
	mux.Handle("POST /api/v1/runs", a.write(http.HandlerFunc(a.startRun)))
	mux.Handle("POST /api/v1/runs/{id}/rerun", a.write(http.HandlerFunc(a.rerun)))
	mux.Handle("POST /api/v1/runs/{id}/restart", a.write(http.HandlerFunc(a.restart)))
	mux.Handle("POST /api/v1/runs/{id}/cancel", a.write(http.HandlerFunc(a.cancel)))
	newConsole(a).routes(mux)
	return a.guard(mux)
}

// Server limits of the admin API: a slow or idle client cannot hold a
// connection (or a file descriptor) for long, and at most MaxConns
// connections are open at once, so clients cannot use up the process's open
// files that its runs need.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	WriteTimeout      = 60 * time.Second
	IdleTimeout       = 60 * time.Second
	MaxConns          = 64
)

// Server returns the HTTP server of the API, with its timeouts. Serve it on
// a listener wrapped by LimitListener.
func (a *Admin) Server() *http.Server {
	return &http.Server{Handler: a.Handler(), ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: stdLogger(a.Log)}
}

// guard refuses requests whose Host is not the admin address (a DNS
// rebinding page reaches a loopback server under its own name) and
// requests from browser origins not allowed (a page in the operator's
// browser).
func (a *Admin) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hostAllowed(r.Host) {
			writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("Host %q is not this server's admin address (DRAFTER_ADMIN_ADDR=%s): call it by that address", r.Host, a.Addr))
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !a.originAllowed(o) && !sameOrigin(r, o) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("Origin %q is not allowed: list it in DRAFTER_ADMIN_ORIGINS to call the API from a browser page", o))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Admin) hostAllowed(hostHeader string) bool {
	if a.Addr == "" {
		return true
	}
	ah, ap, err := net.SplitHostPort(a.Addr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(ah); ah == "" || (ip != nil && ip.IsUnspecified()) {
		// Every interface: any name may reach it, and every endpoint but
		// the health checks needs the token (CheckListen).
		return true
	}
	h, p, err := net.SplitHostPort(hostHeader)
	if err != nil {
		h, p = hostHeader, "80"
	}
	if p != ap {
		return false
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if strings.EqualFold(h, ah) {
		return true
	}
	if isLoopback(ah) {
		return h == "localhost" || (net.ParseIP(h) != nil && net.ParseIP(h).IsLoopback())
	}
	hip, aip := net.ParseIP(h), net.ParseIP(ah)
	return hip != nil && aip != nil && hip.Equal(aip)
}

func (a *Admin) originAllowed(origin string) bool {
	for _, o := range a.Origins {
		if strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a browser's Origin is this server as the
// request reached it (the console's own forms); the Host was checked first.
func sameOrigin(r *http.Request, origin string) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return strings.EqualFold(origin, scheme+r.Host)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// write guards a state-changing endpoint: an operator's credential (role
// operator or admin) is required, and the body must be declared JSON (a
// browser sends text/plain and form bodies cross-origin without asking;
// application/json it must ask for).
func (a *Admin) write(next http.Handler) http.Handler {
	authed := a.authAs(ledger.RoleOperator, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: want application/json", r.Header.Get("Content-Type")))
			return
		}
		next.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := bearer(r.Header.Get("Authorization")); !ok && a.Token == "" {
			writeError(w, http.StatusForbidden, fmt.Sprintf("the write API is off: no DRAFTER_ADMIN_TOKEN is set and no operator token was given; call with Authorization: Bearer TOKEN, a token from `drafter operators add NAME --role operator`, or set DRAFTER_ADMIN_TOKEN to a random token of at least %d characters (such as the output of `openssl rand -hex 32`)", MinTokenLength))
			return
		}
		authed.ServeHTTP(w, r)
	})
}

// Wait waits for the runs the API started.
func (a *Admin) Wait() { a.wg.Wait() }

type operatorKey struct{}

// anonymous is the identity of a read without a token, allowed only when
// no DRAFTER_ADMIN_TOKEN is set (CheckListen then serves loopback only).
var anonymous = ledger.Operator{Name: "anonymous", Role: ledger.RoleViewer, Status: ledger.OperatorActive}

// Operator returns the operator a request was authenticated as: the name
// every action audits comes from the credential, never from a header.
func Operator(ctx context.Context) (ledger.Operator, bool) {
	o, ok := ctx.Value(operatorKey{}).(ledger.Operator)
	return o, ok
}

func withOperator(ctx context.Context, o ledger.Operator) context.Context {
	return context.WithValue(ctx, operatorKey{}, o)
}

// Authenticate returns the operator whose token this is: the bootstrap
// admin for DRAFTER_ADMIN_TOKEN, else an active named operator.
func (a *Admin) Authenticate(ctx context.Context, token string) (ledger.Operator, error) {
	if a.Token != "" && tokenEqual(token, a.Token) {
		return ledger.Operator{Name: BootstrapOperator, Role: ledger.RoleAdmin, Status: ledger.OperatorActive}, nil
	}
	if len(token) < MinTokenLength {
		return ledger.Operator{}, ledger.ErrBadToken
	}
	return a.Env.Store.OperatorByToken(ctx, token)
}

func (a *Admin) auth(next http.Handler) http.Handler { return a.authAs(ledger.RoleViewer, next) }

// authAs requires a bearer token of an operator with at least role. A read
// (role viewer) without any token is served only when no DRAFTER_ADMIN_TOKEN
// is set.
func (a *Admin) authAs(role string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := bearer(r.Header.Get("Authorization"))
		if !ok && r.Header.Get("Authorization") == "" && a.Token == "" && role == ledger.RoleViewer {
			next.ServeHTTP(w, r.WithContext(withOperator(r.Context(), anonymous)))
			return
		}
		var op ledger.Operator
		err := ledger.ErrBadToken
		if ok {
			op, err = a.Authenticate(r.Context(), got)
		}
		if err != nil {
			if !errors.Is(err, ledger.ErrBadToken) {
				a.fail(w, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="drafter"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token (Authorization: Bearer TOKEN, with DRAFTER_ADMIN_TOKEN or an operator's token from `drafter operators add`)")
			return
		}
		if !op.Can(role) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("operator %s has role %s: this needs role %s", op.Name, op.Role, role))
			return
		}
		next.ServeHTTP(w, r.WithContext(withOperator(r.Context(), op)))
	})
}

// bearer returns the token of an Authorization header of the Bearer scheme,
// whose name is case-insensitive (RFC 9110, 11.1).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// ready checks the dependencies. Without the token (and with none
// configured) it says only ok or failing per dependency: errors name
// database users, hosts and buckets. With the token it gives the errors.
func (a *Admin) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	tok, _ := bearer(r.Header.Get("Authorization"))
	detail := a.Token != "" && tokenEqual(tok, a.Token)
	checks := map[string]string{"database": "ok", "storage": "ok"}
	code := http.StatusOK
	failed := func(name string, err error) {
		code = http.StatusServiceUnavailable
		checks[name] = "failing"
		if detail {
			checks[name] = "failing: " + err.Error()
		}
		a.Log.Warn().Err(err).Str("dependency", name).Msg("readyz")
	}
	if err := a.Env.Store.Ping(ctx); err != nil {
		failed("database", err)
	}
	if _, err := a.Env.Docs.Stat(ctx, "readyz/probe"); err != nil && !errors.Is(err, storage.ErrNotFound) {
		failed("storage", err)
	}
	writeJSON(w, code, checks)
}

func tokenEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

func (a *Admin) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ledger.RunFilter{Job: q.Get("job"), Status: q.Get("status")}
	if f.Status != "" && !slices.Contains(ledger.RunStatuses, f.Status) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("status %q: want one of %s", f.Status, strings.Join(ledger.RunStatuses, ", ")))
		return
	}
	if _, ok := a.Jobs[f.Job]; f.Job != "" && !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("job %q: want one of %s", f.Job, strings.Join(a.Jobs.Names(), ", ")))
		return
	}
	if s := q.Get("date"); s != "" {
		d, err := civil.Parse(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "date: "+err.Error())
			return
		}
		f.Date = d
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: want a whole number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	runs, err := a.Env.Store.ListRuns(r.Context(), f)
	if err != nil {
		a.fail(w, err)
		return
	}
	if runs == nil {
		runs = []ledger.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// RunDetail is a run with its failed items, chunks, timeline and the
// cancel asked for it while it runs (live counts while it runs).
type RunDetail = ledger.RunDetail

func (a *Admin) showRun(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	det, err := a.Env.Store.RunDetails(r.Context(), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, det)
}

// StartRequest is the body of POST /api/v1/runs.
type StartRequest struct {
	Job    string `json:"job"`
	Date   string `json:"date"`
	DryRun bool   `json:"dry_run"`
	Scope  string `json:"scope"`
	Reason string `json:"reason"`
}

// RerunRequest is the body of POST /api/v1/runs/{id}/rerun.
type RerunRequest struct {
	Reason  string `json:"reason"`
	Account string `json:"account"`
}

func (a *Admin) startRun(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if !decode(w, r, &req) {
		return
	}
	job, ok := a.Jobs[req.Job]
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("job: unknown job %q: want one of %s", req.Job, strings.Join(a.Jobs.Names(), ", ")))
		return
	}
	d, err := civil.Parse(req.Date)
	if err != nil {
		writeError(w, http.StatusBadRequest, "date: want a business date as YYYY-MM-DD: "+err.Error())
		return
	}
	scope, err := ParseScope(req.Scope)
	if err != nil {
		writeError(w, http.StatusBadRequest, "scope: "+err.Error())
		return
	}
	if scope.Account != "" {
		if !accountScoped[req.Job] {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("scope: %s runs for every account; it cannot be scoped to one", req.Job))
			return
		}
		if done, err := a.completed(r.Context(), req.Job, d, req.DryRun); err != nil {
			a.fail(w, err)
			return
		} else if done != 0 {
			writeError(w, http.StatusConflict, fmt.Sprintf("%s %s already succeeded (run %d): to run it again for one account, POST /api/v1/runs/%d/rerun with a reason and the account", req.Job, d, done, done))
			return
		}
	}
	who := operator(r)
	a.begin(w, r, job, ledger.RunSpec{Job: req.Job, BusinessDate: d, Scope: scope.String(), DryRun: req.DryRun, Trigger: "operator",
		TriggeredBy: who, Reason: req.Reason, Owner: a.Env.Owner}, "start")
}

func (a *Admin) rerun(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	var req RerunRequest
	if !decode(w, r, &req) {
		return
	}
	run, err := a.Rerun(r.Context(), operator(r), id, req.Reason, req.Account)
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusAccepted, map[string]any{"run": run})
}

// ActionError is a refused action: the HTTP status and what to do.
type ActionError struct {
	Code int
	Msg  string
}

func (e *ActionError) Error() string { return e.Msg }

func refuse(code int, format string, args ...any) error {
	return &ActionError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Rerun runs completed run id again (jobs.Env.BeginRerun, the CLI's rerun)
// under the job's lock, in the background, audited under by with the
// reason; account scopes it to one account. It returns the new run.
func (a *Admin) Rerun(ctx context.Context, by string, id int64, reason, account string) (ledger.Run, error) {
	if strings.TrimSpace(reason) == "" {
		return ledger.Run{}, refuse(http.StatusBadRequest, "reason is required: say why the run is run again (it is recorded)")
	}
	prev, err := a.Env.Store.GetRun(ctx, id)
	if err != nil {
		return ledger.Run{}, err
	}
	job, ok := a.Jobs[prev.Job]
	if !ok {
		return ledger.Run{}, refuse(http.StatusConflict, "run %d is of job %q, which this server does not have", id, prev.Job)
	}
	scope := prev.Scope
	if account != "" {
		sc, err := ParseScope("account:" + account)
		if err != nil {
			return ledger.Run{}, refuse(http.StatusBadRequest, "account: %v", err)
		}
		scope = sc.String()
	}
	unlock, err := a.lock(ctx, prev.Job)
	if err != nil {
		return ledger.Run{}, err
	}
	run, err := a.Env.BeginRerun(context.WithoutCancel(ctx), prev, by, reason, scope)
	if err != nil {
		unlock()
		return ledger.Run{}, err
	}
	a.Log.Info().Str("operator", by).Str("action", "rerun").Int64("run", run.ID).Int64("rerun_of", id).Str("job", run.Job).
		Str("date", run.BusinessDate.String()).Msg("operator action")
	a.background(job, run, unlock)
	return run, nil
}

// Resume finishes run id (jobs.Env.BeginResume, the CLI's resume) under the
// job's lock, in the background, audited under by.
func (a *Admin) Resume(ctx context.Context, by string, id int64) (ledger.Run, error) {
	prev, err := a.Env.Store.GetRun(ctx, id)
	if err != nil {
		return ledger.Run{}, err
	}
	job, ok := a.Jobs[prev.Job]
	if !ok {
		return ledger.Run{}, refuse(http.StatusConflict, "run %d is of job %q, which this server does not have", id, prev.Job)
	}
	unlock, err := a.lock(ctx, prev.Job)
	if err != nil {
		return ledger.Run{}, err
	}
	run, err := a.Env.BeginResume(context.WithoutCancel(ctx), id, by, a.Env.Config.StaleAfter)
	if err != nil {
		unlock()
		return ledger.Run{}, refuse(http.StatusConflict, "%v", err)
	}
	a.Log.Info().Str("operator", by).Str("action", "resume").Int64("run", run.ID).Str("job", run.Job).
		Str("date", run.BusinessDate.String()).Msg("operator action")
	a.background(job, run, unlock)
	return run, nil
}

// lock takes a job's lock, or refuses while the job runs.
func (a *Admin) lock(ctx context.Context, job string) (func(), error) {
	unlock, ok, err := a.Locker.TryLock(ctx, "job:"+job)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, refuse(http.StatusConflict, "%s is running now (its lock is held): try again when it finishes", job)
	}
	return unlock, nil
}

// begin takes the job's lock, records the run, audits the start and runs
// the job in the background: 202 with the run, or 409 with the refusal.
func (a *Admin) begin(w http.ResponseWriter, r *http.Request, job jobs.Job, spec ledger.RunSpec, action string) {
	ctx := r.Context()
	unlock, ok, err := a.Locker.TryLock(ctx, "job:"+spec.Job)
	if err != nil {
		a.fail(w, err)
		return
	}
	if !ok {
		writeError(w, http.StatusConflict, fmt.Sprintf("%s is running now (its lock is held): try again when it finishes", spec.Job))
		return
	}
	run, err := a.Env.Store.BeginRun(ctx, spec)
	if err != nil {
		unlock()
		a.fail(w, err)
		return
	}
	target := fmt.Sprintf("run %d: %s %s", run.ID, spec.Job, spec.BusinessDate)
	if spec.Scope != "" {
		target += " [" + spec.Scope + "]"
	}
	if spec.DryRun {
		target += " (dry run)"
	}
	if err := a.Env.Store.Audit(context.WithoutCancel(ctx), spec.TriggeredBy, action, target, spec.Reason); err != nil {
		a.Log.Error().Err(err).Msg("audit")
	}
	a.Log.Info().Str("operator", spec.TriggeredBy).Str("action", action).Int64("run", run.ID).Str("job", spec.Job).
		Str("date", spec.BusinessDate.String()).Msg("operator action")
	a.background(job, run, unlock)
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusAccepted, map[string]any{"run": run})
}

func (a *Admin) restart(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	run, err := a.Resume(r.Context(), operator(r), id)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"run": run})
}

// CancelRequest is the body of POST /api/v1/runs/{id}/cancel.
type CancelRequest struct {
	Reason string `json:"reason"`
}

// cancel asks a running run to stop at its next safe point, in whatever
// process works it: 202 with the run (running until it reaches one, or
// cancelled at once when its process is gone), 409 when it is not running.
func (a *Admin) cancel(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	var req CancelRequest
	if !decode(w, r, &req) {
		return
	}
	if strings.TrimSpace(req.Reason) == "" {
		writeError(w, http.StatusBadRequest, "reason is required: say why the run is stopped (it is recorded)")
		return
	}
	who := operator(r)
	run, err := a.Env.Cancel(r.Context(), id, who, req.Reason, a.Env.Config.StaleAfter)
	if err != nil {
		a.fail(w, err)
		return
	}
	a.Log.Info().Str("operator", who).Str("action", "cancel").Int64("run", id).Str("job", run.Job).
		Str("status", run.Status).Msg("operator action")
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", id))
	writeJSON(w, http.StatusAccepted, map[string]any{"run": run})
}

// background executes a begun run under RunContext and releases the lock.
func (a *Admin) background(job jobs.Job, run ledger.Run, unlock func()) {
	a.wg.Go(func() {
		defer unlock()
		res, err := a.Env.Execute(a.RunContext, job, run)
		if a.Metrics != nil {
			a.Metrics.ObserveRun(res)
		}
		if err != nil {
			a.Log.Warn().Err(err).Int64("run", run.ID).Msg("run started from the API failed")
		}
	})
}

// fail answers with the status an error calls for.
func (a *Admin) fail(w http.ResponseWriter, err error) {
	code, msg := a.status(err)
	writeError(w, code, msg)
}

// status is the HTTP status and message of an action's error.
func (a *Admin) status(err error) (int, string) {
	if ae, ok := errors.AsType[*ActionError](err); ok {
		return ae.Code, ae.Msg
	}
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return http.StatusNotFound, err.Error()
	case errors.Is(err, ledger.ErrRunCompleted), errors.Is(err, ledger.ErrRunActive), errors.Is(err, ledger.ErrRunFailedExists),
		errors.Is(err, ledger.ErrAlreadyResolved),
		errors.Is(err, ledger.ErrRunCancelled), errors.Is(err, ledger.ErrRunNotRunning):
		return http.StatusConflict, err.Error()
	}
	a.Log.Error().Err(err).Msg("admin API")
	return http.StatusInternalServerError, err.Error()
}

func operator(r *http.Request) string {
	if o, ok := Operator(r.Context()); ok {
		return o.Name
	}
	return anonymous.Name
}

func runID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("want a run id (a number), got %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

// MaxBody is the largest request body the API reads.
const MaxBody = 16 << 10

// decode reads one JSON object into v: a bounded body, no unknown field,
// nothing after the object.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := DecodeBody(http.MaxBytesReader(w, r.Body, MaxBody), v); err != nil {
		code := http.StatusBadRequest
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			code = http.StatusRequestEntityTooLarge
		}
		writeError(w, code, "request body: "+err.Error())
		return false
	}
	return true
}

// DecodeBody decodes the one JSON object of body into v (a pointer to a
// struct), refusing unknown fields, fields named in another case or given
// twice (encoding/json would take the last), and trailing data.
func DecodeBody(body io.Reader, v any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if err := checkFieldNames(data, v); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty: want a JSON object")
		}
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return fmt.Errorf("after the JSON object: %w", err)
		}
		return errors.New("data after the JSON object: send exactly one object")
	}
	return nil
}

// checkFieldNames refuses a top-level field of data that is not one of v's
// JSON names exactly, or that comes twice. Data that is no object is left
// to the decoder to refuse.
func checkFieldNames(data []byte, v any) error {
	names := map[string]bool{}
	t := reflect.TypeOf(v).Elem()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		switch {
		case !names[key]:
			return fmt.Errorf("unknown field %q", key)
		case seen[key]:
			return fmt.Errorf("field %q given twice", key)
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
