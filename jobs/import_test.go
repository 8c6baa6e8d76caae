package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

func countAccounts(t *testing.T, env *jobs.Env) int {
	t.Helper()
	var n int
	if err := env.Store.DB().QueryRow(`SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A file with bad lines imports nothing, and says which lines and fields.
func TestImportAllOrNothing(t *testing.T) {
	bad, err := os.ReadFile("../portfolio/testdata/bad_lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			rep, err := jobs.ImportFile(context.Background(), env.Store, bytes.NewReader(bad), "bad_lines.jsonl", jobs.ImportOptions{})
			if !errors.Is(err, jobs.ErrInvalidLines) {
				t.Fatalf("err = %v", err)
			}
			if n := countAccounts(t, env); n != 0 || rep.Imported != 0 {
				t.Fatalf("%d accounts in the ledger, %d reported imported; want none", n, rep.Imported)
			}
			if len(rep.Errors) == 0 || !strings.HasPrefix(rep.Errors[0], "bad_lines.jsonl:") {
				t.Fatalf("errors %q do not name the file and line", rep.Errors)
			}
		})
	}
}

// --skip-invalid imports the good lines and writes one reject per bad line.
func TestImportSkipInvalid(t *testing.T) {
	bad, err := os.ReadFile("../portfolio/testdata/bad_lines.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, "sqlite", nil)
	var rejects bytes.Buffer
	rep, err := jobs.ImportFile(context.Background(), env.Store, bytes.NewReader(bad), "bad_lines.jsonl", jobs.ImportOptions{SkipInvalid: true, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported == 0 || rep.Rejected == 0 || countAccounts(t, env) != rep.Imported {
		t.Fatalf("report %+v, ledger %d accounts", rep, countAccounts(t, env))
	}
	if got := strings.Count(rejects.String(), "bad_lines.jsonl:"); got < rep.Rejected {
		t.Fatalf("%d reject lines for %d rejected accounts:\n%s", got, rep.Rejected, rejects.String())
	}
}

// A truncated last line is a bad line like any other: nothing is imported.
func TestImportTruncatedFile(t *testing.T) {
	good, err := os.ReadFile("../testdata/portfolio/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cut := good[:len(good)-200]
	env := testEnv(t, "sqlite", nil)
	rep, err := jobs.ImportFile(context.Background(), env.Store, bytes.NewReader(cut), "small.jsonl", jobs.ImportOptions{})
	if !errors.Is(err, jobs.ErrInvalidLines) || countAccounts(t, env) != 0 {
		t.Fatalf("err %v, %d accounts", err, countAccounts(t, env))
	}
	last := strings.Count(string(cut), "\n") + 1
	if len(rep.Errors) != 1 || !strings.HasPrefix(rep.Errors[0], "small.jsonl:"+strconv.Itoa(last)+":") {
		t.Fatalf("errors %q, want one naming line %d", rep.Errors, last)
	}
}

// A holder name that needs the fallback name imports, with a warning naming
// the file line, the account and the fallback.
func TestImportWarnsNameFallback(t *testing.T) {
	good, err := os.ReadFile("../testdata/portfolio/small.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(good), "\n"), "\n")
	var ba struct {
		BankAccounts []struct {
			HolderName string `json:"holder_name"`
		} `json:"bank_accounts"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &ba); err != nil || len(ba.BankAccounts) == 0 {
		t.Fatalf("line 3 of small.jsonl: %v", err)
	}
	old, _ := json.Marshal(ba.BankAccounts[0].HolderName)
	lines[2] = strings.Replace(lines[2], `"holder_name":`+string(old), `"holder_name":"😀"`, 1)
	if !strings.Contains(lines[2], "😀") {
		t.Fatal("holder name not replaced")
	}
	env := testEnv(t, "sqlite", nil)
	in := strings.Join(lines, "\n") + "\n"
	rep, err := jobs.ImportFile(context.Background(), env.Store, strings.NewReader(in), "small.jsonl", jobs.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != len(lines) || rep.Rejected != 0 || countAccounts(t, env) != len(lines) {
		t.Fatalf("report %+v, ledger %d accounts; want all %d imported", rep, countAccounts(t, env), len(lines))
	}
	if rep.Warned != 1 || len(rep.Warnings) != 1 {
		t.Fatalf("warnings %q (%d), want one", rep.Warnings, rep.Warned)
	}
	w := rep.Warnings[0]
	for _, want := range []string{"small.jsonl:3: bank_accounts[0].holder_name: account ACC-00000003 ", "ACCOUNT HOLDER"} {
		if !strings.Contains(w, want) {
			t.Errorf("warning %q does not contain %q", w, want)
		}
	}
}
