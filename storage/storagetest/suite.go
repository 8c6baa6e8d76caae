// Package storagetest is the conformance suite every storage.Store backend
// passes unchanged (RunSuite), and the shared benchmark (BenchmarkPut).
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drafterhq/drafter/storage"
)

// RunSuite runs the conformance tests against stores made by newStore; each
// call must return an empty store that the test may close.
func RunSuite(t *testing.T, newStore func(t *testing.T) storage.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptyBodyAndDefaults", testEmptyBody},
		{"SameBytesUnchanged", testUnchanged},
		{"DifferentBytesConflict", testConflict},
		{"ReplaceKeepsPrevious", testReplace},
		{"ReplaceMissingKey", testReplaceMissing},
		{"List", testList},
		{"ListPaginates", testListMany},
		{"InvalidKeys", testInvalidKeys},
		{"InvalidMetadata", testInvalidMetadata},
		{"ConcurrentPutsDifferentKeys", testConcurrentKeys},
		{"ConcurrentPutsSameKey", testConcurrentSameKey},
		{"MarkProcessed", testMarkProcessed},
		{"MarkProcessedInterrupted", testMarkProcessedInterrupted},
		{"MarkProcessedConflict", testMarkProcessedConflict},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"URL", testURL},
		{"Open", testOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mustPut(t *testing.T, s storage.Store, key string, body []byte, opts storage.PutOptions) storage.PutResult {
	t.Helper()
	res, err := s.Put(ctx(t), key, body, opts)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	return res
}

func mustGet(t *testing.T, s storage.Store, key string) ([]byte, storage.Object) {
	t.Helper()
	body, obj, err := s.Get(ctx(t), key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return body, obj
}

func keys(objs []storage.Object) []string {
	var k []string
	for _, o := range objs {
		k = append(k, o.Key)
	}
	return k
}

func testRoundTrip(t *testing.T, s storage.Store) {
	body := []byte("%PDF-1.4 statement for account 1001\n")
	meta := map[string]string{"account": "1001", "period": "2026-11", "kind": "statement"}
	res := mustPut(t, s, "statements/2026-11/1001.pdf", body, storage.PutOptions{ContentType: "application/pdf", Metadata: meta})
	want := storage.PutResult{Key: "statements/2026-11/1001.pdf", SHA256: hexSum(body), Size: int64(len(body))}
	if res != want {
		t.Errorf("put result = %+v, want %+v", res, want)
	}
	got, obj := mustGet(t, s, res.Key)
	if !bytes.Equal(got, body) {
		t.Errorf("get body = %q, want %q", got, body)
	}
	st, err := s.Stat(ctx(t), res.Key)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	for name, o := range map[string]storage.Object{"get": obj, "stat": st} {
		if o.Key != res.Key || o.Size != int64(len(body)) || o.SHA256 != hexSum(body) || o.ContentType != "application/pdf" {
			t.Errorf("%s object = %+v", name, o)
		}
		if !maps.Equal(o.Metadata, meta) {
			t.Errorf("%s metadata = %v, want %v", name, o.Metadata, meta)
		}
		if o.ModTime.IsZero() || time.Since(o.ModTime) > time.Hour || time.Until(o.ModTime) > time.Minute {
			t.Errorf("%s mod time = %v, want about now", name, o.ModTime)
		}
	}
}

func testEmptyBody(t *testing.T, s storage.Store) {
	res := mustPut(t, s, "empty", nil, storage.PutOptions{})
	if res.Size != 0 || res.SHA256 != hexSum(nil) {
		t.Errorf("put result = %+v", res)
	}
	got, obj := mustGet(t, s, "empty")
	if len(got) != 0 || obj.ContentType != "application/octet-stream" || len(obj.Metadata) != 0 {
		t.Errorf("get = %q, %+v; want empty with the default content type and no metadata", got, obj)
	}
}

func testUnchanged(t *testing.T, s storage.Store) {
	body := []byte("ach file bytes")
	mustPut(t, s, "ach/out/file.ach", body, storage.PutOptions{ContentType: "text/plain"})
	before, err := s.Stat(ctx(t), "ach/out/file.ach")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // S3 mod times have one-second resolution
	for _, replace := range []bool{false, true} {
		res := mustPut(t, s, "ach/out/file.ach", body, storage.PutOptions{ContentType: "text/plain", Replace: replace})
		if !res.Unchanged || res.PreviousKey != "" || res.SHA256 != hexSum(body) {
			t.Errorf("put again (replace=%v) = %+v, want Unchanged", replace, res)
		}
	}
	after, err := s.Stat(ctx(t), "ach/out/file.ach")
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime.Equal(before.ModTime) {
		t.Errorf("mod time changed from %v to %v: the unchanged put wrote again", before.ModTime, after.ModTime)
	}
	if objs, _ := s.List(ctx(t), ""); len(objs) != 1 {
		t.Errorf("list = %v, want only the one object", keys(objs))
	}
}

func testConflict(t *testing.T, s storage.Store) {
	mustPut(t, s, "docs/a.pdf", []byte("first"), storage.PutOptions{})
	_, err := s.Put(ctx(t), "docs/a.pdf", []byte("second"), storage.PutOptions{})
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("put different bytes: err = %v, want ErrConflict", err)
	}
	if !strings.Contains(err.Error(), "docs/a.pdf") {
		t.Errorf("error %q does not name the key", err)
	}
	if got, _ := mustGet(t, s, "docs/a.pdf"); string(got) != "first" {
		t.Errorf("after refused put, body = %q, want first", got)
	}
}

func testReplace(t *testing.T, s storage.Store) {
	const key = "statements/2026-11/1002.pdf"
	v1, v2, v3 := []byte("version one"), []byte("version two"), []byte("version three")
	mustPut(t, s, key, v1, storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"rev": "1"}})
	res := mustPut(t, s, key, v2, storage.PutOptions{ContentType: "application/pdf", Metadata: map[string]string{"rev": "2"}, Replace: true})
	if res.Unchanged || res.PreviousKey != storage.VersionKey(key, hexSum(v1)) {
		t.Fatalf("replace = %+v, want PreviousKey %s", res, storage.VersionKey(key, hexSum(v1)))
	}
	if got, obj := mustGet(t, s, key); string(got) != string(v2) || obj.Metadata["rev"] != "2" {
		t.Errorf("after replace: %q %v, want version two", got, obj.Metadata)
	}
	if got, obj := mustGet(t, s, res.PreviousKey); string(got) != string(v1) || obj.Metadata["rev"] != "1" || obj.ContentType != "application/pdf" {
		t.Errorf("previous version: %q %+v, want version one with its metadata", got, obj)
	}
	res3 := mustPut(t, s, key, v3, storage.PutOptions{Replace: true})
	if res3.PreviousKey != storage.VersionKey(key, hexSum(v2)) {
		t.Errorf("second replace PreviousKey = %s", res3.PreviousKey)
	}
	// Going back to an older version keeps every version reachable.
	res1 := mustPut(t, s, key, v1, storage.PutOptions{Replace: true})
	if res1.PreviousKey != storage.VersionKey(key, hexSum(v3)) {
		t.Errorf("third replace PreviousKey = %s", res1.PreviousKey)
	}
	objs, err := s.List(ctx(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if k := keys(objs); !slices.Equal(k, []string{key}) {
		t.Errorf("list = %v, want only %s (versions hidden)", k, key)
	}
	objs, err = s.List(ctx(t), storage.VersionsPrefix)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{storage.VersionKey(key, hexSum(v1)), storage.VersionKey(key, hexSum(v2)), storage.VersionKey(key, hexSum(v3))}
	slices.Sort(want)
	if k := keys(objs); !slices.Equal(k, want) {
		t.Errorf("list versions = %v, want %v", k, want)
	}
	if _, err := s.Put(ctx(t), res.PreviousKey, v2, storage.PutOptions{}); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("put under the versions prefix: err = %v, want ErrInvalidKey", err)
	}
}

