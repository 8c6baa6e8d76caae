package bank_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/internal/testenv"
)

// TestPGPInteropWithGnuPG: a file drafter encrypts and signs is decrypted
// and verified by gpg; a file gpg encrypts and signs as the bank is
// decrypted and verified by drafter; a file signed by anyone else, or not
// signed, is refused.
func TestPGPInteropWithGnuPG(t *testing.T) {
	bankHome := testenv.GPG(t, "bank", "")
	drafterHome := testenv.GPG(t, "drafter", "drafter pass")
	mallory := testenv.GPG(t, "mallory", "")
	bankHome.Import(t, drafterHome.Pub)
	mallory.Import(t, drafterHome.Pub)

	p, err := bank.LoadPGP(bankHome.Pub, drafterHome.Sec, "drafter pass")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bank.LoadPGP(bankHome.Pub, drafterHome.Sec, "wrong"); err == nil || strings.Contains(err.Error(), "wrong") {
		t.Fatalf("wrong passphrase: %v", err)
	}
	file := []byte("101 021000021 1234567890" + strings.Repeat(" ", 70) + "\n9000001\n")

	// drafter -> bank
	sealed, err := p.Seal(file, "drafter-20261201-A.ach")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, file[:20]) {
		t.Fatal("sealed message holds the plaintext")
	}
	in := filepath.Join(bankHome.Dir, "in.pgp")
	os.WriteFile(in, sealed, 0o600)
	status := filepath.Join(bankHome.Dir, "status")
	plain := bankHome.Run(t, nil, "--status-file", status, "--decrypt", in)
	st, _ := os.ReadFile(status)
	if !bytes.Equal(plain, file) || !strings.Contains(string(st), "GOODSIG") || !strings.Contains(string(st), drafterHome.UID) {
		t.Fatalf("gpg decrypted %q with status\n%s", plain, st)
	}

	// bank -> drafter
	ret := []byte("returns file\n")
	fromBank := bankHome.Run(t, ret, "--armor", "--local-user", bankHome.UID, "--recipient", drafterHome.UID, "--sign", "--encrypt")
	got, err := p.Open(fromBank, "RETURNS.ACH.pgp")
	if err != nil || !bytes.Equal(got, ret) {
		t.Fatalf("Open(gpg's message) = %q, %v", got, err)
	}

	// Not the bank's signature, or none: refused.
	forged := mallory.Run(t, ret, "--local-user", mallory.UID, "--recipient", drafterHome.UID, "--sign", "--encrypt")
	if _, err := p.Open(forged, "forged"); !errors.Is(err, bank.ErrSignature) {
		t.Fatalf("Open(signed by another key) = %v, want ErrSignature", err)
	}
	unsigned := bankHome.Run(t, ret, "--recipient", drafterHome.UID, "--encrypt")
	if _, err := p.Open(unsigned, "unsigned"); !errors.Is(err, bank.ErrSignature) {
		t.Fatalf("Open(unsigned) = %v, want ErrSignature", err)
	}
	// A signed message whose bytes were changed in transit.
	bad := bankHome.Run(t, ret, "--local-user", bankHome.UID, "--recipient", drafterHome.UID, "--sign", "--encrypt", "--compress-algo", "none")
	bad[len(bad)-30] ^= 0x01
	if _, err := p.Open(bad, "tampered"); err == nil {
		t.Fatal("Open(tampered message) succeeded")
	}
}
