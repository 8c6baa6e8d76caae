package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/storage"
)

// The night of Tuesday 2026-12-01: autopay due on the 2nd settles on
// Wednesday 2026-12-02, and the bank's returns come that day.
var (
	returnsNight = civil.MustParse("2026-12-01")
	returnsDay   = civil.MustParse("2026-12-02")
)

// returnsPortfolio is n loans with autopay due on the 2nd from verified
// checking accounts; even ones charge a $25 returned-payment fee, odd ones
// none. Account i is LN-<i>, its bank account B-LN-<i>.
func returnsPortfolio(n int) []portfolio.Account {
	d := civil.MustParse
	out := make([]portfolio.Account, n)
	for i := range out {
		id := fmt.Sprintf("LN-%03d", i)
		fee := money.Cents(2500)
		if i%2 == 1 {
			fee = 0
		}
		out[i] = portfolio.Account{
			ID: id, Kind: "loan", Status: "active",
			Customer: portfolio.Customer{ID: "C-" + id, FirstName: "Ana", LastName: fmt.Sprintf("Customer %d", i), Email: strings.ToLower(id) + "@example.com",
				Address: portfolio.Address{Line1: "12 Elm St", City: "Dover", State: "DE", PostalCode: "19901"}},
			Contract: portfolio.Contract{State: "DE", OpenedOn: d("2025-01-05"), TermMonths: 60, MonthlyPayment: money.Cents(30000 + i),
				FirstDueDate: d("2025-02-02"), DueDay: 2, CycleDay: 5, MaturityDate: d("2030-01-02"),
				LateFee: 3500, GraceDays: 10, ReturnedPaymentFee: fee, AmountFinanced: 2150000, APRBasisPoints: 649,
				Vehicle: portfolio.Vehicle{VIN: "1FTFW1E58PFA00001", Year: 2025, Make: "Ford", Model: "F-150"}},
			Balance: portfolio.Balance{AsOf: d("2026-11-01"), Principal: 1500000, PaymentsMade: 21},
			BankAccounts: []portfolio.BankAccount{{ID: "B-" + id, Routing: "011000015", AccountNumber: fmt.Sprintf("40%07d", i), Type: "checking",
				HolderName: "Ana Customer", Prenote: "verified", Status: "active"}},
			Autopay: &portfolio.Autopay{ID: "AP-" + id, BankAccountID: "B-" + id, AuthorizedOn: d("2025-01-05"), StartsOn: d("2025-02-01"), Status: "active"},
		}
	}
	return out
}

