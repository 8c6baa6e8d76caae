package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/internal/testenv"
)

// findByMessageID returns mailpit's id of the message with Message-ID id.
func findByMessageID(t *testing.T, mp *testenv.MailpitServer, id string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range mp.Messages(t) {
			if s.MessageID == id {
				return s.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %s did not arrive", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openSMTPSender(t testing.TB, rawURL string, opts Options) *SMTP {
	t.Helper()
	s, err := Open(rawURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.(*SMTP)
}

func TestSMTPSuite(t *testing.T) {
	var mp *testenv.MailpitServer
	runSuite(t, transport{
		name: "smtp",
		open: func(t *testing.T) Sender {
			mp = testenv.Mailpit(t)
			return openSMTPSender(t, mp.SMTPURL(), Options{})
		},
		readID: func(t *testing.T, id string) []byte {
			return mp.Raw(t, findByMessageID(t, mp, id))
		},
	})
}

// TestSMTPEachKindThroughAPI checks each message kind as mailpit itself
// parsed it: recipients, UTF-8 subject, Reply-To, both alternatives and the
// PDF fetched as an attachment part.
func TestSMTPEachKindThroughAPI(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	for _, m := range kindsToSend(t) {
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send %s: %v", m.ID, err)
		}
		got := mp.Message(t, findByMessageID(t, mp, m.ID))
		if got.Subject != m.Subject || !strings.Contains(got.Subject, "Crédit") {
			t.Errorf("%s: subject %q, want %q", m.ID, got.Subject, m.Subject)
		}
		if len(got.To) != 1 || got.To[0].Address != m.To.Email || got.To[0].Name != m.To.Name {
			t.Errorf("%s: To = %+v, want %v", m.ID, got.To, m.To)
		}
		if got.From == nil || got.From.Address != m.From.Email || got.From.Name != m.From.Name {
			t.Errorf("%s: From = %+v, want %v", m.ID, got.From, m.From)
		}
		if len(got.ReplyTo) != 1 || got.ReplyTo[0].Address != m.ReplyTo.Email {
			t.Errorf("%s: Reply-To = %+v, want %v", m.ID, got.ReplyTo, m.ReplyTo)
		}
		if got.MessageID != m.ID {
			t.Errorf("Message-ID = %q, want %q", got.MessageID, m.ID)
		}
		if strings.TrimSpace(crlf(got.Text)) != strings.TrimSpace(m.Text) {
			t.Errorf("%s: text = %q", m.ID, got.Text)
		}
		if !strings.Contains(got.HTML, "We will never ask for your full account number") || !strings.Contains(got.HTML, m.To.Name) {
			t.Errorf("%s: HTML part missing or wrong: %q", m.ID, got.HTML)
		}
		if len(got.Attachments) != len(m.Attachments) {
			t.Fatalf("%s: %d attachments, want %d", m.ID, len(got.Attachments), len(m.Attachments))
		}
		for i, a := range got.Attachments {
			want := m.Attachments[i]
			data := mp.Attachment(t, got.ID, a.PartID)
			if a.FileName != want.Filename || a.ContentType != want.ContentType || string(data) != string(want.Data) {
				t.Errorf("%s: attachment %s %s %d bytes differs from the sent %s (%d bytes)", m.ID, a.FileName, a.ContentType, len(data), want.Filename, len(want.Data))
			}
		}
		h := mp.Headers(t, got.ID)
		if v := h["Auto-Submitted"]; len(v) != 1 || v[0] != "auto-generated" {
			t.Errorf("Auto-Submitted = %v", v)
		}
	}
}

func TestSMTPReusesConnection(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	m := kindsToSend(t)[4]
	const n = 30
	for i := range n {
		m.ID = fmt.Sprintf("outbox-%d.payment-scheduled@drafter.example", i)
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if d := s.Dials(); d != 1 {
		t.Errorf("%d messages took %d connections, want 1", n, d)
	}
	if got := len(mp.WaitMessages(t, n)); got != n {
		t.Errorf("mailpit holds %d messages, want %d", got, n)
	}
}

func TestSMTPPoolSendsConcurrently(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, mp.SMTPURL(), Options{Connections: 4})
	m := kindsToSend(t)[0]
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := m
			m.ID = fmt.Sprintf("outbox-%d.statement@drafter.example", i)
			errs <- s.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if d := s.Dials(); d < 1 || d > 4 {
		t.Errorf("%d connections, want 1 to 4", d)
	}
	ids := map[string]bool{}
	for _, ms := range mp.WaitMessages(t, n) {
		ids[ms.MessageID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct messages arrived, want %d", len(ids), n)
	}
}

// TestSMTPRateCap sends n messages at r per second over two connections:
// they cannot take less than (n-1)/r. Only the lower bound is asserted; a
// loaded machine may be slower.
func TestSMTPRateCap(t *testing.T) {
	mp := testenv.Mailpit(t)
	const n, r = 8, 20.0
	s := openSMTPSender(t, mp.SMTPURL(), Options{Rate: r, Connections: 2})
	m := kindsToSend(t)[4]
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			m := m
			m.ID = fmt.Sprintf("outbox-%d.rate@drafter.example", i)
			if err := s.Send(context.Background(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	min := time.Duration(float64(n-1) / r * float64(time.Second))
	if d := time.Since(start); d < min {
		t.Errorf("%d messages at %v/s took %v, want at least %v", n, r, d, min)
	}
	mp.WaitMessages(t, n)
}

// TestSMTPServerDown: with the server gone, Send fails with an error that
// is not permanent (the outbox retries it), and once the server is back the
// same Sender delivers again.
func TestSMTPServerDown(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, "smtp://drafter:s3cret@"+mp.SMTPAddr+"?starttls=none&auth=login", Options{Timeout: 5 * time.Second})
	m := kindsToSend(t)[4]
	ctx := context.Background()
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	mp.Stop(t)
	m.ID = "outbox-2.down@drafter.example"
	err := s.Send(ctx, m)
	if err == nil {
		t.Fatal("send with the server down: no error")
	}
	t.Logf("server down: %v", err)
	if IsPermanent(err) {
		t.Errorf("server down: IsPermanent(%v) = true", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows the password: %v", err)
	}
	mp.Start(t)
	if err := s.Send(ctx, m); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	findByMessageID(t, mp, m.ID)
	if d := s.Dials(); d != 2 {
		t.Errorf("dials = %d, want 2 (one before the outage, one after)", d)
	}
}

// TestSMTPServerRestartedWhileIdle: a pooled connection the server dropped
// between sends is noticed before anything is sent, and the message goes
// out on a new connection without an error.
func TestSMTPServerRestartedWhileIdle(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	m := kindsToSend(t)[4]
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mp.Stop(t)
	mp.Start(t)
	m.ID = "outbox-2.after-restart@drafter.example"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("send after a restart while idle: %v", err)
	}
	findByMessageID(t, mp, m.ID)
	if d := s.Dials(); d != 2 {
		t.Errorf("dials = %d, want 2", d)
	}
}

// TestSMTPRejectedRecipientIsPermanent: mailpit answers 550 to recipients
// outside its allowlist; that is permanent, and the connection stays
// usable for the next message.
func TestSMTPRejectedRecipientIsPermanent(t *testing.T) {
	mp := testenv.MailpitWith(t, testenv.MailpitConfig{AllowedRecipients: `@example\.com$`})
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	m := kindsToSend(t)[4]
	bad := m
	bad.ID = "outbox-1.rejected@drafter.example"
	bad.To.Email = "nobody@blocked.example"
	err := s.Send(context.Background(), bad)
	if err == nil {
		t.Fatal("rejected recipient: no error")
	}
	t.Logf("rejected: %v", err)
	if !IsPermanent(err) {
		t.Errorf("550 recipient: IsPermanent(%v) = false", err)
	}
	if !strings.Contains(err.Error(), "550") {
		t.Errorf("error does not give the reply: %v", err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("next message after a rejection: %v", err)
	}
	findByMessageID(t, mp, m.ID)
}

// TestSMTPTemporaryRejectionIsNotPermanent: a 451 to every recipient.
func TestSMTPTemporaryRejectionIsNotPermanent(t *testing.T) {
	mp := testenv.MailpitWith(t, testenv.MailpitConfig{ChaosTriggers: "Recipient:451:100"})
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	err := s.Send(context.Background(), kindsToSend(t)[4])
	if err == nil {
		t.Fatal("451: no error")
	}
	t.Logf("451: %v", err)
	if IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Errorf("451 recipient: IsPermanent(%v) = %v, want false", err, IsPermanent(err))
	}
}

func TestSMTPConnectionRefusedIsNotPermanent(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	s := openSMTPSender(t, "smtp://u:s3cret@"+addr+"?starttls=none", Options{Timeout: 2 * time.Second})
	err := s.Send(context.Background(), kindsToSend(t)[4])
	if err == nil || IsPermanent(err) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("connection refused: err = %v, permanent = %v", err, IsPermanent(err))
	}
}

// TestSMTPGreeting554IsNotPermanent: a server that refuses the session
// (554 at greeting) is a server problem, not the message's.
func TestSMTPGreeting554IsNotPermanent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "554 5.7.1 no service for you\r\n")
			c.Close()
		}
	}()
	s := openSMTPSender(t, "smtp://"+l.Addr().String()+"?starttls=none", Options{Timeout: 2 * time.Second})
	err = s.Send(context.Background(), kindsToSend(t)[4])
	t.Logf("554 greeting: %v", err)
	if err == nil || IsPermanent(err) {
		t.Errorf("554 greeting: err = %v, permanent = %v", err, IsPermanent(err))
	}
}

