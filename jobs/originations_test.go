package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/rs/zerolog"
)

// TestSecondOriginationRefusedByTheDatabase: a payment's origination is its
// originations record, and the record's key is the payment. A second
// record, written by hand past every check drafter makes, is refused by
// the database; a second allocation of the payment fails whole and leaves
// no file; and until its file is settled the payment, which still reads
// scheduled, is not originable again.
func TestSecondOriginationRefusedByTheDatabase(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env, d, eff := holidayWeekNight(t, dialect)
			first, err := allocateNight(t, env, d, eff, "", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			db := env.Store.DB()
			pid := first.payments[0]

			// By hand, past drafter: the key refuses it.
			_, err = db.ExecContext(ctx, `INSERT INTO originations (payment_id, ach_file_id, business_date, effective_on, trace_number,
				rdfi_routing, number_enc, transaction_code, individual_name, individual_id)
				SELECT payment_id, ach_file_id + 1, business_date, effective_on, '999999999999999', rdfi_routing, number_enc, transaction_code,
					individual_name, individual_id FROM originations WHERE payment_id = $1`, pid)
			if err == nil {
				t.Fatalf("a second originations record of payment %d was accepted", pid)
			}
			msg := err.Error()
			if !strings.Contains(msg, "UNIQUE constraint failed: originations.payment_id") && !strings.Contains(msg, "originations_pkey") {
				t.Fatalf("second record refused with %v, want the key of originations", err)
			}

			// Not settled yet: the row reads scheduled, the record says
			// originated, and nothing offers it to another file.
			var state string
			var file *int64
			if err := db.QueryRowContext(ctx, `SELECT state, ach_file_id FROM payments WHERE id = $1`, pid).Scan(&state, &file); err != nil {
				t.Fatal(err)
			}
			if state != "scheduled" || file != nil {
				t.Fatalf("payment %d before settlement: %s in file %v, want scheduled in none (derived later)", pid, state, file)
			}
			// What an operator reads of it (the console's Account page)
			// is the record, not the row.
			var account string
			if err := db.QueryRowContext(ctx, `SELECT account_id FROM payments WHERE id = $1`, pid).Scan(&account); err != nil {
				t.Fatal(err)
			}
			shown, err := env.Store.AccountPayments(ctx, account, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, p := range shown {
				if p.ID != pid {
					continue
				}
				found = true
				if p.State != "originated" || p.FileID == nil || *p.FileID != first.ID || p.Trace == "" || p.EffectiveOn == nil || *p.EffectiveOn != eff {
					t.Fatalf("the Account page shows payment %d before settlement as %+v, want originated in file %d effective %s", pid, p, first.ID, eff)
				}
			}
			if !found {
				t.Fatalf("the Account page of %s does not list payment %d", account, pid)
			}
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != 0 {
				t.Fatalf("originable after the night's allocation: %v, want none", ids)
			}

			// A second allocation naming the payment, as a racing process
			// would: it fails whole, and leaves no file behind.
			plan := ledger.FilePlan{BusinessDate: d, EffectiveOn: eff, StorageKey: func(m string) string { return "second-" + m },
				NextModifier: func(prev string) (string, error) { return "B", nil }}
			_, err = env.Store.AllocateFile(ctx, plan, 1, func(f ledger.ACHFile) ([]ledger.Allocation, func() error, error) {
				return []ledger.Allocation{{PaymentID: pid, TraceNumber: fmt.Sprintf("%s%07d", env.Config.ODFIRouting[:8], f.TraceStart),
					RDFIRouting: "011000015", AccountNumber: "12345678", TransactionCode: 27, IndividualName: "SECOND"}}, nil, nil
			})
			if !errors.Is(err, ledger.ErrPaymentTaken) {
				t.Fatalf("second allocation of payment %d: %v, want ErrPaymentTaken", pid, err)
			}
			var files, records int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ach_files`).Scan(&files); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM originations WHERE payment_id = $1`, pid).Scan(&records); err != nil {
				t.Fatal(err)
			}
			if files != 1 || records != 1 {
				t.Fatalf("after the refused allocation: %d files, %d records of payment %d, want 1 and 1", files, records, pid)
			}

			// Settled: the rows show what the records say, once; and
			// the payment emails the deliver job queues from the
			// records are queued once, however often it runs.
			for range 2 {
				if _, err := env.Store.SettleFile(ctx, first.ID); err != nil {
					t.Fatal(err)
				}
				for {
					_, more, err := env.Store.QueuePaymentEmails(ctx, time.Now(), false)
					if err != nil {
						t.Fatal(err)
					}
					if !more {
						break
					}
				}
			}
			var mismatched, emails int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
				WHERE p.state <> 'originated' OR p.ach_file_id <> o.ach_file_id OR p.trace_number <> o.trace_number
					OR p.originated_on <> o.business_date OR p.effective_on <> o.effective_on`).Scan(&mismatched); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE kind = 'payment_scheduled'`).Scan(&emails); err != nil {
				t.Fatal(err)
			}
			if mismatched != 0 || emails != len(first.payments) {
				t.Fatalf("after settling twice: %d payments differ from their records, %d emails for %d payments", mismatched, emails, len(first.payments))
			}
		})
	}
}

