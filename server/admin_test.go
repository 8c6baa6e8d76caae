package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

const testToken = "s3cret-admin-token-of-32-characters"

// partialJob fails one item: its runs end partial.
type partialJob struct{}

func (partialJob) Name() string { return "returns" }
func (partialJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	r.Selected(2)
	r.Done(1)
	r.ItemFailed("trace 021000020000001", errors.New("no payment with this trace"))
	return map[string]any{"returns": 1}, nil
}

type apiClient struct {
	t     *testing.T
	url   string
	admin *server.Admin
	token string
	// operators are the named operators' tokens by name.
	operators map[string]string
}

func (c *apiClient) do(method, path, operator string, body any) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.url+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok := c.token
	if operator != "" {
		tok = c.operators[operator]
		// A header naming someone else is not who the credential is.
		req.Header.Set("X-Drafter-Operator", "mallory")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	} else {
		out = map[string]any{"text": string(raw)}
	}
	return resp.StatusCode, out
}

func runField(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	r, ok := body["run"].(map[string]any)
	if !ok {
		t.Fatalf("no run in %v", body)
	}
	return r
}

func TestAdminAPI(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, map[string]string{"DRAFTER_ADMIN_TOKEN": testToken})
			rec := &recorder{}
			reg := rec.registry("originate")
			reg["returns"] = partialJob{}
			metrics := server.NewMetrics(env.Store, env.Config.Zone, env.Log)
			admin := server.NewAdmin(env, reg, server.LockerFor(env.Store), metrics)
			srv := serveAdmin(t, admin)
			c := &apiClient{t: t, url: srv, admin: admin, token: testToken, operators: map[string]string{}}
			for _, o := range [][2]string{{"alice", ledger.RoleOperator}, {"bob", ledger.RoleOperator}, {"carol", ledger.RoleAdmin}, {"vera", ledger.RoleViewer}} {
				_, tok, err := env.Store.AddOperator(context.Background(), o[0], o[1], "test")
				if err != nil {
					t.Fatal(err)
				}
				c.operators[o[0]] = tok
			}
			// A viewer reads but starts nothing.
			if code, _ := c.do("GET", "/api/v1/runs", "vera", nil); code != http.StatusOK {
				t.Errorf("viewer reads runs: %d, want 200", code)
			}
			if code, body := c.do("POST", "/api/v1/runs", "vera", map[string]any{"job": "originate", "date": "2026-03-02"}); code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "viewer") {
				t.Errorf("viewer starts a run: %d %v, want 403", code, body)
			}

			// Tokens.
			for _, tok := range []string{"", "wrong", testToken + "x"} {
				bad := &apiClient{t: t, url: srv, token: tok}
				for _, p := range []string{"/api/v1/runs", "/metrics"} {
					if code, _ := bad.do("GET", p, "", nil); code != http.StatusUnauthorized {
						t.Errorf("GET %s with token %q: %d, want 401", p, tok, code)
					}
				}
				if code, _ := bad.do("POST", "/api/v1/runs", "", map[string]any{"job": "originate", "date": "2026-03-02"}); code != http.StatusUnauthorized {
					t.Errorf("POST with token %q: %d, want 401", tok, code)
				}
			}
			if code, _ := (&apiClient{t: t, url: srv}).do("GET", "/healthz", "", nil); code != http.StatusOK {
				t.Errorf("healthz: %d", code)
			}
			if code, body := c.do("GET", "/readyz", "", nil); code != http.StatusOK {
				t.Errorf("readyz: %d %v", code, body)
			}

			// Start, then the refused duplicate.
			code, body := c.do("POST", "/api/v1/runs", "alice", map[string]any{"job": "originate", "date": "2026-03-02"})
			if code != http.StatusAccepted {
				t.Fatalf("start: %d %v", code, body)
			}
			first := int64(runField(t, body)["id"].(float64))
			admin.Wait()
			code, body = c.do("POST", "/api/v1/runs", "alice", map[string]any{"job": "originate", "date": "2026-03-02"})
			if code != http.StatusConflict || !strings.Contains(fmt.Sprint(body["error"]), "already succeeded") {
				t.Errorf("duplicate start: %d %v, want 409 naming the completed run", code, body)
			}

			// Dry run: recorded apart, nothing refused.
			code, body = c.do("POST", "/api/v1/runs", "alice", map[string]any{"job": "originate", "date": "2026-03-02", "dry_run": true})
			if code != http.StatusAccepted || runField(t, body)["dry_run"] != true {
				t.Errorf("dry run: %d %v", code, body)
			}
			admin.Wait()

			// Reruns: a reason is required.
			path := fmt.Sprintf("/api/v1/runs/%d/rerun", first)
			if code, body = c.do("POST", path, "bob", map[string]any{}); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["error"]), "reason is required") {
				t.Errorf("rerun without reason: %d %v, want 400", code, body)
			}
			code, body = c.do("POST", path, "bob", map[string]any{"reason": "bank asked for the file again"})
			if code != http.StatusAccepted || runField(t, body)["attempt"].(float64) != 2 {
				t.Fatalf("rerun: %d %v", code, body)
			}
			admin.Wait()
			code, body = c.do("POST", path, "carol", map[string]any{"reason": "customer disputes", "account": "LN-7"})
			if code != http.StatusAccepted || runField(t, body)["scope"] != "account:LN-7" {
				t.Fatalf("scoped rerun: %d %v", code, body)
			}
			admin.Wait()
			if code, _ = c.do("POST", "/api/v1/runs/99999/rerun", "bob", map[string]any{"reason": "x"}); code != http.StatusNotFound {
				t.Errorf("rerun of a missing run: %d, want 404", code)
			}
			for _, bad := range []map[string]any{{"job": "nope", "date": "2026-03-02"}, {"job": "originate", "date": "03/02/2026"}, {"job": "originate", "date": "2026-03-02", "extra": 1}} {
				if code, body = c.do("POST", "/api/v1/runs", "", bad); code != http.StatusBadRequest {
					t.Errorf("start %v: %d %v, want 400", bad, code, body)
				}
			}

			// A run with a failed item, shown with it.
			code, body = c.do("POST", "/api/v1/runs", "", map[string]any{"job": "returns", "date": "2026-03-02"})
			if code != http.StatusAccepted {
				t.Fatalf("start returns: %d %v", code, body)
			}
			admin.Wait()
			code, body = c.do("GET", fmt.Sprintf("/api/v1/runs/%d", int64(runField(t, body)["id"].(float64))), "", nil)
			items, _ := body["failed_items"].([]any)
			if code != http.StatusOK || body["status"] != ledger.RunPartial || len(items) != 1 {
				t.Errorf("show: %d %v", code, body)
			}

			// Lists.
			code, body = c.do("GET", "/api/v1/runs?job=originate", "", nil)
			if runs, _ := body["runs"].([]any); code != http.StatusOK || len(runs) != 4 {
				t.Errorf("list originate: %d, %d runs, want 4", code, len(runs))
			}
			code, body = c.do("GET", "/api/v1/runs?status=partial", "", nil)
			if runs, _ := body["runs"].([]any); code != http.StatusOK || len(runs) != 1 {
				t.Errorf("list partial: %d %v", code, body)
			}
			// An enumerated value that is not one is refused, not an empty list.
			for _, q := range []string{"status=bogus", "job=bogus", "status=Partial"} {
				if code, body = c.do("GET", "/api/v1/runs?"+q, "", nil); code != http.StatusBadRequest {
					t.Errorf("list %s: %d %v, want 400", q, code, body)
				}
			}

			// Every operator action is in the audit with who and why.
			rows, err := env.Store.DB().Query(`SELECT actor, action, target, reason FROM audit ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			var audit []string
			for rows.Next() {
				var a, b, c, d string
				rows.Scan(&a, &b, &c, &d)
				audit = append(audit, strings.Join([]string{a, b, c, d}, "|"))
			}
			rows.Close()
			joined := strings.Join(audit, "\n")
			if strings.Contains(joined, "mallory") {
				t.Errorf("the audit took a name from a header:\n%s", joined)
			}
			for _, want := range []string{"alice|start|run 1: originate 2026-03-02|", "(dry run)", "bob|rerun|run 3: originate 2026-03-02 (rerun of run 1)|bank asked for the file again",
				"carol|rerun|run 4: originate 2026-03-02 [account:LN-7] (rerun of run 1)|customer disputes", server.BootstrapOperator + "|start|run 5: returns 2026-03-02|"} {
				if !strings.Contains(joined, want) {
					t.Errorf("audit lacks %q:\n%s", want, joined)
				}
			}

			// Metrics.
			code, body = c.do("GET", "/metrics", "", nil)
			text := fmt.Sprint(body["text"])
			for _, want := range []string{`drafter_runs{job="originate",status="succeeded"} 3`, `drafter_runs{job="returns",status="partial"} 1`,
				`drafter_runs_finished_total{dry_run="false",job="originate",status="succeeded"} 3`, `drafter_run_items_total{job="returns",outcome="failed"} 1`,
				`drafter_ach_entries_total{job="originate"} 3`, `drafter_return_rate_ratio{rate="overall"} 0`, "drafter_store_up 1", "drafter_run_duration_seconds_bucket"} {
				if !strings.Contains(text, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

func TestCheckListen(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8080", "", true},
		{"localhost:8080", "", true},
		{"[::1]:8080", "", true},
		{"0.0.0.0:8080", "", false},
		{":8080", "", false},
		{"10.0.0.5:8080", "", false},
		{"0.0.0.0:8080", "tok", true},
	} {
		err := server.CheckListen(tc.addr, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("%s token %q: %v", tc.addr, tc.token, err)
		}
		if err != nil && tc.token == "" && !strings.Contains(err.Error(), "DRAFTER_ADMIN_TOKEN") {
			t.Errorf("%s: error does not name the setting: %v", tc.addr, err)
		}
	}
}
