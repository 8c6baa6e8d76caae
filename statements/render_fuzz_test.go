package statements

import (
	"bytes"
	"errors"
	"os/exec"
	"testing"
)

// FuzzRender renders statements and notices with arbitrary text in the
// names, addresses and descriptions: it must never panic, and what it
// renders must be a valid PDF (checked with qpdf when it is installed).
func FuzzRender(f *testing.F) {
	for _, s := range []string{"Nguyễn Thị Ánh", "Trần Đức Thắng", "Søren Weiß", "e\u0301\u0302", "\x00\xff\n\t(", "日本語 العربية", "Λ\u200bΩ \U0001F600", ")\\(", ""} {
		f.Add(s, s, s)
	}
	_, qpdfErr := exec.LookPath("qpdf")
	f.Fuzz(func(t *testing.T, name, addr, desc string) {
		s := sampleLoan(t)
		s.Customer.Name = name
		s.Customer.Address.Line1 = addr
		s.Lines[0].Description = desc
		s.Messages = append(s.Messages, desc)
		n := sampleNotice(t)
		n.Customer.Name = name
		n.Vehicle = desc
		for _, render := range []func() ([]byte, error){
			func() ([]byte, error) { return RenderStatement(s, testLender()) },
			func() ([]byte, error) { return RenderLeaseEnd(n, testLender()) },
		} {
			pdf, err := render()
			if errors.Is(err, ErrTooLong) {
				continue
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
				t.Fatal("not a PDF")
			}
			if qpdfErr == nil {
				checkPDF(t, "fuzz", pdf)
			}
		}
	})
}
