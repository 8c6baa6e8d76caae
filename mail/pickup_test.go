package mail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func pickupTransport() transport {
	var p *Pickup
	return transport{
		name: "pickup",
		open: func(t *testing.T) Sender {
			s, err := Open("pickup://"+filepath.Join(t.TempDir(), "outbox"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			p = s.(*Pickup)
			return s
		},
		readID: func(t *testing.T, id string) []byte {
			b, err := os.ReadFile(p.Path(id))
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
}

func TestPickupSuite(t *testing.T) { runSuite(t, pickupTransport()) }

// emlFiles lists the folder, failing on anything but .eml files: a
// leftover temporary file means a write was not atomic.
func emlFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".eml") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("unexpected file %s in the pickup folder", e.Name())
		}
		names = append(names, e.Name())
	}
	return names
}

func TestPickupResendReplacesFile(t *testing.T) {
	dir := t.TempDir()
	p, err := NewPickup(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := kindsToSend(t)[0]
	ctx := context.Background()
	for i := range 3 {
		m.Text = fmt.Sprintf("attempt %d\n", i)
		if err := p.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	names := emlFiles(t, dir)
	if len(names) != 1 || names[0] != m.ID+".eml" {
		t.Fatalf("files = %v, want one %s.eml", names, m.ID)
	}
	b, err := os.ReadFile(filepath.Join(dir, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if got := parseRaw(t, b); crlf(got.Text) != "attempt 2\n" {
		t.Errorf("file holds %q, want the last send", got.Text)
	}
}

func TestPickupOneFilePerMessage(t *testing.T) {
	dir := t.TempDir()
	p, err := NewPickup(dir)
	if err != nil {
		t.Fatal(err)
	}
	base := kindsToSend(t)[0]
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			m := base
			m.ID = fmt.Sprintf("outbox-%d.statement@drafter.example", i%20) // each id twice
			errs <- p.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if names := emlFiles(t, dir); len(names) != 20 {
		t.Errorf("%d files, want 20", len(names))
	}
}

// TestPickupReaderNeverSeesPartialFile reads a message's file while it is
// rewritten: every read must be a whole message, never a torn one.
func TestPickupReaderNeverSeesPartialFile(t *testing.T) {
	dir := t.TempDir()
	p, err := NewPickup(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := kindsToSend(t)[0]
	m.Attachments = []Attachment{{Filename: "big.pdf", ContentType: "application/pdf", Data: testPDF(256 << 10)}}
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(p.Path(m.ID))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 30 {
			if err := p.Send(context.Background(), m); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			return
		default:
		}
		b, err := os.ReadFile(p.Path(m.ID))
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		// Same message, same size: only the MIME boundaries differ.
		if len(b) != len(want) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("--")) {
			t.Fatalf("read %d: a partial file of %d bytes, want %d", reads, len(b), len(want))
		}
	}
}

func TestNewPickupNeedsAbsolutePath(t *testing.T) {
	if _, err := NewPickup("relative/outbox"); err == nil {
		t.Error("relative path accepted")
	}
}

// TestPickupPermissions: the pickup folder drafter makes is 0700 and each
// message 0600: email holds names, amounts and statements, and the relay
// that picks it up runs as drafter's user.
func TestPickupPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	p, err := NewPickup(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := kindsToSend(t)[0]
	if err := p.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, p.Path(m.ID): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: %o, want %o", path, info.Mode().Perm(), want)
		}
	}
}
