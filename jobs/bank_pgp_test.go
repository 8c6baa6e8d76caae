package jobs_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// TestBankWithPGP: with PGP configured, every file on the bank's server is
// the stored file encrypted to the bank and signed by drafter (gpg, as the
// bank, decrypts and verifies it); a return file the bank encrypts and
// signs is stored decrypted; one signed by someone else stays on the
// server with an exception; the passphrase appears in no log.
func TestBankWithPGP(t *testing.T) {
	const pass = "correct horse 7781"
	bankHome := testenv.GPG(t, "bank", "")
	drafterHome := testenv.GPG(t, "drafter", pass)
	mallory := testenv.GPG(t, "mallory", "")
	bankHome.Import(t, drafterHome.Pub)
	mallory.Import(t, drafterHome.Pub)
	env, _, outbox, inbox := bankEnv(t, map[string]string{"DRAFTER_BANK_PGP_PUBLIC_KEY": bankHome.Pub,
		"DRAFTER_PGP_PRIVATE_KEY": drafterHome.Sec, "DRAFTER_PGP_PASSPHRASE": pass})
	var logs bytes.Buffer
	env.Log = zerolog.New(&logs)
	want := dayFiles(t, env)
	if _, run, err := transmit(t, env, jobs.Transmit{}); err != nil || run.Status != ledger.RunSucceeded {
		t.Fatalf("transmit: %v %s", err, run.Status)
	}
	got := folder(t, outbox)
	if len(got) != len(want) {
		t.Fatalf("%d files on the server, want %d", len(got), len(want))
	}
	status := filepath.Join(bankHome.Dir, "status")
	for name, sealed := range got {
		in := filepath.Join(bankHome.Dir, "in")
		os.WriteFile(in, sealed, 0o600)
		plain := bankHome.Run(t, nil, "--status-file", status, "--decrypt", in)
		st, _ := os.ReadFile(status)
		if !bytes.Equal(plain, want[name]) || !strings.Contains(string(st), "GOODSIG") {
			t.Fatalf("%s: gpg decrypted %d bytes (want the stored %d), status\n%s", name, len(plain), len(want[name]), st)
		}
	}
	if sum, _, err := transmit(t, env, jobs.Transmit{}); err != nil || outcomes(sum)[jobs.TransmitAlreadySent] != len(want) {
		t.Fatalf("second transmit: %v %v", err, outcomes(sum))
	}

	ret := []byte("returns from the bank\n")
	os.WriteFile(filepath.Join(inbox, "RET.ACH.pgp"), bankHome.Run(t, ret, "--local-user", bankHome.UID, "--recipient", drafterHome.UID, "--sign", "--encrypt"), 0o644)
	os.WriteFile(filepath.Join(inbox, "BAD.ACH.pgp"), mallory.Run(t, ret, "--local-user", mallory.UID, "--recipient", drafterHome.UID, "--sign", "--encrypt"), 0o644)
	res, err := runAgain(t, env, jobs.Receive{})
	if err != nil || res.Run.Status != ledger.RunPartial {
		t.Fatalf("receive: %v %s; want partial (one file refused)", err, res.Run.Status)
	}
	stored, _, err := env.Docs.Get(context.Background(), jobs.InboundPrefix+"RET.ACH")
	if err != nil || !bytes.Equal(stored, ret) {
		t.Fatalf("stored %q, %v; want the decrypted return file", stored, err)
	}
	if left := folder(t, inbox); len(left) != 1 || left["BAD.ACH.pgp"] == nil {
		t.Fatalf("inbox after receive: %d files; want only the refused one", len(left))
	}
	exs, _ := env.Store.Exceptions(context.Background(), false)
	if len(exs) != 1 || exs[0].Kind != "inbound_pgp_refused" {
		t.Fatalf("exceptions %+v", exs)
	}
	if strings.Contains(logs.String(), pass) || strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Fatal("the log holds the passphrase or a private key")
	}
}