// TestCancelWaitsForAnAllocationInFlight: the payment row no longer
// changes when its file is allocated, so a cancel (here the installment
// policy's, SetAutopayAmount to zero) that comes while the allocation's
// transaction is open must wait for it and then find the payment
// originated; otherwise, under PostgreSQL's READ COMMITTED, each would
// miss the other's write and a debit in a file would read cancelled.
func TestCancelWaitsForAnAllocationInFlight(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env, d, eff := holidayWeekNight(t, dialect)
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(ids) == 0 {
				t.Fatalf("originable: %v %v", ids, err)
			}
			pid := ids[0]
			inside, release := make(chan struct{}), make(chan struct{})
			allocated := make(chan error, 1)
			go func() {
				plan := ledger.FilePlan{BusinessDate: d, EffectiveOn: eff, StorageKey: func(m string) string { return "held-" + m },
					NextModifier: func(prev string) (string, error) { return "A", nil }}
				_, err := env.Store.AllocateFile(ctx, plan, 1, func(f ledger.ACHFile) ([]ledger.Allocation, func() error, error) {
					close(inside)
					return []ledger.Allocation{{PaymentID: pid, TraceNumber: fmt.Sprintf("%s%07d", env.Config.ODFIRouting[:8], f.TraceStart),
							RDFIRouting: "011000015", AccountNumber: "12345678", TransactionCode: 27, IndividualName: "IN FLIGHT"}}, func() error {
							<-release
							return nil
						}, nil
				})
				allocated <- err
			}()
			<-inside
			cancelled := make(chan bool, 1)
			cancelErr := make(chan error, 1)
			go func() {
				changed, err := env.Store.SetAutopayAmount(ctx, pid, 100, 0, "covered")
				cancelled <- changed
				cancelErr <- err
			}()
			select {
			case c := <-cancelled:
				t.Fatalf("the cancel returned (changed %v, %v) while the allocation was open", c, <-cancelErr)
			case <-time.After(300 * time.Millisecond):
			}
			close(release)
			if err := <-allocated; err != nil {
				t.Fatalf("allocation: %v", err)
			}
			if c, err := <-cancelled, <-cancelErr; c || err != nil {
				t.Fatalf("the cancel after the allocation committed: changed %v, %v; want the payment left as it is", c, err)
			}
			var state string
			var records int
			db := env.Store.DB()
			if err := db.QueryRowContext(ctx, `SELECT state FROM payments WHERE id = $1`, pid).Scan(&state); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM originations WHERE payment_id = $1`, pid).Scan(&records); err != nil {
				t.Fatal(err)
			}
			if state != "scheduled" || records != 1 {
				t.Fatalf("payment %d: %s with %d records, want scheduled (not settled yet) with 1", pid, state, records)
			}
		})
	}
}

// TestSettlementWaitsForAnInboundApply: on PostgreSQL, settling a file and
// applying the bank's return file both write payment rows, in different
// orders; without a common lock, each could hold a row the other waits for
// (a deadlock that aborts one, failing its run). Settlement takes the
// origination lock, shared, before its first write, and an apply holds it
// exclusively: here an apply is in flight (its plan is being decided), and
// the settlement waits on the lock, touching no row, until it ends.
func TestSettlementWaitsForAnInboundApply(t *testing.T) {
	ctx := context.Background()
	env, d, eff := holidayWeekNight(t, "postgres")
	f, err := allocateNight(t, env, d, eff, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	inApply, endApply := make(chan struct{}), make(chan struct{})
	applied := make(chan error, 1)
	go func() {
		_, err := env.Store.ApplyInbound(ctx, nil, func(map[string][]ledger.ReturnTarget) (ledger.InboundPlan, error) {
			close(inApply)
			<-endApply
			return ledger.InboundPlan{}, errors.New("the test ends the apply")
		})
		applied <- err
	}()
	<-inApply
	settled := make(chan error, 1)
	go func() {
		_, err := env.Store.SettleFile(ctx, f.ID)
		settled <- err
	}()
	waiting := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !waiting; time.Sleep(20 * time.Millisecond) {
		select {
		case err := <-settled:
			close(endApply)
			t.Fatalf("the file settled (%v) while an inbound apply held the origination lock", err)
		default:
		}
		var n int
		if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		waiting = n == 1
	}
	close(endApply)
	if !waiting {
		t.Fatal("the settlement is not waiting on the origination lock while an inbound apply holds it")
	}
	if err := <-applied; err == nil {
		t.Fatal("the apply ended without the test's error")
	}
	if err := <-settled; err != nil {
		t.Fatalf("settle after the apply: %v", err)
	}
	var unsettled int
	if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM originations o JOIN payments p ON p.id = o.payment_id
		WHERE o.ach_file_id = $1 AND p.ach_file_id IS NULL`, f.ID).Scan(&unsettled); err != nil || unsettled != 0 {
		t.Fatalf("%d payments of the file unsettled after the apply ended (%v)", unsettled, err)
	}
}

