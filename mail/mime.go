package mail

import (
	"bytes"
	"fmt"
	"mime"
	netmail "net/mail"
	"strings"
	"unicode"

	gomail "github.com/wneessen/go-mail"
)

// validID reports whether id can be a Message-ID (local@domain) and a file
// name: ASCII letters, digits and . _ + = -, one @, no leading dot.
func validID(id string) bool {
	if id == "" || len(id) > 200 || id[0] == '.' || strings.Count(id, "@") != 1 {
		return false
	}
	local, domain, _ := strings.Cut(id, "@")
	if local == "" || domain == "" {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("._+=-@", r):
		default:
			return false
		}
	}
	return true
}

// headerText makes s safe for a header: valid UTF-8, no control characters
// (a CR or LF would let data inject headers), runs of space collapsed.
func headerText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// parseAddress checks a's email and returns it with a header-safe name.
func parseAddress(field string, a Address) (*netmail.Address, error) {
	email := strings.TrimSpace(a.Email)
	p, err := netmail.ParseAddress(email)
	if err != nil || p.Address != email || p.Name != "" {
		return nil, fmt.Errorf("%w: %s address %q is not an email address", ErrInvalidMessage, field, a.Email)
	}
	return &netmail.Address{Name: headerText(a.Name), Address: email}, nil
}

// mime builds the go-mail message for m, checking everything a server would
// reject so that such errors are ErrInvalidMessage (permanent).
func (m Message) mime() (*gomail.Msg, error) {
	if !validID(m.ID) {
		return nil, fmt.Errorf("%w: Message-ID %q: want local@domain of letters, digits and ._+=-", ErrInvalidMessage, m.ID)
	}
	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", m.ID, err)
	}
	to, err := parseAddress("To", m.To)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", m.ID, err)
	}
	subject := headerText(m.Subject)
	if subject == "" {
		return nil, fmt.Errorf("message %s: %w: empty subject", m.ID, ErrInvalidMessage)
	}
	if m.Text == "" {
		return nil, fmt.Errorf("message %s: %w: empty text body", m.ID, ErrInvalidMessage)
	}
	if m.Date.IsZero() {
		return nil, fmt.Errorf("message %s: %w: no date", m.ID, ErrInvalidMessage)
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(from)
	msg.ToMailAddress(to)
	if m.ReplyTo.Email != "" {
		rt, err := parseAddress("Reply-To", m.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", m.ID, err)
		}
		msg.ReplyToMailAddress(rt)
	}
	msg.Subject(subject)
	msg.SetMessageIDWithValue(m.ID)
	msg.SetDateWithValue(m.Date)
	msg.SetUserAgent("drafter")
	// RFC 3834: an automated message; vacation responders stay quiet.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, strings.ToValidUTF8(m.Text, "\uFFFD"))
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, strings.ToValidUTF8(m.HTML, "\uFFFD"))
	}
	for i, a := range m.Attachments {
		name := headerText(a.Filename)
		if name == "" || strings.ContainsAny(name, `/\`) {
			return nil, fmt.Errorf("message %s: %w: attachment %d: bad file name %q", m.ID, ErrInvalidMessage, i, a.Filename)
		}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if _, _, err := mime.ParseMediaType(ct); err != nil || strings.ContainsAny(ct, "\r\n") {
			return nil, fmt.Errorf("message %s: %w: attachment %s: bad content type %q", m.ID, ErrInvalidMessage, name, a.ContentType)
		}
		msg.AttachReadSeeker(name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct)))
	}
	return msg, nil
}