// originateDay runs originate for d and returns the day's (single) file and
// the trace of each account's entry in it.
func originateDay(t *testing.T, env *jobs.Env, d civil.Date) ([]byte, map[string]string) {
	t.Helper()
	ctx := context.Background()
	res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	sum := res.Summary.(*jobs.OriginateSummary)
	if len(sum.Files) != 1 {
		t.Fatalf("originate %s made %d files", d, len(sum.Files))
	}
	body, _, err := env.Docs.Get(ctx, sum.Files[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	// From the originations records: the payment rows are settled later,
	// by the deliver job.
	rows, err := env.Store.DB().QueryContext(ctx, `SELECT p.account_id, o.trace_number FROM originations o JOIN payments p ON p.id = o.payment_id
		WHERE o.business_date = $1`, d)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	traces := map[string]string{}
	for rows.Next() {
		var a, tr string
		rows.Scan(&a, &tr)
		traces[a] = tr
	}
	return body, traces
}

func ingest(t *testing.T, env *jobs.Env, name string, data []byte, on civil.Date) jobs.FileIngest {
	t.Helper()
	fr, err := env.Ingester(env.Store, false, nil).File(context.Background(), name, data, on)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

// ledgerState is every row returns touch, in a stable text form.
func ledgerState(t *testing.T, st *ledger.Store) string {
	t.Helper()
	queries := []string{
		`SELECT id, source, source_key, account_id, bank_account_id, sec, description, amount, draft_on, state, state_reason, attempt,
			COALESCE(original_payment_id, 0), COALESCE(trace_number, '') FROM payments ORDER BY id`,
		`SELECT id, account_id, posted_on, kind, amount, description FROM transactions WHERE id LIKE 'return%' ORDER BY id`,
		`SELECT id, routing, number_mac, last4, type, status, status_reason, individual_id FROM bank_accounts ORDER BY id`,
		`SELECT id, status, status_reason FROM autopay_enrollments ORDER BY id`,
		`SELECT id, review FROM accounts ORDER BY id`,
		`SELECT entry_key, original_trace, COALESCE(payment_id, 0), code, amount, action, returned_on FROM returns ORDER BY entry_key`,
		`SELECT entry_key, original_trace, change_code, COALESCE(payment_id, 0), COALESCE(bank_account_id, ''), corrected_data, action FROM corrections ORDER BY entry_key`,
		`SELECT topic, recipient, kind, payload, status FROM outbox ORDER BY topic, recipient`,
		`SELECT kind, reference, detail, raw FROM exceptions ORDER BY kind, reference`,
	}
	return ledgertest.Dump(t, st.DB(), queries...)
}

func queryInt(t *testing.T, st *ledger.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return n
}

func queryString(t *testing.T, st *ledger.Store, q string, args ...any) string {
	t.Helper()
	var s string
	if err := st.DB().QueryRow(q, args...).Scan(&s); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return s
}

// TestReturnEveryCodeActsByPolicy returns one entry of drafter's own file
// with each return code an RDFI sends, and checks that each did what
// ach.ReturnPolicy says, on both databases.
func TestReturnEveryCodeActsByPolicy(t *testing.T) {
	var codes []ach.Policy
	for _, p := range ach.ReturnPolicies() {
		if p.Kind == ach.KindReturn {
			codes = append(codes, p)
		}
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			accts := returnsPortfolio(len(codes))
			importAccounts(t, env.Store, accts)
			body, traces := originateDay(t, env, returnsNight)
			// A one-time payment waits on each bank account.
			var later []ledger.NewPayment
			for _, a := range accts {
				later = append(later, ledger.NewPayment{Source: ledger.SourceScheduled, SourceKey: "later-" + a.ID, AccountID: a.ID,
					BankAccountID: a.BankAccounts[0].ID, Kind: "debit", SEC: "WEB", Description: "PAYMENT", Amount: 5000,
					DueOn: returnsDay.AddDays(10), DraftOn: returnsDay.AddDays(10)})
			}
			if _, err := env.Store.InsertPayments(ctx, later); err != nil {
				t.Fatal(err)
			}
			var rets []ach.SimulatedReturn
			for i, p := range codes {
				r := ach.SimulatedReturn{Trace: traces[accts[i].ID], Code: p.Code}
				if p.Code == "R14" || p.Code == "R15" {
					r.DateOfDeath = civil.MustParse("2026-11-20")
				}
				rets = append(rets, r)
			}
			file, err := ach.BuildReturnFile(body, rets, returnsDay)
			if err != nil {
				t.Fatal(err)
			}
			fr := ingest(t, env, "returns.ach", file, returnsDay)
			if fr.Status != jobs.IngestApplied || fr.Matched != len(codes) || fr.Unmatched != 0 || fr.Mismatched != 0 {
				t.Fatalf("ingest: %+v", fr)
			}
			for i, p := range codes {
				t.Run(p.Code, func(t *testing.T) {
					a := accts[i].ID
					st := env.Store
					pid := queryInt(t, st, `SELECT id FROM payments WHERE account_id = $1 AND source = 'autopay'`, a)
					if got := queryString(t, st, `SELECT state || ' ' || state_reason FROM payments WHERE id = $1`, pid); got != "returned "+p.Code {
						t.Errorf("payment %s, want returned %s", got, p.Code)
					}
					if n := queryInt(t, st, `SELECT COUNT(*) FROM transactions WHERE account_id = $1 AND kind = 'returned_payment' AND amount = $2`,
						a, accts[i].Contract.MonthlyPayment); n != 1 {
						t.Errorf("%d reversals", n)
					}
					wantFee := 0
					if p.FeeEligible && accts[i].Contract.ReturnedPaymentFee > 0 {
						wantFee = 1
					}
					if n := queryInt(t, st, `SELECT COUNT(*) FROM transactions WHERE account_id = $1 AND kind = 'returned_payment_fee'`, a); n != wantFee {
						t.Errorf("%d fees, want %d", n, wantFee)
					}
					wantRetry := 0
					if p.Represent {
						wantRetry = 1
					}
					if n := queryInt(t, st, `SELECT COUNT(*) FROM payments WHERE account_id = $1 AND source = 'represent' AND state = 'scheduled'
						AND description = 'RETRY PYMT' AND source_key = $2 AND attempt = 2 AND draft_on = $3`,
						a, fmt.Sprintf("%d:2", pid), civil.MustParse("2026-12-03")); n != wantRetry {
						t.Errorf("%d re-presentments, want %d", n, wantRetry)
					}
					bank := queryString(t, st, `SELECT status || ' ' || status_reason FROM bank_accounts WHERE account_id = $1`, a)
					if want := map[bool]string{true: "invalid " + p.Code, false: "active "}[p.InvalidateBankAccount]; bank != want {
						t.Errorf("bank account %q, want %q", bank, want)
					}
					// The payment waiting on an invalidated bank account is
					// cancelled; on any other it still waits.
					waiting := queryString(t, st, `SELECT state FROM payments WHERE source_key = $1`, "later-"+a)
					if want := map[bool]string{true: "cancelled", false: "scheduled"}[p.InvalidateBankAccount]; waiting != want {
						t.Errorf("the payment waiting on the bank account is %s, want %s", waiting, want)
					}
					autopay := queryString(t, st, `SELECT status FROM autopay_enrollments WHERE account_id = $1`, a)
					want := "active"
					if p.StopAutopay {
						want = "stopped"
						if p.InvalidateBankAccount && !p.FlagForReview {
							want = "suspended"
						}
					}
					if autopay != want {
						t.Errorf("autopay %s, want %s", autopay, want)
					}
					review := queryString(t, st, `SELECT review FROM accounts WHERE id = $1`, a)
					if (review != "") != p.FlagForReview || (p.FlagForReview && !strings.HasPrefix(review, p.Code)) {
						t.Errorf("review %q, flag %v", review, p.FlagForReview)
					}
					if n := queryInt(t, st, `SELECT COUNT(*) FROM exceptions WHERE kind = 'return_review' AND reference = $1`, fmt.Sprintf("payment %d", pid)); (n == 1) != p.Exception {
						t.Errorf("%d exceptions, policy exception %v", n, p.Exception)
					}
					var payload string
					n := queryInt(t, st, `SELECT COUNT(*) FROM outbox WHERE topic = $1 AND kind = 'payment_returned' AND recipient = $2`,
						fmt.Sprintf("payment:%d:returned", pid), accts[i].Customer.Email)
					if (n == 1) != p.NotifyCustomer {
						t.Errorf("%d emails, notify %v", n, p.NotifyCustomer)
					}
					if n == 1 {
						payload = queryString(t, st, `SELECT payload FROM outbox WHERE topic = $1`, fmt.Sprintf("payment:%d:returned", pid))
						var pl ledger.OutboxReturnPayload
						if err := json.Unmarshal([]byte(payload), &pl); err != nil || pl.PaymentID != int64(pid) || pl.Code != p.Code ||
							pl.RetryDate.IsZero() == p.Represent || pl.AutopayStopped != p.StopAutopay || (pl.Fee > 0) != (wantFee == 1) {
							t.Errorf("payload %s (%v)", payload, err)
						}
					}
				})
			}
			// What the summary says matches what happened.
			if fr.Represented != 2 || fr.ByCode["R01"] != 1 || fr.FeesAssessed != queryInt(t, env.Store, `SELECT COUNT(*) FROM transactions WHERE kind = 'returned_payment_fee'`) {
				t.Errorf("summary %+v", fr.IngestCounts)
			}
			// Return rates see every code.
			debits, byCode, err := env.Store.ReturnCounts(ctx, returnsNight.AddDays(-59), returnsDay)
			if err != nil || debits != len(codes) || len(byCode) != len(codes) {
				t.Errorf("return counts %d %v %v", debits, byCode, err)
			}
		})
	}
}

// TestRepresentmentLimits returns the same debit with R01 three times: the
// first two returns schedule a retry, each originated by a later originate
// run in its own RETRY PYMT batch; the third schedules nothing.
func TestRepresentmentLimits(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env := testEnv(t, dialect, nil)
			accts := returnsPortfolio(3)
			importAccounts(t, env.Store, accts)
			// A one-time web payment of another account drafts with the
			// first retry, so the retry has to get its own batch.
			if _, err := env.Store.DB().Exec(`INSERT INTO scheduled_payments (id, account_id, bank_account_id, amount, debit_on, channel)
				VALUES ('SP-1', 'LN-001', 'B-LN-001', 5000, '2026-12-03', 'web')`); err != nil {
				t.Fatal(err)
			}
			body, traces := originateDay(t, env, returnsNight)
			trace := traces["LN-000"]
			rootID := queryInt(t, env.Store, `SELECT payment_id FROM originations WHERE trace_number = $1`, trace)
			day := returnsDay
			for attempt := 1; attempt <= 3; attempt++ {
				file, err := ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: trace, Code: "R01"}}, day)
				if err != nil {
					t.Fatal(err)
				}
				fr := ingest(t, env, fmt.Sprintf("r%d.ach", attempt), file, day)
				if fr.Matched != 1 || fr.ByCode["R01"] != 1 {
					t.Fatalf("attempt %d: %+v", attempt, fr)
				}
				if attempt == 3 {
					if fr.Represented != 0 {
						t.Fatalf("third R01 scheduled a retry")
					}
					action := queryString(t, env.Store, `SELECT action FROM returns WHERE original_trace = $1 ORDER BY id DESC LIMIT 1`, trace)
					if !strings.Contains(action, "no retries left") {
						t.Fatalf("action %q", action)
					}
					break
				}
				if fr.Represented != 1 {
					t.Fatalf("attempt %d: %d retries scheduled", attempt, fr.Represented)
				}
				next := env.Calendar.NextBankingDay(day)
				if got := queryString(t, env.Store, `SELECT draft_on FROM payments WHERE source_key = $1`, fmt.Sprintf("%d:%d", rootID, attempt+1)); !strings.HasPrefix(got, next.String()) {
					t.Fatalf("retry drafts %s, want %s", got, next)
				}
				// The retry is originated the night of the return day.
				body, _ = originateDay(t, env, day)
				mf := checkNACHA(t, body)
				var retryBatch moov.Batcher
				for _, b := range mf.Batches {
					if b.GetHeader().CompanyEntryDescription == "RETRY PYMT" {
						retryBatch = b
					}
				}
				if retryBatch == nil || len(retryBatch.GetEntries()) != 1 || len(mf.Batches) < 2 && attempt == 1 {
					t.Fatalf("attempt %d: retry batch %v of %d batches", attempt, retryBatch, len(mf.Batches))
				}
				e := retryBatch.GetEntries()[0]
				if e.Amount != int(accts[0].Contract.MonthlyPayment) || retryBatch.GetHeader().StandardEntryClassCode != "PPD" {
					t.Fatalf("retry entry %d %s", e.Amount, retryBatch.GetHeader().StandardEntryClassCode)
				}
				// Sequences restart every day, so the retry usually carries the
				// trace of the earlier day's entry: the next return must be
				// matched to the retry by date and account, not by trace alone.
				trace = e.TraceNumber
				day = next
			}
			if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM payments WHERE source = 'represent'`); n != 2 {
				t.Fatalf("%d re-presentments in all, want 2", n)
			}
			if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM transactions WHERE kind = 'returned_payment_fee' AND account_id = 'LN-000'`); n != 3 {
				t.Fatalf("%d fees, want one per return", n)
			}
		})
	}
}

