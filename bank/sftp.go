package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ErrHostKey is returned when the server's host key is not the one pinned in
// DRAFTER_BANK_KNOWN_HOSTS: unknown, or changed.
var ErrHostKey = errors.New("bank host key not trusted")

// ErrAuth is returned when the server refuses drafter's SSH key.
var ErrAuth = errors.New("bank refused the SSH key")

// RemoteFile is one file in a folder on the bank's server.
type RemoteFile struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Conn is an SFTP session with the bank. It is not safe for concurrent use.
type Conn struct {
	s    Settings
	ssh  *ssh.Client
	sftp *sftp.Client
}

// Dial logs in to the bank's server with the SSH key, refusing a host key
// not pinned in the known_hosts file.
func Dial(ctx context.Context, s Settings) (*Conn, error) {
	signer, err := LoadSigner(s.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("bank %s: DRAFTER_BANK_SSH_KEY: %w", s, err)
	}
	pinned, err := knownhosts.New(s.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("bank %s: DRAFTER_BANK_KNOWN_HOSTS: %w", s, err)
	}
	var hostErr error
	cfg := &ssh.ClientConfig{
		User: s.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			err := pinned(host, remote, key)
			var ke *knownhosts.KeyError
			if errors.As(err, &ke) {
				what := "is not in"
				if len(ke.Want) > 0 {
					what = "changed: it does not match the key pinned in"
				}
				hostErr = fmt.Errorf("%w: the host key of %s (%s %s) %s %s; if the bank changed its key, confirm the new fingerprint with the bank out of band and update the file",
					ErrHostKey, s.Addr(), key.Type(), ssh.FingerprintSHA256(key), what, s.KnownHostsFile)
				return hostErr
			}
			return err
		},
		Timeout: 30 * time.Second,
	}
	d := net.Dialer{Timeout: cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return nil, fmt.Errorf("bank %s: connect: %w", s, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	} else {
		_ = nc.SetDeadline(time.Now().Add(cfg.Timeout))
	}
	cc, chans, reqs, err := ssh.NewClientConn(nc, s.Addr(), cfg)
	if err != nil {
		nc.Close()
		switch {
		case hostErr != nil:
			return nil, fmt.Errorf("bank %s: %w", s, hostErr)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("bank %s: %w: the server did not accept the key in %s (%s %s) for user %s; give the bank this public key (ssh-keygen -y -f %s) or set DRAFTER_BANK_SSH_KEY to the key it knows",
				s, ErrAuth, s.KeyFile, signer.PublicKey().Type(), ssh.FingerprintSHA256(signer.PublicKey()), s.User, s.KeyFile)
		}
		return nil, fmt.Errorf("bank %s: ssh: %w", s, err)
	}
	_ = nc.SetDeadline(time.Time{})
	client := ssh.NewClient(cc, chans, reqs)
	sc, err := sftp.NewClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("bank %s: start sftp: %w", s, err)
	}
	return &Conn{s: s, ssh: client, sftp: sc}, nil
}

// Close ends the session.
func (c *Conn) Close() error {
	err := c.sftp.Close()
	return errors.Join(err, c.ssh.Close())
}

// List returns the plain files in dir, sorted by name.
func (c *Conn) List(dir string) ([]RemoteFile, error) {
	infos, err := c.sftp.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bank %s: list %s: %w", c.s, dir, err)
	}
	var out []RemoteFile
	for _, fi := range infos {
		if !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, RemoteFile{Name: fi.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Upload writes data to a new file at p; it fails if p exists. The server
// is asked to flush the file to disk where it supports that
// (fsync@openssh.com).
func (c *Conn) Upload(p string, data []byte) error {
	f, err := c.sftp.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("bank %s: create %s: %w", c.s, p, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("bank %s: write %s: %w", c.s, p, err)
	}
	if err := f.Sync(); err != nil && !unsupported(err) {
		f.Close()
		return fmt.Errorf("bank %s: flush %s: %w", c.s, p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bank %s: close %s: %w", c.s, p, err)
	}
	return nil
}

// unsupported reports whether err is the server's (or the client's, for
// an extension the server does not offer) SSH_FX_OP_UNSUPPORTED. The
// client's *sftp.StatusError does not match sftp.ErrSSHFxOpUnsupported
// with errors.Is, and its text says "fsync not supported": without this,
// every upload to a server without fsync@openssh.com (pkg/sftp's own
// server, many appliances) failed.
func unsupported(err error) bool {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		return se.FxCode() == sftp.ErrSSHFxOpUnsupported
	}
	return errors.Is(err, sftp.ErrSSHFxOpUnsupported)
}

// Size returns the size of the file at p; os.ErrNotExist when missing.
func (c *Conn) Size(p string) (int64, error) {
	fi, err := c.sftp.Stat(p)
	if err != nil {
		return 0, fmt.Errorf("bank %s: stat %s: %w", c.s, p, err)
	}
	return fi.Size(), nil
}

// Read returns the bytes of the file at p.
func (c *Conn) Read(p string) ([]byte, error) {
	f, err := c.sftp.Open(p)
	if err != nil {
		return nil, fmt.Errorf("bank %s: open %s: %w", c.s, p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("bank %s: read %s: %w", c.s, p, err)
	}
	return b, nil
}

// Rename renames from to to; it fails if to exists (the SFTP rename never
// replaces a file).
func (c *Conn) Rename(from, to string) error {
	if err := c.sftp.Rename(from, to); err != nil {
		return fmt.Errorf("bank %s: rename %s to %s: %w", c.s, from, path.Base(to), err)
	}
	return nil
}

// Remove deletes the file at p.
func (c *Conn) Remove(p string) error {
	if err := c.sftp.Remove(p); err != nil {
		return fmt.Errorf("bank %s: remove %s: %w", c.s, p, err)
	}
	return nil
}
