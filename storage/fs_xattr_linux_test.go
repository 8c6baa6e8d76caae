package storage_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/drafterhq/drafter/storage"
)

// TestFSUsesXattrWhereKept: where the temporary folder's file system keeps
// user extended attributes, a store there must use them: a put leaves its
// metadata, with the sha256 of its bytes, in the file's attribute (and no
// sidecar file). A broken probe would fall back to sidecar files quietly.
func TestFSUsesXattrWhereKept(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(probe, "user.test", []byte("1"), 0); err != nil {
		t.Skipf("%s keeps no user extended attributes (%v)", dir, err)
	}
	s, err := storage.OpenFS(filepath.Join(dir, "docs"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.UsesXattr() {
		t.Fatal("the file system keeps user attributes, and the store does not use them")
	}
	res, err := s.Put(context.Background(), "k/x.pdf", []byte("pdf"), storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(filepath.Join(s.Root(), "k", "x.pdf"), "user.drafter.meta", buf)
	if err != nil {
		t.Fatalf("metadata attribute: %v", err)
	}
	var meta struct {
		SHA256      string            `json:"sha256"`
		ContentType string            `json:"content_type"`
		Metadata    map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(buf[:n], &meta); err != nil || meta.SHA256 != res.SHA256 || meta.ContentType != "application/pdf" || meta.Metadata["a"] != "1" {
		t.Fatalf("metadata attribute %s: %v", buf[:n], err)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "k", ".x.pdf.meta.json")); err == nil {
		t.Error("a sidecar file beside an object whose metadata is in its attribute")
	}
}
