package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/server"
)

// serveAdmin serves admin as drafter serve does (its http.Server, its
// connection limit) on a loopback port, with the Host check on that
// address, and returns its base URL.
func serveAdmin(t *testing.T, admin *server.Admin) string {
	t.Helper()
	return serveAdminWith(t, admin, func(*http.Server) {})
}

func serveAdminWith(t *testing.T, admin *server.Admin, adjust func(*http.Server)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	admin.Addr = ln.Addr().String()
	srv := admin.Server()
	adjust(srv)
	go srv.Serve(server.LimitListener(ln, server.MaxConns))
	t.Cleanup(func() {
		srv.Close()
		admin.Wait()
	})
	return "http://" + ln.Addr().String()
}

// send makes one request with the headers given (Host among them) and
// returns the status and body.
func send(t *testing.T, method, url, body string, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func runCount(t *testing.T, st *ledger.Store) int {
	t.Helper()
	runs, err := st.ListRuns(context.Background(), ledger.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(runs)
}

// TestAdminTokenlessIsReadOnly: without a token the API reads on loopback
// but starts nothing, whatever a web page sends: the CSRF (a text/plain
// cross-origin POST) and DNS rebinding (a foreign Host) of the review.
func TestAdminTokenlessIsReadOnly(t *testing.T) {
	env := testEnv(t, "sqlite", nil)
	rec := &recorder{}
	admin := server.NewAdmin(env, rec.registry("originate"), server.LockerFor(env.Store), nil)
	base := serveAdmin(t, admin)
	start := `{"job":"originate","date":"2027-03-01"}`

	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		headers map[string]string
		code    int
		says    string
	}{
		{"health", "GET", "/healthz", "", nil, http.StatusOK, "ok"},
		{"runs on loopback", "GET", "/api/v1/runs", "", nil, http.StatusOK, "runs"},
		{"JSON start", "POST", "/api/v1/runs", start, map[string]string{"Content-Type": "application/json"}, http.StatusForbidden, "DRAFTER_ADMIN_TOKEN"},
		{"CSRF text/plain cross-origin", "POST", "/api/v1/runs", start,
			map[string]string{"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://evil.example"}, http.StatusForbidden, "Origin"},
		{"CSRF text/plain, no Origin", "POST", "/api/v1/runs", start, map[string]string{"Content-Type": "text/plain"}, http.StatusForbidden, "write API is off"},
		{"rebinding start", "POST", "/api/v1/runs", start,
			map[string]string{"Content-Type": "text/plain", "Host": "evil.example:" + port(t, base)}, http.StatusMisdirectedRequest, "not this server's admin address"},
		{"rebinding read", "GET", "/api/v1/runs", "", map[string]string{"Host": "evil.example:" + port(t, base)}, http.StatusMisdirectedRequest, "DRAFTER_ADMIN_ADDR"},
		{"rebinding readyz", "GET", "/readyz", "", map[string]string{"Host": "rebind.evil.example"}, http.StatusMisdirectedRequest, "Host"},
		{"localhost is this server", "GET", "/api/v1/runs", "", map[string]string{"Host": "localhost:" + port(t, base)}, http.StatusOK, "runs"},
		{"restart", "POST", "/api/v1/runs/1/restart", "", map[string]string{"Content-Type": "application/json"}, http.StatusForbidden, "write API is off"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.method, base+tc.path, tc.body, tc.headers)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Errorf("%s %s: %d %s, want %d saying %q", tc.method, tc.path, code, body, tc.code, tc.says)
			}
		})
	}
	if n := runCount(t, env.Store); n != 0 {
		t.Errorf("%d runs recorded, want none", n)
	}
}