// TestIngestIdempotent ingests the same file twice, and the same entry in
// two different files: each entry is applied once.
func TestIngestIdempotent(t *testing.T) {
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		accts := returnsPortfolio(4)
		importAccounts(t, env.Store, accts)
		body, traces := originateDay(t, env, returnsNight)
		build := func(codes map[string]string) []byte {
			var rets []ach.SimulatedReturn
			for _, a := range accts {
				if c, ok := codes[a.ID]; ok {
					rets = append(rets, ach.SimulatedReturn{Trace: traces[a.ID], Code: c})
				}
			}
			b, err := ach.BuildReturnFile(body, rets, returnsDay)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		first := build(map[string]string{"LN-000": "R01", "LN-001": "R01", "LN-002": "R10"})
		fr := ingest(t, env, "a.ach", first, returnsDay)
		if fr.Matched != 3 || fr.Represented != 2 || fr.Emails != 3 {
			t.Fatalf("first: %+v", fr)
		}
		state := ledgerState(t, env.Store)
		again := ingest(t, env, "a-again.ach", first, returnsDay)
		if again.Status != jobs.IngestAlreadyProcessed || ledgerState(t, env.Store) != state {
			t.Fatalf("second ingest of the same bytes: %+v", again)
		}
		// Another file (another date, so other bytes) repeats LN-001 and
		// LN-002 and adds LN-003.
		other, err := ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: traces["LN-001"], Code: "R01"}, {Trace: traces["LN-002"], Code: "R10"},
			{Trace: traces["LN-003"], Code: "R01"}}, returnsDay.AddDays(1))
		if err != nil {
			t.Fatal(err)
		}
		fr = ingest(t, env, "b.ach", other, returnsDay)
		if fr.Status != jobs.IngestApplied || fr.Duplicates != 2 || fr.Matched != 1 || fr.Represented != 1 || fr.Emails != 1 {
			t.Fatalf("overlapping file: %+v", fr)
		}
		for _, q := range []struct {
			q    string
			want int
		}{
			{`SELECT COUNT(*) FROM returns`, 4},
			{`SELECT COUNT(*) FROM payments WHERE source = 'represent'`, 3},
			{`SELECT COUNT(*) FROM outbox WHERE kind = 'payment_returned'`, 4},
			{`SELECT COUNT(*) FROM transactions WHERE kind = 'returned_payment'`, 4},
			{`SELECT COUNT(*) FROM inbound_files WHERE status = 'applied'`, 2},
		} {
			if n := queryInt(t, env.Store, q.q); n != q.want {
				t.Errorf("%s: %d, want %d", q.q, n, q.want)
			}
		}
	})
}

// ledgertestEach runs fn on a fresh job environment of every database.
func ledgertestEach(t *testing.T, fn func(t *testing.T, env *jobs.Env)) {
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, testEnv(t, d, nil)) })
	}
}

// TestIngestMalformedFileChangesNothing corrupts one record of a valid
// return file: the file is rejected whole with the line and field, recorded
// once with an exception, and the ledger is as before.
func TestIngestMalformedFileChangesNothing(t *testing.T) {
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		accts := returnsPortfolio(3)
		importAccounts(t, env.Store, accts)
		body, traces := originateDay(t, env, returnsNight)
		good, err := ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: traces["LN-000"], Code: "R01"}, {Trace: traces["LN-001"], Code: "R02"},
			{Trace: traces["LN-002"], Code: "R03"}}, returnsDay)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(good), "\n")
		// The second entry's addenda: an unknown return code.
		n := 0
		bad := -1
		for i, l := range lines {
			if strings.HasPrefix(l, "799") {
				if n++; n == 2 {
					lines[i] = "799R00" + l[6:]
					bad = i + 1
				}
			}
		}
		malformed := []byte(strings.Join(lines, "\n"))
		before := ledgerState(t, env.Store)
		fr := ingest(t, env, "bad.ach", malformed, returnsDay)
		want := fmt.Sprintf("bad.ach:%d: addenda99 return code", bad)
		if fr.Status != jobs.IngestRejected || !strings.Contains(fr.Error, want) {
			t.Fatalf("ingest: %+v, want error %q", fr, want)
		}
		after := ledgerState(t, env.Store)
		if stripExceptions(after) != stripExceptions(before) {
			t.Fatalf("a rejected file changed the ledger:\nbefore\n%s\nafter\n%s", before, after)
		}
		raw := queryString(t, env.Store, `SELECT raw FROM exceptions WHERE kind = 'inbound_rejected'`)
		if !strings.HasPrefix(raw, "799R00") {
			t.Fatalf("exception raw %q", raw)
		}
		if st := queryString(t, env.Store, `SELECT status FROM inbound_files WHERE sha256 = $1`, fr.SHA256); st != "rejected" {
			t.Fatalf("inbound file %s", st)
		}
		again := ingest(t, env, "bad.ach", malformed, returnsDay)
		if again.Status != jobs.IngestAlreadyRejected || ledgerState(t, env.Store) != after {
			t.Fatalf("again: %+v", again)
		}
		// The good file still applies.
		if fr := ingest(t, env, "good.ach", good, returnsDay); fr.Matched != 3 {
			t.Fatalf("good file: %+v", fr)
		}
	})
}

