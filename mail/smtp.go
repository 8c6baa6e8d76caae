package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/drafterhq/drafter/redact"
)

// SMTP is the Sender for an SMTP server (smtp:// with STARTTLS, smtps://
// with implicit TLS). It keeps up to Options.Connections connections open
// and reuses them across sends, redialing after an error; sends beyond
// Options.Rate per second wait their turn.
//
// A Send's context bounds waiting for a connection, the rate cap and
// dialing; a transaction under way is bounded by Options.Timeout per command.
type SMTP struct {
	client  *gomail.Client // configuration and dialing; connections live in slots
	addr    string         // host:port, for errors
	slots   chan *smtpConn
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
	limit   *limiter
	dials   atomic.Int64
	sent    atomic.Int64
}

// smtpConn is one pooled connection; c is nil until dialed or after an error.
type smtpConn struct {
	c    *smtp.Client
	sent int
}

var authTypes = map[string]gomail.SMTPAuthType{
	"auto":          gomail.SMTPAuthAutoDiscover,
	"plain":         gomail.SMTPAuthPlain,
	"login":         gomail.SMTPAuthLogin,
	"cram-md5":      gomail.SMTPAuthCramMD5,
	"scram-sha-1":   gomail.SMTPAuthSCRAMSHA1,
	"scram-sha-256": gomail.SMTPAuthSCRAMSHA256,
}

func openSMTP(u *url.URL, opts Options) (*SMTP, error) {
	s, err := newSMTP(u, opts)
	if err != nil {
		return nil, fmt.Errorf("open mail transport %s: %w", redact.URL(u.String()), err)
	}
	return s, nil
}

