package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// qpdfCheck fails t when qpdf finds the PDF broken; without qpdf it checks
// nothing (make test installs it).
func qpdfCheck(t *testing.T, name string, pdf []byte) {
	t.Helper()
	if _, err := exec.LookPath("qpdf"); err != nil {
		return
	}
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Errorf("qpdf --check %s: %v\n%s", name, err, out)
	}
}

func hasQPDF(t *testing.T) {
	if _, err := exec.LookPath("qpdf"); err != nil {
		t.Log("qpdf is not installed: PDFs are not checked with qpdf --check")
	}
}

// recordedDocuments returns the documents recorded, by storage key.
func recordedDocuments(t *testing.T, st *ledger.Store, kindLike string) map[string]ledger.Document {
	t.Helper()
	rows, err := st.DB().Query(`SELECT id, account_id, kind, period, storage_key, sha256, size FROM documents WHERE kind LIKE $1`, kindLike)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]ledger.Document{}
	for rows.Next() {
		var d ledger.Document
		if err := rows.Scan(&d.ID, &d.AccountID, &d.Kind, &d.Period, &d.StorageKey, &d.SHA256, &d.Size); err != nil {
			t.Fatal(err)
		}
		out[d.StorageKey] = d
	}
	return out
}

// documentEmails counts the outbox rows of kind that belong to a recorded
// document (topic document:ID, payload with its id) and those that do not.
func documentEmails(t *testing.T, st *ledger.Store, kind string) (matched, total int) {
	t.Helper()
	st.DB().QueryRow(`SELECT COUNT(*) FROM outbox WHERE kind = $1`, kind).Scan(&total)
	st.DB().QueryRow(`SELECT COUNT(*) FROM outbox o JOIN documents d ON o.topic = 'document:' || CAST(d.id AS TEXT)
		AND o.payload = '{"document_id":' || CAST(d.id AS TEXT) || '}' AND o.account_id = d.account_id
		JOIN accounts a ON a.id = d.account_id JOIN customers c ON c.id = a.customer_id AND c.email = o.recipient
		WHERE o.kind = $1 AND o.status = 'queued'`, kind).Scan(&matched)
	return matched, total
}