func stripExceptions(state string) string {
	parts := strings.Split(state, "--\n")
	return strings.Join(parts[:len(parts)-2], "--\n")
}

// TestNOCsCorrectTheBankAccount sends a NOC of every change code an RDFI
// sends for drafter's entries: C01-C03, C05-C07 and C09 change the bank
// account before its next entry; the others wait for a person.
func TestNOCsCorrectTheBankAccount(t *testing.T) {
	type check struct {
		code    string
		noc     ach.SimulatedCorrection
		routing string
		number  string
		typ     string
		indID   string
		review  bool
	}
	checks := []check{
		{code: "C01", noc: ach.SimulatedCorrection{AccountNumber: "99887766"}, number: "99887766"},
		{code: "C02", noc: ach.SimulatedCorrection{RoutingNumber: "026009593"}, routing: "026009593"},
		{code: "C03", noc: ach.SimulatedCorrection{RoutingNumber: "026009593", AccountNumber: "5551234"}, routing: "026009593", number: "5551234"},
		{code: "C04", noc: ach.SimulatedCorrection{Name: "ANA CUSTOMER-SMITH"}, review: true},
		{code: "C05", noc: ach.SimulatedCorrection{TransactionCode: 37}, typ: "savings"},
		{code: "C06", noc: ach.SimulatedCorrection{AccountNumber: "123-456", TransactionCode: 37}, number: "123-456", typ: "savings"},
		{code: "C07", noc: ach.SimulatedCorrection{RoutingNumber: "021000021", AccountNumber: "7777", TransactionCode: 37},
			routing: "021000021", number: "7777", typ: "savings"},
		{code: "C09", noc: ach.SimulatedCorrection{IndividualID: "CUST-42"}, indID: "CUST-42"},
		{code: "C13", noc: ach.SimulatedCorrection{Text: "ADDENDA UNCLEAR"}, review: true},
		{code: "C14", noc: ach.SimulatedCorrection{Text: "IAT"}, review: true},
	}
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		ctx := context.Background()
		accts := returnsPortfolio(len(checks))
		importAccounts(t, env.Store, accts)
		body, traces := originateDay(t, env, returnsNight)
		var nocs []ach.SimulatedCorrection
		for i, c := range checks {
			n := c.noc
			n.Trace, n.ChangeCode = traces[accts[i].ID], c.code
			nocs = append(nocs, n)
		}
		file, err := ach.BuildNOCFile(body, nocs, returnsDay)
		if err != nil {
			t.Fatal(err)
		}
		fr := ingest(t, env, "noc.ach", file, returnsDay)
		if fr.Corrections != len(checks) || fr.BankAccountsCorrected != 7 || fr.Exceptions != 3 {
			t.Fatalf("ingest: %+v", fr)
		}
		verify := func(when string) {
			for i, c := range checks {
				t.Run(when+"/"+c.code, func(t *testing.T) {
					orig := accts[i].BankAccounts[0]
					b, err := env.Store.BankAccount(ctx, orig.ID)
					if err != nil {
						t.Fatal(err)
					}
					want := check{routing: orig.Routing, number: orig.AccountNumber, typ: orig.Type}
					if c.routing != "" {
						want.routing = c.routing
					}
					if c.number != "" {
						want.number = c.number
					}
					if c.typ != "" {
						want.typ = c.typ
					}
					if b.Routing != want.routing || b.AccountNumber != want.number || b.Type != want.typ || b.Last4 != ledger.Last4(want.number) {
						t.Errorf("bank account %s %s %s, want %s %s %s", b.Routing, b.Masked(), b.Type, want.routing, ledger.Mask(ledger.Last4(want.number)), want.typ)
					}
					if id := queryString(t, env.Store, `SELECT individual_id FROM bank_accounts WHERE id = $1`, orig.ID); id != c.indID {
						t.Errorf("individual id %q", id)
					}
					n := queryInt(t, env.Store, `SELECT COUNT(*) FROM exceptions WHERE kind = 'noc_review' AND reference = $1`,
						fmt.Sprintf("payment %d %s", queryInt(t, env.Store, `SELECT payment_id FROM originations WHERE trace_number = $1`, traces[accts[i].ID]), c.code))
					if (n == 1) != c.review {
						t.Errorf("%d review exceptions", n)
					}
				})
			}
		}
		verify("after the NOCs")
		// The servicing system has not caught up: its extract still has the
		// old details. The corrections stay.
		importAccounts(t, env.Store, accts)
		verify("after a reimport of the old details")
		// The next entry to a corrected account uses the new details.
		if _, err := env.Store.InsertPayments(ctx, []ledger.NewPayment{{Source: "test", SourceKey: "1", AccountID: accts[0].ID,
			BankAccountID: accts[0].BankAccounts[0].ID, Kind: "debit", SEC: "PPD", Description: "AUTOPAY", Amount: 100,
			DraftOn: returnsDay.AddDays(1)}}); err != nil {
			t.Fatal(err)
		}
		ids, err := env.Store.OriginableIDs(ctx, returnsDay.AddDays(1))
		if err != nil {
			t.Fatal(err)
		}
		due, err := env.Store.Originable(ctx, returnsDay.AddDays(1), ids)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range due {
			if p.AccountID == accts[0].ID {
				found = true
				if n, _ := env.Store.OpenNumber("bank_accounts", p.BankAccountID, p.NumberEnc); n != "99887766" {
					t.Fatalf("next entry goes to ****%s", ledger.Last4(n))
				}
			}
		}
		if !found {
			t.Fatalf("the corrected account's next debit is not ready to originate")
		}
		// The customer then gives new details: they win.
		fresh := accts[0]
		fresh.BankAccounts = []portfolio.BankAccount{fresh.BankAccounts[0]}
		fresh.BankAccounts[0].AccountNumber = "4242424242"
		importAccounts(t, env.Store, []portfolio.Account{fresh})
		if b, _ := env.Store.BankAccount(ctx, fresh.BankAccounts[0].ID); b.AccountNumber != "4242424242" {
			t.Fatalf("new details from the servicing system: got %s", b.Masked())
		}
	})
}

