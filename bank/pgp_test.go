package bank_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/internal/testenv"
)

// gpgHome is a throwaway GnuPG home with one key for uid (ed25519 signing,
// cv25519 encryption), its secret key exported with passphrase.
type gpgHome struct {
	dir, uid, pub, sec string
}

func newGPG(t *testing.T, name, passphrase string) gpgHome {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		testenv.SkipOrFail(t, "gpg not found (install Debian gnupg)")
	}
	// GnuPG's agent socket path must be short: a home under /tmp.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	os.Chmod(dir, 0o700)
	h := gpgHome{dir: dir, uid: name + "@example.com"}
	h.gpg(t, nil, "--passphrase", passphrase, "--quick-gen-key", name+" <"+h.uid+">", "future-default", "default", "never")
	h.pub = filepath.Join(dir, name+".pub.asc")
	h.sec = filepath.Join(dir, name+".sec.asc")
	os.WriteFile(h.pub, h.gpg(t, nil, "--armor", "--export", h.uid), 0o600)
	os.WriteFile(h.sec, h.gpg(t, nil, "--passphrase", passphrase, "--armor", "--export-secret-keys", h.uid), 0o600)
	return h
}

func (h gpgHome) gpg(t *testing.T, stdin []byte, args ...string) []byte {
	t.Helper()
	out, err := h.try(stdin, args...)
	if err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, out)
	}
	return out
}

func (h gpgHome) try(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command("gpg", append([]string{"--homedir", h.dir, "--batch", "--yes", "--pinentry-mode", "loopback", "--trust-model", "always"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return append(out.Bytes(), errb.Bytes()...), err
	}
	return out.Bytes(), nil
}

func (h gpgHome) importKey(t *testing.T, file string) { h.gpg(t, nil, "--import", file) }

// TestPGPInteropWithGnuPG: a file drafter encrypts and signs is decrypted
// and verified by gpg; a file gpg encrypts and signs as the bank is
// decrypted and verified by drafter; a file signed by anyone else, or not
// signed, is refused.
func TestPGPInteropWithGnuPG(t *testing.T) {
	bankHome := newGPG(t, "bank", "")
	drafterHome := newGPG(t, "drafter", "drafter pass")
	mallory := newGPG(t, "mallory", "")
	bankHome.importKey(t, drafterHome.pub)
	mallory.importKey(t, drafterHome.pub)

	p, err := bank.LoadPGP(bankHome.pub, drafterHome.sec, "drafter pass")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bank.LoadPGP(bankHome.pub, drafterHome.sec, "wrong"); err == nil || strings.Contains(err.Error(), "wrong") {
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
	in := filepath.Join(bankHome.dir, "in.pgp")
	os.WriteFile(in, sealed, 0o600)
	status := filepath.Join(bankHome.dir, "status")
	plain := bankHome.gpg(t, nil, "--status-file", status, "--decrypt", in)
	st, _ := os.ReadFile(status)
	if !bytes.Equal(plain, file) || !strings.Contains(string(st), "GOODSIG") || !strings.Contains(string(st), drafterHome.uid) {
		t.Fatalf("gpg decrypted %q with status\n%s", plain, st)
	}

	// bank -> drafter
	ret := []byte("returns file\n")
	fromBank := bankHome.gpg(t, ret, "--armor", "--local-user", bankHome.uid, "--recipient", drafterHome.uid, "--sign", "--encrypt")
	got, err := p.Open(fromBank, "RETURNS.ACH.pgp")
	if err != nil || !bytes.Equal(got, ret) {
		t.Fatalf("Open(gpg's message) = %q, %v", got, err)
	}

	// Not the bank's signature, or none: refused.
	forged := mallory.gpg(t, ret, "--local-user", mallory.uid, "--recipient", drafterHome.uid, "--sign", "--encrypt")
	if _, err := p.Open(forged, "forged"); !errors.Is(err, bank.ErrSignature) {
		t.Fatalf("Open(signed by another key) = %v, want ErrSignature", err)
	}
	unsigned := bankHome.gpg(t, ret, "--recipient", drafterHome.uid, "--encrypt")
	if _, err := p.Open(unsigned, "unsigned"); !errors.Is(err, bank.ErrSignature) {
		t.Fatalf("Open(unsigned) = %v, want ErrSignature", err)
	}
	// A signed message whose bytes were changed in transit.
	bad := bankHome.gpg(t, ret, "--local-user", bankHome.uid, "--recipient", drafterHome.uid, "--sign", "--encrypt", "--compress-algo", "none")
	bad[len(bad)-30] ^= 0x01
	if _, err := p.Open(bad, "tampered"); err == nil {
		t.Fatal("Open(tampered message) succeeded")
	}
}