// TestAllocationRefusesAPaymentNoLongerScheduled: the count that a file's
// payments are still scheduled runs beside the append of their records,
// on another connection (the pool on PostgreSQL, the second connection on
// SQLite). A payment cancelled after it was read, and one that does not
// exist, each fail the whole allocation, which leaves no record and no
// file; the rest then allocate.
func TestAllocationRefusesAPaymentNoLongerScheduled(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-12-01")
			eff := env.Calendar.NextBankingDay(d)
			if err := jobs.SeedBenchPayments(ctx, env.Store, 5, d); err != nil {
				t.Fatal(err)
			}
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(ids) != 5 {
				t.Fatalf("originable: %v %v", ids, err)
			}
			db := env.Store.DB()
			if _, err := db.ExecContext(ctx, `UPDATE payments SET state = 'cancelled', state_reason = 'test' WHERE id = $1`, ids[0]); err != nil {
				t.Fatal(err)
			}
			allocate := func(pids ...int64) error { return allocateByHand(t, env, d, eff, 0, pids...) }
			records := func() (n int) {
				if err := db.QueryRowContext(ctx, `SELECT COUNT(*) + (SELECT COUNT(*) FROM ach_files) FROM originations`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			for _, pids := range [][]int64{{ids[1], ids[0], ids[2]}, {ids[1], 999999999}} {
				if err := allocate(pids...); !errors.Is(err, ledger.ErrPaymentTaken) {
					t.Fatalf("allocating %v: %v, want ErrPaymentTaken", pids, err)
				}
				if n := records(); n != 0 {
					t.Fatalf("allocating %v was refused and left %d records and files, want none", pids, n)
				}
			}
			if err := allocate(ids[1], ids[2]); err != nil {
				t.Fatalf("allocating the payments still scheduled: %v", err)
			}
			if n := records(); n != 3 {
				t.Fatalf("%d records and files, want 2 records in 1 file", n)
			}
		})
	}
}