// TestPlanInbound covers decisions the simulated bank cannot produce:
// refused NOCs, stale and mismatched entries, the 180-day window, prenotes.
func TestPlanInbound(t *testing.T) {
	cal := jobs.NewCachedCalendar()
	on := returnsDay
	target := ledger.ReturnTarget{PaymentID: 7, Trace: "011000010000001", AccountID: "LN-1", BankAccountID: "B-1", Kind: "debit", SEC: "PPD",
		Amount: 30000, EffectiveOn: returnsDay, Attempt: 1, RootID: 7, RootEffectiveOn: returnsDay, OriginatedRouting: "011000015",
		OriginatedNumber: "123456789", ReturnedPaymentFee: 2500, ContractState: "DE", Email: "a@example.com",
		Bank: ledger.BankAccount{ID: "B-1", Routing: "011000015", AccountNumber: "123456789", Status: "active"}}
	ret := func(code string) ach.ReturnEntry {
		return ach.ReturnEntry{Code: code, Kind: ach.KindReturn, OriginalTrace: target.Trace, OriginalRDFI: "01100001", Amount: 30000,
			AccountNumberSHA256: ach.AccountNumberSHA256("123456789"), AccountNumberLast4: "6789"}
	}
	noc := func(code string, refused bool) ach.Correction {
		return ach.Correction{ChangeCode: code, Refused: refused, OriginalTrace: target.Trace, OriginalRDFI: "01100001",
			AccountNumberSHA256: ach.AccountNumberSHA256("123456789"), CorrectedData: ach.CorrectedData{TransactionCode: 37}}
	}
	tests := []struct {
		name   string
		ret    *ach.ReturnEntry
		noc    *ach.Correction
		edit   func(*ledger.ReturnTarget)
		action string // prefix of the action
		exc    string // exception kind, "" for none
		retry  bool
		fee    *money.Cents // the fee posted, when checked
	}{
		{name: "R01 retried", ret: ptr(ret("R01")), action: "payment reversed; fee $25.00; re-presented on 2026-12-03 (attempt 2 of 3)", retry: true, fee: ptr(money.Cents(2500))},
		{name: "R01 under a lower state cap", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.ContractState = "CA" },
			action: "payment reversed; fee $15.00 (the contract's $25.00, capped in CA); re-presented", retry: true, fee: ptr(money.Cents(1500))},
		{name: "R01 under a state cap of zero", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.ContractState = "ny" },
			action: "payment reversed; re-presented", retry: true, fee: ptr(money.Cents(0))},
		{name: "R01 under a higher state cap", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.ContractState = "TX" },
			action: "payment reversed; fee $25.00; re-presented", retry: true, fee: ptr(money.Cents(2500))},
		{name: "R01 after 180 days", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.RootEffectiveOn = on.AddDays(-181) },
			action: "payment reversed; fee $25.00; not re-presented"},
		{name: "R01 whose next banking day is past the deadline", ret: ptr(ret("R01")),
			edit:   func(t *ledger.ReturnTarget) { t.RootEffectiveOn = on.AddDays(-180) },
			action: "payment reversed; fee $25.00; not re-presented: the next banking day"},
		{name: "R09 on an invalid bank account", ret: ptr(ret("R09")), edit: func(t *ledger.ReturnTarget) { t.Bank.Status = "invalid" },
			action: "payment reversed; fee $25.00; not re-presented: the bank account is invalid"},
		{name: "R03 on a prenote", ret: ptr(func() ach.ReturnEntry { r := ret("R03"); r.Amount = 0; return r }()), edit: func(t *ledger.ReturnTarget) { t.Kind, t.Amount = "prenote", 0 },
			action: "bank account invalid; autopay suspended"},
		{name: "amount differs", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.Amount = 100 }, action: "mismatch", exc: "return_mismatch"},
		{name: "account differs", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.OriginatedNumber = "999" }, action: "mismatch", exc: "return_mismatch"},
		{name: "unmatched", ret: ptr(ret("R01")), edit: func(t *ledger.ReturnTarget) { t.Trace = "x" }, action: "unmatched", exc: "return_unmatched"},
		{name: "refused NOC", noc: ptr(noc("C61", true)), action: "refused", exc: "noc_refused"},
		{name: "C05 to a loan account", noc: ptr(func() ach.Correction { c := noc("C05", false); c.CorrectedData.TransactionCode = 52; return c }()),
			action: "review: transaction code 52", exc: "noc_review"},
		{name: "NOC after the account changed", noc: ptr(noc("C05", false)), edit: func(t *ledger.ReturnTarget) { t.Bank.AccountNumber = "555" },
			action: "review: the bank account changed", exc: "noc_stale"},
		{name: "C05 applied", noc: ptr(noc("C05", false)), action: "applied: type savings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target
			if tt.edit != nil {
				tt.edit(&tg)
			}
			in := ach.Inbound{File: "f.ach"}
			if tt.ret != nil {
				in.Returns = []ach.ReturnEntry{*tt.ret}
			} else {
				in.Corrections = []ach.Correction{*tt.noc}
			}
			caps := map[string]money.Cents{"CA": 1500, "NY": 0, "TX": 3000}
			plan := jobs.PlanInbound(in, map[string][]ledger.ReturnTarget{tg.Trace: {tg}}, on, cal, caps)
			var action, exc string
			retry := false
			if tt.ret != nil {
				r := plan.Returns[0]
				action, retry = r.Action, r.Represent != nil
				if tt.fee != nil && r.Fee != *tt.fee {
					t.Errorf("fee %s, want %s", r.Fee, *tt.fee)
				}
				if r.Exception != nil {
					exc = r.Exception.Kind
				}
			} else {
				c := plan.Corrections[0]
				action = c.Action
				if c.Exception != nil {
					exc = c.Exception.Kind
				}
			}
			if !strings.HasPrefix(action, tt.action) || exc != tt.exc || retry != tt.retry {
				t.Fatalf("action %q exception %q retry %v; want %q %q %v", action, exc, retry, tt.action, tt.exc, tt.retry)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// moovDir is moov-io/ach's module folder, whose test files the ingest
// must survive.
func moovDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moov-io/ach").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		t.Skipf("moov-io/ach module folder unavailable: %v", err)
	}
	return string(bytes.TrimSpace(out))
}