func TestSMTPClosed(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := openSMTPSender(t, mp.SMTPURL(), Options{})
	if err := s.Send(context.Background(), kindsToSend(t)[4]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), kindsToSend(t)[4]); !errors.Is(err, ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mailpit test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestSMTPTLS sends with STARTTLS required and with implicit TLS, logging
// in (mailpit records a LOGIN user), and checks that an untrusted
// certificate is refused.
func TestSMTPTLS(t *testing.T) {
	cert, key, pool := selfSigned(t)
	for _, tc := range []struct {
		name     string
		implicit bool
		url      string
	}{
		{"starttls", false, "smtp://drafter:s3cret@%s?starttls=required&auth=login"},
		{"implicit", true, "smtps://drafter:s3cret@%s?auth=login"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mp := testenv.MailpitWith(t, testenv.MailpitConfig{TLSCert: cert, TLSKey: key, ImplicitTLS: tc.implicit})
			url := fmt.Sprintf(tc.url, mp.SMTPAddr)
			s := openSMTPSender(t, url, Options{TLSConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
			m := kindsToSend(t)[0]
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("send: %v", err)
			}
			if u := mp.Message(t, findByMessageID(t, mp, m.ID)).Username; u != "drafter" {
				t.Errorf("logged in as %q, want drafter", u)
			}

			untrusted := openSMTPSender(t, url, Options{Timeout: 5 * time.Second})
			err := untrusted.Send(context.Background(), m)
			t.Logf("untrusted certificate: %v", err)
			if err == nil || IsPermanent(err) {
				t.Errorf("untrusted certificate: err = %v, permanent = %v", err, IsPermanent(err))
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
