package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parsedMessage is a message read back from a transport and decoded with
// the standard library only, as a mail client would.
type parsedMessage struct {
	Header      netmail.Header
	Subject     string
	From, To    *netmail.Address
	ReplyTo     *netmail.Address
	MessageID   string
	Text, HTML  string
	Attachments []Attachment
}

func parseRaw(t *testing.T, raw []byte) parsedMessage {
	t.Helper()
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("message does not parse: %v\n%s", err, raw)
	}
	var p parsedMessage
	p.Header = m.Header
	dec := new(mime.WordDecoder)
	if p.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatalf("subject: %v", err)
	}
	addr := func(h string) *netmail.Address {
		if m.Header.Get(h) == "" {
			return nil
		}
		a, err := m.Header.AddressList(h)
		if err != nil || len(a) != 1 {
			t.Fatalf("%s %q: %v", h, m.Header.Get(h), err)
		}
		return a[0]
	}
	p.From, p.To, p.ReplyTo = addr("From"), addr("To"), addr("Reply-To")
	p.MessageID = strings.Trim(m.Header.Get("Message-Id"), "<>")
	walkPart(t, &p, textproto.MIMEHeader(m.Header), m.Body)
	return p
}

func walkPart(t *testing.T, p *parsedMessage, h textproto.MIMEHeader, body io.Reader) {
	t.Helper()
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	if strings.HasPrefix(ct, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			walkPart(t, p, part.Header, part)
		}
	}
	var data []byte
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, body))
	case "quoted-printable":
		data, err = io.ReadAll(quotedprintable.NewReader(body))
	default:
		data, err = io.ReadAll(body)
	}
	if err != nil {
		t.Fatalf("part %s: %v", ct, err)
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	switch {
	case disp == "attachment":
		name, _ := new(mime.WordDecoder).DecodeHeader(dparams["filename"])
		p.Attachments = append(p.Attachments, Attachment{Filename: name, ContentType: ct, Data: data})
	case ct == "text/plain":
		p.Text = string(data)
	case ct == "text/html":
		p.HTML = string(data)
	default:
		t.Fatalf("unexpected part %s", ct)
	}
}

// crlf normalizes line ends for comparing a body sent with one read back.
func crlf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// checkDelivered compares a message read back from a transport with the
// one sent: addresses, UTF-8 subject, Message-ID, both alternatives, and
// every attachment byte for byte.
func checkDelivered(t *testing.T, sent Message, got parsedMessage) {
	t.Helper()
	if got.Subject != sent.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject, sent.Subject)
	}
	if got.MessageID != sent.ID {
		t.Errorf("Message-ID = %q, want %q", got.MessageID, sent.ID)
	}
	for _, a := range []struct {
		h    string
		got  *netmail.Address
		want Address
	}{{"From", got.From, sent.From}, {"To", got.To, sent.To}, {"Reply-To", got.ReplyTo, sent.ReplyTo}} {
		if a.got == nil || a.got.Address != a.want.Email || a.got.Name != a.want.Name {
			t.Errorf("%s = %v, want %v", a.h, a.got, a.want)
		}
	}
	if crlf(got.Text) != crlf(sent.Text) {
		t.Errorf("text part differs:\ngot  %q\nwant %q", got.Text, sent.Text)
	}
	if crlf(got.HTML) != crlf(sent.HTML) {
		t.Errorf("HTML part differs:\ngot  %q\nwant %q", got.HTML, sent.HTML)
	}
	if len(got.Attachments) != len(sent.Attachments) {
		t.Fatalf("%d attachments, want %d", len(got.Attachments), len(sent.Attachments))
	}
	for i, a := range sent.Attachments {
		g := got.Attachments[i]
		if g.Filename != a.Filename || g.ContentType != a.ContentType || !bytes.Equal(g.Data, a.Data) {
			t.Errorf("attachment %d: %s %s %d bytes, want %s %s %d bytes (same content: %v)",
				i, g.Filename, g.ContentType, len(g.Data), a.Filename, a.ContentType, len(a.Data), bytes.Equal(g.Data, a.Data))
		}
	}
	if v := got.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", v)
	}
}

// transport is one backend under the shared suite: a Sender and a way to
// read back what it delivered.
type transport struct {
	name   string
	open   func(t *testing.T) Sender
	readID func(t *testing.T, id string) []byte
}