func testReplaceMissing(t *testing.T, s storage.Store) {
	res := mustPut(t, s, "new", []byte("x"), storage.PutOptions{Replace: true})
	if res.Unchanged || res.PreviousKey != "" {
		t.Errorf("replace of a missing key = %+v, want a plain write", res)
	}
}

func testList(t *testing.T, s storage.Store) {
	all := []string{"a/1", "a/2", "a/b/3", "ab/4", "b/5", "a-c/6"}
	for _, k := range all {
		mustPut(t, s, k, []byte(k), storage.PutOptions{})
	}
	sorted := slices.Sorted(slices.Values(all))
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", sorted},
		{"a/", []string{"a/1", "a/2", "a/b/3"}},
		{"a", []string{"a-c/6", "a/1", "a/2", "a/b/3", "ab/4"}},
		{"a/b", []string{"a/b/3"}},
		{"a/b/3", []string{"a/b/3"}},
		{"zzz/", nil},
		{"b/5/", nil},
	} {
		objs, err := s.List(ctx(t), tc.prefix)
		if err != nil {
			t.Fatalf("list %q: %v", tc.prefix, err)
		}
		if k := keys(objs); !slices.Equal(k, tc.want) {
			t.Errorf("list %q = %v, want %v", tc.prefix, k, tc.want)
		}
		for _, o := range objs {
			if o.Size != int64(len(o.Key)) || o.ModTime.IsZero() {
				t.Errorf("list %q: %+v: want size %d and a mod time", tc.prefix, o, len(o.Key))
			}
		}
	}
	if _, err := s.List(ctx(t), "../"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("list ../: err = %v, want ErrInvalidKey", err)
	}
}

