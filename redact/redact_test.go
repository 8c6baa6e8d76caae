package redact_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/redact"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "postgres://db.internal:5432/drafter?sslmode=require", "postgres://db.internal:5432/drafter?sslmode=require"},
		{"user and password", "postgres://drafter:hunter2@db:5432/drafter", "postgres://xxxxx@db:5432/drafter"},
		{"user only", "postgres://drafter@db/drafter", "postgres://xxxxx@db/drafter"},
		{"password parameter", "postgres://db/drafter?user=u&password=hunter2&sslmode=require", "postgres://db/drafter?user=u&password=xxxxx&sslmode=require"},
		{"sslpassword parameter", "postgres://db/d?sslpassword=hunter2", "postgres://db/d?sslpassword=xxxxx"},
		{"escaped parameter name", "postgres://db/d?pass%77ord=hunter2", "postgres://db/d?password=xxxxx"},
		{"bad port", "postgres://u:hunter2@db:54x2/drafter", redact.Unparseable},
		{"bad escape", "postgres://u:hunt%zzer2@db/drafter", redact.Unparseable},
		{"bad escape in the query", "postgres://db/d?password=hun%zzter2", "postgres://db/d?password=xxxxx"},
		{"slash in the password", "postgres://u:12/hunter2@db/drafter", "postgres://xxxxx@db/drafter"},
		{"question mark in the password", "postgres://u:12?hunter2@db/drafter", "postgres://xxxxx@db/drafter"},
		{"hash in the password", "postgres://u:12#hunter2@db/drafter", "postgres://xxxxx@db/drafter"},
		{"two @", "smtp://u@x:hun@ter2@mail:587", "smtp://xxxxx@mail:587"},
		{"opaque", "postgres:u:hunter2@db/drafter", "postgres:xxxxx@db/drafter"},
		{"control byte", "postgres://u:hun\x00ter2@db/d", redact.Unparseable},
		{"space", "postgres://u:hun ter2@db/d", redact.Unparseable},
		{"no scheme", "u:hunter2@db/drafter", "u:xxxxx@db/drafter"},
		{"no scheme, @", "hunter2@db", redact.Unparseable},
		{"sqlite", "sqlite:/var/lib/drafter/drafter.db", "sqlite:/var/lib/drafter/drafter.db"},
		{"file", "file:///var/lib/drafter/docs", "file:///var/lib/drafter/docs"},
		{"s3 token", "s3://bucket/p?region=us-east-1&X-Amz-Security-Token=abc&X-Amz-Signature=def", "s3://bucket/p?region=us-east-1&X-Amz-Security-Token=xxxxx&X-Amz-Signature=xxxxx"},
		{"fragment", "smtp://mail:587#hunter2", "smtp://mail:587"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact.URL(tc.in)
			if got != tc.want {
				t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "ter2") {
				t.Errorf("URL(%q) = %q shows the password", tc.in, got)
			}
		})
	}
}

func TestError(t *testing.T) {
	raw := "postgres://drafter:hunter%232@db:54x2/drafter"
	_, perr := url.Parse(raw)
	base := errors.New("connect: " + perr.Error() + " (password hunter#2)")
	err := redact.Error(base, raw)
	if strings.Contains(err.Error(), "hunter") {
		t.Errorf("error shows the password: %v", err)
	}
	if !errors.Is(err, base) {
		t.Errorf("redacted error lost its cause")
	}
	if e := errors.New("no secret here"); redact.Error(e, raw) != e {
		t.Errorf("an error without secrets is changed")
	}
}

// FuzzURL: whatever the password, in the user information or a password
// parameter, and whatever it breaks, it does not show.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"hunter2", "a/b", "a@b", "a?b", "a#b", "%zz", "a:b", "a b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		secret := "Zq" + pw + "Qz"
		for _, raw := range []string{"postgres://u:" + secret + "@db:5432/d", "postgres://db:5432/d?sslmode=require&password=" + secret,
			"smtp://" + secret + "@mail:587?starttls=required", "postgres:u:" + secret + "@db/d"} {
			if got := redact.URL(raw); strings.Contains(got, secret) {
				t.Errorf("URL(%q) = %q shows the password", raw, got)
			}
		}
	})
}