// allocateByHand allocates pids into the day's next file, read at readAt
// (0: unknown), with made-up entries.
func allocateByHand(t *testing.T, env *jobs.Env, d, eff civil.Date, readAt int64, pids ...int64) error {
	t.Helper()
	plan := ledger.FilePlan{BusinessDate: d, EffectiveOn: eff, ReadAt: readAt, StorageKey: func(m string) string { return "by-hand-" + m },
		NextModifier: func(prev string) (string, error) {
			if prev == "" {
				return "A", nil
			}
			return string(rune(prev[0] + 1)), nil
		}}
	_, err := env.Store.AllocateFile(context.Background(), plan, len(pids), func(f ledger.ACHFile) ([]ledger.Allocation, func() error, error) {
		var as []ledger.Allocation
		for i, pid := range pids {
			as = append(as, ledger.Allocation{PaymentID: pid, TraceNumber: fmt.Sprintf("%s%07d", env.Config.ODFIRouting[:8], f.TraceStart+i),
				RDFIRouting: "011000015", AccountNumber: "12345678", TransactionCode: 27, IndividualName: "BY HAND"})
		}
		return as, nil, nil
	})
	return err
}

// TestAllocationReadAtSeesAScheduledChange: an allocation of payments read
// at a scheduled-changes count does not count them again while the count
// has not moved, and every writer that takes a payment out of scheduled
// moves it: a payment cancelled after its page was read (the autopay amount
// set to zero) fails the allocation whole, as the count would.
func TestAllocationReadAtSeesAScheduledChange(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-12-01")
			eff := env.Calendar.NextBankingDay(d)
			if err := jobs.SeedBenchPayments(ctx, env.Store, 5, d); err != nil {
				t.Fatal(err)
			}
			page, err := env.Store.DueAfter(ctx, eff, nil, 10, true)
			if err != nil || len(page) != 5 {
				t.Fatalf("page: %d payments, %v", len(page), err)
			}
			readAt := page[0].ReadAt
			if readAt < 1 {
				t.Fatalf("read at %d, want the count (from 1)", readAt)
			}
			if err := allocateByHand(t, env, d, eff, readAt, page[0].ID, page[1].ID); err != nil {
				t.Fatalf("allocating with nothing changed: %v", err)
			}
			if ok, err := env.Store.SetAutopayAmount(ctx, page[2].ID, 1000, 0, "paid by check"); err != nil || !ok {
				t.Fatalf("cancel: %v %v", ok, err)
			}
			again, err := env.Store.DueAfter(ctx, eff, nil, 10, true)
			if err != nil {
				t.Fatal(err)
			}
			// (PostgreSQL reads the two allocated too, waiting "-".)
			again = slices.DeleteFunc(again, func(p ledger.DuePayment) bool { return p.Waiting != "" })
			if len(again) != 2 || again[0].ReadAt != readAt+1 {
				t.Fatalf("after the cancel: %+v, want 2 payments that can be originated, read at %d", again, readAt+1)
			}
			if err := allocateByHand(t, env, d, eff, readAt, page[3].ID, page[2].ID); !errors.Is(err, ledger.ErrPaymentTaken) {
				t.Fatalf("allocating a payment cancelled since it was read: %v, want ErrPaymentTaken", err)
			}
			if err := allocateByHand(t, env, d, eff, readAt, page[3].ID, page[4].ID); err != nil {
				t.Fatalf("allocating the payments still scheduled, read before the cancel: %v", err)
			}
			var n int
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM originations`).Scan(&n); err != nil || n != 4 {
				t.Fatalf("%d records (%v), want 4", n, err)
			}
		})
	}
}

// TestDueAfterPages: the day's due payments come a page at a time in file
// order, each page after the last one's key, a short page last; the pages
// together are OriginableIDs; a payment with an originations record is not
// among those that can be originated, though it reads scheduled until it
// is settled.
func TestDueAfterPages(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-12-01")
			eff := env.Calendar.NextBankingDay(d)
			if err := jobs.SeedBenchPayments(ctx, env.Store, 25, d); err != nil {
				t.Fatal(err)
			}
			read := func(limit int) (ids []int64) {
				var after *ledger.FileOrderKey
				for {
					page, err := env.Store.DueAfter(ctx, eff, after, limit, true)
					if err != nil {
						t.Fatal(err)
					}
					for i, p := range page {
						if i > 0 && !keyLess(page[i-1].Key(), p.Key()) {
							t.Fatalf("page out of file order: %+v then %+v", page[i-1].Key(), p.Key())
						}
						if after != nil && !keyLess(*after, p.Key()) {
							t.Fatalf("page starts at %+v, not after %+v", p.Key(), *after)
						}
						if p.Waiting == "" {
							ids = append(ids, p.ID)
						}
					}
					if len(page) < limit {
						return ids
					}
					k := page[len(page)-1].Key()
					after = &k
				}
			}
			all, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(all) != 25 {
				t.Fatalf("originable: %d (%v)", len(all), err)
			}
			for _, limit := range []int{1, 7, 25, 100} {
				if got := read(limit); fmt.Sprint(got) != fmt.Sprint(all) {
					t.Fatalf("pages of %d: %v, want %v", limit, got, all)
				}
			}
			if err := allocateByHand(t, env, d, eff, 0, all[3], all[10]); err != nil {
				t.Fatal(err)
			}
			want := append(append(append([]int64{}, all[:3]...), all[4:10]...), all[11:]...)
			for _, limit := range []int{1, 7, 100} {
				if got := read(limit); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("after two were allocated, pages of %d: %v, want %v", limit, got, want)
				}
			}
			// Told that none can have a record, a page looks none up: the
			// two allocated come back as any other, and allocating one
			// again is refused by the records' key.
			page, err := env.Store.DueAfter(ctx, eff, nil, 100, false)
			if err != nil {
				t.Fatal(err)
			}
			var ready []int64
			for _, p := range page {
				if p.Waiting == "" {
					ready = append(ready, p.ID)
				}
			}
			if fmt.Sprint(ready) != fmt.Sprint(all) {
				t.Fatalf("a page that looks up no records: %v, want all %v", ready, all)
			}
			if n, err := env.Store.CountDue(ctx, eff, false); err != nil || n != 25 {
				t.Fatalf("counted without records: %d (%v), want 25", n, err)
			}
			if n, err := env.Store.CountDue(ctx, eff, true); err != nil || n != 23 {
				t.Fatalf("counted with records: %d (%v), want 23", n, err)
			}
			if err := allocateByHand(t, env, d, eff, page[0].ReadAt, all[3]); !errors.Is(err, ledger.ErrPaymentTaken) {
				t.Fatalf("allocating a payment with a record again: %v, want ErrPaymentTaken", err)
			}
		})
	}
}

// TestOriginationsUnsettled: only a file allocated and not settled (nor
// released) can name payments that still read scheduled; none before the
// first allocation, and none once its file is settled.
func TestOriginationsUnsettled(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			d := civil.MustParse("2026-12-01")
			eff := env.Calendar.NextBankingDay(d)
			if err := jobs.SeedBenchPayments(ctx, env.Store, 3, d); err != nil {
				t.Fatal(err)
			}
			unsettled := func() bool {
				t.Helper()
				any, err := env.Store.OriginationsUnsettled(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return any
			}
			if unsettled() {
				t.Fatal("unsettled records before any file")
			}
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(ids) != 3 {
				t.Fatalf("ids: %v %v", ids, err)
			}
			if err := allocateByHand(t, env, d, eff, 0, ids[0]); err != nil {
				t.Fatal(err)
			}
			if !unsettled() {
				t.Fatal("a file allocated, not settled: no unsettled records said")
			}
			var file int64
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT ach_file_id FROM originations WHERE payment_id = $1`, ids[0]).Scan(&file); err != nil {
				t.Fatal(err)
			}
			if settled, err := env.Store.SettleFile(ctx, file); err != nil || !settled {
				t.Fatalf("settle: %v %v", settled, err)
			}
			if unsettled() {
				t.Fatal("the one file is settled: unsettled records said")
			}
		})
	}
}