// TestAdminWriteGuards: with a token, writes still need JSON, an allowed
// Origin, one bounded object without unknown fields, and a scope that is
// one.
func TestAdminWriteGuards(t *testing.T) {
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_ADMIN_TOKEN": testToken})
	rec := &recorder{}
	admin := server.NewAdmin(env, rec.registry("originate", "statements"), server.LockerFor(env.Store), nil)
	admin.Origins = []string{"https://ops.example.com"}
	base := serveAdmin(t, admin)
	auth := "Bearer " + testToken
	json := "application/json"
	post := func(path, body string, h map[string]string) (int, string) {
		t.Helper()
		code, out := send(t, "POST", base+path, body, h)
		admin.Wait()
		return code, out
	}

	code, body := post("/api/v1/runs", `{"job":"statements","date":"2026-03-02"}`, map[string]string{"Authorization": "bearer " + testToken, "Content-Type": json})
	if code != http.StatusAccepted {
		t.Fatalf("lowercase scheme: %d %s, want 202", code, body)
	}
	before := runCount(t, env.Store)
	for _, tc := range []struct {
		name string
		body string
		h    map[string]string
		code int
		says string
	}{
		{"text/plain with the token", `{"job":"originate","date":"2026-03-03"}`, map[string]string{"Authorization": auth, "Content-Type": "text/plain"}, http.StatusUnsupportedMediaType, "application/json"},
		{"form with the token", `job=originate`, map[string]string{"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "application/json"},
		{"foreign origin with the token", `{"job":"originate","date":"2026-03-03"}`, map[string]string{"Authorization": auth, "Content-Type": json, "Origin": "https://evil.example"}, http.StatusForbidden, "DRAFTER_ADMIN_ORIGINS"},
		{"null origin", `{"job":"originate","date":"2026-03-03"}`, map[string]string{"Authorization": auth, "Content-Type": json, "Origin": "null"}, http.StatusForbidden, "Origin"},
		{"trailing data", `{"job":"originate","date":"2026-03-03"} {"job":"originate"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "after the JSON object"},
		{"trailing garbage", `{"job":"originate","date":"2026-03-03"}x`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "after the JSON object"},
		{"unknown field", `{"job":"originate","date":"2026-03-03","force":true}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "unknown field"},
		{"field twice", `{"job":"originate","date":"2026-03-03","job":"statements"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "twice"},
		{"field in another case", `{"job":"originate","date":"2026-03-03","Scope":"x"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "unknown field"},
		{"empty body", ``, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "empty"},
		{"huge body", `{"job":"originate","date":"2026-03-03","reason":"` + strings.Repeat("a", server.MaxBody) + `"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusRequestEntityTooLarge, "request body"},
		{"free-text scope after success", `{"job":"statements","date":"2026-03-02","scope":"x"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "account:ACCOUNT_ID"},
		{"account scope of a completed run", `{"job":"statements","date":"2026-03-02","scope":"account:LN-7"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusConflict, "/rerun"},
		{"account scope of a job for every account", `{"job":"originate","date":"2026-03-03","scope":"account:LN-7"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "cannot be scoped"},
		{"path in the scope", `{"job":"statements","date":"2026-03-04","scope":"account:../x"}`, map[string]string{"Authorization": auth, "Content-Type": json}, http.StatusBadRequest, "scope"},
		{"another scheme", `{"job":"originate","date":"2026-03-03"}`, map[string]string{"Authorization": "Basic " + testToken, "Content-Type": json}, http.StatusUnauthorized, "Bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post("/api/v1/runs", tc.body, tc.h)
			if code != tc.code || !strings.Contains(body, tc.says) {
				t.Errorf("%d %s, want %d saying %q", code, body, tc.code, tc.says)
			}
		})
	}
	if n := runCount(t, env.Store); n != before {
		t.Errorf("%d runs recorded by refused requests", n-before)
	}

	// What is allowed goes through: an allowed origin, a scope that is one.
	if code, body := post("/api/v1/runs", `{"job":"statements","date":"2026-03-04","scope":"account:LN-7"}`,
		map[string]string{"Authorization": auth, "Content-Type": "application/json; charset=utf-8", "Origin": "https://ops.example.com"}); code != http.StatusAccepted {
		t.Errorf("scoped start from an allowed origin: %d %s", code, body)
	}
	if code, body := post("/api/v1/runs/1/rerun", `{"reason":"x","account":"a/b"}`, map[string]string{"Authorization": auth, "Content-Type": json}); code != http.StatusBadRequest {
		t.Errorf("rerun for a path-like account: %d %s, want 400", code, body)
	}
}

// TestReadyzWithoutToken: /readyz says ok or failing per dependency, not
// the error (which names database users and hosts), unless the caller
// has the token.
func TestReadyzWithoutToken(t *testing.T) {
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_ADMIN_TOKEN": testToken})
	admin := server.NewAdmin(env, jobs.Registry{}, server.LockerFor(env.Store), nil)
	env.Store.Close() // the database fails every check
	base := serveAdmin(t, admin)
	code, body := send(t, "GET", base+"/readyz", "", nil)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || got["database"] != "failing" || got["storage"] != "ok" || len(got) != 2 {
		t.Errorf("readyz without token: %d %v, want 503 {database: failing, storage: ok}", code, got)
	}
	code, body = send(t, "GET", base+"/readyz", "", map[string]string{"Authorization": "Bearer " + testToken})
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "failing: ") {
		t.Errorf("readyz with token: %d %s, want the error", code, body)
	}
}

func TestAdminTokenLength(t *testing.T) {
	for _, tc := range []struct {
		token string
		ok    bool
	}{{"", true}, {"Zq9", false}, {strings.Repeat("Q", 31), false}, {strings.Repeat("x", 32), true}} {
		_, err := config.Load(map[string]string{"DRAFTER_DATA_DIR": t.TempDir(), "DRAFTER_ADMIN_TOKEN": tc.token}, func(string) (string, bool) { return "", false }, "")
		if (err == nil) != tc.ok {
			t.Errorf("token of %d characters: %v", len(tc.token), err)
		}
		if err != nil && (!strings.Contains(err.Error(), "at least 32") || (tc.token != "" && strings.Contains(err.Error(), tc.token))) {
			t.Errorf("error: %v, want the rule and not the token", err)
		}
	}
}

func port(t *testing.T, base string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fdJob holds open files while it runs, as a statements run does.
type fdJob struct{ dir string }

func (fdJob) Name() string { return "statements" }

func (j fdJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	r.Selected(40)
	var open []*os.File
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	for i := range 40 {
		f, err := os.Create(filepath.Join(j.dir, strconv.Itoa(i)))
		if err != nil {
			r.ItemFailed(strconv.Itoa(i), err)
			continue
		}
		open = append(open, f)
		r.Done(1)
	}
	return nil, nil
}

// TestIdleConnectionsLeaveRunsAlone: another process opens many idle
// connections to the admin API, more than the process may open files; the
// server holds at most MaxConns of them, so a run in the same process
// still opens its files, and the API answers again once the idle ones
// time out.
func TestIdleConnectionsLeaveRunsAlone(t *testing.T) {
	if addr := os.Getenv("DRAFTER_TEST_IDLE_CLIENT"); addr != "" {
		idleClient(addr)
		return
	}
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_ADMIN_TOKEN": testToken})
	admin := server.NewAdmin(env, jobs.Registry{"statements": fdJob{dir: t.TempDir()}}, server.LockerFor(env.Store), nil)
	base := serveAdminWith(t, admin, func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond })

	// Few open files for this process: what it has, the connection limit,
	// and room for the run.
	fds, _ := os.ReadDir("/proc/self/fd")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	old := lim
	lim.Cur = uint64(len(fds) + server.MaxConns + 80)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skip("cannot lower the open file limit:", err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
	const idle = 1000 // more than the limit

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleConnectionsLeaveRunsAlone$")
	cmd.Env = append(os.Environ(), "DRAFTER_TEST_IDLE_CLIENT="+strings.TrimPrefix(base, "http://"), "DRAFTER_TEST_IDLE_N="+strconv.Itoa(idle))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("idle client: %q %v", line, err)
	}

	// The run, started from the API while the idle connections wait.
	deadline := time.Now().Add(60 * time.Second)
	var code int
	var body string
	for time.Now().Before(deadline) {
		code, body = send(t, "POST", base+"/api/v1/runs", `{"job":"statements","date":"2026-03-02"}`,
			map[string]string{"Authorization": "Bearer " + testToken, "Content-Type": "application/json"})
		if code == http.StatusAccepted {
			break
		}
	}
	if code != http.StatusAccepted {
		t.Fatalf("start while %d connections idle: %d %s", idle, code, body)
	}
	admin.Wait()
	runs, err := env.Store.ListRuns(context.Background(), ledger.RunFilter{Job: "statements"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	if r := runs[0]; r.Status != ledger.RunSucceeded || r.Done != 40 {
		items, _ := env.Store.RunItems(context.Background(), r.ID)
		t.Errorf("run beside %d idle connections: %s, %d done, failed: %v", idle, r.Status, r.Done, items)
	}
	if code, _ := send(t, "GET", base+"/healthz", "", nil); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
}

// idleClient opens DRAFTER_TEST_IDLE_N connections to addr, sends nothing,
// says "ready" and holds them until its stdin closes.
func idleClient(addr string) {
	n, _ := strconv.Atoi(os.Getenv("DRAFTER_TEST_IDLE_N"))
	var conns []net.Conn
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			break
		}
		conns = append(conns, c)
	}
	fmt.Printf("ready %d\n", len(conns))
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	os.Exit(0)
}
