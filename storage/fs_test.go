package storage_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/storage"
	"github.com/drafterhq/drafter/storage/storagetest"
)

func newFS(t testing.TB) *storage.FS {
	t.Helper()
	s, err := storage.OpenFS(filepath.Join(t.TempDir(), "docs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFSSuite(t *testing.T) {
	storagetest.RunSuite(t, func(t *testing.T) storage.Store { return newFS(t) })
}

// TestFSSuiteSidecarFiles runs the suite with metadata in sidecar files, as
// on a file system without user extended attributes.
func TestFSSuiteSidecarFiles(t *testing.T) {
	storagetest.RunSuite(t, func(t *testing.T) storage.Store { return newFS(t).WithoutXattr() })
}

func TestFSOpenURL(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	s, err := storage.Open(t.Context(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.(*storage.FS).Root(); got != root {
		t.Errorf("root = %s, want %s", got, root)
	}
	st, err := os.Stat(root)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("root folder: %v, %v; want mode 0700", st.Mode(), err)
	}
}

// TestFSPermissions: files 0600, folders 0700, no temporary files or
// sidecars listed, sidecar files beside the data only where the metadata
// cannot go in an extended attribute.
func TestFSPermissions(t *testing.T) { eachMetadataMode(t, testFSPermissions) }

// eachMetadataMode runs test on a store keeping metadata in extended
// attributes and on one keeping sidecar files.
func eachMetadataMode(t *testing.T, test func(*testing.T, *storage.FS)) {
	t.Run("attributes", func(t *testing.T) { test(t, newFS(t)) })
	t.Run("sidecar files", func(t *testing.T) { test(t, newFS(t).WithoutXattr()) })
}

func testFSPermissions(t *testing.T, s *storage.FS) {
	ctx := context.Background()
	if _, err := s.Put(ctx, "a/b/c.pdf", []byte("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(s.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		if strings.Contains(d.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(s.Root(), "a", "b", ".c.pdf.meta.json"))
	if s.UsesXattr() && err == nil {
		t.Errorf("sidecar file written beside an object whose metadata is in its attribute")
	}
	if !s.UsesXattr() && err != nil {
		t.Errorf("sidecar: %v", err)
	}
}

// TestFSMetadataAttribute: where the file system keeps user attributes
// (ext4 and tmpfs here), an object's metadata travels in its file's
// attribute, and an object stored before with a sidecar file (or on a
// file system without attributes, then moved) still reads its metadata.
func TestFSMetadataAttribute(t *testing.T) {
	s := newFS(t)
	if !s.UsesXattr() {
		t.Skip("the temporary folder's file system keeps no user extended attributes")
	}
	ctx := context.Background()
	opts := storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"account": "7"}}
	if _, err := s.Put(ctx, "m/a.pdf", []byte("attr"), opts); err != nil {
		t.Fatal(err)
	}
	// Written by a store without attributes: a sidecar file only.
	old, err := storage.OpenFS(s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.WithoutXattr().Put(ctx, "m/b.pdf", []byte("file"), opts); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"m/a.pdf", "m/b.pdf"} {
		obj, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if obj.ContentType != "application/pdf" || obj.Metadata["account"] != "7" {
			t.Errorf("%s: %+v, want the metadata it was put with", key, obj)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "m", ".a.pdf.meta.json")); err == nil {
		t.Errorf("sidecar file written for m/a.pdf")
	}
}

// TestFSStaleSidecar: a crash between the sidecar and the data rename
// leaves a sidecar that does not describe the file; the file wins and the
// next Put of the same bytes heals the sidecar.
func TestFSStaleSidecar(t *testing.T) { eachMetadataMode(t, testFSStaleSidecar) }

func testFSStaleSidecar(t *testing.T, s *storage.FS) {
	ctx := context.Background()
	opts := storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"account": "1"}}
	if _, err := s.Put(ctx, "d/x.pdf", []byte("one"), opts); err != nil {
		t.Fatal(err)
	}
	// The crash: new data renamed in, sidecar still the old one.
	if err := os.WriteFile(filepath.Join(s.Root(), "d", "x.pdf"), []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	obj, err := s.Stat(ctx, "d/x.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if obj.ContentType != "application/octet-stream" || obj.Metadata != nil {
		t.Errorf("stale sidecar trusted: %+v", obj)
	}
	res, err := s.Put(ctx, "d/x.pdf", []byte("two"), opts)
	if err != nil || !res.Unchanged {
		t.Fatalf("put again = %+v, %v", res, err)
	}
	if obj, _ := s.Stat(ctx, "d/x.pdf"); obj.ContentType != "application/pdf" || obj.Metadata["account"] != "1" {
		t.Errorf("sidecar not healed: %+v", obj)
	}
}

// TestFSForeignFile: a file dropped into the folder by someone else (an
// inbound bank file) is readable and can be marked processed.
func TestFSForeignFile(t *testing.T) {
	s := newFS(t)
	ctx := context.Background()
	dir := filepath.Join(s.Root(), "ach", "inbound")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "RET1126.ACH"), []byte("101 ..."), 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := s.MarkProcessed(ctx, "ach/inbound/RET1126.ACH")
	if err != nil || k != "ach/inbound/processed/RET1126.ACH" {
		t.Fatalf("mark processed = %s, %v", k, err)
	}
	if body, _, err := s.Get(ctx, k); err != nil || string(body) != "101 ..." {
		t.Errorf("get = %q, %v", body, err)
	}
}

func TestFSKeyUnderFile(t *testing.T) {
	s := newFS(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "a", []byte("x"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Put(ctx, "a/b", []byte("x"), storage.PutOptions{})
	if err == nil || errors.Is(err, storage.ErrConflict) {
		t.Errorf("put a/b under the file a: err = %v, want a filesystem error", err)
	}
}

func TestOpenFSRelative(t *testing.T) {
	if _, err := storage.OpenFS("relative/dir"); err == nil {
		t.Error("OpenFS of a relative path succeeded")
	}
}
