package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// MailpitConfig changes how Mailpit starts the server. The zero value is a
// plain SMTP server on loopback that accepts any login.
type MailpitConfig struct {
	// AllowedRecipients, a regular expression, makes the server reject
	// (550) every other recipient.
	AllowedRecipients string
	// TLSCert and TLSKey are PEM files; with them the server offers
	// STARTTLS, or with ImplicitTLS speaks TLS from the first byte.
	TLSCert, TLSKey string
	ImplicitTLS     bool
	// ChaosTriggers are mailpit's --chaos-triggers, e.g. "Recipient:451:100".
	ChaosTriggers string
}

// MailpitServer is one mailpit (an SMTP server with an HTTP API to read what
// arrived) on free loopback ports, owned by one test. Its messages live in
// a database in the test's temporary folder, so they survive Stop and Start.
type MailpitServer struct {
	// SMTPAddr is host:port of the SMTP server.
	SMTPAddr string
	// APIURL is the base URL of the HTTP API, http://127.0.0.1:PORT.
	APIURL string

	bin, db string
	cfg     MailpitConfig
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	log     string
}

// Mailpit starts a mailpit for t and stops it when t ends. Without the
// binary (DRAFTER_TEST_MAILPIT, PATH, GOPATH/bin; `make test` installs it)
// it skips t, or fails it under CI.
func Mailpit(t testing.TB) *MailpitServer {
	t.Helper()
	return MailpitWith(t, MailpitConfig{})
}

// MailpitWith is Mailpit with a configuration.
func MailpitWith(t testing.TB, cfg MailpitConfig) *MailpitServer {
	t.Helper()
	bin := Binary("mailpit", "DRAFTER_TEST_MAILPIT")
	if bin == "" {
		SkipOrFail(t, "mailpit not found (set DRAFTER_TEST_MAILPIT or run `go install github.com/axllent/mailpit@v1.27.11`; make test does)")
	}
	if _, err := os.Stat(bin); err != nil {
		SkipOrFail(t, "mailpit: %v (DRAFTER_TEST_MAILPIT names a missing file?)", err)
	}
	dir := t.TempDir()
	s := &MailpitServer{bin: bin, db: filepath.Join(dir, "mailpit.db"), cfg: cfg, log: filepath.Join(dir, "mailpit.log")}
	var err error
	// A free port can be taken between FreePort and mailpit's listen: retry
	// with new ports.
	for range 3 {
		s.SMTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		s.APIURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() { s.stop() })
	return s
}

// SMTPURL returns an smtp:// URL for the server without TLS, as mail.Open
// takes it.
func (s *MailpitServer) SMTPURL() string {
	return "smtp://" + s.SMTPAddr + "?starttls=none"
}

// Stop stops the server (as a crash would, for retry tests); Start brings
// it back on the same ports with the same messages.
func (s *MailpitServer) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

// Start starts a stopped server again.
func (s *MailpitServer) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("restart mailpit: %v", err)
	}
}

