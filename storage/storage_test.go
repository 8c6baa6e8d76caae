package storage_test

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/drafterhq/drafter/storage"
	"github.com/drafterhq/drafter/storage/storagetest"
)

func TestValidateKey(t *testing.T) {
	for _, tc := range []struct {
		key     string
		problem string // "" for a valid key
	}{
		{"statements/2026-11/1001.pdf", ""},
		{"ach/inbound/RET 1126.ACH", ""},
		{"a", ""},
		{"caf\u00e9/\u00fc.pdf", ""},
		{".versions/a/b.pdf.v0123456789abcdef", ""},
		{"", "empty"},
		{"/etc/passwd", "absolute"},
		{"a/../../etc", "'..' segment"},
		{"..", "'..' segment"},
		{"a/./b", "'.' segment"},
		{"a//b", "empty segment"},
		{"a/", "ends with '/'"},
		{`a\..\b`, "backslash"},
		{"a\x00b", "NUL"},
		{"a\tb", "control character"},
		{"a\x7fb", "control character"},
		{".env", "starting with '.'"},
		{"a/.meta.json", "starting with '.'"},
		{".versions/../x", "'..' segment"},
		{".versions/", "empty"},
		{"\xff\xfe", "UTF-8"},
		{strings.Repeat("a/", 600) + "a", "longer than 1024"},
		{strings.Repeat("a", 201), "longer than 200"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := storage.ValidateKey(tc.key)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("ValidateKey: %v", err)
				}
				return
			}
			if !errors.Is(err, storage.ErrInvalidKey) || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("ValidateKey = %v, want ErrInvalidKey saying %q", err, tc.problem)
			}
		})
	}
}

// FuzzValidateKey: every key ValidateKey accepts stays inside the root.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{"a/b.pdf", "../x", "a/../b", "/abs", `a\b`, "a\x00", ".versions/a.v1", "a//b", "..\\..\\x", "ach/inbound/processed/x.ach"} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if storage.ValidateKey(key) != nil {
			return
		}
		if !utf8.ValidString(key) || strings.ContainsAny(key, "\x00\\") {
			t.Fatalf("accepted %q", key)
		}
		clean := path.Clean("/root/" + key)
		if !strings.HasPrefix(clean, "/root/") || clean != "/root/"+key {
			t.Fatalf("accepted %q, which cleans to %q", key, clean)
		}
		if p := storage.ProcessedKey(key); p != key && storage.ValidateKey(p) != nil {
			t.Fatalf("processed key %q of valid %q is invalid", p, key)
		}
	})
}

func TestProcessedKey(t *testing.T) {
	for key, want := range map[string]string{
		"ach/inbound/x.ach":           "ach/inbound/processed/x.ach",
		"x.ach":                       "processed/x.ach",
		"ach/inbound/processed/x.ach": "ach/inbound/processed/x.ach",
		"processed/x.ach":             "processed/x.ach",
		"processed.d/x":               "processed.d/processed/x",
	} {
		if got := storage.ProcessedKey(key); got != want {
			t.Errorf("ProcessedKey(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestVersionKey(t *testing.T) {
	got := storage.VersionKey("docs/a.pdf", "0123456789abcdef0123456789abcdef")
	if got != ".versions/docs/a.pdf.v0123456789abcdef" {
		t.Errorf("VersionKey = %q", got)
	}
	if err := storage.ValidateKey(got); err != nil {
		t.Errorf("version key invalid: %v", err)
	}
}

// BenchmarkPut50KB puts 50 KB documents with 1, 8 and 32 concurrent
// uploads into a folder and into the local S3 server.
func BenchmarkPut50KB(b *testing.B) {
	b.Run("fs", func(b *testing.B) {
		storagetest.BenchmarkPut50KB(b, func(b *testing.B) storage.Store { return newFS(b) })
	})
	b.Run("s3", func(b *testing.B) {
		storagetest.BenchmarkPut50KB(b, func(b *testing.B) storage.Store { return newS3(b) })
	})
}
