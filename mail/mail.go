// Package mail composes and delivers drafter's customer email: statement
// ready, lease-end notice, payment scheduled and payment returned. It owns the
// message templates, the MIME encoding, and the transports (SMTP, and a
// pickup folder for the embedded default), chosen by URL with Open.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/drafterhq/drafter/redact"
)

// Address is a mailbox: a display name (any Unicode, may be empty) and an
// email address.
type Address struct {
	Name  string
	Email string
}

// String formats a for people and logs: "Name <email>" or just the email.
func (a Address) String() string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Email)
}

// Attachment is a file sent with a message, such as a statement PDF.
type Attachment struct {
	Filename    string
	ContentType string
	Data        []byte
}

// Message is one email to one customer. ID is the Message-ID without angle
// brackets (local@domain, of letters, digits and ._+=-); the caller derives
// it from the outbox row, so a resend after a crash carries the same
// Message-ID and, in a pickup folder, replaces the same file. Date is the
// Date header; take it from the outbox row too, so a resend is the same
// message.
type Message struct {
	ID          string
	From        Address
	ReplyTo     Address
	To          Address
	Subject     string
	Text        string
	HTML        string
	Attachments []Attachment
	Date        time.Time
}

// Sender delivers messages. Implementations are safe for concurrent use.
type Sender interface {
	// Send delivers m once. An error that IsPermanent will fail again on
	// every retry; any other error may succeed later.
	Send(ctx context.Context, m Message) error
	// Close releases connections; Send must not be called after it.
	Close() error
}

// Options tune a Sender opened with Open. The zero Options are sensible
// defaults; the pickup transport ignores them.
type Options struct {
	// Rate caps sends at this many messages per second across all
	// connections; 0 means no cap.
	Rate float64
	// Connections is the number of SMTP connections kept open for
	// concurrent sends; 0 means 1.
	Connections int
	// Timeout bounds dialing and each SMTP command; 0 means 30 seconds.
	Timeout time.Duration
	// TLSConfig configures certificate checks (RootCAs for a private CA);
	// nil means the system roots. ServerName defaults to the URL's host.
	TLSConfig *tls.Config
	// HELO is the name sent in EHLO; empty means the local host name.
	HELO string
}

// ErrInvalidMessage is wrapped by errors for messages that no server will
// ever accept: a bad address, a missing Message-ID, an empty body.
var ErrInvalidMessage = errors.New("invalid message")

// Open returns the Sender for rawURL:
//
//	smtp://user:pass@host:587?starttls=required|opportunistic|none&auth=...
//	smtps://user:pass@host:465   (implicit TLS)
//	pickup:///abs/path/to/outbox (one .eml file per message)
//
// Unknown schemes and parameters are errors. Errors never contain the
// password: URLs in them are redacted.
func Open(rawURL string, opts Options) (Sender, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the input; never echo it, it may hold a password.
		return nil, errors.New("open mail transport: unparsable URL")
	}
	switch u.Scheme {
	case "smtp", "smtps":
		return openSMTP(u, opts)
	case "pickup":
		return openPickup(u)
	case "":
		return nil, fmt.Errorf("open mail transport %s: missing scheme: want smtp://, smtps:// or pickup://", redact.URL(u.String()))
	default:
		return nil, fmt.Errorf("open mail transport %s: unknown scheme %q: want smtp, smtps or pickup", redact.URL(u.String()), u.Scheme)
	}
}

// CheckURL reports whether Open accepts the form of rawURL: a known scheme
// with valid parameters. It creates no folder and contacts no server, so
// configuration can be checked at start. Errors never contain the password.
func CheckURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse quotes the input; never echo it, it may hold a password.
		return errors.New("unparsable URL: want smtp://, smtps:// or pickup://")
	}
	switch u.Scheme {
	case "smtp", "smtps":
		// Building the client checks every parameter; it does not connect.
		if _, err := newSMTP(u, Options{}); err != nil {
			return fmt.Errorf("%s: %w", redact.URL(u.String()), err)
		}
		return nil
	case "pickup":
		if err := checkPickup(u); err != nil {
			return fmt.Errorf("%s: %w", redact.URL(u.String()), err)
		}
		return nil
	case "":
		return fmt.Errorf("%s: missing scheme: want smtp://, smtps:// or pickup://", redact.URL(u.String()))
	default:
		return fmt.Errorf("%s: unknown scheme %q: want smtp, smtps or pickup", redact.URL(u.String()), u.Scheme)
	}
}

// Redact returns rawURL fit for logs (redact.URL).
func Redact(rawURL string) string { return redact.URL(rawURL) }

// checkParams reports the first query parameter of u not in allowed.
func checkParams(u *url.URL, allowed ...string) error {
	for name := range u.Query() {
		ok := false
		for _, a := range allowed {
			if name == a {
				ok = true
			}
		}
		if !ok {
			if len(allowed) == 0 {
				return fmt.Errorf("unknown parameter %q: %s takes none", name, u.Scheme)
			}
			return fmt.Errorf("unknown parameter %q: want one of %s", name, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// WriteTo writes m as an RFC 5322 message with MIME parts to w: the form
// both transports deliver and a pickup file holds.
func (m Message) WriteTo(w io.Writer) (int64, error) {
	msg, err := m.mime()
	if err != nil {
		return 0, err
	}
	n, err := msg.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("write message %s: %w", m.ID, err)
	}
	return n, nil
}
