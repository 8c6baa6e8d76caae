package storage

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/drafterhq/drafter/redact"
)

// opener opens a Store from a parsed URL of its scheme.
type opener func(ctx context.Context, u *url.URL) (Store, error)

// openers holds one factory per URL scheme.
var openers = map[string]opener{
	"file": openFSURL,
	"s3":   openS3URL,
}

// Open opens the Store a URL names:
//
//	file:///absolute/path
//	s3://bucket/prefix?region=us-east-1&endpoint=https://host:port&path_style=true&sse=AES256|aws:kms&kms_key_id=ID&max_attempts=5&part_size=16777216
//
// S3 credentials come from the AWS default chain (the AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY environment variables, the shared config files, an
// instance or task role); they never appear in the URL. An unknown or
// malformed parameter is an error that names it and what is expected.
func Open(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return nil, fmt.Errorf("open storage %s: unparsable URL: expected one of %s", redact.URL(rawURL), schemes())
	}
	if u.Scheme == "" {
		return nil, fmt.Errorf("open storage %q: no scheme: expected one of %s", redact.URL(u.String()), schemes())
	}
	open, ok := openers[strings.ToLower(u.Scheme)]
	if !ok {
		return nil, fmt.Errorf("open storage %q: unknown scheme %q: expected one of %s", redact.URL(u.String()), u.Scheme, schemes())
	}
	st, err := open(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open storage %q: %w", redact.URL(u.String()), err)
	}
	return st, nil
}

// OpenReadOnly opens the Store a URL names for reading only: a folder is
// not created or probed (see OpenFSReadOnly); other backends open as Open
// does.
func OpenReadOnly(ctx context.Context, rawURL string) (Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !strings.EqualFold(u.Scheme, "file") {
		return Open(ctx, rawURL)
	}
	if err := checkFSURL(u); err != nil {
		return nil, fmt.Errorf("open storage %q: %w", redact.URL(u.String()), err)
	}
	return OpenFSReadOnly(u.Path)
}

// checkers check a parsed URL of their scheme without opening anything.
var checkers = map[string]func(u *url.URL) error{
	"file": checkFSURL,
	"s3": func(u *url.URL) error {
		_, err := parseS3URL(u)
		return err
	},
}

// CheckURL reports whether Open accepts the form of rawURL: a known scheme
// with valid parameters. It creates no folder and contacts no server, so
// configuration can be checked at start. Errors never contain the URL's user
// information.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the input, which may hold a password.
		return fmt.Errorf("%s: unparsable URL: expected one of %s", redact.URL(rawURL), schemes())
	}
	check, ok := checkers[strings.ToLower(u.Scheme)]
	if !ok {
		if u.Scheme == "" {
			return fmt.Errorf("%q: no scheme: expected one of %s", redact.URL(u.String()), schemes())
		}
		return fmt.Errorf("%q: unknown scheme %q: expected one of %s", redact.URL(u.String()), u.Scheme, schemes())
	}
	if err := check(u); err != nil {
		return fmt.Errorf("%q: %w", redact.URL(u.String()), err)
	}
	return nil
}

func schemes() string {
	var s []string
	for k := range openers {
		s = append(s, k+"://")
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
