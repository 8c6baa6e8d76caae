package bank_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/internal/sftpd"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/redact"
)

// sshdBank starts a real sshd and returns settings that reach it, with
// outbox and inbox folders made.
func sshdBank(t *testing.T) (*testenv.SSHDServer, bank.Settings) {
	t.Helper()
	srv := testenv.SSHD(t)
	s := bank.Settings{User: srv.User, Host: srv.Host, Port: srv.Port, KeyFile: srv.ClientKey, KnownHostsFile: srv.KnownHosts,
		Outbox: filepath.Join(srv.Dir, "incoming"), Inbox: filepath.Join(srv.Dir, "outgoing"), NamePattern: bank.DefaultNamePattern}
	for _, d := range []string{s.Outbox, s.Inbox} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return srv, s
}

func TestConnUploadRenameList(t *testing.T) {
	_, s := sshdBank(t)
	ctx := context.Background()
	c, err := bank.Dial(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := []byte("101 021000021 1234567890\n")
	tmp, final := s.Outbox+"/"+bank.TempName("f.ach"), s.Outbox+"/f.ach"
	if err := c.Upload(tmp, data); err != nil {
		t.Fatal(err)
	}
	if err := c.Upload(tmp, data); err == nil {
		t.Fatal("a second upload to the same name succeeded; Upload must not replace a file")
	}
	if n, err := c.Size(tmp); err != nil || n != int64(len(data)) {
		t.Fatalf("Size = %d, %v; want %d", n, err, len(data))
	}
	if err := c.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	got, err := c.Read(final)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Read = %q, %v; want %q", got, err, data)
	}
	files, err := c.List(s.Outbox)
	if err != nil || len(files) != 1 || files[0].Name != "f.ach" || files[0].Size != int64(len(data)) {
		t.Fatalf("List = %+v, %v; want only f.ach", files, err)
	}
	if err := c.Upload(tmp, data); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(tmp, final); err == nil {
		t.Fatal("rename over an existing file succeeded: a sent file could be replaced")
	}
	if err := c.Remove(tmp); err != nil {
		t.Fatal(err)
	}
}

