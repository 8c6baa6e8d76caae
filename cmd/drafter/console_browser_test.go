package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// envValue is the value of a variable of the CLI's environment.
func (c *cli) envValue(name string) string {
	for i := len(c.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(c.env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// axeVersion is the axe-core the browser tests inject into each page.
const axeVersion = "4.14.1"

// chromiumPath finds Debian's chromium (scripts/test-deps.sh installs it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("DRAFTER_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium: install Debian's chromium (scripts/test-deps.sh does, as root) or set DRAFTER_TEST_CHROMIUM")
	return ""
}

// axeSource returns axe-core's script, installed from npm into the user's
// cache the first time (test-only: nothing of it ships).
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("DRAFTER_TEST_AXE")
	if path == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "drafter-test", "axe-core@"+axeVersion)
		path = filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(path); err != nil {
			if _, err := exec.LookPath("npm"); err != nil {
				t.Skip("no axe-core and no npm to install it: set DRAFTER_TEST_AXE to axe.min.js")
			}
			os.MkdirAll(dir, 0o755)
			cmd := exec.Command("npm", "install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", "axe-core@"+axeVersion)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Skipf("npm install axe-core@%s: %v\n%s", axeVersion, err, out)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// screenshotDir is where the test run leaves a picture of each page.
const screenshotDir = "../../docs/console"

// console drives one headless Chromium against a `drafter serve`.
type consoleDriver struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string
}

func (d *consoleDriver) run(actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		d.t.Fatal(err)
	}
}

