package jobs_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// holdNight is holidayWeek with five records a NACHA file cannot take as
// they stand, or only once transliterated: three holder names in other
// scripts, a bank account number the ledger's key cannot open, and a routing
// number that no longer passes its check digit.
func holdNight() []portfolio.Account {
	accts := holidayWeek()
	extra := func(id, holder string) portfolio.Account {
		a := accts[0]
		a.ID = id
		a.Customer.ID, a.Customer.Email = "C-"+id, id+"@example.com"
		a.BankAccounts = []portfolio.BankAccount{{ID: "B-" + id, Routing: "011000015", AccountNumber: "4440" + id[3:], Type: "checking",
			HolderName: holder, Prenote: "verified", Status: "active"}}
		a.Autopay = &portfolio.Autopay{ID: "AP-" + id, BankAccountID: "B-" + id, AuthorizedOn: civil.MustParse("2025-01-05"),
			StartsOn: civil.MustParse("2025-02-01"), Status: "active"}
		return a
	}
	return append(accts,
		extra("LN-6", "王小明"),
		extra("LN-7", "😀🚗"),
		extra("LN-8", "Γιώργος Παπαδόπουλος"),
		extra("LN-9", "Ana Ruiz"),
		extra("LN-10", "Bo Li"),
	)
}

// originatedOf returns the originated payments of an account: id, trace and
// the name the file carries, from their originations records (the rows are
// settled later, by the deliver job).
func originatedOf(t *testing.T, st *ledger.Store, account string) [][3]string {
	t.Helper()
	rows, err := st.DB().Query(`SELECT CAST(p.id AS TEXT), o.trace_number, o.individual_name FROM payments p
		JOIN originations o ON o.payment_id = p.id WHERE p.account_id = $1 AND `+paymentState+` = 'originated' ORDER BY p.id`, account)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][3]string
	for rows.Next() {
		var r [3]string
		if err := rows.Scan(&r[0], &r[1], &r[2]); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestOriginateHoldsWhatCannotBeBuilt(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			accts := holdNight()
			importAccounts(t, env.Store, accts)
			// The number of LN-9 was sealed under another key (or damaged);
			// the routing of LN-10 became invalid after it was imported.
			other, err := ledger.NewCipher(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			db := env.Store.DB()
			if _, err := db.Exec(`UPDATE bank_accounts SET number_enc = $1 WHERE id = 'B-LN-9'`, other.Seal("444009", "bank_accounts", "B-LN-9")); err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`UPDATE bank_accounts SET routing = '011000016' WHERE id = 'B-LN-10'`); err != nil {
				t.Fatal(err)
			}

			night1 := civil.MustParse("2026-11-25")
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: night1, Trigger: "operator"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.OriginateSummary)
			// The names become NACHA text (docs/names.md): transliterated,
			// or the documented fallback; the number and the routing
			// number hold their payments.
			wantHeld := map[string]int{"account number cannot be decrypted": 1, "routing number invalid": 1}
			for reason, n := range wantHeld {
				if sum.Skipped[reason] != n {
					t.Errorf("held for %q: %d, want %d (summary %+v)", reason, sum.Skipped[reason], n, sum.Skipped)
				}
			}
			if sum.Held != 2 || sum.Entries != 7 || len(sum.Files) != 1 {
				t.Fatalf("summary = %+v; want 2 held and the other 7 entries in one file", sum)
			}
			body, _, err := env.Docs.Get(ctx, sum.Files[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			checkNACHA(t, body)
			for id, name := range map[string]string{"LN-6": "WANG XIAO MING", "LN-7": "ACCOUNT HOLDER", "LN-8": "GIORGOS PAPADOPOULOS"} {
				got := originatedOf(t, env.Store, id)
				if len(got) != 1 || got[0][2] != name {
					t.Errorf("%s: originated %v, want one debit to %q", id, got, name)
				}
				if !bytes.Contains(body, []byte(fmt.Sprintf("%-22s", name))) {
					t.Errorf("%s: the file does not carry the name %q", id, name)
				}
			}
			for _, id := range []string{"LN-9", "LN-10"} {
				if got := originatedOf(t, env.Store, id); len(got) != 0 {
					t.Errorf("%s: originated %v, want it held", id, got)
				}
			}
			var scheduled int
			if err := db.QueryRow(`SELECT COUNT(*) FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE ` + paymentState + ` = 'scheduled' AND p.account_id IN ('LN-9','LN-10')`).Scan(&scheduled); err != nil {
				t.Fatal(err)
			}
			if scheduled != 2 {
				t.Fatalf("%d held payments still scheduled, want 2: a held payment waits for its fix", scheduled)
			}
			exs, err := env.Store.Exceptions(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			held := 0
			for _, e := range exs {
				if e.Kind == "payment_held" {
					held++
					if bytes.Contains([]byte(e.Detail), []byte("444009")) {
						t.Errorf("exception %q shows an account number", e.Detail)
					}
				}
			}
			if held != 2 {
				t.Fatalf("%d payment_held exceptions, want 2: %+v", held, exs)
			}

			// The operator fixes the data in the servicing system: LN-10's
			// routing; the import seals LN-9's number again under the
			// ledger's key.
			for i := range accts {
				if accts[i].ID == "LN-10" {
					accts[i].BankAccounts[0].Routing = "021000021"
				}
			}
			importAccounts(t, env.Store, accts)
			night2 := civil.MustParse("2026-11-27")
			res, err = env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: night2, Trigger: "schedule"})
			if err != nil {
				t.Fatal(err)
			}
			sum = res.Summary.(*jobs.OriginateSummary)
			if sum.Held != 0 {
				t.Fatalf("night 2 held %d: %+v", sum.Held, sum.Skipped)
			}
			for _, id := range []string{"LN-6", "LN-7", "LN-8", "LN-9", "LN-10"} {
				if got := originatedOf(t, env.Store, id); len(got) != 1 {
					t.Errorf("%s: originated %v, want exactly one debit after the fix", id, got)
				}
			}
			for _, f := range sum.Files {
				body, _, err := env.Docs.Get(ctx, f.Key)
				if err != nil {
					t.Fatal(err)
				}
				checkNACHA(t, body)
			}
			// Nothing of night 1 was originated again.
			var dup int
			if err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT p.source, p.source_key FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE ` + paymentState + ` = 'originated' GROUP BY p.source, p.source_key HAVING COUNT(*) > 1) d`).Scan(&dup); err != nil {
				t.Fatal(err)
			}
			if dup != 0 {
				t.Fatalf("%d payment instances originated twice", dup)
			}
		})
	}
}

// TestReleaseStrandedFile builds the ledger an earlier version left: a file
// allocated (its payments originated, with their entry snapshots) whose
// entries the build refuses, and no file stored. A restart cannot build it;
// releasing it puts its payments back to scheduled in one audited
// transaction, and the restarted run debits every one of them once, in a
// new file.
func TestReleaseStrandedFile(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, nil)
			importAccounts(t, env.Store, holidayWeek())
			d := civil.MustParse("2026-11-25")
			eff := civil.MustParse("2026-11-27")
			db := env.Store.DB()
			// The earlier version: the night's instances made, then every
			// originable payment allocated with a snapshot the build
			// refuses (a routing number without its check digit), and the
			// process gone before building.
			if _, err := env.Store.ScheduleOneTimePayments(ctx, eff); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.SchedulePrenotes(ctx, d); err != nil {
				t.Fatal(err)
			}
			stranded := strandFile(t, env, d, eff, "011000016", "")

			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "schedule"})
			if err == nil || !strings.Contains(err.Error(), "release-file") {
				t.Fatalf("originate over the stranded file: %v; want it to fail naming release-file", err)
			}
			if _, err := env.Store.ReleaseFile(ctx, stranded.ID, "ana", "snapshot cannot be built, ticket 4411"); err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.ReleaseFile(ctx, stranded.ID, "ana", "again"); !errors.Is(err, ledger.ErrFileNotReleasable) {
				t.Fatalf("second release: %v, want ErrFileNotReleasable", err)
			}
			var audits int
			if err := db.QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'release-file' AND actor = 'ana' AND target = $1`, stranded.StorageKey).Scan(&audits); err != nil {
				t.Fatal(err)
			}
			if audits != 1 {
				t.Fatalf("%d audit rows for the release, want 1", audits)
			}
			again, err := env.Restart(ctx, jobs.Originate{}, res.Run.ID, "ana", time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			sum := again.Summary.(*jobs.OriginateSummary)
			// The failed run stored file B (the night's autopay) before it
			// met A; the restart puts A's payments into C.
			keys := map[string]bool{}
			for _, f := range sum.Files {
				if f.Key == stranded.StorageKey {
					t.Fatalf("the released file %s is still among the day's files", f.Key)
				}
				keys[f.Key] = true
				body, _, err := env.Docs.Get(ctx, f.Key)
				if err != nil {
					t.Fatal(err)
				}
				checkNACHA(t, body)
			}
			// By the originations records: the restarted run's files are
			// not settled yet (the deliver job does that).
			var inA, originated int
			if err := db.QueryRow(`SELECT COUNT(*) FROM originations WHERE ach_file_id = $1`, stranded.ID).Scan(&inA); err != nil {
				t.Fatal(err)
			}
			if err := db.QueryRow(`SELECT COUNT(*) FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE ` + paymentState + ` = 'originated'`).Scan(&originated); err != nil {
				t.Fatal(err)
			}
			if inA != 0 || originated != sum.Entries {
				t.Fatalf("%d payments left in the released file, %d originated; want 0 and the %d entries of the day's files", inA, originated, sum.Entries)
			}
			for _, id := range stranded.payments {
				var key string
				if err := db.QueryRow(`SELECT f.storage_key FROM payments p JOIN originations o ON o.payment_id = p.id
					JOIN ach_files f ON f.id = o.ach_file_id WHERE p.id = $1 AND `+paymentState+` = 'originated'`, id).Scan(&key); err != nil || !keys[key] {
					t.Fatalf("payment %d of the released file: in %q (%v), want originated in a file of the day", id, key, err)
				}
			}
			// A stored file may have gone to the bank: never released.
			b, err := env.Store.FileByKey(ctx, sum.Files[0].Key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.Store.ReleaseFile(ctx, b.ID, "ana", "try"); !errors.Is(err, ledger.ErrFileNotReleasable) {
				t.Fatalf("releasing stored file %s: %v, want ErrFileNotReleasable", b.StorageKey, err)
			}
		})
	}
}