func dueAccounts(t *testing.T, st *ledger.Store, d civil.Date) []string {
	t.Helper()
	accts, err := st.StatementAccounts(context.Background(), ledger.StatementFilter{Date: d}, "", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range accts {
		ids = append(ids, a.ID)
	}
	return ids
}

// TestStatementsRun: a dry run stores nothing; the run stores one PDF per
// due account, each qpdf-clean and recorded with its sha256 and one email;
// a rerun stores and queues nothing new; a statement lost from storage is
// stored again from the ledger.
func TestStatementsRun(t *testing.T) {
	hasQPDF(t)
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 400, 11, d)
			due := dueAccounts(t, env.Store, d)
			if len(due) < 10 {
				t.Fatalf("%d accounts due on %s; want a portfolio with more", len(due), d)
			}

			dry, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, DryRun: true, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if s := dry.Summary.(*jobs.DocumentSummary); s.Rendered != len(due) || s.Stored != 0 {
				t.Errorf("dry run: %+v, want %d rendered and nothing stored", s, len(due))
			}
			if objs, _ := env.Docs.List(ctx, "statements/"); len(objs) != 0 || len(recordedDocuments(t, env.Store, "statement")) != 0 {
				t.Fatalf("dry run stored %d objects", len(objs))
			}

			res, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.DocumentSummary)
			if res.Run.Status != ledger.RunSucceeded || sum.Stored != len(due) || sum.EmailsQueued != len(due) || sum.Failed != 0 {
				t.Fatalf("run %s: %+v, want %d stored", res.Run.Status, sum, len(due))
			}
			docs := recordedDocuments(t, env.Store, "statement")
			if len(docs) != len(due) {
				t.Fatalf("%d documents recorded, want %d", len(docs), len(due))
			}
			for _, id := range due {
				key := jobs.StatementKey(id, d)
				b, _, err := env.Docs.Get(ctx, key)
				if err != nil {
					t.Fatalf("statement of %s: %v", id, err)
				}
				sha := sha256.Sum256(b)
				doc := docs[key]
				if doc.SHA256 != hex.EncodeToString(sha[:]) || doc.Size != int64(len(b)) || doc.Period != "2026-11" || doc.AccountID != id {
					t.Errorf("%s recorded as %+v; stored bytes have sha256 %x, %d bytes", key, doc, sha, len(b))
				}
				qpdfCheck(t, key, b)
			}
			if objs, _ := env.Docs.List(ctx, "statements/"); len(objs) != len(due) {
				t.Errorf("%d objects stored, want one per due account (%d)", len(objs), len(due))
			}
			if m, n := documentEmails(t, env.Store, ledger.MailStatementReady); m != len(due) || n != len(due) {
				t.Errorf("emails queued: %d matching of %d, want %d", m, n, len(due))
			}

			// A rerun verifies and repeats nothing.
			before := modTimes(t, env)
			again, err := env.Rerun(ctx, jobs.Statements{}, res.Run, "test", "verify", "")
			if err != nil {
				t.Fatal(err)
			}
			s2 := again.Summary.(*jobs.DocumentSummary)
			if s2.Stored != 0 || s2.Verified != len(due) || s2.EmailsQueued != 0 || again.Run.Status != ledger.RunSucceeded {
				t.Errorf("rerun: %s %+v, want all %d verified and nothing stored", again.Run.Status, s2, len(due))
			}
			if after := modTimes(t, env); !equalMaps(before, after) {
				t.Errorf("rerun rewrote stored statements")
			}
			if m, n := documentEmails(t, env.Store, ledger.MailStatementReady); n != len(due) || m != n {
				t.Errorf("after rerun: %d emails, want %d", n, len(due))
			}

			// Storage lost one: the rerun puts it back from the ledger.
			lost := jobs.StatementKey(due[0], d)
			if err := os.Remove(filepath.Join(env.Config.DataDir, "docs", filepath.FromSlash(lost))); err != nil {
				t.Fatal(err)
			}
			third, err := env.Rerun(ctx, jobs.Statements{}, res.Run, "test", "storage lost a file", "")
			if err != nil {
				t.Fatal(err)
			}
			if s3 := third.Summary.(*jobs.DocumentSummary); s3.Restored != 1 || s3.Verified != len(due)-1 || s3.Stored != 0 {
				t.Errorf("rerun after a loss: %+v, want 1 restored", s3)
			}
			if obj, err := env.Docs.Stat(ctx, lost); err != nil || obj.SHA256 != docs[lost].SHA256 {
				t.Errorf("restored %s: %+v %v", lost, obj, err)
			}
		})
	}
}

