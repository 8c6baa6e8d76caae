package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// TestReceivedReturnsAppliedOnce: the bank leaves a real return file for
// the night's debits. `drafter run receive` is killed after each of its
// writes in turn; the returns job runs on what was stored so far (so a
// file stored but not yet removed from the bank is applied before
// receive, restarted, downloads it again), then receive is restarted and
// the returns job runs again the next day. Every time each return is
// applied once, the file is recorded once, and the bank's inbox is empty.
func TestReceivedReturnsAppliedOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test builds and runs the binary many times")
	}
	srv := testenv.SSHD(t)
	d, eff, next := civil.MustParse("2026-12-01"), civil.MustParse("2026-12-02"), civil.MustParse("2026-12-03")
	base := t.TempDir()
	mustDrafter(t, base, nil, "import", writePortfolio(t, 200, 5, d))
	mustDrafter(t, base, nil, "run", "originate", "--date", d.String())

	ctx := context.Background()
	docs, err := storage.Open(ctx, "file://"+filepath.Join(base, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	outbound, err := docs.List(ctx, "ach/outbound/")
	if err != nil || len(outbound) == 0 {
		t.Fatalf("outbound files %v %v", outbound, err)
	}
	original, _, err := docs.Get(ctx, outbound[0].Key)
	docs.Close()
	if err != nil {
		t.Fatal(err)
	}
	mf, err := moov.NewReader(bytes.NewReader(original)).Read()
	if err != nil {
		t.Fatal(err)
	}
	var rets []ach.SimulatedReturn
	for _, b := range mf.Batches {
		for _, e := range b.GetEntries() {
			if e.Amount != 0 && len(rets) < 4 {
				rets = append(rets, ach.SimulatedReturn{Trace: e.TraceNumber, Code: []string{"R01", "R02"}[len(rets)%2]})
			}
		}
	}
	retFile, err := ach.BuildReturnFile(original, rets, eff)
	if err != nil || len(rets) != 4 {
		t.Fatalf("return file: %d returns, %v", len(rets), err)
	}

	var inbox string
	prepare := func() (string, []string) {
		dir := t.TempDir()
		copyDir(t, base, dir)
		var env []string
		_, inbox, env = bankFolders(t, srv)
		if err := os.WriteFile(filepath.Join(inbox, "RETURNS.ACH"), retFile, 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, env
	}
	returns := func(dir string, env []string, on civil.Date) {
		t.Helper()
		if r := drafter(t, dir, env, "run", "returns", "--date", on.String()); r.code != 0 {
			t.Fatalf("returns %s: exit %d\n%s%s", on, r.code, r.stdout, r.stderr)
		}
	}
	check := func(n int, dir string) {
		t.Helper()
		if left := folderFiles(t, inbox); len(left) != 0 {
			t.Fatalf("crash %d: %d files left in the bank's inbox", n, len(left))
		}
		s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
		defer s.Close()
		for q, want := range map[string]int{
			`SELECT COUNT(*) FROM returns`:                                len(rets),
			`SELECT COUNT(*) FROM returns WHERE payment_id IS NOT NULL`:   len(rets),
			`SELECT COUNT(*) FROM inbound_files`:                          1,
			`SELECT COUNT(*) FROM inbound_files WHERE status = 'applied'`: 1,
		} {
			var got int
			if err := s.DB().QueryRow(q).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("crash %d: %s = %d, want %d", n, q, got, want)
			}
		}
	}
	for n := 1; ; n++ {
		dir, env := prepare()
		r := drafter(t, dir, append(env, fmt.Sprintf("DRAFTER_CRASH_AT=%d", n)), "run", "receive", "--date", eff.String())
		if r.code == 0 {
			returns(dir, env, eff)
			check(n, dir)
			t.Logf("%d crashpoints exercised", n-1)
			if n < 3 {
				t.Fatalf("only %d crashpoints", n-1)
			}
			return
		}
		if r.code != jobs.CrashExitCode {
			t.Fatalf("crash %d: exit %d\n%s", n, r.code, r.stderr)
		}
		receiveRun := lastRunID(t, dir, env)
		returns(dir, env, eff)
		mustDrafter(t, dir, env, "restart", fmt.Sprint(receiveRun), "--stale-after", "0s")
		returns(dir, env, next)
		check(n, dir)
	}
}