func (s *MailpitServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	args := []string{
		"--smtp", s.SMTPAddr,
		"--listen", s.APIURL[len("http://"):],
		"--database", s.db,
		"--max", "0", // keep every message: tests count them
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--smtp-auth-accept-any",
		"--quiet",
	}
	if s.cfg.AllowedRecipients != "" {
		args = append(args, "--smtp-allowed-recipients", s.cfg.AllowedRecipients)
	}
	if s.cfg.TLSCert != "" {
		args = append(args, "--smtp-tls-cert", s.cfg.TLSCert, "--smtp-tls-key", s.cfg.TLSKey)
		if s.cfg.ImplicitTLS {
			args = append(args, "--smtp-require-tls")
		}
	} else {
		// Without TLS, let tests log in (mailpit refuses this with TLS).
		args = append(args, "--smtp-auth-allow-insecure")
	}
	if s.cfg.ChaosTriggers != "" {
		args = append(args, "--enable-chaos", "--chaos-triggers", s.cfg.ChaosTriggers)
	}
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			out, _ := os.ReadFile(s.log)
			return fmt.Errorf("mailpit exited at start: %s", lastBytes(out, 2000))
		default:
		}
		if s.ready() {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("mailpit not ready after 15s on %s / %s", s.SMTPAddr, s.APIURL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *MailpitServer) ready() bool {
	c, err := net.DialTimeout("tcp", s.SMTPAddr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	resp, err := http.Get(s.APIURL + "/api/v1/info")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *MailpitServer) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

func lastBytes(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// MailpitAddress is an address as the API reports it.
type MailpitAddress struct {
	Name    string
	Address string
}

// MailpitSummary is one message in the list.
type MailpitSummary struct {
	ID          string // mailpit's own id, for Message
	MessageID   string // the Message-ID header, without angle brackets
	From        *MailpitAddress
	To          []MailpitAddress
	Subject     string
	Attachments int
	Size        int
	Username    string // the SMTP login, if any
}

// MailpitAttachment describes one attachment of a message.
type MailpitAttachment struct {
	PartID      string
	FileName    string
	ContentType string
	Size        int
}

// MailpitMessage is one message as mailpit parsed it.
type MailpitMessage struct {
	ID          string
	MessageID   string
	From        *MailpitAddress
	To          []MailpitAddress
	ReplyTo     []MailpitAddress
	Subject     string
	Username    string // the SMTP login, if any
	Date        time.Time
	Text        string
	HTML        string
	Attachments []MailpitAttachment
}

// Messages lists every message the server holds, newest first.
func (s *MailpitServer) Messages(t testing.TB) []MailpitSummary {
	t.Helper()
	var out struct {
		Total    int
		Messages []MailpitSummary
	}
	s.getJSON(t, "/api/v1/messages?limit=100000", &out)
	return out.Messages
}

// WaitMessages polls until the server holds at least n messages and
// returns them, failing t after 10 seconds.
func (s *MailpitServer) WaitMessages(t testing.TB, n int) []MailpitSummary {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms := s.Messages(t)
		if len(ms) >= n || time.Now().After(deadline) {
			if len(ms) < n {
				t.Fatalf("mailpit holds %d messages after 10s, want %d", len(ms), n)
			}
			return ms
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Message returns one message with its text, HTML and attachment list.
func (s *MailpitServer) Message(t testing.TB, id string) MailpitMessage {
	t.Helper()
	var m MailpitMessage
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id), &m)
	return m
}

// Headers returns the message's headers, decoded, by canonical name.
func (s *MailpitServer) Headers(t testing.TB, id string) map[string][]string {
	t.Helper()
	var h map[string][]string
	s.getJSON(t, "/api/v1/message/"+url.PathEscape(id)+"/headers", &h)
	return h
}

// Raw returns the message as it arrived over SMTP.
func (s *MailpitServer) Raw(t testing.TB, id string) []byte {
	t.Helper()
	return s.get(t, "/api/v1/message/"+url.PathEscape(id)+"/raw")
}

// Attachment returns the bytes of one attachment (its PartID).
func (s *MailpitServer) Attachment(t testing.TB, id, partID string) []byte {
	t.Helper()
	return s.get(t, "/api/v1/message/"+url.PathEscape(id)+"/part/"+url.PathEscape(partID))
}

// DeleteAll removes every message.
func (s *MailpitServer) DeleteAll(t testing.TB) {
	t.Helper()
	s.do(t, http.MethodDelete, "/api/v1/messages")
}

func (s *MailpitServer) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(s.get(t, path), v); err != nil {
		t.Fatalf("mailpit GET %s: %v", path, err)
	}
}

func (s *MailpitServer) get(t testing.TB, path string) []byte {
	t.Helper()
	return s.do(t, http.MethodGet, path)
}

func (s *MailpitServer) do(t testing.TB, method, path string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.APIURL+path, nil)
	if err != nil {
		t.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("mailpit %s %s: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit %s %s: %s: %s", method, path, resp.Status, lastBytes(b, 500))
	}
	return b
}