func modTimes(t *testing.T, env *jobs.Env) map[string]string {
	t.Helper()
	objs, err := env.Docs.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range objs {
		out[o.Key] = o.ModTime.String()
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStatementsItemFailure: a statement that cannot be rendered (a name
// longer than the document prints) fails alone; the run ends partial with
// every other statement stored.
func TestStatementsItemFailure(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { statementItemFailure(t, dialect) })
	}
}

func statementItemFailure(t *testing.T, dialect string) {
	ctx := context.Background()
	env := testEnv(t, dialect, nil)
	st := env.Store
	d := civil.MustParse("2026-11-30")
	importGenerated(t, st, 200, 12, d)
	due := dueAccounts(t, st, d)
	if _, err := st.DB().Exec(`UPDATE customers SET first_name = $1 WHERE id = (SELECT customer_id FROM accounts WHERE id = $2)`,
		strings.Repeat("Ñ", 400), due[0]); err != nil {
		t.Fatal(err)
	}
	res, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary.(*jobs.DocumentSummary)
	if res.Run.Status != ledger.RunPartial || sum.Failed != 1 || sum.Stored != len(due)-1 {
		t.Fatalf("run %s %+v, want partial with 1 failed and %d stored", res.Run.Status, sum, len(due)-1)
	}
	items, err := st.RunItems(ctx, res.Run.ID)
	if err != nil || len(items) != 1 || !strings.Contains(items[0].Item, due[0]) || !strings.Contains(items[0].Error, "too long") {
		t.Errorf("failed items: %+v %v", items, err)
	}
	if _, err := env.Docs.Stat(ctx, jobs.StatementKey(due[0], d)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the failed statement was stored: %v", err)
	}
}

// TestStatementsReplaceAnUnrecordedRender: a run killed after it stored a
// statement but before the ledger recorded it, resumed after the ledger
// changed, finds different bytes under the key. Nobody was sent those
// bytes, so the new render replaces them (the old kept as a previous
// version) and the run succeeds, where it used to fail that account on
// every rerun.
func TestStatementsReplaceAnUnrecordedRender(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 100, 12, d)
			due := dueAccounts(t, env.Store, d)
			key := jobs.StatementKey(due[0], d)
			stale := []byte("%PDF-1.4 an earlier render that the ledger never recorded\n")
			if _, err := env.Docs.Put(ctx, key, stale, storage.PutOptions{ContentType: "application/pdf"}); err != nil {
				t.Fatal(err)
			}
			res, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.DocumentSummary)
			if res.Run.Status != ledger.RunSucceeded || sum.Failed != 0 || sum.Stored != len(due) {
				t.Fatalf("run %s %+v, want succeeded with %d stored", res.Run.Status, sum, len(due))
			}
			obj, err := env.Docs.Stat(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var recorded string
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT sha256 FROM documents WHERE storage_key = $1`, key).Scan(&recorded); err != nil {
				t.Fatal(err)
			}
			if obj.SHA256 != recorded {
				t.Fatalf("storage holds sha256 %s, the ledger recorded %s", obj.SHA256, recorded)
			}
			versions, err := env.Docs.List(ctx, storage.VersionsPrefix)
			if err != nil {
				t.Fatal(err)
			}
			kept := false
			for _, v := range versions {
				if b, _, err := env.Docs.Get(ctx, v.Key); err == nil && bytes.Equal(b, stale) {
					kept = true
				}
			}
			if !kept {
				t.Fatalf("the replaced bytes were not kept as a previous version: %+v", versions)
			}
		})
	}
}

// TestStatementsRerunAfterTheAccountChanged: a rerun of a statements day
// after an account changed (its customer's name, from a new extract) finds
// its recorded statement intact in storage and counts it verified, where
// it used to fail that account on every rerun; a recorded statement that
// storage lost and that renders differently now is still an error, never
// silently replaced by other bytes.
func TestStatementsRerunAfterTheAccountChanged(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 100, 12, d)
			due := dueAccounts(t, env.Store, d)
			first, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
			if err != nil || first.Run.Status != ledger.RunSucceeded {
				t.Fatalf("first run: %+v, %v", first.Run, err)
			}
			for _, acc := range due[:2] {
				if _, err := env.Store.DB().ExecContext(ctx, `UPDATE customers SET first_name = 'Renamed' WHERE id = (SELECT customer_id FROM accounts WHERE id = $1)`, acc); err != nil {
					t.Fatal(err)
				}
			}
			again, err := env.Rerun(ctx, jobs.Statements{}, first.Run, "ana", "check the day again", "")
			if err != nil {
				t.Fatal(err)
			}
			sum := again.Summary.(*jobs.DocumentSummary)
			if again.Run.Status != ledger.RunSucceeded || sum.Verified != len(due) || sum.Failed != 0 {
				t.Fatalf("rerun after the change: %s %+v, want succeeded with %d verified", again.Run.Status, sum, len(due))
			}
			fs, ok := env.Docs.(*storage.FS)
			if !ok {
				t.Skipf("test store is %T; the lost statement is removed from a folder", env.Docs)
			}
			if err := os.Remove(filepath.Join(fs.Root(), filepath.FromSlash(jobs.StatementKey(due[0], d)))); err != nil {
				t.Fatal(err)
			}
			lost, err := env.Rerun(ctx, jobs.Statements{}, again.Run, "ana", "a statement lost", "")
			if err == nil && lost.Run.Status == ledger.RunSucceeded {
				t.Fatalf("a lost statement that renders differently now: %+v", lost.Run)
			}
			if _, err := env.Docs.Stat(ctx, jobs.StatementKey(due[0], d)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("other bytes were stored for the lost statement: %v", err)
			}
		})
	}
}

// TestStatementInputIncludesDrafterPayments: a debit drafter originated
// after the servicing system's snapshot is on the statement of the cycle it
// settles in, once; the imported transactions of the cycle are there too.
func TestStatementInputIncludesDrafterPayments(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t, "sqlite", nil)
	asOf := civil.MustParse("2026-11-24")
	importGenerated(t, env.Store, 300, 13, asOf)
	if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: asOf, Trigger: "test"}); err != nil {
		t.Fatal(err)
	}
	var account string
	var eff civil.Date
	err := env.Store.DB().QueryRow(`SELECT p.account_id, o.effective_on FROM originations o JOIN payments p ON p.id = o.payment_id
		WHERE p.kind = 'debit' AND p.source = 'autopay' ORDER BY p.account_id LIMIT 1`).Scan(&account, &eff)
	if err != nil {
		t.Fatalf("no payment originated on %s: %v", asOf, err)
	}
	// The statements run settles the stored files before it reads the
	// payments (as the deliver job does every few minutes).
	if _, err := env.Store.SettleStoredFiles(ctx, nil); err != nil {
		t.Fatal(err)
	}
	a, err := env.Store.DocumentAccount(ctx, account)
	if err != nil {
		t.Fatal(err)
	}
	// The first cycle end on or after the effective date.
	end := eff
	for !ledger.CycleEndsOn(a.CycleDay, end) {
		end = end.AddDays(1)
	}
	acts, err := env.Store.AccountActivity(ctx, []string{account}, a.CycleStart(end).AddDays(-40), end)
	if err != nil {
		t.Fatal(err)
	}
	// The extract is as of asOf: the servicing system's balance on end is
	// not known yet, so the statement would be held; its lines are there.
	in, err := jobs.StatementInput(a, acts[account], end, jobs.ScheduleFromEnv(env))
	var held *jobs.HeldStatement
	if !errors.As(err, &held) || !strings.Contains(held.Exception.Detail, "is not in the ledger") {
		t.Errorf("statement of %s without the servicing system's balance: %v, want it held", end, err)
	}
	drafter, imported := 0, 0
	for _, tx := range in.Transactions {
		if tx.PostedOn == eff && tx.Kind == "payment" && strings.Contains(tx.Description, "Autopay") {
			drafter++
		}
	}
	for _, tx := range acts[account].Imported {
		if !tx.PostedOn.Before(in.CycleStart) && !tx.PostedOn.After(end) {
			imported++
		}
	}
	if drafter != 1 || len(in.Transactions) != imported+1 {
		t.Errorf("cycle %s..%s of %s: %d lines (%d imported), drafter's payment on %s %d times; want it once: %+v",
			in.CycleStart, end, account, len(in.Transactions), imported, eff, drafter, in.Transactions)
	}
	if _, err := jobs.RenderStatementFor(ctx, env, account, end); !errors.As(err, &held) {
		t.Errorf("render without the servicing system's balance: %v, want it held", err)
	}
}

// TestStatementsWaitForFailedReturns: a returns run that failed (storage
// down) and was not resumed stops the statements run of its date before
// it selects any work, naming the returns run; resumed in order, returns
// then statements, the statements are made with the returns applied.
// Made first, a statement would lack those returns, and once they were
// applied (dated in its cycle) no later statement could reconcile.
func TestStatementsWaitForFailedReturns(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 60, 11, d)
			// Storage down: its folder is now a file.
			down := filepath.Join(t.TempDir(), "docs")
			broken, err := storage.OpenFS(down)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(down); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(down, []byte("not a folder"), 0o600); err != nil {
				t.Fatal(err)
			}
			docs := env.Docs
			env.Docs = broken
			ret, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: d, Trigger: "schedule"})
			env.Docs = docs
			if err == nil || ret.Run.Status != ledger.RunFailed {
				t.Fatalf("returns with storage down: %s, %v; want failed", ret.Run.Status, err)
			}
			// A failed returns run of a later date does not hold it.
			later, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: "returns", BusinessDate: d.AddDays(1), Trigger: "test", TriggeredBy: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Store.FinishRun(ctx, later.ID, ledger.RunFailed, ledger.Counts{}, nil, "test"); err != nil {
				t.Fatal(err)
			}

			st, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "schedule"})
			if !errors.Is(err, jobs.ErrReturnsUnfinished) || st.Run.Status != ledger.RunFailed || st.Run.Selected != 0 ||
				!strings.Contains(st.Run.Error, fmt.Sprintf("drafter resume %d", ret.Run.ID)) {
				t.Fatalf("statements with a failed returns run before them: %s %q, %v; want failed, naming run %d", st.Run.Status, st.Run.Error, err, ret.Run.ID)
			}
			if n := len(recordedDocuments(t, env.Store, "statement")); n != 0 {
				t.Fatalf("%d statements made before the returns were applied", n)
			}

			if res, err := env.Resume(ctx, jobs.Returns{}, ret.Run.ID, "test", 0); err != nil || res.Run.Status != ledger.RunSucceeded {
				t.Fatalf("resume returns: %s, %v", res.Run.Status, err)
			}
			res, err := env.Resume(ctx, jobs.Statements{}, st.Run.ID, "test", 0)
			if err != nil || res.Run.Status != ledger.RunSucceeded {
				t.Fatalf("resume statements: %s, %v", res.Run.Status, err)
			}
			if n, due := len(recordedDocuments(t, env.Store, "statement")), len(dueAccounts(t, env.Store, d)); n != due || n == 0 {
				t.Fatalf("%d statements after the resumes, want %d", n, due)
			}
		})
	}
}

// TestStatementsSettleAStoredFileFirst: originate stores the night's files
// and leaves their payment rows to the deliver job, so a statements run
// right after it, before any deliver run, finds every stored file
// unsettled; it must not leave their debits off the statements: it settles
// the stored files before reading payments.
func TestStatementsSettleAStoredFileFirst(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			asOf := civil.MustParse("2026-11-24")
			importGenerated(t, env.Store, 300, 13, asOf)
			if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: asOf, Trigger: "test"}); err != nil {
				t.Fatal(err)
			}
			db := env.Store.DB()
			var account string
			var payment, file int64
			var eff civil.Date
			if err := db.QueryRow(`SELECT p.account_id, p.id, o.ach_file_id, o.effective_on FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE p.kind = 'debit' ORDER BY p.account_id LIMIT 1`).Scan(&account, &payment, &file, &eff); err != nil {
				t.Fatalf("no payment originated on %s: %v", asOf, err)
			}
			var state string
			var rowFile *int64
			if err := db.QueryRow(`SELECT state, ach_file_id FROM payments WHERE id = $1`, payment).Scan(&state, &rowFile); err != nil {
				t.Fatal(err)
			}
			if state != "scheduled" || rowFile != nil {
				t.Fatalf("payment %d after originate: %s in file %v, want its row unsettled (scheduled, no file) until deliver or statements", payment, state, rowFile)
			}
			debits := func() int {
				acts, err := env.Store.AccountActivity(ctx, []string{account}, eff.AddDays(-1), eff.AddDays(1))
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, tx := range acts[account].Drafter {
					if tx.ID == fmt.Sprintf("payment:%d", payment) {
						n++
					}
				}
				return n
			}
			// A statement reads drafter's debits from their originations
			// records: the debit is on it, once, settled or not.
			if n := debits(); n != 1 {
				t.Fatalf("before: the unsettled debit is read %d times; want once, from its record", n)
			}
			if _, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: asOf, Trigger: "test"}); err != nil {
				t.Fatal(err)
			}
			var settledFile int64
			if err := db.QueryRow(`SELECT state, ach_file_id FROM payments WHERE id = $1`, payment).Scan(&state, &settledFile); err != nil {
				t.Fatal(err)
			}
			if state != "originated" || settledFile != file || debits() != 1 {
				t.Fatalf("after the statements run: payment %d %s in file %d, read %d times; want originated in file %d, once", payment, state, settledFile, debits(), file)
			}
			if unsettled, err := env.Store.UnsettledFiles(ctx); err != nil || len(unsettled) != 0 {
				t.Fatalf("after the statements run: %d stored files unsettled (%v), want none", len(unsettled), err)
			}
		})
	}
}