// strandFile allocates every originable payment of the night into a file
// whose snapshots carry routing and name (each "" for the bank account's),
// as a version that did not check entries first could leave it; it returns
// the file with its payments.
func strandFile(t *testing.T, env *jobs.Env, d, eff civil.Date, routing, name string) strandedFile {
	t.Helper()
	sf, err := allocateNight(t, env, d, eff, routing, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sf
}

// allocateNight allocates every originable payment of the night into one
// file as AllocateFile's caller would, with check as the allocation's
// build check (nil: none).
func allocateNight(t *testing.T, env *jobs.Env, d, eff civil.Date, routing, name string, check func() error) (strandedFile, error) {
	t.Helper()
	ctx := context.Background()
	ids, err := env.Store.OriginableIDs(ctx, eff)
	if err != nil {
		t.Fatal(err)
	}
	due, err := env.Store.Originable(ctx, eff, ids)
	if err != nil || len(due) == 0 {
		t.Fatalf("originable: %d payments, %v", len(due), err)
	}
	plan := ledger.FilePlan{BusinessDate: d, EffectiveOn: eff, StorageKey: func(m string) string { return jobs.FileKey(d, m) },
		NextModifier: func(prev string) (string, error) { return "A", nil }}
	f, err := env.Store.AllocateFile(ctx, plan, len(due), func(f ledger.ACHFile) ([]ledger.Allocation, func() error, error) {
		allocs := make([]ledger.Allocation, len(due))
		for i, p := range due {
			trace := fmt.Sprintf("%s%07d", env.Config.ODFIRouting[:8], f.TraceStart+i)
			number, err := env.Store.OpenNumber("bank_accounts", p.BankAccountID, p.NumberEnc)
			if err != nil {
				return nil, nil, err
			}
			allocs[i] = ledger.Allocation{PaymentID: p.ID, TraceNumber: trace, RDFIRouting: cmp.Or(routing, p.Routing), AccountNumber: number,
				TransactionCode: 27, IndividualName: cmp.Or(name, p.HolderName), Prenote: p.Kind == "prenote", BankAccountID: p.BankAccountID}
			if p.Kind == "prenote" {
				allocs[i].TransactionCode = 28
			}
		}
		return allocs, check, nil
	})
	sf := strandedFile{ACHFile: f}
	for _, p := range due {
		sf.payments = append(sf.payments, p.ID)
	}
	return sf, err
}

type strandedFile struct {
	ledger.ACHFile
	payments []int64
}

// TestRestartBuildsStrandedNameFile: the night the issue found, a file
// allocated with a holder name in Chinese characters that the earlier build
// refused, is finished by a plain restart: the name becomes NACHA text as
// every name now does, and nothing needs releasing.
func TestRestartBuildsStrandedNameFile(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env, d, eff := holidayWeekNight(t, dialect)
			stranded := strandFile(t, env, d, eff, "", "王小明")
			res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "schedule"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.OriginateSummary)
			if len(sum.Files) == 0 || sum.Files[0].Key != stranded.StorageKey || sum.Files[0].Stored != "new" {
				t.Fatalf("files %+v; want the stranded %s built and stored", sum.Files, stranded.StorageKey)
			}
			body, _, err := env.Docs.Get(ctx, stranded.StorageKey)
			if err != nil {
				t.Fatal(err)
			}
			checkNACHA(t, body)
			if !bytes.Contains(body, []byte("WANG XIAO MING")) {
				t.Fatal("the stranded file does not carry the name as NACHA text")
			}
		})
	}
}

