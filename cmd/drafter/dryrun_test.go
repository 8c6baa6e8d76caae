package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestDryRunRangePredictsTheRealRange dry-runs originate over six days
// (Thursday to Tuesday, a weekend in the middle: four banking days) and
// then runs the same range for real on a copy of the same data dir and
// database. Each dry day sees the days before it, so what it predicts
// (payments made, prenotes, entries, amounts, the files byte for byte)
// equals what the real runs did, day by day. The dry run leaves the ledger
// and the document folder as they were (its only trace: run records marked
// dry run, which `drafter runs` leaves out unless asked), says "would" for
// what it did not do, and blocks nothing: the real range then runs on the
// original too and does the same as on the copy.
func TestDryRunRangePredictsTheRealRange(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := ledgertest.URL(t, dialect)
			env := []string{"DRAFTER_DATABASE_URL=" + dbURL, "DRAFTER_OPERATOR=tester", "DRAFTER_LOG_LEVEL=warn"}
			if dialect == "postgres" {
				mustDrafter(t, dir, env, "migrate")
			}
			mustDrafter(t, dir, env, "import", writePortfolio(t, 400, 11, civil.MustParse("2026-12-02")))
			const from, to = "2026-12-03", "2026-12-08"

			// The copy, made before anything is dry-run.
			copyDirPath := t.TempDir()
			copyDir(t, dir, copyDirPath)
			copyURL := cloneDatabase(t, dbURL)
			copyEnv := []string{"DRAFTER_DATABASE_URL=" + copyURL, "DRAFTER_OPERATOR=tester", "DRAFTER_LOG_LEVEL=warn"}

			before, docsBefore := ledgerSnapshot(t, dbURL), folderListing(t, dir)
			dry := rangeSummaries(t, mustDrafter(t, dir, env, "run", "originate", "--from", from, "--to", to, "--dry-run", "--json"), true)
			text := mustDrafter(t, dir, env, "run", "originate", "--from", from, "--to", to, "--dry-run")
			if after := ledgerSnapshot(t, dbURL); after != before {
				t.Fatalf("the dry runs changed the ledger:\n%s", firstDifference(before, after))
			}
			if docs := folderListing(t, dir); docs != docsBefore {
				t.Fatalf("the dry runs wrote to the data dir:\nbefore %s\nafter  %s", docsBefore, docs)
			}
			for _, want := range []string{"dry run: nothing below was done", "would create payments:", "would debit:", "would originate entries:",
				"would create prenotes:", "simulated: nothing written", "2026-12-07"} {
				if !strings.Contains(text, want) {
					t.Errorf("dry-run output lacks %q:\n%s", want, text)
				}
			}
			for _, bad := range []string{"  payments_created:", "  debit_total:", "  entries:"} {
				if strings.Contains(text, bad) {
					t.Errorf("dry-run output says %q as if done:\n%s", bad, text)
				}
			}

			real := rangeSummaries(t, mustDrafter(t, copyDirPath, copyEnv, "run", "originate", "--from", from, "--to", to, "--json"), false)
			var dates []string
			for d := range real {
				dates = append(dates, d)
			}
			sort.Strings(dates)
			if strings.Join(dates, " ") != "2026-12-03 2026-12-04 2026-12-07 2026-12-08" {
				t.Fatalf("real range ran %v", dates)
			}
			entries := 0
			for _, d := range dates {
				if !reflect.DeepEqual(dry[d], real[d]) {
					t.Errorf("%s: the dry run predicted\n%s\nthe real run did\n%s", d, jsonText(dry[d]), jsonText(real[d]))
				}
				entries += int(real[d]["entries"].(float64))
				t.Logf("%s: payments %v, prenotes created %v, entries %v, prenote entries %v, debit %v cents, files %d", d,
					real[d]["payments_created"], real[d]["prenotes_created"], real[d]["entries"], real[d]["prenotes"],
					real[d]["debit_total_cents"], len(real[d]["files"].([]any)))
			}
			if entries == 0 {
				t.Fatal("the range originated nothing: the comparison proves nothing")
			}

			// A day dry-run alone ignores the days before it: that is
			// why a range is simulated in order.
			alone := rangeSummaries(t, mustDrafter(t, dir, env, "run", "originate", "--date", "2026-12-04", "--dry-run", "--json"), true)
			if a, r := alone["2026-12-04"]["entries"].(float64), real["2026-12-04"]["entries"].(float64); a <= r {
				t.Errorf("2026-12-04 dry-run alone predicts %v entries, in the range %v: the day before should have taken some", a, r)
			}
			t.Logf("2026-12-04 dry-run alone: entries %v, prenotes %v; in the range: %v, %v", alone["2026-12-04"]["entries"],
				alone["2026-12-04"]["prenotes"], real["2026-12-04"]["entries"], real["2026-12-04"]["prenotes"])

			// Dry runs are kept apart: left out of `runs` unless asked.
			if runs := runsJSON(t, dir, env); len(runs) != 0 {
				t.Fatalf("runs lists %d runs after dry runs only: %+v", len(runs), runs)
			}
			marked := runsJSON(t, dir, env, "--dry-runs")
			if len(marked) != 9 {
				t.Fatalf("runs --dry-runs lists %d runs, want 9 (two ranges of 4 and one day)", len(marked))
			}
			for _, r := range marked {
				if !r.DryRun || r.Status != "succeeded" {
					t.Errorf("dry run record %+v", r)
				}
			}

			// They block nothing: the real range runs on the original and
			// does what it did on the copy.
			orig := rangeSummaries(t, mustDrafter(t, dir, env, "run", "originate", "--from", from, "--to", to, "--json"), false)
			if !reflect.DeepEqual(orig, real) {
				t.Fatalf("the real range after dry runs did\n%s\non the copy\n%s", jsonText(orig), jsonText(real))
			}
		})
	}
}

