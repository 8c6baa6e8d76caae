package statements

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var (
	update = flag.Bool("update", false, "rewrite the golden files in testdata")
	pdfDir = flag.String("pdfdir", "", "also write every rendered PDF into this folder, to look at")
)

func testLender() Lender {
	return Lender{
		Name:           "Drafter Auto Finance",
		Address:        []string{"PO Box 4100", "Wilmington, DE 19850"},
		Phone:          "1-800-555-0142",
		Website:        "drafter.example/pay",
		PaymentAddress: []string{"Payment Processing Center", "PO Box 78000", "Phoenix, AZ 85062-8000"},
	}
}

// sampleLoan is a loan statement with a returned payment, a late fee and
// a name that needs more than cp1252.
func sampleLoan(t testing.TB) Statement {
	t.Helper()
	in := loanInput()
	in.Customer.Name = "Nguyễn Thị Ánh"
	in.NOCAccount = "****6789"
	in.Transactions = []Transaction{
		{PostedOn: d("2026-10-20"), Kind: TxPayment, Amount: 450_00, Description: "Autopay payment - thank you"},
		{PostedOn: d("2026-10-23"), Kind: TxReturnedPayment, Amount: 450_00, Description: "Payment returned: R01 insufficient funds"},
		{PostedOn: d("2026-10-23"), Kind: TxReturnedPaymentFee, Amount: 15_00, Description: "Returned payment fee"},
		{PostedOn: d("2026-10-26"), Kind: TxLateFee, Amount: 25_00, Description: "Late fee"},
		{PostedOn: d("2026-11-02"), Kind: TxPayment, Amount: 200_00, Description: "Online payment - thank you"},
		{PostedOn: d("2026-11-15"), Kind: TxInterest, Amount: 112_00, Description: "Interest"},
	}
	in.Record = Record{Balance: 18_202_00, Principal: 18_050_00, PastDue: 250_00, FeesDue: 40_00}
	s, err := ComputeStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleLease(t testing.TB) Statement {
	t.Helper()
	in := leaseInput()
	in.Customer.Name = "José Muñoz Søren Weiß"
	s, err := ComputeStatement(in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleNotice(t testing.TB) LeaseEndNotice {
	t.Helper()
	in := leaseEndInput()
	in.InspectionContact = "our inspection partner at 1-800-555-0199 or drafter.example/inspect"
	n, err := ComputeLeaseEnd(in)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install qpdf poppler-utils): %v", name, err)
	}
}

// checkPDF runs qpdf --check and returns the text pdftotext -layout sees.
func checkPDF(t testing.TB, name string, pdf []byte) string {
	t.Helper()
	needTool(t, "qpdf")
	needTool(t, "pdftotext")
	dir := t.TempDir()
	if *pdfDir != "" {
		dir = *pdfDir
	}
	path := filepath.Join(dir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check %s: %v\n%s", name, err, out)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", name, err)
	}
	return string(out)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s: text differs from %s (go test -update to accept)\n--- got\n%s", name, path, got)
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name   string
		render func() ([]byte, error)
	}{
		{"loan-statement", func() ([]byte, error) { return RenderStatement(sampleLoan(t), testLender()) }},
		{"lease-statement", func() ([]byte, error) { return RenderStatement(sampleLease(t), testLender()) }},
		{"lease-end-notice", func() ([]byte, error) { return RenderLeaseEnd(sampleNotice(t), testLender()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdf, err := tt.render()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, checkPDF(t, tt.name, pdf))
		})
	}
}

func TestRenderDeterministic(t *testing.T) {
	for name, render := range map[string]func() ([]byte, error){
		"statement": func() ([]byte, error) { return RenderStatement(sampleLoan(t), testLender()) },
		"notice":    func() ([]byte, error) { return RenderLeaseEnd(sampleNotice(t), testLender()) },
	} {
		t.Run(name, func(t *testing.T) {
			a, err := render()
			if err != nil {
				t.Fatal(err)
			}
			b, err := render()
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(a) != sha256.Sum256(b) {
				t.Fatal("two renders of the same input differ")
			}
			// The dates are the document's, there is no random /ID, and
			// the font names carry fixed subset tags.
			for _, want := range []string{"/CreationDate (D:2026", "/BaseFont /DRFTRA+DejaVuSans"} {
				if !bytes.Contains(a, []byte(want)) {
					t.Errorf("PDF lacks %q", want)
				}
			}
			if bytes.Contains(a, []byte("/ID")) {
				t.Error("PDF has an /ID")
			}
		})
	}
}

// TestRenderOneCodePage checks that a document whose text is all on code
// page 0 (the templates' own text, and ASCII or Western European names)
// embeds only page 0's regular and bold fonts: the common case, and the
// one the font layout keeps small.
func TestRenderOneCodePage(t *testing.T) {
	for _, name := range []string{"John Smith", "José Müller", "Zoë Ørsted-Weiß", "François O’Brien"} {
		t.Run(name, func(t *testing.T) {
			s := sampleLoan(t)
			s.Customer.Name = name
			n := sampleNotice(t)
			n.Customer.Name = name
			for doc, render := range map[string]func() ([]byte, error){
				"statement": func() ([]byte, error) { return RenderStatement(s, testLender()) },
				"notice":    func() ([]byte, error) { return RenderLeaseEnd(n, testLender()) },
			} {
				pdf, err := render()
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.Count(pdf, []byte("/FontFile2")); got != 2 {
					t.Errorf("%s embeds %d fonts, want 2 (page 0 regular and bold)", doc, got)
				}
			}
		})
	}
}

func TestRenderLongTextAndManyPages(t *testing.T) {
	s := sampleLoan(t)
	longName := "Maria Guadalupe Concepción Hernández-Villanueva de la Santísima Trinidad Nguyễn Thị Ánh Trần Đức Thắng Ørsted-Weißmüller"
	s.Customer.Name = longName
	s.Customer.Address.Line1 = "Apartment 1204, Building C, The Residences at Northwest Harborview Landing, 123456 North Harborview Boulevard Extension"
	s.Customer.Address.Line2 = "Attention: Accounts Payable / Household Finance Department, Care of the Estate of the Late Mr. Hernández"
	s.Lines = nil
	for i := range 200 {
		s.Lines = append(s.Lines, Line{
			Date:        s.CycleStart.AddDays(i % 30),
			Kind:        TxPayment,
			Description: fmt.Sprintf("Payment %03d received by telephone through the automated line, confirmation number ABCDEFGHIJKLMNOPQRSTUVWXYZ%03d, thank you", i, i),
			Amount:      -12_34,
		})
	}
	pdf, err := RenderStatement(s, testLender())
	if err != nil {
		t.Fatal(err)
	}
	text := checkPDF(t, "long", pdf)
	if n := bytes.Count(pdf, []byte("/Type /Page\n")); n < 2 {
		t.Errorf("%d pages, want more than one", n)
	}
	flat := strings.Join(strings.Fields(text), " ")
	for i := range 200 {
		for _, part := range []string{fmt.Sprintf("Payment %03d received", i), fmt.Sprintf("ABCDEFGHIJKLMNOPQRSTUVWXYZ%03d", i)} {
			if !strings.Contains(flat, part) {
				t.Fatalf("transaction %d: %q missing from the text", i, part)
			}
		}
	}
	// The long name wraps but every word of it is printed.
	for _, w := range strings.Fields(longName) {
		if !strings.Contains(flat, w) {
			t.Errorf("name word %q missing", w)
		}
	}
	if !strings.Contains(text, "Page 1 of ") || !strings.Contains(text, "Transactions") {
		t.Error("no page numbers or table")
	}
}