// TestAllocationWaitsForItsBuild: a file whose build fails allocates
// nothing, even when the build finishes after the allocation was written.
func TestAllocationWaitsForItsBuild(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env, d, eff := holidayWeekNight(t, dialect)
			_, err := allocateNight(t, env, d, eff, "", "", func() error {
				time.Sleep(50 * time.Millisecond)
				return errors.New("build: refused")
			})
			if err == nil || !strings.Contains(err.Error(), "build: refused") {
				t.Fatalf("AllocateFile = %v, want the build's error", err)
			}
			var files, originated int
			db := env.Store.DB()
			db.QueryRow(`SELECT COUNT(*) FROM ach_files`).Scan(&files)
			db.QueryRow(`SELECT COUNT(*) FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE ` + paymentState + ` <> 'scheduled'`).Scan(&originated)
			if files != 0 || originated != 0 {
				t.Fatalf("%d files and %d payments not scheduled after a failed build; want none", files, originated)
			}
		})
	}
}

// holidayWeekNight is an Env with the holiday week imported and the
// one-time payments of its allocation night (2026-11-25, effective
// 2026-11-27) scheduled.
func holidayWeekNight(t *testing.T, dialect string) (env *jobs.Env, d, eff civil.Date) {
	t.Helper()
	env = testEnv(t, dialect, nil)
	importAccounts(t, env.Store, holidayWeek())
	d, eff = civil.MustParse("2026-11-25"), civil.MustParse("2026-11-27")
	if _, err := env.Store.ScheduleOneTimePayments(context.Background(), eff); err != nil {
		t.Fatal(err)
	}
	return env, d, eff
}
