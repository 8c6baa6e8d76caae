package jobs_test

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
	"github.com/drafterhq/drafter/storage"
)

func jsonLine(a portfolio.Account) ([]byte, error) {
	b, err := json.Marshal(a)
	return append(b, '\n'), err
}

// holidayWeek is a small portfolio for the night of Wednesday 2026-11-25,
// the day before Thanksgiving: every debit settles Friday 2026-11-27.
func holidayWeek() []portfolio.Account {
	d := civil.MustParse
	base := func(id string, dueDay int, number, typ, prenote, status string) portfolio.Account {
		return portfolio.Account{
			ID: id, Kind: "loan", Status: "active",
			Customer: portfolio.Customer{ID: "C-" + id, FirstName: "Trần", LastName: "Đức Thắng", Email: strings.ToLower(id) + "@example.com",
				Address: portfolio.Address{Line1: "12 Elm St", City: "Dover", State: "DE", PostalCode: "19901"}},
			Contract: portfolio.Contract{State: "DE", OpenedOn: d("2025-01-05"), TermMonths: 60, MonthlyPayment: 41275,
				FirstDueDate: d("2025-02-01").OnDay(dueDay), DueDay: dueDay, CycleDay: 5, MaturityDate: d("2030-01-31").OnDay(dueDay),
				LateFee: 3500, GraceDays: 10, ReturnedPaymentFee: 2500, AmountFinanced: 2150000, APRBasisPoints: 649,
				Vehicle: portfolio.Vehicle{VIN: "1FTFW1E58PFA00001", Year: 2025, Make: "Ford", Model: "F-150"}},
			Balance: portfolio.Balance{AsOf: d("2026-11-01"), Principal: 1500000, PaymentsMade: 21},
			BankAccounts: []portfolio.BankAccount{{ID: "B-" + id, Routing: "011000015", AccountNumber: number, Type: typ,
				HolderName: "Trần Đức Thắng", Prenote: prenote, Status: status}},
			Autopay: &portfolio.Autopay{ID: "AP-" + id, BankAccountID: "B-" + id, AuthorizedOn: d("2025-01-05"), StartsOn: d("2025-02-01"), Status: "active"},
		}
	}
	a := base("LN-1", 27, "1234567", "checking", "verified", "active")
	b := base("LN-2", 29, "7654321", "savings", "verified", "active") // Sunday the 29th drafts Friday
	c := base("LN-3", 5, "5550001", "checking", "verified", "active")
	c.Autopay = nil
	c.ScheduledPayments = []portfolio.ScheduledPayment{{ID: "SP-3", BankAccountID: "B-LN-3", Amount: 20000, DebitOn: d("2026-11-27"), Channel: "web", AuthorizedAt: "2026-11-20T10:00:00Z"}}
	dd := base("LN-4", 28, "9990001", "checking", "required", "active") // new account: prenote first
	e := base("LN-5", 27, "8880001", "checking", "verified", "invalid")
	return []portfolio.Account{a, b, c, dd, e}
}

