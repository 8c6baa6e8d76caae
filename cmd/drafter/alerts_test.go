package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

const (
	alertsFile     = "../../docs/alerts.yml"
	alertTestsFile = "../../docs/alerts_test.yml"
	operationsFile = "../../docs/operations.md"
)

// promtool returns the path of Prometheus's promtool (Debian package
// prometheus, installed by scripts/test-deps.sh), or skips the test.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus; scripts/test-deps.sh installs it as root): the alert rules are not checked")
	}
	return p
}

// TestAlertRulesLoad: Prometheus loads docs/alerts.yml, and its unit tests
// (docs/alerts_test.yml: a job late after its fire, a stale heartbeat, the
// return-rate thresholds, a missed cutoff, a mail backlog) pass.
func TestAlertRulesLoad(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestAlertRunbookLinks: every alert has a runbook_url into
// docs/operations.md whose anchor is a heading there.
func TestAlertRunbookLinks(t *testing.T) {
	rules := readFile(t, alertsFile)
	anchors := map[string]bool{}
	for _, line := range strings.Split(readFile(t, operationsFile), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[githubAnchor(strings.TrimLeft(line, "# "))] = true
		}
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert: (\S+)`).FindAllStringSubmatch(rules, -1)
	links := regexp.MustCompile(`(?m)^\s*runbook_url: (\S+)`).FindAllStringSubmatch(rules, -1)
	if len(alerts) == 0 || len(links) != len(alerts) {
		t.Fatalf("%d alerts, %d runbook links: every alert needs one", len(alerts), len(links))
	}
	for i, l := range links {
		page, anchor, ok := strings.Cut(l[1], "#")
		if !ok || !strings.HasSuffix(page, "/docs/operations.md") {
			t.Errorf("%s: runbook_url %s is not an anchor of docs/operations.md", alerts[i][1], l[1])
			continue
		}
		if !anchors[anchor] {
			t.Errorf("%s: runbook_url anchor #%s is no heading of docs/operations.md", alerts[i][1], anchor)
		}
	}
}

// githubAnchor is the anchor GitHub gives a Markdown heading.
func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// TestAlertMetricsExported scrapes a running drafter serve whose ledger
// has what the alerts watch (a succeeded run, a failed one, a running one,
// an open exception): every metric the alert rules use is exported.
func TestAlertMetricsExported(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "ledger.db")
	seedAlertLedger(t, dbURL)

	cmd := exec.Command(drafterBin(t), "serve", "--admin-addr", "127.0.0.1:0", "--no-schedule")
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_DATABASE_URL="+dbURL, "DRAFTER_ENCRYPTION_KEY="+testKeyHex,
		"DRAFTER_LOG_FORMAT=json", "DRAFTER_LOG_LEVEL=info", "DRAFTER_CRASH_AT=", "DRAFTER_ADMIN_TOKEN=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	addr := ""
	sc := bufio.NewScanner(stderr)
	for addr == "" && sc.Scan() {
		var line struct {
			Message string `json:"message"`
			Addr    string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Message == "admin API listening" {
			addr = line.Addr
		}
	}
	if addr == "" {
		t.Fatal("serve never said where it listens")
	}
	go io.Copy(io.Discard, stderr)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		exported[name] = true
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bdrafter_[a-z0-9_]+`).FindAllString(readFile(t, alertsFile), -1) {
		used[m] = true
	}
	var names []string
	for m := range used {
		names = append(names, m)
		if !exported[m] {
			t.Errorf("the alert rules use %s, which drafter serve does not export", m)
		}
	}
	sort.Strings(names)
	if len(names) < 10 {
		t.Fatalf("the rules use only %v", names)
	}
	t.Logf("the rules use %d metrics: %v", len(names), names)
	for _, want := range []string{`drafter_runs_needing_attention{job="originate",status="failed"} 1`, `drafter_exceptions_open{kind="unmatched_return"} 1`,
		`drafter_job_last_fire_timestamp_seconds{job="statements"}`, `drafter_job_next_fire_timestamp_seconds{job="deliver"}`,
		`drafter_run_heartbeat_age_seconds{business_date="2026-12-02",job="returns",run="3"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// seedAlertLedger records a succeeded statements run, a failed originate
// run, a returns run left running by a process elsewhere, and an open
// exception.
func seedAlertLedger(t *testing.T, dbURL string) {
	t.Helper()
	st := ledgertest.OpenURL(t, dbURL)
	ctx := context.Background()
	d := civil.MustParse("2026-12-02")
	for _, tc := range []struct {
		job, status string
	}{{"statements", ledger.RunSucceeded}, {"originate", ledger.RunFailed}, {"returns", ""}} {
		r, err := st.BeginRun(ctx, ledger.RunSpec{Job: tc.job, BusinessDate: d, Trigger: "schedule", Owner: "elsewhere:1"})
		if err != nil {
			t.Fatal(err)
		}
		if tc.status != "" {
			if err := st.FinishRun(ctx, r.ID, tc.status, ledger.Counts{}, map[string]any{}, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := st.AddExceptions(ctx, []ledger.Exception{{Kind: "unmatched_return", Reference: "trace 1", Detail: "no payment has this trace"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
