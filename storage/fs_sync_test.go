package storage

import (
	"context"
	"testing"
)

func TestFSDeferSyncThenSync(t *testing.T) {
	ctx := context.Background()
	s, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := Sync(ctx, s); err != nil {
		t.Fatalf("Sync with nothing owed: %v", err)
	}
	for _, key := range []string{"statements/A1/2026-11.pdf", "statements/A2/2026-11.pdf"} {
		if _, err := s.Put(ctx, key, []byte(key), PutOptions{DeferSync: true}); err != nil {
			t.Fatal(err)
		}
	}
	if !s.owesSync.Load() {
		t.Fatal("a deferred put did not record that a sync is owed")
	}
	// Readable at once, like any put.
	if b, _, err := s.Get(ctx, "statements/A2/2026-11.pdf"); err != nil || string(b) != "statements/A2/2026-11.pdf" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	if err := Sync(ctx, s); err != nil {
		t.Fatal(err)
	}
	if s.owesSync.Load() {
		t.Fatal("Sync left a sync owed")
	}
	// The same bytes again are unchanged and owe nothing.
	res, err := s.Put(ctx, "statements/A1/2026-11.pdf", []byte("statements/A1/2026-11.pdf"), PutOptions{DeferSync: true})
	if err != nil || !res.Unchanged || s.owesSync.Load() {
		t.Fatalf("repeat put: %+v %v owes=%v", res, err, s.owesSync.Load())
	}
}

func TestSyncOnABackendWithoutIt(t *testing.T) {
	var s Store = noSync{}
	if err := Sync(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

type noSync struct{ Store }
