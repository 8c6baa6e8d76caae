package jobs_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testEnv is a job environment on a fresh store of the dialect, documents in
// a temporary folder, and the default settings with overrides.
func testEnv(t *testing.T, dialect string, settings map[string]string) *jobs.Env {
	t.Helper()
	return benchEnv(t, dialect, settings)
}

// benchEnv is testEnv for tests and benchmarks alike.
func benchEnv(t testing.TB, dialect string, settings ...map[string]string) *jobs.Env {
	t.Helper()
	merged := map[string]string{}
	for _, m := range settings {
		for k, v := range m {
			merged[k] = v
		}
	}
	return jobstest.Env(t, ledgertest.URL(t, dialect), merged)
}

func importAccounts(t *testing.T, st *ledger.Store, accts []portfolio.Account) {
	t.Helper()
	var buf bytes.Buffer
	for i := range accts {
		b, err := jsonLine(accts[i])
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
	}
	if rep, err := jobs.ImportFile(context.Background(), st, &buf, "test.jsonl", jobs.ImportOptions{}); err != nil {
		t.Fatal(err, rep.Errors)
	}
}

func importGenerated(t *testing.T, st *ledger.Store, n int, seed int64, asOf civil.Date) {
	t.Helper()
	var buf bytes.Buffer
	if err := portfolio.Generate(&buf, portfolio.GenerateOptions{Accounts: n, Seed: seed, AsOf: asOf}); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.ImportFile(context.Background(), st, &buf, "generated.jsonl", jobs.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\ngot:\n%s", name, got)
	}
}

// paymentState is SQL for a payment's state as its originations record
// says it, over payments p LEFT JOIN originations o: until the deliver
// job (or a statements run) settles its file, an originated payment's row
// still reads scheduled (ledger/console.go reads it the same way).
const paymentState = `CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END`
