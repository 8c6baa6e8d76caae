// Package redact hides secrets in what drafter prints: the user
// information of URLs (user and password), password-like query parameters,
// and URLs that cannot be parsed (a password typed without percent-encoding
// breaks parsing, and the parser's errors quote the input).
package redact

import (
	"net/url"
	"strings"
)

// Unparseable is what URL returns for a URL it cannot take apart.
const Unparseable = "<unparseable, redacted>"

// hidden replaces a secret.
const hidden = "xxxxx"

// URL returns raw fit to print: user information and secret query
// parameters replaced by xxxxx, an unparseable URL by Unparseable. A URL
// whose path, query or fragment holds '@' (a password with an unescaped '/',
// '?' or '#' moves the rest of the user information there) loses everything
// up to its last '@'.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme == "" && raw != "" && !strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, ".")) {
		return Unparseable
	}
	if u.Scheme != "" {
		after := raw[len(u.Scheme)+1:]
		prefix := u.Scheme + ":"
		if strings.HasPrefix(after, "//") {
			after, prefix = after[2:], prefix+"//"
		}
		if strings.Count(after, "@") > boolInt(u.User != nil) {
			tail := after[strings.LastIndex(after, "@")+1:]
			return prefix + hidden + "@" + strings.TrimPrefix(URL(prefix+tail), prefix)
		}
	}
	if u.User != nil {
		u.User = url.User(hidden)
	}
	u.RawQuery = query(u.RawQuery)
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = "", ""
	}
	s := u.String()
	if u.RawQuery == "" && strings.HasSuffix(raw, "?") {
		s += "?"
	}
	return s
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// query hides the values of secret parameters, keeping the rest as sent.
func query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' })
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if secretParam(k) {
			parts[i] = url.QueryEscape(k) + "=" + hidden
		}
	}
	return strings.Join(parts, "&")
}

// secretParam reports whether a query parameter holds a secret: passwords
// (PostgreSQL's password and sslpassword), tokens, keys' secrets, signatures.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"password", "passwd", "pwd", "pass", "secret", "token", "signature", "credential", "sig"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// Error returns err with every URL of urls in its text redacted (and the
// user information of each, which drivers quote on its own), keeping err
// for errors.Is and errors.As.
func Error(err error, urls ...string) error {
	if err == nil {
		return nil
	}
	msg := Text(err.Error(), urls...)
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

// Text returns s with every URL of urls, and the secrets in each, redacted.
func Text(s string, urls ...string) string {
	for _, raw := range urls {
		if raw == "" {
			continue
		}
		s = strings.ReplaceAll(s, raw, URL(raw))
		for _, secret := range secrets(raw) {
			if len(secret) >= 3 {
				s = strings.ReplaceAll(s, secret, hidden)
			}
		}
	}
	return s
}

// secrets returns the user information and secret parameter values of raw,
// as written and percent-decoded, parsed by hand so that an unparseable URL
// gives them too.
func secrets(raw string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
	}
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			userinfo := rest[:i]
			add(userinfo)
			if _, pw, ok := strings.Cut(userinfo, ":"); ok {
				add(pw)
				// A password holding '/', '?' or '#' is parsed in pieces,
				// the last as path, query or fragment, which drivers print.
				for _, piece := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune("/?#:", r) }) {
					add(piece)
				}
			}
		}
	}
	if _, q, ok := strings.Cut(raw, "?"); ok {
		for p := range strings.SplitSeq(q, "&") {
			if k, v, ok := strings.Cut(p, "="); ok && secretParam(k) {
				add(v)
			}
		}
	}
	return out
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }
