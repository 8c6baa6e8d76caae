package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/drafterhq/drafter/storage"
)

// TestFSRefusesSymlinks: a symbolic link planted inside the store's folder,
// to a folder or a file, is never followed: reads, writes, copies and
// deletes through it are refused and what it points at is untouched. The
// root itself may be a link.
func TestFSRefusesSymlinks(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	real := filepath.Join(base, "real")
	for _, d := range []string{outside, real} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	secret := filepath.Join(outside, "secret.pdf")
	if err := os.WriteFile(secret, []byte("not drafter's"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(base, "root")
	if err := os.Symlink(real, root); err != nil {
		t.Fatal(err)
	}
	st, err := storage.OpenFS(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "ok/a.pdf", []byte("a"), storage.PutOptions{}); err != nil {
		t.Fatalf("put under a root that is a link: %v", err)
	}
	if err := os.Symlink(outside, filepath.Join(real, "statements")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(real, "ok", "b.pdf")); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"put through a folder link", func() error {
			_, err := st.Put(ctx, "statements/new.pdf", []byte("x"), storage.PutOptions{})
			return err
		}},
		{"get through a folder link", func() error { _, _, err := st.Get(ctx, "statements/secret.pdf"); return err }},
		{"stat through a folder link", func() error { _, err := st.Stat(ctx, "statements/secret.pdf"); return err }},
		{"get a file link", func() error { _, _, err := st.Get(ctx, "ok/b.pdf"); return err }},
		{"put over a file link", func() error {
			_, err := st.Put(ctx, "ok/b.pdf", []byte("overwritten"), storage.PutOptions{})
			return err
		}},
		{"mark a file link processed", func() error { _, err := st.MarkProcessed(ctx, "ok/b.pdf"); return err }},
		{"url of a file link", func() error { _, err := st.URL(ctx, "ok/b.pdf", 0); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, storage.ErrSymlink) {
				t.Errorf("%v, want ErrSymlink", err)
			}
		})
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "not drafter's" {
		t.Errorf("the link's target changed: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outside, "new.pdf")); err == nil {
		t.Error("a put wrote through the link")
	}
	objs, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Key != "ok/a.pdf" {
			t.Errorf("list shows %s", o.Key)
		}
	}
}
