package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/drafterhq/drafter/redact"
)

// Pickup is the Sender for a pickup folder (pickup:///abs/path): each
// message becomes one file, <Message-ID>.eml, written atomically (a temporary
// file, fsync, rename, fsync of the folder). A resend of the same Message-ID
// replaces the file, so a folder never holds a message twice. Files whose
// names begin with a dot are incomplete and belong to no one.
type Pickup struct {
	dir string
}

// NewPickup returns a Pickup writing into dir, creating it if needed.
func NewPickup(dir string) (*Pickup, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("pickup folder %q: want an absolute path, as in pickup:///var/lib/drafter/outbox", dir)
	}
	// 0700, files 0600: a relay that picks the messages up runs as
	// drafter's user (or use SMTP).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create pickup folder: %w", err)
	}
	return &Pickup{dir: filepath.Clean(dir)}, nil
}

func openPickup(u *url.URL) (*Pickup, error) {
	if err := checkPickup(u); err != nil {
		return nil, fmt.Errorf("open mail transport %s: %w", redact.URL(u.String()), err)
	}
	return NewPickup(u.Path)
}

// checkPickup checks the form of pickup:///abs/path without touching the
// folder.
func checkPickup(u *url.URL) error {
	if err := checkParams(u); err != nil {
		return err
	}
	if u.User != nil || u.Host != "" {
		return errors.New("pickup takes no host or user: want pickup:///abs/path")
	}
	if u.Opaque != "" || !filepath.IsAbs(u.Path) {
		return errors.New("want an absolute path, as in pickup:///var/lib/drafter/outbox")
	}
	return nil
}

// Dir returns the folder the files are written to.
func (p *Pickup) Dir() string { return p.dir }

// Path returns the file that holds the message with Message-ID id.
func (p *Pickup) Path(id string) string { return filepath.Join(p.dir, id+".eml") }

// Send writes m to its file, replacing an earlier file of the same
// Message-ID.
func (p *Pickup) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send %s: %w", m.ID, err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return err
	}
	if err := p.write(m.ID, buf.Bytes()); err != nil {
		return fmt.Errorf("send %s to pickup folder: %w", m.ID, err)
	}
	return nil
}

func (p *Pickup) write(id string, data []byte) (err error) {
	f, err := os.CreateTemp(p.dir, "."+id+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, p.Path(id)); err != nil {
		return err
	}
	// The rename is durable only once the folder itself is synced.
	d, err := os.Open(p.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close does nothing: a pickup folder holds no connections.
func (p *Pickup) Close() error { return nil }

// Ping checks that the pickup folder takes files.
func (p *Pickup) Ping(ctx context.Context) error {
	f, err := os.CreateTemp(p.dir, ".ping-*")
	if err != nil {
		return fmt.Errorf("pickup folder %s: %w", p.dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