// testListMany stores more keys than one S3 list page holds (1,000).
func testListMany(t *testing.T, s storage.Store) {
	const n = 1100
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("many/%05d.txt", i))
	}
	putAll(t, s, want, 16)
	mustPut(t, s, "other/x", []byte("x"), storage.PutOptions{})
	objs, err := s.List(ctx(t), "many/")
	if err != nil {
		t.Fatal(err)
	}
	if k := keys(objs); !slices.Equal(k, want) {
		t.Errorf("list returned %d keys, want %d in order", len(k), len(want))
	}
}

func putAll(t *testing.T, s storage.Store, ks []string, workers int) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ks) {
					return
				}
				if _, err := s.Put(ctx(t), ks[i], []byte(ks[i]), storage.PutOptions{ContentType: "text/plain"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent put: %v", err)
	}
}

func testInvalidKeys(t *testing.T, s storage.Store) {
	for _, key := range []string{"", "/abs", "a/../b", "..", "../x", "a/./b", "a//b", "a/", "a\\b", "a\x00b", "a\nb", ".hidden", "a/.b", "\xff", strings.Repeat("k", 1025), strings.Repeat("s", 201)} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			_, err := s.Put(ctx(t), key, []byte("x"), storage.PutOptions{})
			if !errors.Is(err, storage.ErrInvalidKey) {
				t.Fatalf("put: err = %v, want ErrInvalidKey", err)
			}
			if len(key) < 100 && !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
				t.Errorf("put error %q does not name the key", err)
			}
			if _, _, err := s.Get(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("get: err = %v, want ErrInvalidKey", err)
			}
			if _, err := s.Stat(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("stat: err = %v, want ErrInvalidKey", err)
			}
			if _, err := s.MarkProcessed(ctx(t), key); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("mark processed: err = %v, want ErrInvalidKey", err)
			}
			if _, err := s.URL(ctx(t), key, time.Minute); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("url: err = %v, want ErrInvalidKey", err)
			}
		})
	}
	if objs, err := s.List(ctx(t), ""); err != nil || len(objs) != 0 {
		t.Errorf("after invalid puts, list = %v, %v; want nothing", keys(objs), err)
	}
}

func testInvalidMetadata(t *testing.T, s storage.Store) {
	for _, meta := range []map[string]string{
		{"Account": "x"}, {"sha256": "x"}, {"a b": "x"}, {"": "x"}, {"note": "caf\u00e9"}, {"note": "line\nbreak"}, {"note": " padded"}, {"note": strings.Repeat("x", 1900)},
	} {
		if _, err := s.Put(ctx(t), "m", []byte("x"), storage.PutOptions{Metadata: meta}); err == nil {
			t.Errorf("put with metadata %q succeeded, want an error", meta)
		}
	}
	if _, err := s.Stat(ctx(t), "m"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after refused puts, stat: err = %v, want ErrNotFound", err)
	}
}

func testConcurrentKeys(t *testing.T, s storage.Store) {
	var ks []string
	for i := range 64 {
		ks = append(ks, fmt.Sprintf("docs/%d/%02d.pdf", i%4, i))
	}
	putAll(t, s, ks, 32)
	for _, k := range ks {
		if got, obj := mustGet(t, s, k); string(got) != k || obj.ContentType != "text/plain" {
			t.Errorf("get %s = %q %q", k, got, obj.ContentType)
		}
	}
}

