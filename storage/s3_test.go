package storage_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/storage"
	"github.com/drafterhq/drafter/storage/storagetest"
)

func openS3(t testing.TB, rawURL string) *storage.S3 {
	t.Helper()
	s, err := storage.Open(context.Background(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*storage.S3)
}

func newS3(t testing.TB) *storage.S3 {
	t.Helper()
	return openS3(t, testenv.S3(t))
}

func TestS3Suite(t *testing.T) {
	storagetest.RunSuite(t, func(t *testing.T) storage.Store { return newS3(t) })
}

// TestS3SuitePrefixSSE runs the suite under a key prefix with SSE-S3 and a
// small multipart threshold.
func TestS3SuitePrefixSSE(t *testing.T) {
	storagetest.RunSuite(t, func(t *testing.T) storage.Store {
		u := strings.Replace(testenv.S3(t), "?", "/tenant/docs?", 1) + "&sse=AES256&part_size=5242880"
		return openS3(t, u)
	})
}

// TestS3Multipart stores a body above the multipart threshold.
func TestS3Multipart(t *testing.T) {
	s := openS3(t, testenv.S3(t)+"&part_size=5242880")
	ctx := t.Context()
	body := make([]byte, 11<<20+123)
	for i := range body {
		body[i] = byte(i * 7)
	}
	res, err := s.Put(ctx, "big/file.ach", body, storage.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"entries": "100000"}})
	if err != nil {
		t.Fatal(err)
	}
	got, obj, err := s.Get(ctx, "big/file.ach")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(body) || obj.SHA256 != res.SHA256 || obj.ContentType != "text/plain" || obj.Metadata["entries"] != "100000" {
		t.Errorf("multipart object = %d bytes, %+v", len(got), obj)
	}
	if again, err := s.Put(ctx, "big/file.ach", body, storage.PutOptions{}); err != nil || !again.Unchanged {
		t.Errorf("put again = %+v, %v", again, err)
	}
	body[0]++
	if _, err := s.Put(ctx, "big/file.ach", body, storage.PutOptions{}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("put different: err = %v, want ErrConflict", err)
	}
	res2, err := s.Put(ctx, "big/file.ach", body, storage.PutOptions{Replace: true})
	if err != nil || res2.PreviousKey == "" {
		t.Fatalf("replace = %+v, %v", res2, err)
	}
	if prev, err := s.Stat(ctx, res2.PreviousKey); err != nil || prev.SHA256 != res.SHA256 {
		t.Errorf("previous version = %+v, %v", prev, err)
	}
}

// TestS3CorruptedUpload: bytes that do not match the SHA256 checksum sent
// with them are rejected by the server and never stored.
func TestS3CorruptedUpload(t *testing.T) {
	s := newS3(t)
	ctx := t.Context()
	sent := []byte("the statement as rendered")
	sum := sha256.Sum256(sent)
	corrupted := []byte("the statement as r3ndered")
	err := s.PutWithChecksum(ctx, "docs/x.pdf", corrupted, base64.StdEncoding.EncodeToString(sum[:]))
	if err == nil || !strings.Contains(err.Error(), "rejected the upload as corrupted") {
		t.Fatalf("err = %v, want the upload rejected as corrupted", err)
	}
	if _, err := s.Stat(ctx, "docs/x.pdf"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stat after the rejected upload: err = %v, want ErrNotFound", err)
	}
}