// rangeSummaries reads `run --json` output: each date's originate summary,
// with what differs between a dry run and a real one by design (whether a
// file was stored) left out.
func rangeSummaries(t *testing.T, out string, dryRun bool) map[string]map[string]any {
	t.Helper()
	var results []struct {
		Run struct {
			BusinessDate string `json:"business_date"`
			DryRun       bool   `json:"dry_run"`
			Status       string `json:"status"`
		} `json:"run"`
		Summary map[string]any `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	m := map[string]map[string]any{}
	for _, r := range results {
		if r.Run.DryRun != dryRun || r.Run.Status != "succeeded" {
			t.Fatalf("%s: dry run %v, status %s", r.Run.BusinessDate, r.Run.DryRun, r.Run.Status)
		}
		files, _ := r.Summary["files"].([]any)
		for _, f := range files {
			delete(f.(map[string]any), "stored")
		}
		m[r.Run.BusinessDate] = r.Summary
	}
	return m
}

func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// cloneDatabase copies the database at dbURL to a new one and returns its
// URL: the SQLite file (with its WAL), or a PostgreSQL database created
// from it as a template.
func cloneDatabase(t *testing.T, dbURL string) string {
	t.Helper()
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		to := filepath.Join(t.TempDir(), "drafter.db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			b, err := os.ReadFile(path + suffix)
			if os.IsNotExist(err) && suffix != "" {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to+suffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return "sqlite:" + to
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin, err := sql.Open("pgx", testenv.PostgresAdminURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clone := name + "_copy"
	if _, err := admin.ExecContext(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", clone, name)); err != nil {
		admin.Close()
		t.Fatalf("copy database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+clone+" WITH (FORCE)")
		admin.Close()
	})
	u.Path = "/" + clone
	return u.String()
}

// ledgerSnapshot is every row of every table of the database, as text,
// but the records of dry runs (their runs, events and items): what a dry
// run may leave behind.
func ledgerSnapshot(t *testing.T, dbURL string) string {
	t.Helper()
	driver, dsn := "pgx", dbURL
	if path, ok := strings.CutPrefix(dbURL, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	listQ := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if driver == "pgx" {
		listQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
	}
	rows, err := db.QueryContext(ctx, listQ)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		where := ""
		switch table {
		case "runs":
			where = " WHERE NOT dry_run"
		case "run_events", "run_items", "run_chunks":
			where = " WHERE run_id IN (SELECT id FROM runs WHERE NOT dry_run)"
		}
		rows, err := db.QueryContext(ctx, "SELECT * FROM "+table+where)
		if err != nil {
			t.Fatalf("read %s: %v", table, err)
		}
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if bs, ok := v.([]byte); ok {
					vals[i] = string(bs)
				}
			}
			lines = append(lines, fmt.Sprint(vals...))
		}
		rows.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "== %s (%d rows)\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// firstDifference is the first line where two snapshots differ, with the
// table it is in.
func firstDifference(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	table := ""
	for i := 0; i < len(la) && i < len(lb); i++ {
		if strings.HasPrefix(la[i], "== ") {
			table = la[i]
		}
		if la[i] != lb[i] {
			return fmt.Sprintf("%s\n- %s\n+ %s", table, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines before, %d after", len(la), len(lb))
}

// folderListing lists every file under dir with its size, but the SQLite
// database files (compared as a ledger, not as bytes).
func folderListing(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.Contains(filepath.Base(path), ".db") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, fmt.Sprintf("%s:%d", rel, info.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestDryRunNightlyRangePredictsTheRealRange dry-runs the whole nightly
// cycle (returns, originate, statements, lease-end, deliver) over the same
// six days, then runs it for real on a copy: every job of every day
// predicts what the real one did (the documents it would store and the
// emails it would queue; the emails deliver would send are the ones the
// real deliver sent), and nothing is written to the ledger, the document
// folder or the mail pickup folder.
func TestDryRunNightlyRangePredictsTheRealRange(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dir := t.TempDir()
			dbURL := ledgertest.URL(t, dialect)
			env := []string{"DRAFTER_DATABASE_URL=" + dbURL, "DRAFTER_OPERATOR=tester", "DRAFTER_LOG_LEVEL=warn"}
			if dialect == "postgres" {
				mustDrafter(t, dir, env, "migrate")
			}
			const from, to = "2026-12-03", "2026-12-08"
			// The servicing system's extract of the last night: every
			// statement of the range reconciles.
			mustDrafter(t, dir, env, "import", writePortfolio(t, 400, 11, civil.MustParse(to)))
			copyDirPath := t.TempDir()
			copyDir(t, dir, copyDirPath)
			copyURL := cloneDatabase(t, dbURL)
			copyEnv := []string{"DRAFTER_DATABASE_URL=" + copyURL, "DRAFTER_OPERATOR=tester", "DRAFTER_LOG_LEVEL=warn"}

			before, filesBefore := ledgerSnapshot(t, dbURL), folderListing(t, dir)
			dryRes := drafter(t, dir, env, "run", "nightly", "--from", from, "--to", to, "--dry-run", "--json")
			dry := nightlySummaries(t, dryRes, true)
			// A held statement: the dry run says the real one would end
			// partial, and offers no resume (there is nothing to finish).
			if dryRes.code != 3 || !strings.Contains(dryRes.stderr, "would end partial") || strings.Contains(dryRes.stderr, "drafter resume") {
				t.Errorf("dry run with held statements: exit %d, want 3 and what the real run would come to\n%s", dryRes.code, lastLines(dryRes.stderr, 5))
			}
			if after := ledgerSnapshot(t, dbURL); after != before {
				t.Fatalf("the dry run changed the ledger:\n%s", firstDifference(before, after))
			}
			if files := folderListing(t, dir); files != filesBefore {
				t.Fatalf("the dry run wrote to the data dir:\nbefore %s\nafter  %s", filesBefore, files)
			}
			real := nightlySummaries(t, drafter(t, copyDirPath, copyEnv, "run", "nightly", "--from", from, "--to", to, "--json"), false)
			if len(real) != 2*4+3*6 || len(dry) != len(real) {
				t.Fatalf("%d real runs, %d dry runs; want 26 each (returns and originate on 4 banking days, the others on 6 days)", len(real), len(dry))
			}
			docs, sent := 0, 0
			for key, r := range real {
				d := dry[key]
				job := strings.Fields(key)[1]
				switch job {
				case "statements", "lease-end":
					// Rendered, not stored: the documents a real run stores.
					d["stored"] = orZero(d["rendered"])
					for _, m := range []map[string]any{d, r} {
						delete(m, "rendered")
						delete(m, "seconds")
						delete(m, "per_second")
					}
					docs += int(r["stored"].(float64))
				case "deliver":
					r = map[string]any{"sent": r["sent"], "failed": r["failed"], "status": r["status"]}
					// would_send and would_fail are left out when 0.
					d = map[string]any{"sent": orZero(d["would_send"]), "failed": orZero(d["would_fail"]), "status": d["status"]}
					sent += int(r["sent"].(float64))
				}
				if !reflect.DeepEqual(d, r) {
					t.Errorf("%s: the dry run predicted\n%s\nthe real run did\n%s", key, jsonText(d), jsonText(r))
				}
			}
			if docs == 0 || sent == 0 {
				t.Fatalf("the range stored %d documents and sent %d emails: the comparison proves little", docs, sent)
			}
			t.Logf("the nightly range stored %d documents and sent %d emails, as the dry run predicted", docs, sent)
		})
	}
}

// nightlySummaries reads the output of `run nightly --json`: each run's
// summary keyed "DATE JOB", with its status in it, and with what differs by
// design between a dry and a real originate (whether a file was stored)
// left out. A run may end partial (a statement held): the real one must
// then too.
func nightlySummaries(t *testing.T, res result, dryRun bool) map[string]map[string]any {
	t.Helper()
	out := res.stdout
	if res.code != 0 && res.code != 3 {
		t.Fatalf("run nightly: exit %d\n%s", res.code, res.stderr)
	}
	var results []struct {
		Run struct {
			Job          string `json:"job"`
			BusinessDate string `json:"business_date"`
			DryRun       bool   `json:"dry_run"`
			Status       string `json:"status"`
		} `json:"run"`
		Summary map[string]any `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out)
	}
	m := map[string]map[string]any{}
	for _, r := range results {
		if r.Run.DryRun != dryRun {
			t.Fatalf("%s %s: dry run %v", r.Run.BusinessDate, r.Run.Job, r.Run.DryRun)
		}
		files, _ := r.Summary["files"].([]any)
		for _, f := range files {
			delete(f.(map[string]any), "stored")
		}
		r.Summary["status"] = r.Run.Status
		m[r.Run.BusinessDate+" "+r.Run.Job] = r.Summary
	}
	return m
}

func orZero(v any) any {
	if v == nil {
		return float64(0)
	}
	return v
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
