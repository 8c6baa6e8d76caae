package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/drafterhq/drafter/storage"
)

// A rerun stores the same document again: nothing is written. Different
// bytes need Replace, which keeps the previous version.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "drafter-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := storage.Open(ctx, "file://"+filepath.Join(dir, "docs"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	opts := storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"account": "1001"}}
	res, _ := s.Put(ctx, "statements/2026-11/1001.pdf", []byte("v1"), opts)
	fmt.Println("first put unchanged:", res.Unchanged)
	res, _ = s.Put(ctx, "statements/2026-11/1001.pdf", []byte("v1"), opts)
	fmt.Println("rerun unchanged:", res.Unchanged)
	_, err = s.Put(ctx, "statements/2026-11/1001.pdf", []byte("v2"), opts)
	fmt.Println("different bytes conflict:", errors.Is(err, storage.ErrConflict))
	opts.Replace = true
	res, _ = s.Put(ctx, "statements/2026-11/1001.pdf", []byte("v2"), opts)
	fmt.Println("previous kept at:", res.PreviousKey)

	s.Put(ctx, "ach/inbound/RET1124.ACH", []byte("101 ..."), storage.PutOptions{})
	moved, _ := s.MarkProcessed(ctx, "ach/inbound/RET1124.ACH")
	fmt.Println("moved to:", moved)
	// Output:
	// first put unchanged: false
	// rerun unchanged: true
	// different bytes conflict: true
	// previous kept at: .versions/statements/2026-11/1001.pdf.v3bfc269594ef6492
	// moved to: ach/inbound/processed/RET1124.ACH
}