// TestS3WrongCredentials: a refused key or secret says so.
func TestS3WrongCredentials(t *testing.T) {
	u := testenv.S3(t)
	for _, tc := range []struct{ name, key, secret string }{
		{"wrong secret", testenv.S3AccessKey, "not-the-secret"},
		{"unknown key", "AKIANOSUCHKEY", testenv.S3SecretKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", tc.key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
			s := openS3(t, u+"&max_attempts=2")
			_, err := s.Put(t.Context(), "x", []byte("x"), storage.PutOptions{})
			if !errors.Is(err, storage.ErrAccessDenied) {
				t.Fatalf("err = %v, want ErrAccessDenied", err)
			}
			if !strings.Contains(err.Error(), "refused the credentials") {
				t.Errorf("error %q does not say the credentials were refused", err)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// TestS3ServerStopped: with the server gone, a Put fails with a clear error
// after its bounded retries, in bounded time; after a restart nothing of
// it is visible and the rerun succeeds.
func TestS3ServerStopped(t *testing.T) {
	srv := testenv.StartS3Server(t)
	s := openS3(t, srv.Bucket(t)+"&max_attempts=3")
	ctx := t.Context()
	if _, err := s.Put(ctx, "before.pdf", []byte("kept"), storage.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Stop(t)
	start := time.Now()
	_, err := s.Put(ctx, "during.pdf", []byte("lost"), storage.PutOptions{})
	took := time.Since(start)
	if err == nil {
		t.Fatal("put with the server stopped succeeded")
	}
	t.Logf("error after %v: %v", took.Round(time.Millisecond), err)
	for _, want := range []string{"during.pdf", "after 3 attempts", srv.Endpoint(), "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// Three attempts with the standard backoff (at most 1s, then 2s).
	if took > 10*time.Second {
		t.Errorf("put took %v with the server stopped, want it bounded by the retries", took)
	}
	srv.Start(t)
	objs, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Key != "before.pdf" {
		t.Errorf("after restart, list = %+v, want only before.pdf", objs)
	}
	if _, err := s.Put(ctx, "during.pdf", []byte("lost"), storage.PutOptions{}); err != nil {
		t.Errorf("rerun after restart: %v", err)
	}
}

// TestS3ServerCutMidUpload: the connection dies in the middle of a
// multipart upload; the object never becomes visible, and a rerun stores it.
func TestS3ServerCutMidUpload(t *testing.T) {
	srv := testenv.StartS3Server(t)
	p := startProxy(t, srv.Addr(), 8<<20)
	direct := openS3(t, srv.Bucket(t))
	bucket := direct.Config().Bucket
	s := openS3(t, "s3://"+bucket+"?endpoint=http://"+p.addr+"&region=us-east-1&path_style=true&max_attempts=2&part_size=5242880")
	ctx := t.Context()
	body := make([]byte, 16<<20)
	start := time.Now()
	_, err := s.Put(ctx, "big.ach", body, storage.PutOptions{})
	if err == nil {
		t.Fatal("put through the cut connection succeeded")
	}
	t.Logf("error after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if _, err := direct.Stat(ctx, "big.ach"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after the cut, stat: err = %v, want ErrNotFound", err)
	}
	if objs, err := direct.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Errorf("after the cut, list = %+v, %v; want nothing", objs, err)
	}
	if _, err := direct.Put(ctx, "big.ach", body, storage.PutOptions{}); err != nil {
		t.Errorf("rerun: %v", err)
	}
}

// TestS3ServerHung: a server that accepts connections and never answers
// is cut off by the context deadline.
func TestS3ServerHung(t *testing.T) {
	srv := testenv.StartS3Server(t)
	s := openS3(t, srv.Bucket(t)+"&max_attempts=3")
	srv.Pause(t)
	defer srv.Resume(t)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Put(ctx, "slow.pdf", []byte("x"), storage.PutOptions{})
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if took > 3*time.Second {
		t.Errorf("put returned after %v, want about the 500ms deadline", took)
	}
}

// proxy forwards TCP to a server and cuts every connection, and refuses
// new ones, once limit bytes went upstream.
type proxy struct {
	addr  string
	l     net.Listener
	mu    sync.Mutex
	sent  int64
	limit int64
	cut   bool
	conns []net.Conn
}

func startProxy(t *testing.T, upstream string, limit int64) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: l.Addr().String(), l: l, limit: limit}
	t.Cleanup(func() { l.Close(); p.cutAll() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.cut {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go p.pipe(up, c, true)
			go p.pipe(c, up, false)
		}
	}()
	return p
}

func (p *proxy) pipe(dst, src net.Conn, upstream bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && upstream {
			p.mu.Lock()
			p.sent += int64(n)
			over := p.sent > p.limit
			p.mu.Unlock()
			if over {
				p.cutAll()
				return
			}
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				dst.Close()
			}
			return
		}
	}
}

func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
