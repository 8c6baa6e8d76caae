package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// readReturnsState is every ledger row the returns job writes, in text,
// without ids of the inbound files (the operator and the job name files
// differently).
func readReturnsState(t *testing.T, dataDir string) string {
	t.Helper()
	s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dataDir, "drafter.db"))
	defer s.Close()
	return ledgertest.Dump(t, s.DB(),
		`SELECT id, source, source_key, state, state_reason, attempt, COALESCE(original_payment_id, 0), draft_on, amount, description FROM payments ORDER BY id`,
		`SELECT id, kind, amount FROM transactions WHERE id LIKE 'return%' ORDER BY id`,
		`SELECT id, routing, number_mac, type, status, status_reason FROM bank_accounts ORDER BY id`,
		`SELECT id, status, status_reason FROM autopay_enrollments ORDER BY id`,
		`SELECT id, review FROM accounts WHERE review <> '' ORDER BY id`,
		`SELECT entry_key, original_trace, COALESCE(payment_id, 0), code, action FROM returns ORDER BY entry_key`,
		`SELECT entry_key, original_trace, change_code, action FROM corrections ORDER BY entry_key`,
		`SELECT topic, kind, payload FROM outbox WHERE kind = 'payment_returned' ORDER BY topic`,
		`SELECT kind, reference FROM exceptions ORDER BY kind, reference`,
		`SELECT COUNT(*) FROM inbound_files WHERE status = 'applied'`,
	)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReturnsKilledAfterEveryWrite prepares a day of origination, has the
