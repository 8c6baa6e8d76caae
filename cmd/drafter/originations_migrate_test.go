package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// TestOriginationsMigrationKilledMidway: a ledger as the release before
// migrations 0039 and 0040 leaves it (payments originated, returned and
// re-presented, the origination only on the payment rows) gets an
// originations record for every originated payment, equal to what
// origination records today, however often `drafter migrate` is killed
// in its statements. The ledger is made by today's build and put back to
// the earlier shape: the payment rows today's settlement writes are the
// rows the earlier release wrote.
func TestOriginationsMigrationKilledMidway(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) { originationsMigrationCrashes(t, dialect) })
	}
}

func originationsMigrationCrashes(t *testing.T, dialect string) {
	ctx := context.Background()
	d1, d2 := civil.MustParse("2026-12-01"), civil.MustParse("2026-12-02")
	dir := t.TempDir()
	var env []string
	dbURL := "sqlite:" + filepath.Join(dir, "drafter.db")
	if dialect == "postgres" {
		dbURL = ledgertest.URL(t, dialect)
		env = append(env, "DRAFTER_DATABASE_URL="+dbURL)
		mustDrafter(t, dir, env, "migrate")
	}
	mustDrafter(t, dir, env, "import", writePortfolio(t, 200, 7, d1))
	// Each originate run is followed by the deliver run that settles its
	// file's payment rows, as the schedule does within minutes: the earlier
	// release wrote those rows in the allocation itself, so the ledger it
	// left had every stored file's payments showing their origination, and
	// the returns below applied to settled rows.
	mustDrafter(t, dir, env, "run", "originate", "--date", d1.String())
	mustDrafter(t, dir, env, "run", "deliver", "--date", d1.String())

	// The bank returns a few debits: R01s (re-presented the next night)
	// and an R03.
	docs, err := storage.Open(ctx, "file://"+filepath.Join(dir, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	outbound, err := docs.List(ctx, "ach/outbound/")
	if err != nil || len(outbound) != 1 {
		t.Fatalf("outbound files %v %v", outbound, err)
	}
	original, _, err := docs.Get(ctx, outbound[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := moov.NewReader(bytes.NewReader(original)).Read()
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"R01", "R01", "R03", "R01"}
	var rets []ach.SimulatedReturn
	for _, b := range mf.Batches {
		for _, e := range b.GetEntries() {
			if e.Amount > 0 && len(rets) < len(codes) {
				rets = append(rets, ach.SimulatedReturn{Trace: e.TraceNumber, Code: codes[len(rets)]})
			}
		}
	}
	retFile, err := ach.BuildReturnFile(original, rets, d2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := docs.Put(ctx, jobs.InboundPrefix+"returns.ach", retFile, storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	docs.Close()
	mustDrafter(t, dir, env, "run", "returns", "--date", d2.String())
	mustDrafter(t, dir, env, "run", "originate", "--date", d2.String())
	mustDrafter(t, dir, env, "run", "deliver", "--date", d2.String())

	s := ledgertest.OpenURL(t, dbURL)
	db := s.DB()
	var returned, represented int
	if err := db.QueryRow(`SELECT COUNT(*) FROM payments WHERE state = 'returned' AND trace_number IS NOT NULL`).Scan(&returned); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM payments WHERE source = 'represent' AND state = 'originated'`).Scan(&represented); err != nil {
		t.Fatal(err)
	}
	if returned != len(codes) || represented != 3 {
		t.Fatalf("the ledger has %d returned and %d re-presented originated payments, want %d and 3", returned, represented, len(codes))
	}
	records := `SELECT payment_id, ach_file_id, CAST(business_date AS TEXT), CAST(effective_on AS TEXT), trace_number, rdfi_routing,
		number_enc, transaction_code, individual_name, individual_id FROM originations ORDER BY payment_id`
	want := ledgertest.Dump(t, db, records, `SELECT id, CASE WHEN settled_at IS NULL THEN 0 ELSE 1 END FROM ach_files ORDER BY id`)
	var originated, recorded int
	if err := db.QueryRow(`SELECT COUNT(*) FROM payments WHERE trace_number IS NOT NULL`).Scan(&originated); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM originations`).Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != originated {
		t.Fatalf("today's build recorded %d originations for %d originated payments", recorded, originated)
	}
	s.Close()

	crashes := migrateKilledAtEach(t, dir, env, func() { downgrade(t, dialect, dbURL) }, func(n int) {
		s := ledgertest.OpenURL(t, dbURL)
		got := ledgertest.Dump(t, s.DB(), records, `SELECT id, CASE WHEN settled_at IS NULL THEN 0 ELSE 1 END FROM ach_files ORDER BY id`)
		s.Close()
		if got != want {
			t.Fatalf("crash %d: the migrated records differ from today's\ngot:\n%s\nwant:\n%s", n, got, want)
		}
	})
	if crashes < 4 {
		t.Fatalf("only %d crashpoints in the migration", crashes)
	}
	t.Logf("%d crashpoints exercised", crashes)

	// Migration 0052 gives each file the bounds of its records' traces,
	// as allocation writes them today, and drops the records' file index,
	// however often it is killed.
	bounds := `SELECT id, first_trace, last_trace FROM ach_files ORDER BY id`
	s = ledgertest.OpenURL(t, dbURL)
	wantBounds := ledgertest.Dump(t, s.DB(), bounds)
	s.Close()
	crashes = migrateKilledAtEach(t, dir, env, func() { downgradeFileIndex(t, dbURL) }, func(n int) {
		s := ledgertest.OpenURL(t, dbURL)
		got := ledgertest.Dump(t, s.DB(), bounds)
		var left int
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM ach_files WHERE first_trace IS NULL OR last_trace IS NULL`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != wantBounds || left > 0 {
			t.Fatalf("crash %d: the migrated bounds differ from what allocation writes (%d files without)\ngot:\n%s\nwant:\n%s", n, left, got, wantBounds)
		}
	})
	t.Logf("0052: %d crashpoints exercised", crashes)

	// The migrated ledger goes on: the next night rebuilds nothing and
	// originates nothing twice.
	mustDrafter(t, dir, env, "run", "originate", "--date", civil.MustParse("2026-12-03").String())
}

// migrateKilledAtEach puts the ledger back with downgrade and runs
// `drafter migrate` killed at its nth crashpoint, then again to the end,
// for n = 1, 2, ... until a run is not killed; check sees the ledger after
// each. It returns how many crashpoints the migration has.
func migrateKilledAtEach(t *testing.T, dir string, env []string, downgrade func(), check func(n int)) int {
	t.Helper()
	for n := 1; ; n++ {
		downgrade()
		r := drafter(t, dir, append(env[:len(env):len(env)], fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)), "migrate")
		if r.code != 0 && r.code != jobs.CrashExitCode {
			t.Fatalf("crash %d: migrate exit %d\n%s", n, r.code, r.stderr)
		}
		if r.code == jobs.CrashExitCode {
			mustDrafter(t, dir, env, "migrate")
		}
		check(n)
		if r.code == 0 {
			return n - 1
		}
	}
}

// downgradeFileIndex puts the ledger back to the shape the release before
// migration 0052 leaves: the records' file index, no trace bounds on the
// files.
func downgradeFileIndex(t *testing.T, dbURL string) {
	t.Helper()
	s := ledgertest.OpenURL(t, dbURL)
	defer s.Close()
	for _, q := range []string{`ALTER TABLE ach_files DROP COLUMN first_trace`, `ALTER TABLE ach_files DROP COLUMN last_trace`,
		`CREATE INDEX IF NOT EXISTS originations_file ON originations (ach_file_id)`, `DELETE FROM schema_migrations WHERE version = 52`} {
		if _, err := s.DB().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// downgrade puts the ledger back to the shape the release before
// migration 0039 leaves: no originations records, no settled_at, and the
// two migrations not applied; the entry snapshots on the payment rows.
func downgrade(t *testing.T, dialect, dbURL string) {
	t.Helper()
	s := ledgertest.OpenURL(t, dbURL)
	defer s.Close()
	db := s.DB()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The earlier release kept the entry snapshot on the payment row.
	exec(`UPDATE payments SET rdfi_routing = o.rdfi_routing, number_enc = o.number_enc, individual_name = o.individual_name,
		individual_id = o.individual_id FROM originations o WHERE payments.id = o.payment_id`)
	exec(`DROP TABLE IF EXISTS originations`)
	if dialect == "postgres" {
		exec(`ALTER TABLE ach_files DROP COLUMN IF EXISTS settled_at`)
	} else if hasColumn(t, db, "ach_files", "settled_at") {
		exec(`ALTER TABLE ach_files DROP COLUMN settled_at`)
	}
	exec(`DELETE FROM schema_migrations WHERE version IN (39, 40)`)
}

func hasColumn(t *testing.T, db *sql.DB, table, column string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('`+table+`') WHERE name = $1`, column).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