func TestOriginateHolidayWeekGolden(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			importAccounts(t, env.Store, holidayWeek())
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: civil.MustParse("2026-11-25"), Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.OriginateSummary)
			if sum.EffectiveDate.String() != "2026-11-27" {
				t.Fatalf("effective date %s, want 2026-11-27 (Thanksgiving is closed)", sum.EffectiveDate)
			}
			// LN-1, LN-2 autopay, LN-3 web payment, LN-4 prenote; LN-4's debit waits, LN-5's bank account is invalid.
			if sum.Entries != 4 || sum.Prenotes != 1 || sum.Skipped["waiting for prenote"] != 1 || sum.Skipped["bank account invalid"] != 1 {
				t.Fatalf("summary = %+v", sum)
			}
			if sum.DebitTotal != 41275*2+20000 {
				t.Fatalf("debit total %s", sum.DebitTotal)
			}
			body, _, err := env.Docs.Get(ctx, sum.Files[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			checkNACHA(t, body)
			golden(t, "originate/holiday-week.ach", body)
			// LN-4's bank account is prenoted: sent, settling on the
			// file's effective date.
			var prenote string
			var settles civil.Date
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT b.prenote, b.prenote_settles_on FROM bank_accounts b
				JOIN payments p ON p.bank_account_id = b.id WHERE p.kind = 'prenote'`).Scan(&prenote, &settles); err != nil {
				t.Fatal(err)
			}
			if prenote != "sent" || settles != sum.EffectiveDate {
				t.Fatalf("prenoted bank account: %s, settling %s; want sent, settling %s", prenote, settles, sum.EffectiveDate)
			}
		})
	}
}

// checkNACHA checks a file with moov-io/ach and with drafter's independent
// record-level check.
func checkNACHA(t *testing.T, body []byte) *moov.File {
	t.Helper()
	f, err := moov.NewReader(bytes.NewReader(body)).Read()
	if err != nil {
		t.Fatalf("moov-io/ach read: %v", err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("moov-io/ach validate: %v", err)
	}
	if err := ach.CheckRecords(body); err != nil {
		t.Fatalf("record check: %v", err)
	}
	return &f
}

func TestOriginateExactlyOnceAcrossRerunsAndDryRuns(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := civil.MustParse("2026-12-01")
			env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "25", "DRAFTER_OFFSET_ROUTING": "021000021", "DRAFTER_OFFSET_ACCOUNT": "99887766"})
			importGenerated(t, env.Store, 600, 11, d)

			// A dry run computes the files and writes nothing.
			dry, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, DryRun: true, Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			if counts, _ := env.Store.PaymentCounts(ctx); len(counts) != 0 {
				t.Fatalf("dry run wrote payments: %v", counts)
			}
			if objs, _ := env.Docs.List(ctx, "ach/"); len(objs) != 0 {
				t.Fatalf("dry run stored %d files", len(objs))
			}

			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.OriginateSummary)
			drySum := dry.Summary.(*jobs.OriginateSummary)
			if len(sum.Files) < 3 || sum.Entries != drySum.Entries || sum.DebitTotal != drySum.DebitTotal {
				t.Fatalf("run %d files %d entries %s; dry run %d entries %s", len(sum.Files), sum.Entries, sum.DebitTotal, drySum.Entries, drySum.DebitTotal)
			}
			mods := map[string]bool{}
			traces := map[string]bool{}
			for _, f := range sum.Files {
				body, _, err := env.Docs.Get(ctx, f.Key)
				if err != nil {
					t.Fatal(err)
				}
				mf := checkNACHA(t, body)
				mods[f.Modifier] = true
				for _, b := range mf.Batches {
					if b.GetHeader().EffectiveEntryDate != "261202" {
						t.Fatalf("effective date %s", b.GetHeader().EffectiveEntryDate)
					}
					for _, e := range b.GetEntries() {
						if traces[e.TraceNumber] {
							t.Fatalf("trace %s twice in the day's files", e.TraceNumber)
						}
						traces[e.TraceNumber] = true
					}
				}
			}
			if !mods["A"] || !mods["B"] {
				t.Fatalf("modifiers %v", mods)
			}

			if _, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"}); !errors.Is(err, ledger.ErrRunCompleted) {
				t.Fatalf("second start: %v", err)
			}
			before, _ := env.Store.PaymentCounts(ctx)
			again, err := env.Rerun(ctx, jobs.Originate{}, res.Run, "ana", "bank asked for the file again", "")
			if err != nil {
				t.Fatal(err)
			}
			after, _ := env.Store.PaymentCounts(ctx)
			if before[ledger.PaymentOriginated] != after[ledger.PaymentOriginated] || before[ledger.PaymentOriginated] != sum.Entries {
				t.Fatalf("originated before %v after %v, entries %d", before, after, sum.Entries)
			}
			for i, f := range again.Summary.(*jobs.OriginateSummary).Files {
				if f.Stored != "already" || f.SHA256 != sum.Files[i].SHA256 {
					t.Fatalf("rerun file %+v", f)
				}
			}

			// The run built its files from what it allocated, in memory; a
			// file lost from storage is rebuilt from the ledger alone, and
			// must come out byte for byte the same (the run checks the
			// sha256 it recorded).
			fs, ok := env.Docs.(*storage.FS)
			if !ok {
				t.Skipf("test store is %T; the lost files are removed from a folder", env.Docs)
			}
			for _, f := range sum.Files {
				if err := os.Remove(filepath.Join(fs.Root(), filepath.FromSlash(f.Key))); err != nil {
					t.Fatal(err)
				}
			}
			rebuilt, err := env.Rerun(ctx, jobs.Originate{}, again.Run, "ana", "files lost from storage", "")
			if err != nil {
				t.Fatal(err)
			}
			for i, f := range rebuilt.Summary.(*jobs.OriginateSummary).Files {
				if f.Stored != "new" || f.SHA256 != sum.Files[i].SHA256 {
					t.Fatalf("file rebuilt from the ledger %+v, built in the run %+v", f, sum.Files[i])
				}
			}
		})
	}
}

// Consecutive business dates each start their modifiers at A; trace
// sequences start at 1 on the ledger's first day and run on across days,
// so no trace names two entries of different days (a late return names
// its entry by trace alone).
func TestOriginateConsecutiveDays(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			importGenerated(t, env.Store, 400, 3, civil.MustParse("2026-12-01"))
			total, daysWithFiles := 0, 0
			seen := map[string]string{}
			for _, day := range []string{"2026-12-01", "2026-12-02", "2026-12-03"} {
				res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: civil.MustParse(day), Trigger: "operator"})
				if err != nil {
					t.Fatalf("%s: %v", day, err)
				}
				sum := res.Summary.(*jobs.OriginateSummary)
				if len(sum.Files) > 0 {
					daysWithFiles++
					if sum.Files[0].Modifier != "A" {
						t.Fatalf("%s: first modifier %s", day, sum.Files[0].Modifier)
					}
					for i, f := range sum.Files {
						body, _, _ := env.Docs.Get(ctx, f.Key)
						mf := checkNACHA(t, body)
						for _, b := range mf.Batches {
							for _, e := range b.GetEntries() {
								if daysWithFiles == 1 && i == 0 && len(seen) == 0 && e.TraceNumber != "021000020000001" {
									t.Fatalf("%s: the ledger's first trace %s", day, e.TraceNumber)
								}
								if other, ok := seen[e.TraceNumber]; ok {
									t.Fatalf("trace %s used on %s and %s", e.TraceNumber, other, day)
								}
								seen[e.TraceNumber] = day
							}
						}
					}
				}
				total += sum.Entries
			}
			if daysWithFiles < 2 {
				t.Fatalf("only %d days made files", daysWithFiles)
			}
			if counts, _ := env.Store.PaymentCounts(ctx); counts[ledger.PaymentOriginated] != total || total == 0 {
				t.Fatalf("originated %v, entries %d", counts, total)
			}
		})
	}
}

// A C09 NOC changes the Individual Identification Number the next entries
// carry.
func TestOriginateUsesCorrectedIndividualID(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t, "sqlite", nil)
	importAccounts(t, env.Store, holidayWeek())
	if _, err := env.Store.DB().Exec(`UPDATE bank_accounts SET individual_id = 'CUST 0042' WHERE id = 'B-LN-1'`); err != nil {
		t.Fatal(err)
	}
	res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: civil.MustParse("2026-11-25"), Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	body, _, _ := env.Docs.Get(ctx, res.Summary.(*jobs.OriginateSummary).Files[0].Key)
	ids := map[string]bool{}
	for _, b := range checkNACHA(t, body).Batches {
		for _, e := range b.GetEntries() {
			ids[strings.TrimSpace(e.IdentificationNumber)] = true
		}
	}
	if !ids["CUST 0042"] || ids["LN-1"] || !ids["LN-2"] {
		t.Fatalf("individual ids %v", ids)
	}
}

// A file that cannot be stored (the key holds other bytes) fails the run
// with the storage error, while the files before it are stored; once the
// stray object is gone, a restart stores the rest and originates nothing
// again.
func TestOriginateStorageFailureMidDay(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := civil.MustParse("2026-12-01")
			env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "25"})
			importGenerated(t, env.Store, 600, 11, d)
			fs, ok := env.Docs.(*storage.FS)
			if !ok {
				t.Skipf("test store is %T; the stray object is removed from a folder", env.Docs)
			}
			stray := jobs.FileKey(d, "B")
			if _, err := env.Docs.Put(ctx, stray, []byte("not drafter's file\n"), storage.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
			if !errors.Is(err, storage.ErrConflict) {
				t.Fatalf("run with a stray object at %s: %v, want the storage conflict", stray, err)
			}
			files, err := env.Store.DayFiles(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) < 2 || files[0].Status != ledger.FileStored || files[1].Status == ledger.FileStored {
				t.Fatalf("after the failure: %+v; want file A stored and B not", files)
			}
			originated, _ := env.Store.PaymentCounts(ctx)

			if err := os.Remove(filepath.Join(fs.Root(), filepath.FromSlash(stray))); err != nil {
				t.Fatal(err)
			}
			again, err := env.Restart(ctx, jobs.Originate{}, res.Run.ID, "ana", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			sum := again.Summary.(*jobs.OriginateSummary)
			counts, _ := env.Store.PaymentCounts(ctx)
			if counts[ledger.PaymentOriginated] != sum.Entries || counts[ledger.PaymentOriginated] < originated[ledger.PaymentOriginated] {
				t.Fatalf("after restart %v with %d entries in files; before %v", counts, sum.Entries, originated)
			}
			for _, f := range sum.Files {
				body, _, err := env.Docs.Get(ctx, f.Key)
				if err != nil {
					t.Fatal(err)
				}
				checkNACHA(t, body)
			}
			files, _ = env.Store.DayFiles(ctx, d)
			for _, f := range files {
				if f.Status != ledger.FileStored {
					t.Fatalf("file %s %s after restart", f.IDModifier, f.Status)
				}
			}
		})
	}
}

// TestOriginablePages: the day's ids are read once in file order, and
// fetching them a page at a time returns every eligible payment once, in
// that order, leaving out a payment taken since.
func TestOriginablePages(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := civil.MustParse("2026-12-01")
			env := testEnv(t, dialect, nil)
			if err := jobs.SeedBenchPayments(ctx, env.Store, 250, d); err != nil {
				t.Fatal(err)
			}
			eff := env.Calendar.NextBankingDay(d)
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(ids) != 250 {
				t.Fatalf("ids: %d, %v", len(ids), err)
			}
			taken := ids[77]
			if _, err := env.Store.DB().ExecContext(ctx, `UPDATE payments SET state = 'cancelled' WHERE id = $1`, taken); err != nil {
				t.Fatal(err)
			}
			var paged []ledger.DuePayment
			for start := 0; start < len(ids); start += 40 {
				page, err := env.Store.Originable(ctx, eff, ids[start:min(start+40, len(ids))])
				if err != nil {
					t.Fatal(err)
				}
				paged = append(paged, page...)
			}
			if len(paged) != 249 {
				t.Fatalf("paged %d payments, want 249", len(paged))
			}
			want := slices.Delete(slices.Clone(ids), 77, 78)
			for i, p := range paged {
				if p.ID != want[i] {
					t.Fatalf("payment %d: paged %d, want %d", i, p.ID, want[i])
				}
				if i > 0 {
					q := paged[i-1]
					if cmp.Compare(q.SEC+"|"+q.Description+"|"+q.AccountID, p.SEC+"|"+p.Description+"|"+p.AccountID) > 0 {
						t.Fatalf("payment %d (%s %s %s) after %s %s %s: not in file order", i, p.SEC, p.Description, p.AccountID, q.SEC, q.Description, q.AccountID)
					}
				}
			}
		})
	}
}

// arrivingStore is a document store during whose first Put of an ACH file
// a payment falls due: as if the portal scheduled one while origination
// ran, after the first file was allocated. (Not the first Put of all: the
// run probes the store before it reads any payment.)
type arrivingStore struct {
	storage.Store
	once   sync.Once
	arrive func() error
	err    error
}

func (s *arrivingStore) Put(ctx context.Context, key string, body []byte, opts storage.PutOptions) (storage.PutResult, error) {
	if strings.HasPrefix(key, "ach/outbound/") {
		s.once.Do(func() { s.err = s.arrive() })
	}
	return s.Store.Put(ctx, key, body, opts)
}

// TestOriginateTakesPaymentsThatArriveMidRun: a payment that falls due
// after the first file was allocated goes into one of the day's files in
// the same run, once, wherever it falls in file order: among the day's (a
// WEB debit) or before them all (a PPD debit, whose batch comes first),
// behind the pages read, where only the run's look in the due index after
// its last page finds it. It arrives as the first file is stored: with
// four files, the last page is handed on only once the storer took the
// third file, so the look after it sees the arrival.
func TestOriginateTakesPaymentsThatArriveMidRun(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		for _, sec := range []string{"WEB", "PPD"} {
			t.Run(dialect+"/"+sec, func(t *testing.T) {
				ctx := context.Background()
				d := civil.MustParse("2026-12-01")
				env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "15"})
				if err := jobs.SeedBenchPayments(ctx, env.Store, 60, d); err != nil {
					t.Fatal(err)
				}
				eff := env.Calendar.NextBankingDay(d)
				ids, err := env.Store.OriginableIDs(ctx, eff)
				if err != nil {
					t.Fatal(err)
				}
				due, err := env.Store.Originable(ctx, eff, ids[:1])
				if err != nil || len(due) != 1 {
					t.Fatalf("a due payment: %v %v", due, err)
				}
				store := &arrivingStore{Store: env.Docs, arrive: func() error {
					_, err := env.Store.InsertPayments(ctx, []ledger.NewPayment{{Source: ledger.SourceScheduled, SourceKey: "mid-run",
						AccountID: due[0].AccountID, BankAccountID: due[0].BankAccountID, Kind: "debit", SEC: sec, Description: "PAYMENT",
						Amount: 4321, DueOn: eff, DraftOn: eff}})
					return err
				}}
				env.Docs = store
				res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
				if err != nil || store.err != nil {
					t.Fatalf("run: %v; the arriving payment: %v", err, store.err)
				}
				sum := res.Summary.(*jobs.OriginateSummary)
				counts, err := env.Store.PaymentCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if sum.Entries != 61 || counts[ledger.PaymentOriginated] != 61 || counts[ledger.PaymentScheduled] != 0 {
					t.Fatalf("%d entries in files, payments %v; want all 61 originated", sum.Entries, counts)
				}
				var file sql.NullInt64
				// Its file, by its originations record (the row is settled
				// later, by the deliver job).
				if err := env.Store.DB().QueryRowContext(ctx, `SELECT o.ach_file_id FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE p.source_key = 'mid-run'`).Scan(&file); err != nil {
					t.Fatal(err)
				}
				if !file.Valid {
					t.Fatal("the payment that arrived mid-run is in no file")
				}
			})
		}
	}
}

// TestOriginateRereadsAFileWhosePaymentWasCancelled: a payment cancelled by
// another process after its file's payments were read, before they were
// allocated, rolls the allocation back; the run reads the file again and
// originates the rest. PostgreSQL: the test holds the night's allocation
// lock to stop the run between the two.
func TestOriginateRereadsAFileWhosePaymentWasCancelled(t *testing.T) {
	ctx := context.Background()
	d := civil.MustParse("2026-12-01")
	env := testEnv(t, "postgres", map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "25"})
	if err := jobs.SeedBenchPayments(ctx, env.Store, 60, d); err != nil {
		t.Fatal(err)
	}
	ids, err := env.Store.OriginableIDs(ctx, env.Calendar.NextBankingDay(d))
	if err != nil || len(ids) != 60 {
		t.Fatalf("ids: %d %v", len(ids), err)
	}
	conn, err := env.Store.DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const lockClass, lockDate = 7261002, 20261201 // AllocateFile's lock of the business date
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1, $2)`, lockClass, lockDate); err != nil {
		t.Fatal(err)
	}
	type result struct {
		res jobs.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
		done <- result{res, err}
	}()
	for waiting := 0; waiting == 0; {
		if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_locks
			WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND NOT granted`, lockClass, lockDate).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-done:
			t.Fatalf("the run ended before allocating: %v", r.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The run has read the first file's payments and waits to allocate
	// them, and its reader has read the next file's ahead (25 payments
	// take it microseconds; it waits a moment to be sure): one payment of
	// each of the three files is cancelled now.
	time.Sleep(100 * time.Millisecond)
	// Cancelled as drafter's own writers cancel (under the origination
	// lock, counting a scheduled change): the allocation sees the count
	// moved since its payments were read, and counts them.
	for _, i := range []int{0, 30, 55} {
		if ok, err := env.Store.SetAutopayAmount(ctx, ids[i], 1000, 0, "test"); err != nil || !ok {
			t.Fatalf("cancel: %v %v", ok, err)
		}
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, lockClass, lockDate); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("run: %v", r.err)
	}
	sum := r.res.Summary.(*jobs.OriginateSummary)
	counts, err := env.Store.PaymentCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Entries != 57 || counts[ledger.PaymentOriginated] != 57 || counts[ledger.PaymentCancelled] != 3 {
		t.Fatalf("%d entries, payments %v; want 57 originated and the cancelled ones left alone", sum.Entries, counts)
	}
	for _, i := range []int{0, 30, 55} {
		var n int
		if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM originations WHERE payment_id = $1`, ids[i]).Scan(&n); err != nil || n != 0 {
			t.Fatalf("cancelled payment %d has %d originations records (%v), want none", ids[i], n, err)
		}
	}
}