func (d *consoleDriver) open(path string) {
	d.t.Helper()
	d.run(chromedp.Navigate(d.base+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
}

func (d *consoleDriver) text(sel string) string {
	d.t.Helper()
	// A page that refreshes itself replaces its nodes under the query:
	// ask again.
	var err error
	for range 10 {
		var s string
		if s, err = chromedp.Run(d.ctx, chromedp.Text(chromedp.CSS(sel))); err == nil {
			return strings.TrimSpace(s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.t.Fatalf("text of %s: %v", sel, err)
	return ""
}

// eval evaluates a JavaScript expression (a promise is awaited) that gives
// a string.
func (d *consoleDriver) eval(js string) string {
	d.t.Helper()
	s, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("evaluate: %v", err)
	}
	return s
}

// check runs axe-core in the page and fails on serious or critical
// violations, then saves a screenshot as name.
func (d *consoleDriver) check(name string) {
	d.t.Helper()
	if _, err := chromedp.Run(d.ctx, chromedp.Evaluate[bool](d.axe+"\n;true")); err != nil {
		d.t.Fatalf("inject axe-core: %v", err)
	}
	out := d.eval(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
		.then(r => JSON.stringify(r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))))`)
	if out != "[]" {
		d.t.Errorf("axe-core on %s: serious or critical violations: %s", name, out)
	}
	png, err := chromedp.Run(d.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		d.t.Fatal(err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// signIn signs in with a token and lands on Tonight.
func (d *consoleDriver) signIn(token string) {
	d.t.Helper()
	d.run(chromedp.Navigate(d.base+"/login"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("form.who")))
}

func (d *consoleDriver) signOut() {
	d.t.Helper()
	d.run(chromedp.Click(chromedp.CSS("form.who button")), chromedp.WaitVisible(chromedp.ID("token")))
}

// post sends a form as the browser's session would, from Go: to check
// what the server refuses whatever the page shows.
func (d *consoleDriver) post(path string, form url.Values) int {
	d.t.Helper()
	cookies, err := chromedp.Run(d.ctx, func(ctx context.Context, t *chromedp.Target) ([]*network.Cookie, error) {
		r, err := cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{})
		return r.Cookies, err
	})
	if err != nil {
		d.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", d.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bankReturns has the bank return the first debits of the day's NACHA file
// with codes, and ingests the return file.
func bankReturns(t *testing.T, dir string, c *cli, codes []string) {
	t.Helper()
	ctx := context.Background()
	docs, err := storage.Open(ctx, "file://"+filepath.Join(dir, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	defer docs.Close()
	outbound, err := docs.List(ctx, "ach/outbound/")
	if err != nil || len(outbound) == 0 {
		t.Fatalf("outbound files %v %v", outbound, err)
	}
	original, _, err := docs.Get(ctx, outbound[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := moov.NewReader(bytes.NewReader(original)).Read()
	if err != nil {
		t.Fatal(err)
	}
	var rets []ach.SimulatedReturn
	for _, b := range mf.Batches {
		for _, e := range b.GetEntries() {
			if e.Amount != 0 && len(rets) < len(codes) {
				rets = append(rets, ach.SimulatedReturn{Trace: e.TraceNumber, Code: codes[len(rets)]})
			}
		}
	}
	f, err := ach.BuildReturnFile(original, rets, civil.MustParse("2026-12-02"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "returns.ach")
	os.WriteFile(path, f, 0o600)
	if _, errs, code := c.run(nil, "returns", "ingest", path, "--date", "2026-12-02"); code != 0 {
		t.Fatalf("returns ingest: exit %d\n%s", code, errs)
	}
}

// statementAccounts returns the accounts whose statement falls on d: those
// a statements run on a copy of the data dir stores.
func statementAccounts(t *testing.T, c *cli, d civil.Date) []string {
	t.Helper()
	base := t.TempDir()
	if err := os.CopyFS(base, os.DirFS(c.envValue("DRAFTER_DATA_DIR"))); err != nil {
		t.Fatal(err)
	}
	dbPath := strings.TrimPrefix(c.envValue("DRAFTER_DATABASE_URL"), "sqlite:")
	dbDir := t.TempDir()
	if err := os.CopyFS(dbDir, os.DirFS(filepath.Dir(dbPath))); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(dbDir, filepath.Base(dbPath))
	if _, errs, code := c.run([]string{"DRAFTER_DATA_DIR=" + base, "DRAFTER_DATABASE_URL=" + db}, "run", "statements", "--date", d.String()); code != 0 {
		t.Fatalf("statements on a copy: exit %d\n%s", code, errs)
	}
	entries, err := os.ReadDir(filepath.Join(base, "docs", "statements"))
	if err != nil || len(entries) < 4 {
		t.Fatalf("statements on a copy stored %d accounts' statements: %v", len(entries), err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

var tokenLine = regexp.MustCompile(`(?m)^[0-9a-f]{64}$`)

// TestConsoleInBrowser drives the console in a real headless Chromium:
// an operator sees a partial statements run on Tonight, reads its grouped
// error, fixes storage, resumes it and watches it succeed; resolves an
// exception; opens a statement PDF from an account; resends its email and
// finds it in the outbox. A viewer sees no action button and is refused
// each POST with 403; a form without its CSRF token is refused. axe-core
// finds no serious or critical violation on any page, and each page is
// saved as a 1280x800 screenshot in docs/console.
func TestConsoleInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	axe := axeSource(t)
	d := civil.MustParse("2026-11-30")
	c := newCLI(t, "sqlite")
	dir := c.envValue("DRAFTER_DATA_DIR")
	file := writePortfolio(t, 300, 9, d)
	c.ok("import", file)
	c.run(nil, "run", "originate", "--date", d.String())
	bankReturns(t, c.envValue("DRAFTER_DATA_DIR"), c, []string{"R01", "R10", "R03", "R01", "R02"})

	// Storage refuses two accounts' statements (a file stands where each
	// one's folder would be): the run goes to the end, partial.
	accts := statementAccounts(t, c, d)
	var blocked []string
	for _, a := range []string{accts[3], accts[len(accts)/2]} {
		p := filepath.Join(dir, "docs", "statements", a)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte("in the way"), 0o600); err != nil {
			t.Fatal(err)
		}
		blocked = append(blocked, p)
	}
	if _, errs, code := c.run(nil, "run", "statements", "--date", d.String()); code != 3 {
		t.Fatalf("statements with two accounts' storage blocked: exit %d, want 3 (partial)\n%s", code, errs)
	}
	var runs []ledger.Run
	json.Unmarshal([]byte(c.ok("runs", "--json", "--job", "statements")), &runs)
	if len(runs) != 1 || runs[0].Status != ledger.RunPartial {
		t.Fatalf("statements runs: %+v", runs)
	}
	runID := runs[0].ID
	// An exception: a file that is no NACHA file.
	bad := filepath.Join(t.TempDir(), "garbled.ach")
	os.WriteFile(bad, []byte("not a NACHA file\n"), 0o600)
	c.run(nil, "returns", "ingest", bad, "--date", d.String())

	tokens := map[string]string{}
	for _, o := range [][2]string{{"olga", "operator"}, {"vic", "viewer"}, {"ada", "admin"}} {
		tok := tokenLine.FindString(c.ok("operators", "add", o[0], "--role", o[1]))
		if tok == "" {
			t.Fatalf("operators add %s printed no token", o[0])
		}
		tokens[o[0]] = tok
	}

	// drafter serve, as in production.
	serve := exec.Command(c.bin, "serve", "--admin-addr", "127.0.0.1:0", "--no-schedule")
	serve.Env = append(append([]string{}, c.env...), "DRAFTER_LOG_LEVEL=info")
	stderr, _ := serve.StderrPipe()
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	})
	sc := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && sc.Scan() {
		var line struct {
			Message, Addr string
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "admin API listening" {
			addr = line.Addr
		}
	}
	if addr == "" {
		t.Fatal("serve never said where it listens")
	}
	go io.Copy(io.Discard, stderr)

	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true)}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	ctx, cancel := context.WithTimeout(bctx, 4*time.Minute)
	defer cancel()
	dr := &consoleDriver{t: t, ctx: ctx, base: "http://" + addr, axe: axe}
	// The first action starts the browser: no timeout on its context.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	// Signed out, the console asks to sign in.
	dr.run(chromedp.Navigate(dr.base+"/"), chromedp.WaitVisible(chromedp.ID("token")))
	dr.check("sign-in")

	// The operator sees the partial run on Tonight.
	dr.signIn(tokens["olga"])
	dr.open("/?through=2026-12-02")
	cell := dr.text(fmt.Sprintf(`a[href="/runs/%d"]`, runID))
	if cell != "partial" {
		t.Fatalf("Tonight shows run %d as %q, want partial", runID, cell)
	}
	dr.check("tonight")
	// The keyboard alone: the first Tab reaches "Skip to content", shown
	// when focused, and Enter on it moves to the page's content.
	dr.run(chromedp.KeyEvent(kb.Tab))
	if got := dr.eval(`document.activeElement.textContent.trim() + " " + (document.activeElement.getBoundingClientRect().left >= 0)`); got != "Skip to content true" {
		t.Errorf("first Tab on Tonight focuses %q, want the skip link, visible", got)
	}
	dr.run(chromedp.KeyEvent(kb.Enter))
	if got := dr.eval(`location.hash`); got != "#main" {
		t.Errorf("Enter on the skip link: location %q, want #main", got)
	}

	// Opens it and reads the grouped error.
	dr.run(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/runs/%d"]`, runID))), chromedp.WaitVisible(chromedp.ID("failed-groups")))
	groups := dr.text("#failed-groups")
	if !strings.Contains(groups, "2") || !strings.Contains(groups, "not a directory") {
		t.Errorf("grouped failed items: %q, want the 2 items with their storage error", groups)
	}
	dr.check("run-partial")

	// Fixes storage, resumes, and watches it succeed.
	for _, p := range blocked {
		os.Remove(p)
	}
	dr.run(chromedp.Click(chromedp.ID("resume")), chromedp.WaitVisible(chromedp.ID("run-status")))
	deadline := time.Now().Add(60 * time.Second)
	for dr.text("#run-status") != ledger.RunSucceeded {
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %q a minute after resume, want succeeded", runID, dr.text("#run-status"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if flash := dr.text("#status"); !strings.Contains(flash, "resumed by olga") {
		t.Errorf("flash after resume: %q", flash)
	}
	dr.check("run-succeeded")

	// Resolves the exception.
	dr.open("/exceptions")
	dr.check("exceptions")
	// Resolved from the keyboard: the note typed, Enter sends its form.
	dr.run(chromedp.SendKeys(chromedp.CSS("input[id^=note-]"), "bank sent the file again"+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#status p")))
	if flash := dr.text("#status"); !strings.Contains(flash, "1 exception(s) resolved by olga") {
		t.Errorf("flash after resolve: %q", flash)
	}

	// Opens a statement PDF from an account.
	acct := accts[0]
	dr.open("/accounts?q=" + acct)
	if h := dr.text("main h1"); h != "Account "+acct {
		t.Fatalf("search by id landed on %q", h)
	}
	dr.check("account")
	pdf := dr.eval(`(async () => { const a = document.querySelector('a[href^="/documents/"]');
		const r = await fetch(a.href); const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition").split(";")[0] + " " + String.fromCharCode(...b.slice(0, 5)); })()`)
	if pdf != "200 application/pdf inline %PDF-" {
		t.Errorf("the account's statement link: %q, want 200 application/pdf inline %%PDF-", pdf)
	}

	// Resends its email and finds it in the outbox.
	dr.run(chromedp.SendKeys(chromedp.CSS("input[id^=why-]"), "customer deleted it"),
		chromedp.Click(chromedp.CSS("button[id^=resend-]")), chromedp.WaitVisible(chromedp.CSS("#status p")))
	flash := dr.text("#status")
	m := regexp.MustCompile(`as outbox (\d+)`).FindStringSubmatch(flash)
	if m == nil || !strings.Contains(flash, "by olga") {
		t.Fatalf("flash after resend: %q", flash)
	}
	dr.open("/outbox")
	if row := dr.text("#outbox-" + m[1]); !strings.Contains(row, "statement_ready") || !strings.Contains(row, "queued") {
		t.Errorf("outbox row %s: %q", m[1], row)
	}
	dr.check("outbox")
	dr.open("/returns?through=2026-12-02")
	if rates := dr.text("main table"); !strings.Contains(rates, "unauthorized") {
		t.Errorf("returns page rates: %q", rates)
	}
	dr.check("returns")
	dr.open("/files?through=" + d.AddDays(1).String())
	dr.check("files")

	// A form posted without its CSRF token is refused.
	if code := dr.post(fmt.Sprintf("/runs/%d/rerun", runID), url.Values{"reason": {"no token"}}); code != http.StatusForbidden {
		t.Errorf("rerun without the CSRF token: %d, want 403", code)
	}
	dr.signOut()

	// A viewer sees no action and is refused every POST.
	dr.signIn(tokens["vic"])
	for _, p := range []string{fmt.Sprintf("/runs/%d", runID), "/exceptions?all=1", "/accounts/" + acct, "/outbox"} {
		dr.open(p)
		n, err := chromedp.Run(dr.ctx, chromedp.Evaluate[int](`document.querySelectorAll("main form[method=post]").length`))
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("viewer on %s: %d action forms, want none", p, n)
		}
	}
	csrf, err := chromedp.Run(dr.ctx, chromedp.Value(chromedp.CSS(`form.who input[name=csrf]`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/runs/%d/resume", runID), fmt.Sprintf("/runs/%d/rerun", runID), "/exceptions/resolve", "/outbox/1/retry", "/outbox/1/resend", "/operators"} {
		if code := dr.post(p, url.Values{"csrf": {csrf}, "reason": {"x"}, "note": {"x"}, "id": {"1"}, "name": {"eve"}, "role": {"admin"}}); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d, want 403", p, code)
		}
	}
	dr.signOut()

	// The admin's page of operators.
	dr.signIn(tokens["ada"])
	dr.open("/operators")
	dr.check("operators")

	// Every action is audited under the operator's name.
	st := ledgertest.OpenURL(t, c.envValue("DRAFTER_DATABASE_URL"))
	out := ledgertest.Dump(t, st.DB(), `SELECT actor, action FROM audit ORDER BY id`)
	for _, want := range []string{"olga|sign in", "olga|resume", "olga|resolve exception", "olga|outbox resend", "vic|sign in", "ada|sign in"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %q:\n%s", want, out)
		}
	}
}
