// Package bank owns drafter's connection to its bank (the ODFI): the SFTP
// session that carries the night's NACHA files to the bank's outbox and
// brings its return files back from its inbox (sftp.go), OpenPGP for the
// files when the bank requires it (pgp.go), and the pure rules around
// them: the settings (settings.go), the remote file names the bank
// dictates and the cutoff windows a file must be sent by (names.go).
package bank

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/drafterhq/drafter/redact"
)

// DefaultNamePattern is the remote file name when the bank does not dictate one.
const DefaultNamePattern = "drafter-{date}-{modifier}.ach"

// Settings say where the bank's SFTP server is and how drafter talks to it.
type Settings struct {
	User string
	Host string
	Port int
	// Outbox is the bank's folder drafter uploads NACHA files into; Inbox
	// the folder the bank leaves return and NOC files in.
	Outbox string
	Inbox  string
	// KeyFile is drafter's SSH private key (unencrypted PEM or OpenSSH
	// format); KnownHostsFile pins the server's host key (OpenSSH
	// known_hosts lines).
	KeyFile        string
	KnownHostsFile string
	// Cutoffs are the bank's daily windows in DRAFTER_ZONE, earliest first.
	Cutoffs []Cutoff
	// NamePattern makes a file's remote name (see RemoteName).
	NamePattern string
	// PGP, when set, encrypts outbound files to the bank's key (signed with
	// drafter's) and decrypts and verifies inbound ones. The passphrase is
	// not kept: the private key is held opened.
	PGP *PGP
}

// Addr is host:port.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// String names the server without any secret: sftp://USER@HOST:PORT.
func (s Settings) String() string { return "sftp://" + s.User + "@" + s.Addr() }

// SettingError is a bad bank setting: the setting, its value and what is
// wanted. config turns it into its own error.
type SettingError struct {
	Setting, Value, Want string
}

func (e *SettingError) Error() string {
	return fmt.Sprintf("setting %s=%q is invalid: want %s", e.Setting, e.Value, e.Want)
}

