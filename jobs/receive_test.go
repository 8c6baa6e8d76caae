package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// bankSends plays the bank: it makes the night's return files with the
// simulated bank, takes them out of drafter's storage and leaves them in
// the bank's SFTP inbox. It returns their bytes by name.
func bankSends(t *testing.T, env *jobs.Env, inbox string) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	sum, err := jobs.SimulateBank(ctx, env.Store, env.Docs, bankNight, jobs.BankOptions{ReturnPerMille: 1000})
	if err != nil || len(sum.Files) == 0 {
		t.Fatalf("simulated bank: %+v %v", sum, err)
	}
	root := strings.TrimPrefix(env.Config.StorageURL, "file://")
	out := map[string][]byte{}
	for _, key := range sum.Files {
		b, _, err := env.Docs.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(key)
		out[name] = b
		if err := os.WriteFile(filepath.Join(inbox, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(root, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func receive(t *testing.T, env *jobs.Env) *jobs.ReceiveSummary {
	t.Helper()
	res, err := runAgain(t, env, jobs.Receive{})
	if err != nil || res.Run.Status != ledger.RunSucceeded {
		t.Fatalf("receive: %v %s", err, res.Run.Status)
	}
	return res.Summary.(*jobs.ReceiveSummary)
}

// TestReceiveStoresThenRemoves: each file in the bank's inbox is stored
// under ach/inbound/ byte for byte and then removed from the server; the
// returns job applies it; the same file sent again is known, removed, and
// not applied twice.
func TestReceiveStoresThenRemoves(t *testing.T) {
	env, _, _, inbox := bankEnv(t, nil)
	ctx := context.Background()
	sent := bankSends(t, env, inbox)
	os.WriteFile(filepath.Join(inbox, ".partial.ach"), []byte("being written"), 0o644)
	sum := receive(t, env)
	if len(sum.Files) != len(sent) {
		t.Fatalf("received %+v; want %d files", sum.Files, len(sent))
	}
	for _, f := range sum.Files {
		b, _, err := env.Docs.Get(ctx, f.Key)
		if err != nil || f.Outcome != jobs.ReceiveStored || !bytes.Equal(b, sent[f.RemoteName]) || !strings.HasPrefix(f.Key, jobs.InboundPrefix) {
			t.Fatalf("%+v: stored %d bytes, %v", f, len(b), err)
		}
	}
	if got := folder(t, inbox); len(got) != 1 || got[".partial.ach"] == nil {
		t.Fatalf("the inbox holds %d files; want only the one still being written", len(got))
	}
	res, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: bankNight.AddDays(2), Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	applied := res.Summary.(*jobs.IngestSummary)
	var returned int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM returns`).Scan(&returned)
	if returned == 0 {
		t.Fatalf("returns applied nothing: %+v", applied)
	}

	// The bank sends a file again (as after a crash before the delete).
	for name, b := range sent {
		os.WriteFile(filepath.Join(inbox, name), b, 0o644)
	}
	sum = receive(t, env)
	for _, f := range sum.Files {
		if f.Outcome != jobs.ReceiveKnown {
			t.Fatalf("%+v: want known", f)
		}
	}
	if got := folder(t, inbox); len(got) != 1 {
		t.Fatalf("the inbox holds %d files after the second receive", len(got))
	}
	var again int
	env.Store.DB().QueryRow(`SELECT COUNT(*) FROM returns`).Scan(&again)
	if again != returned {
		t.Fatalf("returns %d, then %d", returned, again)
	}
}

// TestReceiveKeepsBothFilesOfOneName: banks reuse names; a second file of
// a name already stored is kept beside it, not refused or replaced.
func TestReceiveKeepsBothFilesOfOneName(t *testing.T) {
	env, _, _, inbox := bankEnv(t, nil)
	ctx := context.Background()
	os.WriteFile(filepath.Join(inbox, "RETURNS.ACH"), []byte("first\n"), 0o644)
	first := receive(t, env)
	os.WriteFile(filepath.Join(inbox, "RETURNS.ACH"), []byte("second\n"), 0o644)
	second := receive(t, env)
	if first.Files[0].Key == second.Files[0].Key {
		t.Fatalf("both stored as %s", first.Files[0].Key)
	}
	for _, f := range []jobs.FileReceipt{first.Files[0], second.Files[0]} {
		if _, _, err := env.Docs.Get(ctx, f.Key); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReceiveKeepsAcksAndFlagsUnknown, against a real sshd: the bank's
// acknowledgement file and a file drafter cannot read are kept under
// ach/acks/ (not given to the returns job), a rejection and the unknown
// file each raise one exception for a person, shown by the bank status;
// the same files downloaded again (a crash before the delete) raise
// nothing new; the returns in the same inbox are applied as ever.
func TestReceiveKeepsAcksAndFlagsUnknown(t *testing.T) {
	env, _, _, inbox := bankEnv(t, nil)
	ctx := context.Background()
	sent := bankSends(t, env, inbox)
	ack := []byte("ACCEPTED drafter-20261125-A.ach 1 entries\r\nREJECTED drafter-20261125-B.ach batch control hash total\r\n")
	odd := []byte("%PDF-1.4 a report the bank sends\x00\x01")
	files := map[string][]byte{"ACK20261125.TXT": ack, "report.pdf": odd}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(inbox, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := receive(t, env)
	if len(sum.Files) != len(sent)+2 {
		t.Fatalf("received %+v", sum.Files)
	}
	kinds := map[string]string{}
	for _, f := range sum.Files {
		kinds[f.RemoteName] = f.Kind
		b, _, err := env.Docs.Get(ctx, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		want, isReturn := sent[f.RemoteName]
		prefix := jobs.InboundPrefix
		if !isReturn {
			want, prefix = files[f.RemoteName], jobs.AckPrefix
		}
		if !bytes.Equal(b, want) || !strings.HasPrefix(f.Key, prefix) {
			t.Fatalf("%s kept as %s (%d bytes)", f.RemoteName, f.Key, len(b))
		}
	}
	if kinds["ACK20261125.TXT"] != jobs.BankFileAck || kinds["report.pdf"] != jobs.BankFileUnknown {
		t.Fatalf("kinds %v", kinds)
	}
	flagged := func() []ledger.Exception {
		bs, err := jobs.GetBankStatus(ctx, env.Store, env.Docs, env.Config, bankNight)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs.Acks) != 2 {
			t.Fatalf("bank status shows %d acknowledgement files, want 2", len(bs.Acks))
		}
		return bs.Flagged
	}
	exs := flagged()
	if len(exs) != 2 {
		t.Fatalf("flagged %+v", exs)
	}
	for _, e := range exs {
		switch e.Kind {
		case jobs.ExceptionBankReject:
			if !strings.Contains(e.Detail, "drafter-20261125-B.ach") || !strings.Contains(e.Detail, "batch control hash total") {
				t.Fatalf("rejection: %s", e.Detail)
			}
		case jobs.ExceptionBankFileUnknown:
			if !strings.Contains(e.Detail, "report.pdf") || !strings.Contains(e.Detail, jobs.AckPrefix) {
				t.Fatalf("unknown file: %s", e.Detail)
			}
		default:
			t.Fatalf("exception %+v", e)
		}
	}
	// The returns job takes only the returns.
	res, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: bankNight.AddDays(2), Trigger: "operator"})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary.(*jobs.IngestSummary); len(got.Files) != len(sent) || got.Rejected != 0 {
		t.Fatalf("returns: %d files, %d rejected", len(got.Files), got.Rejected)
	}
	// Sent again (as after a crash before the delete): nothing new.
	for n, b := range files {
		os.WriteFile(filepath.Join(inbox, n), b, 0o644)
	}
	receive(t, env)
	if got := flagged(); len(got) != 2 {
		t.Fatalf("after a second download: %d exceptions", len(got))
	}
	if got := folder(t, inbox); len(got) != 0 {
		t.Fatalf("the inbox holds %d files", len(got))
	}
}

// TestReceiveProbesStorage: with document storage refusing writes, the
// receive run fails on its probe before it lists the bank's inbox: every
// file stays on the bank's side. Once storage is fixed, resuming the run
// stores them all and only then removes them there.
func TestReceiveProbesStorage(t *testing.T) {
	env, _, _, inbox := bankEnv(t, nil)
	ctx := context.Background()
	sent := bankSends(t, env, inbox)
	// A file where the probe's folder would be: every write under probe/
	// fails, as on a broken disk (root included).
	block := filepath.Join(strings.TrimPrefix(env.Config.StorageURL, "file://"), "probe")
	if err := os.RemoveAll(block); err != nil { // the earlier runs' probes left their folder
		t.Fatal(err)
	}
	if err := os.WriteFile(block, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := env.Start(ctx, jobs.Receive{}, jobs.StartSpec{Date: bankNight, Trigger: "operator"})
	if !errors.Is(err, jobs.ErrDependencyDown) || res.Run.Status != ledger.RunFailed || !strings.Contains(res.Run.Error, "document storage") {
		t.Fatalf("receive with storage down: %v, %+v", err, res.Run)
	}
	if got := folder(t, inbox); len(got) != len(sent) {
		t.Fatalf("the inbox holds %d files after the failed receive, want all %d", len(got), len(sent))
	}
	os.Remove(block)
	res, err = env.Resume(ctx, jobs.Receive{}, res.Run.ID, "test", time.Hour)
	if err != nil || res.Run.Status != ledger.RunSucceeded {
		t.Fatalf("resume after the fix: %v, %+v", err, res.Run)
	}
	if sum := res.Summary.(*jobs.ReceiveSummary); len(sum.Files) != len(sent) {
		t.Fatalf("resumed receive stored %+v, want %d files", sum.Files, len(sent))
	}
	if got := folder(t, inbox); len(got) != 0 {
		t.Fatalf("the inbox holds %d files after the resume", len(got))
	}
}