// kindsToSend composes one message of each kind, with UTF-8 names and a
// UTF-8 company name in the subject.
func kindsToSend(t *testing.T) []Message {
	t.Helper()
	c := testComposer
	c.Company = "Drafter Crédit Auto"
	var out []Message
	for _, tc := range composedCases() {
		m, err := tc.msg(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		out = append(out, m)
	}
	return out
}

// runSuite is the mail test suite every transport passes.
func runSuite(t *testing.T, tr transport) {
	t.Run("EachKind", func(t *testing.T) {
		s := tr.open(t)
		ctx := context.Background()
		for _, m := range kindsToSend(t) {
			if err := s.Send(ctx, m); err != nil {
				t.Fatalf("send %s: %v", m.ID, err)
			}
			checkDelivered(t, m, parseRaw(t, tr.readID(t, m.ID)))
		}
	})
	t.Run("InvalidMessageIsPermanent", func(t *testing.T) {
		s := tr.open(t)
		good := kindsToSend(t)[0]
		for name, mutate := range map[string]func(m *Message){
			"bad recipient":  func(m *Message) { m.To.Email = "not an address" },
			"bad sender":     func(m *Message) { m.From.Email = "a@b@c" },
			"no id":          func(m *Message) { m.ID = "" },
			"id with slash":  func(m *Message) { m.ID = "../../etc/passwd@x" },
			"empty subject":  func(m *Message) { m.Subject = " \r\n" },
			"no text":        func(m *Message) { m.Text = "" },
			"bad attachment": func(m *Message) { m.Attachments = []Attachment{{Filename: "a/b.pdf", Data: []byte("x")}} },
		} {
			m := good
			mutate(&m)
			err := s.Send(context.Background(), m)
			if err == nil || !IsPermanent(err) || !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%s: err = %v, want a permanent ErrInvalidMessage", name, err)
			}
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := tr.open(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Send(ctx, kindsToSend(t)[0])
		if !errors.Is(err, context.Canceled) || IsPermanent(err) {
			t.Errorf("err = %v, want context.Canceled, not permanent", err)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		url, want string
	}{
		{"ftp://host", `unknown scheme "ftp"`},
		{"host:25", `unknown scheme "host"`},
		{"/var/mail", "missing scheme"},
		{"smtp://user:s3cret@mail.example:587?starttls=maybe", `starttls="maybe"`},
		{"smtp://user:s3cret@mail.example:587?ratelimit=5", `unknown parameter "ratelimit"`},
		{"smtps://user:s3cret@mail.example?starttls=required", `unknown parameter "starttls"`},
		{"smtp://user:s3cret@mail.example?auth=magic", `auth="magic"`},
		{"smtp://mail.example?auth=plain", "needs a user"},
		{"smtp://user:s3cret@:587", "missing host"},
		{"smtp://user:s3cret@mail.example:99999", "bad port"},
		{"smtp://user:s3cret@mail.example/path", "unexpected path"},
		{"pickup://" + dir + "?fsync=0", `unknown parameter "fsync"`},
		{"pickup:relative/dir", "absolute path"},
		{"pickup://user:s3cret@host/dir", "no host or user"},
		{"smtp://user:s3cret@mail.example:587/%zz", "unparsable URL"},
	} {
		_, err := Open(tc.url, Options{})
		if err == nil {
			t.Errorf("Open(%s): no error", Redact(tc.url))
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want it to say %s", Redact(tc.url), err, tc.want)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%s) error shows the password: %v", Redact(tc.url), err)
		}
		// CheckURL refuses the same, for the same reason.
		if cerr := CheckURL(tc.url); cerr == nil || !strings.Contains(cerr.Error(), tc.want) || strings.Contains(cerr.Error(), "s3cret") {
			t.Errorf("CheckURL(%s) = %v, want an error saying %s without the password", Redact(tc.url), cerr, tc.want)
		}
	}
	if _, err := Open("smtp://mail.example", Options{Rate: -1}); err == nil {
		t.Error("negative rate accepted")
	}
}

// CheckURL accepts what Open accepts, without connecting or making the
// pickup folder.
func TestCheckURLAcceptsWithoutOpening(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	for _, u := range []string{"pickup://" + dir, "smtp://user:s3cret@127.0.0.1:1?starttls=none", "smtps://mail.example", "smtp://u:p@mail.example?auth=plain"} {
		if err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%s) = %v, want nil", Redact(u), err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("CheckURL made the pickup folder (stat: %v)", err)
	}
}

func TestOpenChoosesTransport(t *testing.T) {
	dir := t.TempDir()
	for url, want := range map[string]string{
		"pickup://" + dir: "*mail.Pickup",
		"smtp://u:p@mail.example?starttls=required": "*mail.SMTP",
		"smtp://mail.example:2525?starttls=none":    "*mail.SMTP",
		"smtps://u:p@mail.example":                  "*mail.SMTP",
	} {
		s, err := Open(url, Options{Connections: 2, Rate: 10})
		if err != nil {
			t.Errorf("Open(%s): %v", url, err)
			continue
		}
		if got := fmt.Sprintf("%T", s); got != want {
			t.Errorf("Open(%s) = %s, want %s", url, got, want)
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	if got := Redact("smtp://u:s3cret@mail.example"); strings.Contains(got, "s3cret") {
		t.Errorf("Redact = %s", got)
	}
}

func TestIsPermanent(t *testing.T) {
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nil":                {nil, false},
		"invalid message":    {fmt.Errorf("message x: %w", ErrInvalidMessage), true},
		"550 reply":          {fmt.Errorf("send: %w", &textproto.Error{Code: 550, Msg: "no such user"}), true},
		"552 reply":          {&textproto.Error{Code: 552, Msg: "too big"}, true},
		"451 reply":          {&textproto.Error{Code: 451, Msg: "try later"}, false},
		"421 reply":          {&textproto.Error{Code: 421, Msg: "closing"}, false},
		"535 while dialing":  {fmt.Errorf("connect: %w", &connError{&textproto.Error{Code: 535, Msg: "bad password"}}), false},
		"connection refused": {errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		"deadline":           {context.DeadlineExceeded, false},
	} {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("%s: IsPermanent = %v, want %v", name, got, tc.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(50)
	start := time.Now()
	for range 6 {
		if err := l.wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// Six events at 50/s: the first at once, five intervals of 20ms.
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("6 events at 50/s took %v, want at least 100ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newLimiter(0.001).wait(ctx); err == nil {
		t.Error("cancelled wait: no error")
	}
}