func newSMTP(u *url.URL, opts Options) (*SMTP, error) {
	implicitTLS := u.Scheme == "smtps"
	allowed := []string{"auth"}
	if !implicitTLS {
		allowed = append(allowed, "starttls")
	}
	if err := checkParams(u, allowed...); err != nil {
		return nil, err
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("unexpected path %q: want %s://user:pass@host:port", u.Path+u.Opaque, u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("missing host: want %s://user:pass@host:port", u.Scheme)
	}
	port := 587
	if implicitTLS {
		port = 465
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad port %q", p)
		}
		port = n
	}
	if opts.Rate < 0 {
		return nil, fmt.Errorf("rate %v: want messages per second >= 0", opts.Rate)
	}
	if opts.Connections < 0 {
		return nil, fmt.Errorf("connections %d: want >= 0", opts.Connections)
	}
	conns := max(opts.Connections, 1)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLSConfig != nil {
		tlsConf = opts.TLSConfig.Clone()
	}
	if tlsConf.ServerName == "" {
		tlsConf.ServerName = host
	}
	copts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(timeout),
		gomail.WithTLSConfig(tlsConf),
	}
	if implicitTLS {
		copts = append(copts, gomail.WithSSL())
	} else {
		q := u.Query()
		switch v := q.Get("starttls"); v {
		case "", "required":
			copts = append(copts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "opportunistic":
			copts = append(copts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
		case "none":
			copts = append(copts, gomail.WithTLSPolicy(gomail.NoTLS))
		default:
			return nil, fmt.Errorf("parameter starttls=%q: want required, opportunistic or none", v)
		}
	}
	if u.Query().Has("auth") && u.User == nil {
		return nil, errors.New("parameter auth: needs a user in the URL")
	}
	if u.User != nil {
		auth := u.Query().Get("auth")
		if auth == "" {
			auth = "auto"
		}
		at, ok := authTypes[auth]
		if !ok {
			return nil, fmt.Errorf("parameter auth=%q: want auto, plain, login, cram-md5, scram-sha-1 or scram-sha-256", auth)
		}
		pass, _ := u.User.Password()
		copts = append(copts, gomail.WithSMTPAuth(at), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	if opts.HELO != "" {
		copts = append(copts, gomail.WithHELO(opts.HELO))
	}
	client, err := gomail.NewClient(host, copts...)
	if err != nil {
		return nil, err
	}
	s := &SMTP{
		client: client,
		addr:   net.JoinHostPort(host, strconv.Itoa(port)),
		slots:  make(chan *smtpConn, conns),
		done:   make(chan struct{}),
		limit:  newLimiter(opts.Rate),
	}
	for range conns {
		s.slots <- &smtpConn{}
	}
	return s, nil
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("mail sender closed")

// connError is a failure to connect, greet, start TLS or authenticate: the
// server or its configuration, never the message, so it is not permanent
// even when the server answered 5xx (a rejected password).
type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() error { return e.err }

// Send delivers m over a pooled connection.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := m.mime()
	if err != nil {
		return err
	}
	var conn *smtpConn
	select {
	case conn = <-s.slots:
	case <-s.done:
		return fmt.Errorf("send %s: %w", m.ID, ErrClosed)
	case <-ctx.Done():
		return fmt.Errorf("send %s: wait for a connection: %w", m.ID, ctx.Err())
	}
	defer func() { s.slots <- conn }()
	select {
	case <-s.done:
		return fmt.Errorf("send %s: %w", m.ID, ErrClosed)
	default:
	}
	if err := s.limit.wait(ctx); err != nil {
		return fmt.Errorf("send %s: wait for the rate cap: %w", m.ID, err)
	}
	for attempt := 0; ; attempt++ {
		if conn.c == nil {
			c, err := s.client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				return fmt.Errorf("send %s: connect to %s: %w", m.ID, s.addr, &connError{err})
			}
			s.dials.Add(1)
			conn.c, conn.sent = c, 0
		}
		if attempt > 0 {
			// A fresh go-mail message: a failed attempt leaves delivery
			// state behind in the old one.
			msg, _ = m.mime()
		}
		err := s.client.SendWithSMTPClient(conn.c, msg)
		if err == nil {
			conn.sent++
			s.sent.Add(1)
			return nil
		}
		reused := conn.sent > 0
		s.drop(conn)
		// A pooled connection the server closed while idle fails its NOOP
		// before anything of the message is sent: redial once and retry.
		var se *gomail.SendError
		if attempt == 0 && reused && errors.As(err, &se) && se.Reason == gomail.ErrConnCheck {
			continue
		}
		if errors.As(err, &se) && se.Reason == gomail.ErrConnCheck {
			err = &connError{err}
		}
		return fmt.Errorf("send %s via %s: %w", m.ID, s.addr, err)
	}
}

// Ping checks that the server takes connections, sending nothing: it
// opens one of the pool's connections (kept for the sends that follow) and,
// when one is open already, lets it be.
func (s *SMTP) Ping(ctx context.Context) error {
	var conn *smtpConn
	select {
	case conn = <-s.slots:
	case <-s.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("ping %s: wait for a connection: %w", s.addr, ctx.Err())
	}
	defer func() { s.slots <- conn }()
	if conn.c != nil {
		return nil
	}
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", s.addr, &connError{err})
	}
	s.dials.Add(1)
	conn.c, conn.sent = c, 0
	return nil
}

// drop closes conn's connection without waiting for the server; it is
// redialed on its next use.
func (s *SMTP) drop(conn *smtpConn) {
	if conn.c != nil {
		_ = conn.c.Close()
	}
	conn.c, conn.sent = nil, 0
}

// Dials returns how many connections s has opened, for tests and metrics.
func (s *SMTP) Dials() int64 { return s.dials.Load() }

// Sent returns how many messages s has delivered.
func (s *SMTP) Sent() int64 { return s.sent.Load() }

// Close waits for sends under way, then says QUIT on every connection.
func (s *SMTP) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.closeMu.Unlock()
	var errs []error
	for range cap(s.slots) {
		conn := <-s.slots
		if conn.c != nil {
			if err := s.client.CloseWithSMTPClient(conn.c); err != nil {
				errs = append(errs, err)
			}
			conn.c = nil
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close smtp connections to %s: %w", s.addr, err)
	}
	return nil
}

// limiter spaces events at least interval apart: a token bucket holding one
// token, refilled at the rate. Waiters reserve their turn in arrival order.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

// newLimiter returns a limiter for rate events per second; nil (no limit)
// when rate is 0.
func newLimiter(rate float64) *limiter {
	if rate <= 0 {
		return nil
	}
	return &limiter{interval: time.Duration(float64(time.Second) / rate)}
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// IsPermanent reports whether err means the message will never be
// delivered as it is, so retrying is pointless: a 5xx reply to the sender,
// a recipient or the data, or a message that fails validation
// (ErrInvalidMessage). Connection failures, timeouts, 4xx replies, and
// failures to greet or authenticate (the configuration, not the message) are
// not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var ce *connError
	if errors.As(err, &ce) {
		return false
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrGetSender, gomail.ErrGetRcpts, gomail.ErrNoUnencoded:
			return true
		case gomail.ErrConnCheck:
			return false
		}
		return se.ErrorCode() >= 500 && se.ErrorCode() <= 599
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code <= 599
	}
	return false
}
