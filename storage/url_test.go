package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/storage"
)

func TestOpenErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"", "no scheme"},
		{"/tmp/x", "no scheme"},
		{"gs://bucket", `unknown scheme "gs"`},
		{"file://host/tmp/x", `host "host"`},
		{"file:relative", "absolute"},
		{"file:///tmp/x?mode=0700", `unknown parameter "mode"`},
		{"s3://", "no bucket"},
		{"s3://b?regoin=us-east-1", `unknown parameter "regoin": expected one of endpoint, region`},
		{"s3://b?region=us-east-1&path_style=yes", `path_style "yes": expected true or false`},
		{"s3://b?region=us-east-1&sse=AES128", `sse "AES128": expected AES256 or aws:kms`},
		{"s3://b?region=us-east-1&kms_key_id=k", "kms_key_id needs sse=aws:kms"},
		{"s3://b?region=us-east-1&max_attempts=0", `max_attempts "0"`},
		{"s3://b?region=us-east-1&max_attempts=x", `max_attempts "x"`},
		{"s3://b?region=us-east-1&part_size=1024", "part_size 1024: expected bytes, at least 5242880"},
		{"s3://b?region=us-east-1&endpoint=localhost:9000", `endpoint "localhost:9000": expected http(s)://host[:port]`},
		{"s3://b?region=us-east-1&region=eu-west-1", `"region" given 2 times`},
		{"s3://AKIA:secret@b?region=us-east-1", "credentials in the url are not accepted"},
		{"s3://b/../x?region=us-east-1", "'..' segment"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := storage.Open(context.Background(), tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open(%q) = %v, want an error saying %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the secret", err)
			}
			// CheckURL refuses the same, for the same reason.
			cerr := storage.CheckURL(tc.url)
			if cerr == nil || !strings.Contains(cerr.Error(), tc.want) || strings.Contains(cerr.Error(), "secret") {
				t.Fatalf("CheckURL(%q) = %v, want an error saying %q without the secret", tc.url, cerr, tc.want)
			}
		})
	}
}

// CheckURL accepts what Open accepts and touches nothing: no folder is made.
func TestCheckURLAcceptsWithoutOpening(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "docs")
	for _, u := range []string{"file://" + dir, "s3://bucket/prefix?region=us-east-1&path_style=true&endpoint=http://127.0.0.1:9000", "s3://b"} {
		if err := storage.CheckURL(u); err != nil {
			t.Errorf("CheckURL(%q) = %v, want nil", u, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("CheckURL made the folder (stat: %v)", err)
	}
	if err := storage.CheckURL("file:///tmp/%zz:s3cret@"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("unparsable URL: %v", err)
	}
}

func TestParseS3URL(t *testing.T) {
	c, err := storage.ParseS3URL("s3://docs/tenant/a?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true&sse=aws:kms&kms_key_id=key-1&max_attempts=7&part_size=8388608")
	if err != nil {
		t.Fatal(err)
	}
	want := storage.S3Config{Bucket: "docs", Prefix: "tenant/a/", Region: "us-east-1", Endpoint: "http://127.0.0.1:9000", PathStyle: true, SSE: "aws:kms", KMSKeyID: "key-1", MaxAttempts: 7, PartSize: 8 << 20}
	if c != want {
		t.Errorf("config = %+v, want %+v", c, want)
	}
	c, err = storage.ParseS3URL("s3://docs")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxAttempts != storage.DefaultS3MaxAttempts || c.PartSize != storage.DefaultS3PartSize || c.Prefix != "" {
		t.Errorf("defaults = %+v", c)
	}
}