// TestConnUploadWithoutFsync uploads to a server that does not offer
// fsync@openssh.com (pkg/sftp's server, as many bank appliances): the
// flush is skipped, the upload stands. Before, the client's "fsync not
// supported" status was taken for a failed upload, and every file failed.
func TestConnUploadWithoutFsync(t *testing.T) {
	dir := t.TempDir()
	srv, err := sftpd.Start(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s := bank.Settings{User: srv.User, Host: srv.Host, Port: srv.Port, KeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile,
		Outbox: filepath.Join(dir, "incoming"), NamePattern: bank.DefaultNamePattern}
	if err := os.Mkdir(s.Outbox, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := bank.Dial(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := []byte("101 021000021 1234567890\n")
	tmp := s.Outbox + "/" + bank.TempName("f.ach")
	if err := c.Upload(tmp, data); err != nil {
		t.Fatalf("Upload to a server without fsync: %v", err)
	}
	if got, err := os.ReadFile(tmp); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the server has %q, %v; want %q", got, err, data)
	}
}

func TestDialRefusesChangedHostKey(t *testing.T) {
	srv, s := sshdBank(t)
	_, other := testenv.SSHKey(t, t.TempDir(), "impostor")
	srv.PinHostKey(t, other)
	_, err := bank.Dial(context.Background(), s)
	if !errors.Is(err, bank.ErrHostKey) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("Dial with another host key pinned = %v, want ErrHostKey saying it changed", err)
	}
	if err := os.WriteFile(s.KnownHostsFile, []byte("[example.invalid]:22 "+other+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = bank.Dial(context.Background(), s)
	if !errors.Is(err, bank.ErrHostKey) || !strings.Contains(err.Error(), "is not in") {
		t.Fatalf("Dial with the host unknown = %v, want ErrHostKey saying it is not pinned", err)
	}
}

func TestDialRefusedKeySaysWhichKey(t *testing.T) {
	_, s := sshdBank(t)
	s.KeyFile, _ = testenv.SSHKey(t, t.TempDir(), "stranger")
	_, err := bank.Dial(context.Background(), s)
	if !errors.Is(err, bank.ErrAuth) {
		t.Fatalf("Dial with an unknown key = %v, want ErrAuth", err)
	}
	msg := err.Error()
	key, _ := os.ReadFile(s.KeyFile)
	for _, want := range []string{s.KeyFile, "SHA256:", "ssh-keygen -y"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, strings.Split(string(key), "\n")[1]) {
		t.Errorf("error shows the private key: %q", msg)
	}
}

func TestParseSettings(t *testing.T) {
	srv, s := sshdBank(t)
	env := map[string]string{
		"DRAFTER_BANK_URL": srv.URL(), "DRAFTER_BANK_OUTBOX": s.Outbox, "DRAFTER_BANK_INBOX": s.Inbox,
		"DRAFTER_BANK_SSH_KEY": s.KeyFile, "DRAFTER_BANK_KNOWN_HOSTS": s.KnownHostsFile, "DRAFTER_BANK_CUTOFF": "16:00,10:30",
	}
	with := func(k, v string) func(string) string {
		return func(n string) string {
			if n == k {
				return v
			}
			return env[n]
		}
	}
	got, err := bank.ParseSettings(with("", ""))
	if err != nil || got.Port != srv.Port || len(got.Cutoffs) != 2 || got.NamePattern != bank.DefaultNamePattern {
		t.Fatalf("ParseSettings = %+v, %v", got, err)
	}
	none, err := bank.ParseSettings(func(string) string { return "" })
	if none != nil || err != nil {
		t.Fatalf("no bank: %+v, %v; want nil, nil", none, err)
	}
	for _, tc := range []struct{ name, key, value string }{
		{"no known hosts", "DRAFTER_BANK_KNOWN_HOSTS", ""},
		{"missing key file", "DRAFTER_BANK_SSH_KEY", filepath.Join(t.TempDir(), "nope")},
		{"not a key", "DRAFTER_BANK_SSH_KEY", s.KnownHostsFile},
		{"relative outbox", "DRAFTER_BANK_OUTBOX", "incoming"},
		{"bad cutoff", "DRAFTER_BANK_CUTOFF", "4pm"},
		{"password in url", "DRAFTER_BANK_URL", "sftp://u:hunter2@127.0.0.1:22"},
		{"name without modifier", "DRAFTER_BANK_FILE_NAME", "{date}.ach"},
		{"name with an unknown field", "DRAFTER_BANK_FILE_NAME", "{id}-{serial}.ach"},
		{"unparseable url with a password", "DRAFTER_BANK_URL", "sftp://u:hunter2%zz@127.0.0.1:22"},
		{"bad port", "DRAFTER_BANK_URL", "sftp://u@127.0.0.1:99999"},
		{"relative inbox", "DRAFTER_BANK_INBOX", "outgoing"},
		{"no inbox", "DRAFTER_BANK_INBOX", ""},
		{"a cutoff out of range among several", "DRAFTER_BANK_CUTOFF", "10:30,24:00"},
		{"the same cutoff twice", "DRAFTER_BANK_CUTOFF", "10:30,16:00,10:30"},
		{"bank PGP key not a key", "DRAFTER_BANK_PGP_PUBLIC_KEY", s.KnownHostsFile},
		{"own PGP key not a key", "DRAFTER_PGP_PRIVATE_KEY", s.KnownHostsFile},
		{"own PGP key missing", "DRAFTER_PGP_PRIVATE_KEY", filepath.Join(t.TempDir(), "nope.asc")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bank.ParseSettings(with(tc.key, tc.value))
			var se *bank.SettingError
			if !errors.As(err, &se) || se.Setting != tc.key {
				t.Fatalf("error %v, want one naming %s", err, tc.key)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
	// The bank's URL is shown as every URL drafter prints is (redact.URL).
	if _, err := bank.ParseSettings(with("DRAFTER_BANK_URL", "sftp://u:hunter2%zz@127.0.0.1:22")); !strings.Contains(err.Error(), redact.Unparseable) {
		t.Errorf("an unparseable URL: %v, want it shown as %s", err, redact.Unparseable)
	}
	// A bank setting without the bank's URL is a mistake, not "no bank".
	_, err = bank.ParseSettings(with("DRAFTER_BANK_URL", ""))
	var se *bank.SettingError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "DRAFTER_BANK_URL set too") {
		t.Fatalf("bank settings without DRAFTER_BANK_URL: %v", err)
	}
	// Several windows are kept, earliest first.
	got, err = bank.ParseSettings(with("DRAFTER_BANK_CUTOFF", "16:00, 08:15,12:00"))
	if err != nil || len(got.Cutoffs) != 3 || got.Cutoffs[0] != (bank.Cutoff{Hour: 8, Minute: 15}) || got.Cutoffs[2] != (bank.Cutoff{Hour: 16, Minute: 0}) {
		t.Fatalf("three cutoffs: %+v %v", got, err)
	}
}
