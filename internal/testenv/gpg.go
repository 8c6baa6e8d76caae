package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// GPGHome is a throwaway GnuPG home with one key pair (ed25519 signing,
// cv25519 encryption) for UID, exported to Pub and Sec (armored; the secret
// key under the passphrase it was made with).
type GPGHome struct {
	Dir, UID, Pub, Sec string
}

// GPG makes a GnuPG home with a new key for name@example.com, or skips t
// (fails it under CI) without gpg.
func GPG(t testing.TB, name, passphrase string) GPGHome {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		SkipOrFail(t, "gpg not found (install Debian gnupg)")
	}
	// GnuPG's agent socket path must be short: a home under /tmp.
	dir, err := os.MkdirTemp("", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	h := GPGHome{Dir: dir, UID: name + "@example.com"}
	h.Run(t, nil, "--passphrase", passphrase, "--quick-gen-key", name+" <"+h.UID+">", "future-default", "default", "never")
	h.Pub = filepath.Join(dir, name+".pub.asc")
	h.Sec = filepath.Join(dir, name+".sec.asc")
	if err := os.WriteFile(h.Pub, h.Run(t, nil, "--armor", "--export", h.UID), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.Sec, h.Run(t, nil, "--passphrase", passphrase, "--armor", "--export-secret-keys", h.UID), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// Run runs gpg in the home (batch, loopback pinentry, every key trusted)
// with stdin and returns its standard output, failing t on an error.
func (h GPGHome) Run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--homedir", h.Dir, "--batch", "--yes", "--pinentry-mode", "loopback", "--trust-model", "always"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("gpg %v: %v\n%s", args, err, errb.String())
	}
	return out.Bytes()
}

// Import imports a key file into the home.
func (h GPGHome) Import(t testing.TB, file string) { h.Run(t, nil, "--import", file) }