// TestIngestMoovExamples ingests the return and NOC example files that
// ship with moov-io/ach: none of their traces is drafter's, so each entry
// becomes an exception; the malformed ones are rejected whole.
func TestIngestMoovExamples(t *testing.T) {
	dir := moovDir(t)
	files := []struct {
		path   string
		status string
		kinds  []string
	}{
		{"test/testdata/return-WEB.ach", jobs.IngestApplied, []string{"return_unmatched", "return_unmatched"}},
		// moov-io/ach's own examples put a forward transaction code on a
		// return, or the wrong trace on an addenda: a bank file that does so
		// is refused (TestParseInboundRejects in package ach).
		{"test/issues/testdata/issue1620_return.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"test/testdata/cor-example.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"examples/testdata/dishonored-return.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"test/testdata/contested_addenda.txt", jobs.IngestApplied, []string{"return_contested"}},
		{"test/testdata/pos-invalidReturnFile.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"test/testdata/web-invalidNOCFile.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"test/testdata/return-no-batch-controls.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
		{"examples/testdata/contested-return.ach", jobs.IngestRejected, []string{"inbound_rejected"}},
	}
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f.path))
			if err != nil {
				t.Fatalf("%s: %v", f.path, err)
			}
			before := queryInt(t, env.Store, `SELECT COUNT(*) FROM exceptions`)
			fr := ingest(t, env, filepath.Base(f.path), data, returnsDay)
			if fr.Status != f.status {
				t.Errorf("%s: %s (%s), want %s", f.path, fr.Status, fr.Error, f.status)
				continue
			}
			if fr.Exceptions != len(f.kinds) || queryInt(t, env.Store, `SELECT COUNT(*) FROM exceptions`)-before != len(f.kinds) {
				t.Errorf("%s: %d exceptions, want %d: %+v", f.path, fr.Exceptions, len(f.kinds), fr)
			}
			for _, k := range slices.Compact(slices.Clone(f.kinds)) {
				if queryInt(t, env.Store, `SELECT COUNT(*) FROM exceptions WHERE kind = $1 AND raw <> ''`, k) == 0 {
					t.Errorf("%s: no %s exception with its raw record", f.path, k)
				}
			}
		}
		if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM returns WHERE payment_id IS NOT NULL`); n != 0 {
			t.Fatalf("%d returns applied from files about other originators", n)
		}
	})
}

// TestDishonorsOnTwoDaysAreTwoExceptions: a contested return names the
// original trace (unique within its origination day only) and its own
// trace (the bank's, which starts again in each file); the same code and
// traces in a file the bank made on another day are another dishonor, so
// another exception for a person; the same file again is nothing new.
func TestDishonorsOnTwoDaysAreTwoExceptions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(moovDir(t), "test/testdata/contested_addenda.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// The file header's creation date (YYMMDD, columns 24-29), a day on.
	later := slices.Clone(data)
	if string(later[23:29]) == "991231" {
		t.Fatal("the example's creation date is 991231; pick another")
	}
	created, err := time.Parse("060102", string(later[23:29]))
	if err != nil {
		t.Fatalf("creation date %q: %v", later[23:29], err)
	}
	copy(later[23:29], created.AddDate(0, 0, 1).Format("060102"))
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		for i, f := range [][]byte{data, later, data} {
			want := jobs.IngestApplied
			if i == 2 {
				want = jobs.IngestAlreadyProcessed
			}
			if fr := ingest(t, env, fmt.Sprintf("contested-%d.ach", i), f, returnsDay); fr.Status != want {
				t.Fatalf("file %d: %s (%s), want %s", i, fr.Status, fr.Error, want)
			}
		}
		n := queryInt(t, env.Store, `SELECT COUNT(*) FROM exceptions WHERE kind = 'return_contested'`)
		distinct := queryInt(t, env.Store, `SELECT COUNT(DISTINCT reference) FROM exceptions WHERE kind = 'return_contested'`)
		if n != 2 || distinct != 2 {
			t.Fatalf("contested returns on two days: %d exceptions, %d references, want two, one a day", n, distinct)
		}
	})
}

// TestIngestRepeatInFile: a file holding the same return twice applies the
// first, holds the second as an exception naming both lines, and counts
// neither as already applied; inbound_files.returns counts what was
// applied.
func TestIngestRepeatInFile(t *testing.T) {
	data, err := os.ReadFile("../ach/testdata/inbound/strict/repeat.ach")
	if err != nil {
		t.Fatal(err)
	}
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		fr := ingest(t, env, "repeat.ach", data, returnsDay)
		if fr.Status != jobs.IngestApplied || fr.Entries != 13 || fr.Repeats != 1 || fr.Duplicates != 0 || fr.Unmatched != 12 || fr.Returns != 12 {
			t.Fatalf("ingest: %+v", fr)
		}
		if n := queryInt(t, env.Store, `SELECT returns FROM inbound_files WHERE sha256 = $1`, fr.SHA256); n != 12 {
			t.Errorf("inbound_files.returns %d, want 12", n)
		}
		detail := queryString(t, env.Store, `SELECT detail FROM exceptions WHERE kind = 'inbound_repeat'`)
		if want := "R01 for original trace 021000020000001 on line 39 of repeat.ach repeats the entry on line 3 of the same file"; !strings.Contains(detail, want) {
			t.Errorf("exception %q, want it to contain %q", detail, want)
		}
	})
}

// TestIngestTrimmedFile: a processor's zero-entry file whose records lost
// their trailing blanks is applied, with a note saying which lines were
// padded.
func TestIngestTrimmedFile(t *testing.T) {
	data, err := os.ReadFile("../ach/testdata/inbound/strict/heartbeat-trimmed.ach")
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, "sqlite", nil)
	fr := ingest(t, env, "heartbeat.ach", data, returnsDay)
	if fr.Status != jobs.IngestApplied || fr.Entries != 0 || len(fr.Notes) != 1 || !strings.Contains(fr.Notes[0], "lines 1 and 2 were shorter than 94 characters") {
		t.Fatalf("ingest: %+v", fr)
	}
}

// TestInboundFileCap: a file larger than DRAFTER_MAX_INBOUND_FILE_BYTES
// is refused before it is read whole, by ReadInbound and by the job (which
// leaves it in the inbound folder for a person and keeps no copy).
func TestInboundFileCap(t *testing.T) {
	big := bytes.Repeat([]byte("0"), 4096)
	if _, err := jobs.ReadInbound(bytes.NewReader(big), "big.ach", 4095); !errors.Is(err, jobs.ErrInboundTooLarge) ||
		!strings.Contains(err.Error(), "big.ach: file: the file is larger than DRAFTER_MAX_INBOUND_FILE_BYTES (4095 bytes)") {
		t.Errorf("ReadInbound over the cap: %v", err)
	}
	if b, err := jobs.ReadInbound(bytes.NewReader(big), "big.ach", 4096); err != nil || len(b) != 4096 {
		t.Errorf("ReadInbound at the cap: %d bytes, %v", len(b), err)
	}
	env := testEnv(t, "sqlite", map[string]string{"DRAFTER_MAX_INBOUND_FILE_BYTES": "4095"})
	ctx := context.Background()
	if _, err := env.Docs.Put(ctx, jobs.InboundPrefix+"big.ach", big, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// The one file over the cap is the night's one item, and it failed:
	// the run is failed, never a success.
	res, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: returnsDay, Trigger: "operator"})
	if err == nil || res.Run.Status != ledger.RunFailed {
		t.Errorf("run %s (%v) with only a file over the cap; want failed", res.Run.Status, err)
	}
	if objs, _ := env.Docs.List(ctx, jobs.InboundPrefix); len(objs) != 1 || objs[0].Key != jobs.InboundPrefix+"big.ach" {
		t.Errorf("inbound folder: %+v", objs)
	}
	if kept, _ := env.Docs.List(ctx, "ach/received/"); len(kept) != 0 {
		t.Errorf("kept a copy of a file over the cap: %+v", kept)
	}
}

// TestReturnsJob runs the job over the inbound folder: it ingests each new
// file once, moves it to processed/, reports a rejected file as a failed
// item, and a dry run changes nothing.
func TestReturnsJob(t *testing.T) {
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		ctx := context.Background()
		importAccounts(t, env.Store, returnsPortfolio(200))
		if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: returnsNight, Trigger: "operator"}); err != nil {
			t.Fatal(err)
		}
		bank, err := jobs.SimulateBank(ctx, env.Store, env.Docs, returnsNight, jobs.BankOptions{Seed: 3, ReturnPerMille: 100, NOCPerMille: 30})
		if err != nil {
			t.Fatal(err)
		}
		if len(bank.Files) != 2 || bank.Returns < 5 || bank.ByCode["R01"] == 0 || bank.Corrections == 0 {
			t.Fatalf("simulated bank: %+v", bank)
		}
		if _, err := env.Docs.Put(ctx, jobs.InboundPrefix+"garbage.ach", []byte("not a NACHA file\n"), storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		before := ledgerState(t, env.Store)
		dry, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: returnsDay, DryRun: true, Trigger: "operator"})
		if err != nil {
			t.Fatal(err)
		}
		if ledgerState(t, env.Store) != before {
			t.Fatal("dry run changed the ledger")
		}
		if objs, _ := env.Docs.List(ctx, "ach/received/"); len(objs) != 0 {
			t.Fatal("dry run kept copies")
		}
		res, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: returnsDay, Trigger: "operator"})
		if err != nil {
			t.Fatal(err)
		}
		sum := res.Summary.(*jobs.IngestSummary)
		drySum := dry.Summary.(*jobs.IngestSummary)
		if res.Run.Status != ledger.RunPartial || sum.Rejected != 1 || len(sum.Files) != 3 || sum.Returns != bank.Returns ||
			sum.Corrections != bank.Corrections || sum.Matched != bank.Returns+bank.Corrections || sum.Represented != drySum.Represented {
			t.Fatalf("run %s: %+v\nbank %+v", res.Run.Status, sum, bank)
		}
		objs, err := env.Docs.List(ctx, jobs.InboundPrefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if !strings.Contains(o.Key, "/processed/") {
				t.Fatalf("%s left in the inbound folder", o.Key)
			}
		}
		if kept, _ := env.Docs.List(ctx, "ach/received/"); len(kept) != 3 {
			t.Fatalf("%d copies kept, want 3", len(kept))
		}
		// The next day finds nothing new.
		next, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: returnsDay.AddDays(1), Trigger: "operator"})
		if err != nil || len(next.Summary.(*jobs.IngestSummary).Files) != 0 {
			t.Fatalf("next day: %v %+v", err, next.Summary)
		}
	})
}

// FuzzIngest feeds arbitrary bytes to the ingest path: each input is
// rejected cleanly or planned and applied; nothing panics, every entry of
// a file that parses is planned exactly once (applied, or held as an
// exception), and no error escapes but a database or storage failure.
//
// Only inputs that parse reach the database. A rejected file's path
// through the ledger is one fixed insert (TestIngestMalformedFileChangesNothing
// covers it), while SQLite's own code, instrumented by -fuzz, looks new on
// almost every write as the database grows: the fuzzer then spends its
// time minimizing noise instead of exploring the parser and the plan.
// For the same reason, under -fuzz one parsing input in sixteen (chosen by
// its hash) is ingested whole; the others stop after the plan, which is
// where the rules are. Without -fuzz every seed is ingested.
func FuzzIngest(f *testing.F) {
	fuzzing := false
	if fl := flag.Lookup("test.fuzz"); fl != nil && fl.Value.String() != "" {
		fuzzing = true
	}
	seeds, _ := filepath.Glob("../ach/testdata/inbound/*.ach")
	strict, _ := filepath.Glob("../ach/testdata/inbound/strict/*.ach")
	seeds = append(seeds, strict...)
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte(strings.Repeat("9", 94)))
	env := benchEnv(f, "sqlite")
	ctx := context.Background()
	in := env.Ingester(env.Store, false, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		parsed, err := ach.ParseInbound(bytes.NewReader(data), "fuzz.ach")
		if err != nil {
			var pe *ach.ParseError
			if !errors.As(err, &pe) || pe.Problem == "" {
				t.Fatalf("error %v is not a *ach.ParseError with a problem", err)
			}
			return
		}
		entries := len(parsed.Returns) + len(parsed.Corrections)
		plan := jobs.PlanInbound(parsed, nil, returnsDay, env.Calendar, nil)
		if n := len(plan.Returns) + len(plan.Corrections) + len(plan.Exceptions); n != entries {
			t.Fatalf("%d entries planned as %d returns, %d corrections, %d exceptions", entries, len(plan.Returns), len(plan.Corrections), len(plan.Exceptions))
		}
		if sum := sha256.Sum256(data); fuzzing && sum[0]%16 != 0 {
			return
		}
		fr, err := in.File(ctx, "fuzz.ach", data, returnsDay)
		if err != nil {
			t.Fatalf("ingest: %v", err)
		}
		switch fr.Status {
		case jobs.IngestApplied, jobs.IngestAlreadyProcessed:
			var st string
			if err := env.Store.DB().QueryRow(`SELECT status FROM inbound_files WHERE sha256 = $1`, fr.SHA256).Scan(&st); err != nil || st != "applied" {
				t.Fatalf("%s but recorded %q (%v)", fr.Status, st, err)
			}
		default:
			t.Fatalf("status %q (%s) for a file that parses", fr.Status, fr.Error)
		}
	})
}

// TestIngestInParts: a file applied one entry at a time inside its
// transaction leaves the ledger and the counts as one applied at once,
// repeats within the file included.
func TestIngestInParts(t *testing.T) {
	repeat, err := os.ReadFile("../ach/testdata/inbound/strict/repeat.ach")
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"R01", "R02", "R10", "R03", "R01", "R08", "R16", "R01", "R20", "R01"}
	run := func(t *testing.T, dialect string, part int) (string, []jobs.FileIngest) {
		if part > 0 {
			defer jobs.SetInboundPartEntries(part)()
		}
		env := testEnv(t, dialect, nil)
		accts := returnsPortfolio(len(codes))
		importAccounts(t, env.Store, accts)
		body, traces := originateDay(t, env, returnsNight)
		var rets []ach.SimulatedReturn
		for i, a := range accts {
			rets = append(rets, ach.SimulatedReturn{Trace: traces[a.ID], Code: codes[i]})
		}
		file, err := ach.BuildReturnFile(body, rets, returnsDay)
		if err != nil {
			t.Fatal(err)
		}
		frs := []jobs.FileIngest{ingest(t, env, "r.ach", file, returnsDay), ingest(t, env, "repeat.ach", repeat, returnsDay)}
		return ledgerState(t, env.Store), frs
	}
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			wantState, want := run(t, d, 0)
			gotState, got := run(t, d, 1)
			if want[0].Matched != len(codes) || want[1].Repeats != 1 {
				t.Fatalf("whole: %+v", want)
			}
			if gotState != wantState {
				t.Errorf("ledger after parts of 1:\n%s\nwant:\n%s", gotState, wantState)
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("ingest in parts of 1:\n%s\nwant:\n%s", gj, wj)
			}
		})
	}
}

// TestReturnRatesCountTheDaySent applies a return file the bank sent on
// Wednesday (its header's creation date) with the returns run of Friday,
// as after a storage outage: the return rates and the returns by day
// count it on Wednesday, the day the bank sent it, as NACHA counts it;
// its returned_on and its transaction stay Friday's.
func TestReturnRatesCountTheDaySent(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			importAccounts(t, env.Store, returnsPortfolio(2))
			body, traces := originateDay(t, env, returnsNight)
			sent, applied := returnsDay, env.Calendar.AddBankingDays(returnsDay, 2)
			file, err := ach.BuildReturnFile(body, []ach.SimulatedReturn{{Trace: traces["LN-000"], Code: "R10"}}, sent)
			if err != nil {
				t.Fatal(err)
			}
			if fr := ingest(t, env, "late.ach", file, applied); fr.Matched != 1 {
				t.Fatalf("applied %+v", fr)
			}
			if got := queryString(t, env.Store, `SELECT CAST(returned_on AS TEXT) || ' ' || CAST(sent_on AS TEXT) FROM returns`); got[:10] != applied.String() || got[len(got)-10:] != sent.String() {
				t.Fatalf("returned_on, sent_on = %s; want %s, %s", got, applied, sent)
			}
			if got := queryString(t, env.Store, `SELECT CAST(posted_on AS TEXT) FROM transactions WHERE kind = 'returned_payment'`); got[:10] != applied.String() {
				t.Errorf("the returned payment is posted on %s, want the applying run's %s", got, applied)
			}
			for _, c := range []struct {
				day  civil.Date
				want int
			}{{sent, 1}, {applied, 0}} {
				_, byCode, err := env.Store.ReturnCounts(ctx, c.day, c.day)
				if err != nil || byCode["R10"] != c.want {
					t.Errorf("ReturnCounts(%s) = %v, %v; want R10: %d", c.day, byCode, err, c.want)
				}
			}
			days, err := env.Store.ReturnsByDay(ctx, sent, applied, func(code string) string { return "unauthorized" })
			byDay := map[civil.Date]int{}
			for _, d := range days {
				byDay[d.Date] += d.Unauthorized + d.Administrative + d.Other
			}
			if err != nil || byDay[sent] != 1 || byDay[applied] != 0 {
				t.Errorf("ReturnsByDay = %+v, %v; want the one on %s", days, err, sent)
			}
		})
	}
}

// TestReturnedBeforeItsEmailsAreQueued: the deliver job did not run
// between a night's originate and the next day's returns (drafter serve
// was down), so the file's "payment scheduled" emails are queued after
// some of its debits came back. A returned payment gets its "returned"
// email only: a "we will debit" after it would be false. Every other
// debit of the file gets its "scheduled" email, once.
func TestReturnedBeforeItsEmailsAreQueued(t *testing.T) {
	ledgertestEach(t, func(t *testing.T, env *jobs.Env) {
		ctx := context.Background()
		importAccounts(t, env.Store, returnsPortfolio(200))
		if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: returnsNight, Trigger: "operator"}); err != nil {
			t.Fatal(err)
		}
		bank, err := jobs.SimulateBank(ctx, env.Store, env.Docs, returnsNight, jobs.BankOptions{Seed: 3, ReturnPerMille: 100})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: returnsDay, Trigger: "operator"}); err != nil {
			t.Fatal(err)
		}
		res, err := env.Start(ctx, jobs.Deliver{}, jobs.StartSpec{Date: returnsDay, Trigger: "operator"})
		if err != nil || res.Run.Status != ledger.RunSucceeded {
			t.Fatalf("deliver: %v %+v", err, res)
		}
		returned := queryInt(t, env.Store, `SELECT COUNT(*) FROM payments WHERE state = 'returned'`)
		debits := queryInt(t, env.Store, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id WHERE p.kind = 'debit'`)
		told := queryInt(t, env.Store, `SELECT COUNT(*) FROM outbox o JOIN payments p ON o.topic LIKE 'payment:' || CAST(p.id AS TEXT) || ':returned%'
			WHERE p.state = 'returned' AND o.kind = 'payment_returned'`)
		if returned == 0 || returned != bank.Returns || told != returned {
			t.Fatalf("%d payments returned, %d returns sent by the bank, %d told so: want the same, and some", returned, bank.Returns, told)
		}
		if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM outbox o JOIN payments p ON o.topic LIKE 'payment:' || CAST(p.id AS TEXT) || ':scheduled:%'
			WHERE p.state = 'returned'`); n != 0 {
			t.Errorf("%d returned payments were queued a \"we will debit\" email after their return", n)
		}
		if n := queryInt(t, env.Store, `SELECT COUNT(*) FROM outbox WHERE kind = 'payment_scheduled'`); n != debits-returned {
			t.Errorf("%d \"scheduled\" emails for %d debits, %d of them returned: want one for each debit not returned", n, debits, returned)
		}
	})
}