// TestOriginateTraceWraps: trace sequences that ran on to the last seven
// digits start again at 1, and a day's files still never share one.
func TestOriginateTraceWraps(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "40"})
			importGenerated(t, env.Store, 400, 3, civil.MustParse("2026-12-01"))
			// An earlier day whose last file ended three short of the
			// last sequence.
			if _, err := env.Store.DB().ExecContext(ctx, `INSERT INTO ach_files (business_date, effective_on, id_modifier, status, storage_key, trace_start, trace_end, offset_trace_start, created_at, released_at)
				VALUES ($1, $2, 'A', 'allocated', 'ach/outbound/2026-11-30/earlier.ach', $3, $4, 0, $5, $5)`,
				civil.MustParse("2026-11-30"), civil.MustParse("2026-12-01"), ach.MaxTraceSequence-10, ach.MaxTraceSequence-3, time.Now().UTC()); err != nil {
				t.Fatal(err)
			}
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: civil.MustParse("2026-12-01"), Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.OriginateSummary)
			if len(sum.Files) < 2 {
				t.Fatalf("%d files, want several", len(sum.Files))
			}
			seen := map[string]bool{}
			for i, f := range sum.Files {
				body, _, _ := env.Docs.Get(ctx, f.Key)
				mf := checkNACHA(t, body)
				for j, b := range mf.Batches {
					for k, e := range b.GetEntries() {
						if i == 0 && j == 0 && k == 0 && e.TraceNumber != "021000020000001" {
							t.Fatalf("first trace after the wrap %s, want sequence 1", e.TraceNumber)
						}
						if seen[e.TraceNumber] {
							t.Fatalf("trace %s twice in a day", e.TraceNumber)
						}
						seen[e.TraceNumber] = true
					}
				}
			}
		})
	}
}