// ParseSettings reads the bank settings with get (a DRAFTER_* name to its
// value, "" when unset). No DRAFTER_BANK_URL: no bank (nil, nil), and a
// bank setting without it is an error. With it, every setting is checked
// here, the key and known_hosts files included, so a bad one stops drafter
// at start rather than at the cutoff.
func ParseSettings(get func(string) string) (*Settings, error) {
	raw := get("DRAFTER_BANK_URL")
	if raw == "" {
		for _, n := range []string{"DRAFTER_BANK_OUTBOX", "DRAFTER_BANK_INBOX", "DRAFTER_BANK_SSH_KEY", "DRAFTER_BANK_KNOWN_HOSTS", "DRAFTER_BANK_CUTOFF",
			"DRAFTER_BANK_PGP_PUBLIC_KEY", "DRAFTER_PGP_PRIVATE_KEY"} {
			if v := get(n); v != "" {
				return nil, &SettingError{n, v, "DRAFTER_BANK_URL set too (sftp://USER@HOST:PORT), or no bank settings at all"}
			}
		}
		return nil, nil
	}
	s := &Settings{}
	var err error
	if s.User, s.Host, s.Port, err = ParseURL(raw); err != nil {
		return nil, &SettingError{"DRAFTER_BANK_URL", redact.URL(raw), "sftp://USER@HOST:PORT (no password: drafter logs in with DRAFTER_BANK_SSH_KEY): " + err.Error()}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"DRAFTER_BANK_OUTBOX", &s.Outbox}, {"DRAFTER_BANK_INBOX", &s.Inbox}} {
		v := get(f.name)
		if v == "" || !strings.HasPrefix(v, "/") || path.Clean(v) != strings.TrimSuffix(v, "/") && v != "/" {
			return nil, &SettingError{f.name, v, "the bank's folder as an absolute path on its server, such as /incoming"}
		}
		*f.dst = path.Clean(v)
	}
	s.KeyFile = get("DRAFTER_BANK_SSH_KEY")
	if _, err := LoadSigner(s.KeyFile); err != nil {
		return nil, &SettingError{"DRAFTER_BANK_SSH_KEY", s.KeyFile, "a readable SSH private key file without a passphrase (ssh-keygen -t ed25519 -N ''): " + err.Error()}
	}
	s.KnownHostsFile = get("DRAFTER_BANK_KNOWN_HOSTS")
	if err := checkKnownHosts(s.KnownHostsFile); err != nil {
		return nil, &SettingError{"DRAFTER_BANK_KNOWN_HOSTS", s.KnownHostsFile, "a known_hosts file pinning the bank's host key (a line `[HOST]:PORT TYPE KEY`, from the bank or ssh-keyscan checked with the bank): " + err.Error()}
	}
	if s.Cutoffs, err = ParseCutoffs(get("DRAFTER_BANK_CUTOFF")); err != nil {
		return nil, &SettingError{"DRAFTER_BANK_CUTOFF", get("DRAFTER_BANK_CUTOFF"), "the bank's cutoff times HH:MM in DRAFTER_ZONE, comma-separated, such as 10:30,16:00: " + err.Error()}
	}
	s.NamePattern = get("DRAFTER_BANK_FILE_NAME")
	if s.NamePattern == "" {
		s.NamePattern = DefaultNamePattern
	}
	if err := CheckNamePattern(s.NamePattern); err != nil {
		return nil, &SettingError{"DRAFTER_BANK_FILE_NAME", s.NamePattern, "a file name with {date} or {yymmdd}, and {modifier}; or with {id}: " + err.Error()}
	}
	pub, priv := get("DRAFTER_BANK_PGP_PUBLIC_KEY"), get("DRAFTER_PGP_PRIVATE_KEY")
	if pub != "" || priv != "" {
		if _, err := LoadPGP(pub, "", ""); err != nil {
			return nil, &SettingError{"DRAFTER_BANK_PGP_PUBLIC_KEY", pub, "the bank's OpenPGP public key file (armored or binary): " + err.Error()}
		}
		if s.PGP, err = LoadPGP(pub, priv, get("DRAFTER_PGP_PASSPHRASE")); err != nil {
			return nil, &SettingError{"DRAFTER_PGP_PRIVATE_KEY", priv, "drafter's OpenPGP private key file, opened by DRAFTER_PGP_PASSPHRASE: " + err.Error()}
		}
	}
	return s, nil
}

// ParseURL splits sftp://USER@HOST:PORT (port 22 when left out).
func ParseURL(raw string) (user, host string, port int, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", 0, fmt.Errorf("not a URL")
	}
	if u.Scheme != "sftp" {
		return "", "", 0, fmt.Errorf("scheme %q is not sftp", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		return "", "", 0, fmt.Errorf("no user")
	}
	if _, has := u.User.Password(); has {
		return "", "", 0, fmt.Errorf("a password in the URL (log in with a key)")
	}
	if u.Hostname() == "" {
		return "", "", 0, fmt.Errorf("no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", "", 0, fmt.Errorf("a path or query (the folders are DRAFTER_BANK_OUTBOX and DRAFTER_BANK_INBOX)")
	}
	port = 22
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return "", "", 0, fmt.Errorf("port %q", p)
		}
	}
	return u.User.Username(), u.Hostname(), port, nil
}

// LoadSigner reads the SSH private key in file. Its errors never include
// the key's bytes.
func LoadSigner(file string) (ssh.Signer, error) {
	if file == "" {
		return nil, fmt.Errorf("no key file")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.ParsePrivateKey(b)
	if err != nil {
		if _, ok := err.(*ssh.PassphraseMissingError); ok {
			return nil, fmt.Errorf("%s is protected by a passphrase", file)
		}
		return nil, fmt.Errorf("%s is not an SSH private key", file)
	}
	return signer, nil
}

func checkKnownHosts(file string) error {
	if file == "" {
		return fmt.Errorf("no file (host key pinning is required)")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(b)) == "" {
		return fmt.Errorf("%s is empty", file)
	}
	if _, err := knownhosts.New(file); err != nil {
		return err
	}
	return nil
}