// testConcurrentSameKey: of writers racing on one key with different bytes
// exactly one wins; the others see ErrConflict, never a silent overwrite.
func testConcurrentSameKey(t *testing.T, s storage.Store) {
	const n = 8
	var wg sync.WaitGroup
	var wins, conflicts, unchanged atomic.Int32
	for i := range n {
		wg.Go(func() {
			// Two writers share each body, so some must see Unchanged
			// or ErrConflict.
			res, err := s.Put(ctx(t), "race", []byte(fmt.Sprintf("writer %d", i/2)), storage.PutOptions{})
			switch {
			case errors.Is(err, storage.ErrConflict):
				conflicts.Add(1)
			case err != nil:
				t.Errorf("writer %d: %v", i, err)
			case res.Unchanged:
				unchanged.Add(1)
			default:
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || wins.Load()+conflicts.Load()+unchanged.Load() != n || unchanged.Load() > 1 {
		t.Errorf("wins %d, unchanged %d, conflicts %d; want exactly one win", wins.Load(), unchanged.Load(), conflicts.Load())
	}
}

func testMarkProcessed(t *testing.T, s storage.Store) {
	body := []byte("101 returns file")
	mustPut(t, s, "ach/inbound/r1.ach", body, storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"bank": "odfi"}})
	mustPut(t, s, "ach/inbound/r2.ach", []byte("other"), storage.PutOptions{})
	newKey, err := s.MarkProcessed(ctx(t), "ach/inbound/r1.ach")
	if err != nil {
		t.Fatal(err)
	}
	if newKey != "ach/inbound/processed/r1.ach" {
		t.Errorf("new key = %s", newKey)
	}
	if _, err := s.Stat(ctx(t), "ach/inbound/r1.ach"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("original after the move: err = %v, want ErrNotFound", err)
	}
	got, obj := mustGet(t, s, newKey)
	if !bytes.Equal(got, body) || obj.ContentType != "text/plain" || obj.Metadata["bank"] != "odfi" || obj.SHA256 != hexSum(body) {
		t.Errorf("moved object = %q %+v, want the same bytes, content type and metadata", got, obj)
	}
	for _, key := range []string{"ach/inbound/r1.ach", newKey} {
		again, err := s.MarkProcessed(ctx(t), key)
		if err != nil || again != newKey {
			t.Errorf("mark processed %s again = %s, %v; want %s", key, again, err, newKey)
		}
	}
	objs, err := s.List(ctx(t), "ach/inbound/")
	if err != nil {
		t.Fatal(err)
	}
	if k := keys(objs); !slices.Equal(k, []string{"ach/inbound/processed/r1.ach", "ach/inbound/r2.ach"}) {
		t.Errorf("list = %v", k)
	}
	if _, err := s.MarkProcessed(ctx(t), "ach/inbound/missing.ach"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("mark processed of a missing key: err = %v, want ErrNotFound", err)
	}
	if k, err := s.MarkProcessed(ctx(t), "top.ach"); err == nil || k != "" {
		t.Errorf("mark processed of a missing top-level key = %s, %v", k, err)
	}
	mustPut(t, s, "top.ach", []byte("t"), storage.PutOptions{})
	if k, err := s.MarkProcessed(ctx(t), "top.ach"); err != nil || k != "processed/top.ach" {
		t.Errorf("mark processed top.ach = %s, %v", k, err)
	}
}

// testMarkProcessedInterrupted: a crash after the copy and before the
// delete leaves both; the next call finishes the move.
func testMarkProcessedInterrupted(t *testing.T, s storage.Store) {
	body := []byte("inbound")
	mustPut(t, s, "in/x.ach", body, storage.PutOptions{})
	mustPut(t, s, "in/processed/x.ach", body, storage.PutOptions{})
	k, err := s.MarkProcessed(ctx(t), "in/x.ach")
	if err != nil || k != "in/processed/x.ach" {
		t.Fatalf("mark processed = %s, %v", k, err)
	}
	if _, err := s.Stat(ctx(t), "in/x.ach"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("original: err = %v, want ErrNotFound", err)
	}
}

func testMarkProcessedConflict(t *testing.T, s storage.Store) {
	mustPut(t, s, "in/x.ach", []byte("today"), storage.PutOptions{})
	mustPut(t, s, "in/processed/x.ach", []byte("yesterday"), storage.PutOptions{})
	_, err := s.MarkProcessed(ctx(t), "in/x.ach")
	if !errors.Is(err, storage.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if got, _ := mustGet(t, s, "in/x.ach"); string(got) != "today" {
		t.Errorf("original = %q, want it kept", got)
	}
	if got, _ := mustGet(t, s, "in/processed/x.ach"); string(got) != "yesterday" {
		t.Errorf("processed = %q, want it kept", got)
	}
}

func testNotFound(t *testing.T, s storage.Store) {
	if _, err := s.Stat(ctx(t), "no/such.pdf"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat: err = %v, want ErrNotFound", err)
	}
	_, _, err := s.Get(ctx(t), "no/such.pdf")
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get: err = %v, want ErrNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), "no/such.pdf") {
		t.Errorf("get error %q does not name the key", err)
	}
	if _, err := s.Stat(ctx(t), storage.VersionKey("no/such.pdf", hexSum(nil))); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat of a version: err = %v, want ErrNotFound", err)
	}
}