// TestOriginateMeetsAPaymentAnotherRunOriginated: a run that began with no
// unsettled file reads its pages without looking up records; a payment of
// a later page that a run of another business date originates meanwhile is
// refused by the records' key when this run allocates it, and the run reads
// that file's payments again and originates the rest: every payment once.
// That the refusal happened is what shows the page looked up no record:
// a page that did, read after the other run's allocation (as this one is),
// leaves the payment out and is never refused.
func TestOriginateMeetsAPaymentAnotherRunOriginated(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := civil.MustParse("2026-12-01")
			env := testEnv(t, dialect, map[string]string{"DRAFTER_FILE_ENTRY_LIMIT": "10"})
			if err := jobs.SeedBenchPayments(ctx, env.Store, 60, d); err != nil {
				t.Fatal(err)
			}
			eff := env.Calendar.NextBankingDay(d)
			ids, err := env.Store.OriginableIDs(ctx, eff)
			if err != nil || len(ids) != 60 {
				t.Fatalf("ids: %d %v", len(ids), err)
			}
			var logs bytes.Buffer
			env.Log = zerolog.New(zerolog.SyncWriter(&logs))
			// On the sixth file's page: the other run allocates it while
			// this run stores its first file, and until that store
			// returns this run has allocated three files at most (the
			// storer holds one and waits on another) and read the
			// fourth's page, so the sixth's is read after.
			other := ids[55]
			store := &arrivingStore{Store: env.Docs, arrive: func() error {
				return allocateByHand(t, env, d.AddDays(-1), eff, 0, other)
			}}
			env.Docs = store
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "operator"})
			if err != nil || store.err != nil {
				t.Fatalf("run: %v; the other run's allocation: %v", err, store.err)
			}
			if sum := res.Summary.(*jobs.OriginateSummary); sum.Entries != 59 {
				t.Fatalf("%d entries in the run's files, want 59 (one originated by the other run)", sum.Entries)
			}
			var records, payments, otherFiles int
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT payment_id) FROM originations`).Scan(&records, &payments); err != nil {
				t.Fatal(err)
			}
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM originations o JOIN ach_files f ON f.id = o.ach_file_id
				WHERE o.payment_id = $1 AND f.business_date = $2`, other, d.AddDays(-1)).Scan(&otherFiles); err != nil {
				t.Fatal(err)
			}
			if records != 60 || payments != 60 || otherFiles != 1 {
				t.Fatalf("%d records of %d payments, the other run's payment in its file %d times; want 60, 60, 1", records, payments, otherFiles)
			}
			if !strings.Contains(logs.String(), "reading the file's payments again") {
				t.Fatalf("the run never met the other run's record (its pages looked records up?); log:\n%s", logs.String())
			}
		})
	}
}

// keyLess orders file-order keys as SQLite does (bytewise); the test's
// keys are ASCII, so PostgreSQL's collation agrees.
func keyLess(a, b ledger.FileOrderKey) bool {
	return strings.Compare(strings.Join([]string{a.SEC, a.Description, a.AccountID, a.Source, a.SourceKey}, "\x00"),
		strings.Join([]string{b.SEC, b.Description, b.AccountID, b.Source, b.SourceKey}, "\x00")) < 0
}