// bank return some of its debits (R01s, an R02, an R10) and correct a few
// (NOCs), then kills `drafter run returns` after each of its writes in turn
// and restarts the run; and kills `drafter returns ingest` the same way and
// ingests again. Every time, the ledger ends as after an uninterrupted
// run: each return applied once, one re-presentment per R01, one email
// each.
func TestReturnsKilledAfterEveryWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	d := civil.MustParse("2026-12-01")
	eff := civil.MustParse("2026-12-02")
	file := writePortfolio(t, 300, 5, d)
	base := t.TempDir()
	mustDrafter(t, base, nil, "import", file)
	mustDrafter(t, base, nil, "run", "originate", "--date", d.String())

	// The bank's answer to the day's file, in the inbound folder, and as
	// local files for the operator.
	ctx := context.Background()
	docs, err := storage.Open(ctx, "file://"+filepath.Join(base, "docs"))
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
	var rets []ach.SimulatedReturn
	var nocs []ach.SimulatedCorrection
	codes := []string{"R01", "R01", "R02", "R01", "R10", "R01", "R03", "R01"}
	for _, b := range mf.Batches {
		for _, e := range b.GetEntries() {
			switch {
			case e.Amount == 0:
			case len(rets) < len(codes):
				rets = append(rets, ach.SimulatedReturn{Trace: e.TraceNumber, Code: codes[len(rets)]})
			case len(nocs) < 3:
				nocs = append(nocs, ach.SimulatedCorrection{Trace: e.TraceNumber, ChangeCode: "C01", AccountNumber: fmt.Sprintf("7700%d", len(nocs))})
			}
		}
	}
	if len(rets) != len(codes) || len(nocs) != 3 {
		t.Fatalf("the day has too few debits: %d returns, %d NOCs", len(rets), len(nocs))
	}
	retFile, err := ach.BuildReturnFile(original, rets, eff)
	if err != nil {
		t.Fatal(err)
	}
	nocFile, err := ach.BuildNOCFile(original, nocs, eff)
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	retPath, nocPath := filepath.Join(local, "returns.ach"), filepath.Join(local, "noc.ach")
	os.WriteFile(retPath, retFile, 0o600)
	os.WriteFile(nocPath, nocFile, 0o600)
	// A rejected file on top, so the crash can fall on its writes too.
	badPath := filepath.Join(local, "bad.ach")
	os.WriteFile(badPath, retFile[:len(retFile)/2], 0o600)
	for name, b := range map[string][]byte{"returns.ach": retFile, "noc.ach": nocFile, "bad.ach": retFile[:len(retFile)/2]} {
		if _, err := docs.Put(ctx, jobs.InboundPrefix+name, b, storage.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	docs.Close()

	prepare := func() string {
		dir := t.TempDir()
		copyDir(t, base, dir)
		return dir
	}
	baseline := prepare()
	// Partial: one of the files is rejected (an exception), the rest applied.
	r := drafter(t, baseline, nil, "run", "returns", "--date", eff.String(), "--json")
	if r.code != exitPartial {
		t.Fatalf("returns run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	want := readReturnsState(t, baseline)
	bs := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(baseline, "drafter.db"))
	for _, q := range []struct {
		q    string
		want int
	}{
		{`SELECT COUNT(*) FROM returns WHERE payment_id IS NOT NULL`, len(codes)},
		{`SELECT COUNT(*) FROM returns WHERE code = 'R01'`, 5},
		{`SELECT COUNT(*) FROM payments WHERE source = 'represent'`, 5},
		{`SELECT COUNT(*) FROM outbox WHERE kind = 'payment_returned'`, len(codes)},
		{`SELECT COUNT(*) FROM corrections WHERE action LIKE 'applied%'`, 3},
		{`SELECT COUNT(*) FROM exceptions WHERE kind = 'inbound_rejected'`, 1},
		{`SELECT COUNT(*) FROM exceptions`, 1},
	} {
		var got int
		if err := bs.DB().QueryRow(q.q).Scan(&got); err != nil || got != q.want {
			t.Fatalf("baseline: %s = %d (%v), want %d", q.q, got, err, q.want)
		}
	}
	bs.Close()

	t.Run("run returns", func(t *testing.T) {
		for n := 1; ; n++ {
			dir := prepare()
			r := drafter(t, dir, []string{fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)}, "run", "returns", "--date", eff.String())
			if r.code == exitPartial {
				if n < 7 {
					t.Fatalf("the job finished before crashpoint %d: too few checkpoints", n)
				}
				t.Logf("%d crashpoints exercised", n-1)
				compareReturns(t, n, want, readReturnsState(t, dir))
				return
			}
			if r.code != jobs.CrashExitCode {
				t.Fatalf("crash %d: exit %d\n%s", n, r.code, r.stderr)
			}
			rr := drafter(t, dir, nil, "restart", fmt.Sprint(latestReturnsRun(t, dir)), "--stale-after", "0s")
			if rr.code != 0 && !strings.Contains(rr.stdout, "partial") {
				t.Fatalf("restart after crash %d: exit %d\n%s\n%s", n, rr.code, rr.stdout, rr.stderr)
			}
			compareReturns(t, n, want, readReturnsState(t, dir))
		}
	})

	t.Run("returns ingest", func(t *testing.T) {
		args := []string{"returns", "ingest", retPath, nocPath, badPath, "--date", eff.String()}
		for n := 1; ; n++ {
			dir := prepare()
			// The operator's files only: empty the inbound folder.
			os.RemoveAll(filepath.Join(dir, "docs", "ach", "inbound"))
			r := drafter(t, dir, []string{fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)}, args...)
			if r.code != jobs.CrashExitCode {
				// Finished: it exits 1 for the rejected file.
				if n < 6 || !strings.Contains(r.stderr, "1 file(s) rejected") {
					t.Fatalf("crash %d: exit %d\n%s\n%s", n, r.code, r.stdout, r.stderr)
				}
				t.Logf("%d crashpoints exercised", n-1)
				compareReturns(t, n, want, readReturnsState(t, dir))
				return
			}
			again := drafter(t, dir, nil, args...)
			if again.code != 1 || !strings.Contains(again.stderr, "rejected") {
				t.Fatalf("ingest again after crash %d: exit %d\n%s\n%s", n, again.code, again.stdout, again.stderr)
			}
			compareReturns(t, n, want, readReturnsState(t, dir))
		}
	})
}

// latestReturnsRun is the id of the newest returns run in the data dir.
func latestReturnsRun(t *testing.T, dataDir string) int64 {
	t.Helper()
	var runs []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dataDir, nil, "runs", "--job", "returns", "--json")), &runs); err != nil || len(runs) == 0 {
		t.Fatalf("runs --json: %v %v", runs, err)
	}
	return runs[0].ID
}

func compareReturns(t *testing.T, n int, want, got string) {
	t.Helper()
	if got != want {
		wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
		for i := range min(len(wl), len(gl)) {
			if wl[i] != gl[i] {
				t.Fatalf("crash %d: the ledger differs from the uninterrupted run at line %d:\nwant %s\ngot  %s", n, i+1, wl[i], gl[i])
			}
		}
		t.Fatalf("crash %d: the ledger differs from the uninterrupted run (%d lines, want %d)", n, len(gl), len(wl))
	}
}