// testDelete: a deleted object is gone from Stat, Get and List, its
// neighbours stay, the key can be written again with other bytes, and
// deleting a missing key or an invalid one behaves.
func testDelete(t *testing.T, s storage.Store) {
	mustPut(t, s, "probe/a", []byte("probe"), storage.PutOptions{})
	mustPut(t, s, "probe/b", []byte("stays"), storage.PutOptions{})
	if err := s.Delete(ctx(t), "probe/a"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Stat(ctx(t), "probe/a"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat after delete: err = %v, want ErrNotFound", err)
	}
	if _, _, err := s.Get(ctx(t), "probe/a"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get after delete: err = %v, want ErrNotFound", err)
	}
	objs, err := s.List(ctx(t), "probe/")
	if err != nil || fmt.Sprint(keys(objs)) != "[probe/b]" {
		t.Errorf("list after delete = %v, %v; want [probe/b]", keys(objs), err)
	}
	if got, _ := mustGet(t, s, "probe/b"); string(got) != "stays" {
		t.Errorf("neighbour = %q", got)
	}
	// The key is free: other bytes are no conflict.
	if res := mustPut(t, s, "probe/a", []byte("other"), storage.PutOptions{}); res.Unchanged {
		t.Errorf("put after delete reported unchanged")
	}
	if err := s.Delete(ctx(t), "probe/a"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if err := s.Delete(ctx(t), "probe/a"); err != nil {
		t.Errorf("delete of a missing key: %v, want nil", err)
	}
	if err := s.Delete(ctx(t), "../escape"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("delete of an invalid key: %v, want ErrInvalidKey", err)
	}
}

func testURL(t *testing.T, s storage.Store) {
	body := []byte("statement bytes")
	mustPut(t, s, "docs/link me.pdf", body, storage.PutOptions{ContentType: "application/pdf"})
	raw, err := s.URL(ctx(t), "docs/link me.pdf", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url %q: %v", raw, err)
	}
	var got []byte
	switch u.Scheme {
	case "file":
		got, err = os.ReadFile(u.Path)
	case "http", "https":
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			t.Skipf("url %s is not on loopback; not fetching it", u.Host)
		}
		var resp *http.Response
		resp, err = http.Get(raw)
		if err == nil {
			defer resp.Body.Close()
			got, err = io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s: %s", resp.Status, got)
			}
		}
	default:
		t.Fatalf("url %q: unexpected scheme", raw)
	}
	if err != nil {
		t.Fatalf("fetch %s: %v", raw, err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("fetched %q, want %q", got, body)
	}
}

// testOpen: a store that streams an object reads the bytes Put wrote, and
// says ErrNotFound for a missing one.
func testOpen(t *testing.T, s storage.Store) {
	op, ok := s.(storage.Opener)
	if !ok {
		t.Skip("the store does not stream objects")
	}
	body := bytes.Repeat([]byte("0123456789"), 100_000)
	mustPut(t, s, "ach/inbound/big.ach", body, storage.PutOptions{})
	r, err := op.Open(ctx(t), "ach/inbound/big.ach")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("open: %d bytes, %v", len(got), err)
	}
	if _, err := op.Open(ctx(t), "ach/inbound/missing.ach"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("open a missing object: %v, want ErrNotFound", err)
	}
}
