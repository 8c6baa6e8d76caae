package ach

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
)

// inboundUpdate is the package's conventional -update flag (the outbound
// golden files honour it too): it rewrites testdata/inbound and
// docs/returns.md.
var inboundUpdate = flag.Bool("update", false, "rewrite testdata/inbound fixtures and docs/returns.md")

var inboundMoovDirOnce = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/moov-io/ach").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m github.com/moov-io/ach: %w", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		return "", errors.New("go list -m github.com/moov-io/ach: module not downloaded")
	}
	return dir, nil
})

// inboundMoovFile returns the bytes of a file of moov-io/ach's test data,
// read from the module cache (they are not copied into this repository).
func inboundMoovFile(tb testing.TB, rel string) []byte {
	tb.Helper()
	dir, err := inboundMoovDirOnce()
	if err != nil {
		tb.Skipf("moov-io/ach test files unavailable: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The fixtures under testdata/inbound: an origination file like drafter's,
// and the simulated bank's return and NOC files for it.
const (
	inboundFixtureDir = "testdata/inbound"
	inboundEntries    = 12
)

func inboundFixtureReturns(entries []bankTestEntry) []SimulatedReturn {
	return []SimulatedReturn{
		{Trace: entries[0].Trace, Code: "R01"},
		{Trace: entries[1].Trace, Code: "R02"},
		{Trace: entries[2].Trace, Code: "R09"},
		{Trace: entries[3].Trace, Code: "R03"},
		{Trace: entries[4].Trace, Code: "R04"},
		{Trace: entries[5].Trace, Code: "R07", AddendaInformation: "AUTHORIZATION REVOKED"},
		{Trace: entries[6].Trace, Code: "R08"},
		{Trace: entries[7].Trace, Code: "R14", DateOfDeath: civil.MustParse("1998-03-15")},
		{Trace: entries[8].Trace, Code: "R15", DateOfDeath: civil.MustParse("2026-11-02")},
		{Trace: entries[9].Trace, Code: "R10"},
		{Trace: entries[10].Trace, Code: "R29"},
		{Trace: entries[11].Trace, Code: "R24"},
	}
}

func inboundFixtureCorrections(entries []bankTestEntry) []SimulatedCorrection {
	return []SimulatedCorrection{
		{Trace: entries[0].Trace, ChangeCode: "C01", AccountNumber: "99887766554433"},
		{Trace: entries[1].Trace, ChangeCode: "C02", RoutingNumber: "026009593"},
		{Trace: entries[2].Trace, ChangeCode: "C03", RoutingNumber: "011000015", AccountNumber: "12345678901234567"},
		{Trace: entries[3].Trace, ChangeCode: "C05", TransactionCode: 37},
		{Trace: entries[4].Trace, ChangeCode: "C06", AccountNumber: "5550001111", TransactionCode: 27},
		{Trace: entries[5].Trace, ChangeCode: "C07", RoutingNumber: "091000019", AccountNumber: "7007007007", TransactionCode: 27},
		{Trace: entries[6].Trace, ChangeCode: "C09", IndividualID: "LN00009999"},
		{Trace: entries[10].Trace, ChangeCode: "C13"},
	}
}

// TestInboundFixtures rebuilds the fixtures from the simulated bank (they
// must come out byte for byte the same: the bank is deterministic), and
// compares what ParseInbound makes of each with its golden JSON.
func TestInboundFixtures(t *testing.T) {
	orig, entries := bankTestOrigination(t, inboundEntries)
	returns, err := BuildReturnFile(orig, inboundFixtureReturns(entries), bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	nocs, err := BuildNOCFile(orig, inboundFixtureCorrections(entries), bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"origination.ach": orig, "returns.ach": returns, "noc.ach": nocs}
	for name, want := range files {
		path := filepath.Join(inboundFixtureDir, name)
		if *inboundUpdate {
			if err := os.MkdirAll(inboundFixtureDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./ach/ -run TestInboundFixtures -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the simulated bank builds now; run with -update if the change is intended", path)
		}
	}
	for _, name := range []string{"returns", "noc"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(inboundFixtureDir, name+".ach"))
			if err != nil {
				t.Fatal(err)
			}
			in, err := ParseInbound(bytes.NewReader(b), name+".ach")
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(in, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join(inboundFixtureDir, name+".json")
			if *inboundUpdate {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("ParseInbound(%s) differs from %s; run with -update if the change is intended\n%s", name, golden, got)
			}
		})
	}
}

func inboundFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(inboundFixtureDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseInboundFixtureValues(t *testing.T) {
	in, err := ParseInbound(bytes.NewReader(inboundFixture(t, "returns.ach")), "returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	_, entries := bankTestOrigination(t, inboundEntries)
	want := inboundFixtureReturns(entries)
	if len(in.Returns) != len(want) {
		t.Fatalf("%d returns, want %d", len(in.Returns), len(want))
	}
	seen := map[string]bool{}
	for i, r := range in.Returns {
		seen[r.OriginalTrace] = true
		if i > 0 && r.Line <= in.Returns[i-1].Line {
			t.Errorf("returns are not in file order: line %d after %d", r.Line, in.Returns[i-1].Line)
		}
		lines := strings.Split(r.Raw, "\n")
		if len(lines) != 2 || len(lines[0]) != 94 || len(lines[1]) != 94 || lines[0][0] != '6' || lines[1][:3] != "799" {
			t.Errorf("line %d: raw is not the entry and its addenda: %q", r.Line, r.Raw)
		}
		switch r.Code {
		case "R14":
			if r.DateOfDeath != civil.MustParse("1998-03-15") {
				t.Errorf("R14 date of death %s: a year after the file's creation is from the 1900s", r.DateOfDeath)
			}
		case "R15":
			if r.DateOfDeath != civil.MustParse("2026-11-02") {
				t.Errorf("R15 date of death %s", r.DateOfDeath)
			}
		default:
			if !r.DateOfDeath.IsZero() {
				t.Errorf("%s has a date of death", r.Code)
			}
		}
	}
	for _, w := range want {
		if !seen[w.Trace] {
			t.Errorf("no return for %s", w.Trace)
		}
	}
	if in.SHA256 == "" || in.Records%10 != 0 || in.File != "returns.ach" {
		t.Errorf("file info: %q %d %q", in.SHA256, in.Records, in.File)
	}
}

func TestParseInboundMoovFiles(t *testing.T) {
	tests := []struct {
		path        string
		returns     []string // codes in file order
		kind        ReturnKind
		corrections []string
	}{
		{path: "test/testdata/return-WEB.ach", returns: []string{"R01", "R03"}, kind: KindReturn},
		{path: "test/issues/testdata/issue1620_return.ach", returns: []string{"R03"}, kind: KindReturn},
		{path: "examples/testdata/dishonored-return.ach", returns: []string{"R68", "R68"}, kind: KindDishonored},
		{path: "test/testdata/contested_addenda.txt", returns: []string{"R72"}, kind: KindContested},
		{path: "test/testdata/cor-example.ach", corrections: []string{"C01"}},
		{path: "test/ach-cor-read/cor-read.ach", corrections: []string{"C01"}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			b := inboundConform(inboundMoovFile(t, tt.path))
			in, err := ParseInbound(bytes.NewReader(b), filepath.Base(tt.path))
			if err != nil {
				t.Fatal(err)
			}
			var codes, corrections []string
			for _, r := range in.Returns {
				codes = append(codes, r.Code)
				if r.Kind != tt.kind {
					t.Errorf("%s: kind %s, want %s", r.Code, r.Kind, tt.kind)
				}
				if (r.Kind == KindReturn) != (r.Dishonor == nil) {
					t.Errorf("%s: dishonor detail %v for kind %s", r.Code, r.Dishonor, r.Kind)
				}
			}
			for _, c := range in.Corrections {
				corrections = append(corrections, c.ChangeCode)
			}
			if fmt.Sprint(codes) != fmt.Sprint(tt.returns) || fmt.Sprint(corrections) != fmt.Sprint(tt.corrections) {
				t.Errorf("returns %v corrections %v, want %v %v", codes, corrections, tt.returns, tt.corrections)
			}
		})
	}

	// One file in detail.
	in, err := ParseInbound(bytes.NewReader(inboundMoovFile(t, "test/testdata/return-WEB.ach")), "return-WEB.ach")
	if err != nil {
		t.Fatal(err)
	}
	r := in.Returns[0]
	if r.OriginalTrace != "091400600000001" || r.OriginalRDFI != "09100001" || r.Amount != 12354 || r.Line != 3 ||
		r.TransactionCode != 26 || r.SEC != "WEB" || r.IndividualName != "Paul Jones" || r.AccountNumberLast4 != "6789" ||
		r.AccountNumberSHA256 != AccountNumberSHA256("123456789") || r.Trace != "091000017611242" {
		t.Errorf("first return: %+v", r)
	}
	if !strings.HasPrefix(r.Raw, "626091400606*****6789        0000012354") {
		t.Errorf("raw: %q", r.Raw)
	}
	d, err := ParseInbound(bytes.NewReader(inboundConform(inboundMoovFile(t, "examples/testdata/dishonored-return.ach"))), "d.ach")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Returns[0].Dishonor; got == nil || got.ReturnTrace != "123918710000001" || got.ReturnCode != "R01" || got.ReturnSettlementDay != "179" {
		t.Errorf("dishonor detail: %+v", got)
	}
	c, err := ParseInbound(bytes.NewReader(inboundConform(inboundMoovFile(t, "test/testdata/cor-example.ach"))), "c.ach")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Corrections[0]; got.CorrectedData.AccountNumber.Reveal() != "1918171614" || got.OriginalTrace != "121042880000001" || got.OriginalRDFI != "12104288" {
		t.Errorf("correction: %+v", got)
	}
}

// inboundConform mends what moov-io/ach's synthetic test files get wrong
// for a bank's return or NOC file: an entry followed by an addenda 98 or 99
// gets the return transaction code of its kind of account (22 becomes 21,
// 27 becomes 26), and the addenda the entry's trace number. Totals do not
// change (a debit code stays a debit code).
func inboundConform(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i++ {
		e, a := lines[i], lines[i+1]
		if len(e) < 94 || len(a) < 94 || e[0] != '6' || (a[:3] != "799" && a[:3] != "798") {
			continue
		}
		code := "1"
		if e[2] >= '5' {
			code = "6"
		}
		lines[i] = e[:2] + code + e[3:]
		lines[i+1] = a[:79] + e[79:94] + a[94:]
	}
	return []byte(strings.Join(lines, "\n"))
}

func TestParseInboundRejects(t *testing.T) {
	orig := inboundFixture(t, "origination.ach")
	tests := []struct {
		name  string
		moov  string // a moov-io/ach test file, or
		data  []byte // the bytes
		line  int
		field string
	}{
		{name: "unknown return code", moov: "test/testdata/pos-invalidReturnFile.ach", line: 4, field: "addenda99 return code"},
		{name: "unknown change code", moov: "test/testdata/web-invalidNOCFile.ach", line: 4, field: "addenda98 change code"},
		{name: "three addenda on one entry", data: inboundConform(inboundMoovFile(t, "examples/testdata/contested-return.ach")), line: 5, field: "addenda"},
		{name: "a forward debit carrying a return", moov: "examples/testdata/dishonored-return.ach", line: 3, field: "entry transaction code"},
		{name: "a forward credit carrying a return", moov: "test/issues/testdata/issue1620_return.ach", line: 3, field: "entry transaction code"},
		{name: "addenda trace not its entry's", moov: "test/testdata/cor-example.ach", line: 4, field: "addenda98 trace number"},
		{name: "short line of a forward file", moov: "test/testdata/short-line.ach", line: 3, field: "entry addenda"},
		{name: "long line", moov: "test/testdata/long-line.ach", line: 3, field: "record length"},
		{name: "no file header", moov: "test/testdata/return-no-file-header-control.ach", line: 0, field: "file header"},
		{name: "no batch header", moov: "test/testdata/return-no-batch-header.ach", line: 1, field: "entry"},
		{name: "IAT returns", moov: "test/testdata/iat-addenda99.ach", line: 2, field: "batch header SEC code"},
		{name: "crasher 0", moov: "test/testdata/crashers/0.ach", line: 1, field: "record length"},
		{name: "crasher 3", moov: "test/testdata/crashers/3.ach", line: 1, field: "record length"},
		{name: "a forward file", data: orig, line: 3, field: "entry addenda"},
		{name: "empty", data: nil, line: 0, field: "file"},
		{name: "spaces only", data: []byte("   \n\n"), line: 0, field: "file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if tt.moov != "" {
				data = inboundMoovFile(t, tt.moov)
			}
			inboundExpectError(t, data, tt.line, tt.field)
		})
	}
}

// inboundExpectError parses data as "in.ach" and wants a *ParseError at
// line naming field.
func inboundExpectError(t *testing.T, data []byte, line int, field string) *ParseError {
	t.Helper()
	in, err := ParseInbound(bytes.NewReader(data), "in.ach")
	if err == nil {
		t.Fatalf("parsed: %d returns, %d corrections", len(in.Returns), len(in.Corrections))
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.File != "in.ach" || pe.Line != line || !strings.Contains(pe.Field, field) || pe.Problem == "" {
		t.Errorf("got %q (line %d, field %q), want line %d, field containing %q", err, pe.Line, pe.Field, line, field)
	}
	prefix := "in.ach:"
	if line == 0 {
		prefix = "in.ach: "
	}
	if !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("%q does not start with %q", err, prefix)
	}
	return pe
}

// inboundEdit returns the fixture with line n (1-based) changed by edit.
func inboundEdit(tb testing.TB, name string, n int, edit func(string) string) []byte {
	tb.Helper()
	lines := strings.Split(string(inboundFixture(tb, name)), "\n")
	lines[n-1] = edit(lines[n-1])
	return []byte(strings.Join(lines, "\n"))
}

func inboundSplice(at int, with string) func(string) string {
	return func(s string) string { return s[:at] + with + s[at+len(with):] }
}

func TestParseInboundMalformed(t *testing.T) {
	// returns.ach: line 1 file header, 2 batch header, 3 entry, 4 addenda 99, ...
	ret := func(n int, edit func(string) string) []byte { return inboundEdit(t, "returns.ach", n, edit) }
	noc := func(n int, edit func(string) string) []byte { return inboundEdit(t, "noc.ach", n, edit) }
	lines := strings.Split(string(inboundFixture(t, "returns.ach")), "\n")
	fileControl := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "9") && !strings.HasPrefix(l, "9999") {
			fileControl = i + 1
		}
	}
	tests := []struct {
		name  string
		data  []byte
		line  int
		field string
	}{
		{"unknown return code", ret(4, inboundSplice(3, "R48")), 4, "addenda99 return code"},
		{"addenda 05 on a return", ret(4, inboundSplice(1, "05")), 4, "addenda type code"},
		{"original trace not digits", ret(4, inboundSplice(6, "0210000ABCDEFGH")), 4, "addenda99 original entry trace number"},
		{"bad date of death", ret(4, inboundSplice(21, "261399")), 4, "addenda99 date of death"},
		{"entry without addenda", []byte(strings.Join(append(append([]string{}, lines[:3]...), lines[4:]...), "\n")), 3, "entry addenda"},
		{"truncated record", ret(5, func(s string) string { return s[:80] }), 5, "entry trace number"},
		{"blank line inside", ret(5, func(s string) string { return "\n" + s }), 5, "record length"},
		{"control byte", ret(3, inboundSplice(40, "\x01")), 3, "record"},
		{"non-ASCII", ret(3, inboundSplice(40, "\xc3")), 3, "record"},
		{"amount not numeric", ret(3, inboundSplice(29, "00000ABCDE")), 3, "entry amount"},
		{"blank inside the account number", ret(3, inboundSplice(16, " ")), 3, "entry DFI account number"},
		{"trace not numeric", ret(3, inboundSplice(79, "0110000100000X1")), 3, "entry trace number"},
		{"batch totals off", ret(3, inboundSplice(29, "0000000001")), 0, "batch"},
		{"file totals off", ret(fileControl, inboundSplice(31, "9999999999")), fileControl, "file control"},
		{"record type 4", ret(5, inboundSplice(0, "4")), 5, "record type"},
		{"C02 bad routing", noc(12, inboundSplice(35, "123456789")), 12, "addenda98 corrected data"},
		{"C01 no data", noc(4, inboundSplice(35, strings.Repeat(" ", 29))), 4, "addenda98"},
		{"C05 bad transaction code", noc(6, inboundSplice(35, "99")), 6, "addenda98 corrected data"},
		{"C07 missing transaction code", noc(20, inboundSplice(35, "0260095937007007007         ")), 20, "addenda98 corrected data"},
		{"C03 bad account character", noc(18, inboundSplice(47, "1234+678")), 18, "addenda98 corrected data"},
		{"C10 is not accepted", noc(4, inboundSplice(3, "C10")), 4, "addenda98 change code"},
		{"trace not digits in NOC", noc(4, inboundSplice(6, "02100002ABCDEFG")), 4, "addenda98 original entry trace number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ParseInbound(bytes.NewReader(tt.data), "in.ach")
			if err == nil {
				t.Fatalf("parsed: %d returns, %d corrections", len(in.Returns), len(in.Corrections))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%v is not a *ParseError", err)
			}
			if tt.line != 0 && pe.Line != tt.line || !strings.Contains(pe.Field, tt.field) || pe.Line < 0 {
				t.Errorf("got %q (line %d, field %q), want line %d, field containing %q", err, pe.Line, pe.Field, tt.line, tt.field)
			}
			if pe.Line == 0 && tt.name != "file totals off" {
				t.Errorf("%q: a record problem should carry its line", err)
			}
			inboundNoAccountNumbers(t, err.Error())
			t.Log(err)
		})
	}
}

// inboundAccountNumbers are every full account number in the fixtures.
func inboundAccountNumbers(tb testing.TB) []string {
	tb.Helper()
	_, entries := bankTestOrigination(tb, inboundEntries)
	var out []string
	for _, e := range entries {
		out = append(out, e.Account)
	}
	for _, c := range inboundFixtureCorrections(entries) {
		if c.AccountNumber != "" {
			out = append(out, c.AccountNumber)
		}
	}
	return out
}

func inboundNoAccountNumbers(t *testing.T, s string) {
	t.Helper()
	for _, acct := range inboundAccountNumbers(t) {
		if strings.Contains(s, acct) {
			t.Errorf("full account number %s…%s appears in %.200q", acct[:2], acct[len(acct)-2:], s)
		}
	}
}

func TestParseInboundHidesAccountNumbers(t *testing.T) {
	for _, name := range []string{"returns.ach", "noc.ach"} {
		in, err := ParseInbound(bytes.NewReader(inboundFixture(t, name)), name)
		if err != nil {
			t.Fatal(err)
		}
		j, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{fmt.Sprint(in), fmt.Sprintf("%+v", in), fmt.Sprintf("%#v", in), string(j)} {
			inboundNoAccountNumbers(t, s)
		}
	}
	// The corrected account number is there for whoever asks by name.
	in, _ := ParseInbound(bytes.NewReader(inboundFixture(t, "noc.ach")), "noc.ach")
	a := in.Corrections[0].CorrectedData.AccountNumber
	if a.Reveal() != "99887766554433" || a.Last4() != "4433" || a.SHA256() != AccountNumberSHA256("99887766554433") {
		t.Errorf("corrected account: %s %s", a.Last4(), a.SHA256())
	}
	for verb, want := range map[string]string{"%v": "****4433", "%s": "****4433", "%q": `"****4433"`, "%#v": `"****4433"`, "%+v": "****4433", "%10s": "****4433"} {
		if got := fmt.Sprintf(verb, a); got != want {
			t.Errorf("Sprintf(%s) = %q, want %q", verb, got, want)
		}
	}
	if (CorrectedAccountNumber{}).String() != "" || !(CorrectedAccountNumber{}).IsZero() || (CorrectedAccountNumber{}).SHA256() != "" {
		t.Error("the zero CorrectedAccountNumber should print and hash as nothing")
	}
}

func TestParseInboundRedactsErrors(t *testing.T) {
	lines := strings.Split(strings.TrimRight(string(inboundFixture(t, "noc.ach")), "\n"), "\n")
	p := inboundParser{file: "noc.ach", lines: lines}
	accounts := inboundAccountNumbers(t)
	e := p.redact(&ParseError{Problem: "DFIAccountNumber " + accounts[0] + " and corrected " + "99887766554433" + " are bad"})
	inboundNoAccountNumbers(t, e.Error())
	if !strings.Contains(e.Problem, "****"+accounts[0][len(accounts[0])-4:]) {
		t.Errorf("redacted problem %q should keep the last four", e.Problem)
	}
}

func TestParseInboundLineEndings(t *testing.T) {
	lf := inboundFixture(t, "returns.ach")
	want, err := ParseInbound(bytes.NewReader(lf), "x")
	if err != nil {
		t.Fatal(err)
	}
	body := strings.TrimRight(string(lf), "\n")
	variants := map[string]string{
		"CRLF":                 strings.ReplaceAll(body, "\n", "\r\n") + "\r\n",
		"CR":                   strings.ReplaceAll(body, "\n", "\r"),
		"no final newline":     body,
		"trailing blank lines": body + "\n\n   \n",
		"no line breaks":       strings.ReplaceAll(body, "\n", ""),
	}
	for name, data := range variants {
		t.Run(name, func(t *testing.T) {
			got, err := ParseInbound(strings.NewReader(data), "x")
			if err != nil {
				t.Fatal(err)
			}
			got.SHA256, want.SHA256 = "", ""
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Errorf("parsed differently from the LF file")
			}
		})
	}
	inboundExpectError(t, []byte(strings.ReplaceAll(body, "\n", "")+"9"), 41, "record length")
}

func TestParseInboundZeroBatches(t *testing.T) {
	header := strings.Split(string(inboundFixture(t, "returns.ach")), "\n")[0]
	control := fmt.Sprintf("%-94s", "9000000000001000000000000000000000000000000000000000000")
	data := header + "\n" + control + "\n" + strings.Repeat(strings.Repeat("9", 94)+"\n", 8)
	in, err := ParseInbound(strings.NewReader(data), "empty-returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Returns)+len(in.Corrections) != 0 || in.Created != bankTestCreated {
		t.Errorf("%+v", in)
	}
}

func TestParseInboundReadError(t *testing.T) {
	_, err := ParseInbound(inboundFailingReader{}, "broken.ach")
	if err == nil || !strings.Contains(err.Error(), "broken.ach") || !errors.Is(err, errInboundTestRead) {
		t.Errorf("err = %v", err)
	}
}

var errInboundTestRead = errors.New("disk on fire")

type inboundFailingReader struct{}

func (inboundFailingReader) Read([]byte) (int, error) { return 0, errInboundTestRead }

func TestParseErrorString(t *testing.T) {
	tests := []struct {
		e    ParseError
		want string
	}{
		{ParseError{File: "returns-20261125.ach", Line: 14, Field: "addenda99 return code", Problem: `"R48" is not a return code NACHA defines`},
			`returns-20261125.ach:14: addenda99 return code: "R48" is not a return code NACHA defines`},
		{ParseError{File: "r.ach", Field: "file", Problem: "the file is empty"}, "r.ach: file: the file is empty"},
		{ParseError{File: "r.ach", Line: 2, Problem: "bad"}, "r.ach:2: bad"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	_, err := ParseInbound(bytes.NewReader(inboundMoovFile(t, "test/testdata/web-invalidNOCFile.ach")), "n.ach")
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%v", err)
	}
	// A moov-io/ach validation failure unwraps to moov's sentinel.
	_, err = ParseInbound(bytes.NewReader(inboundEdit(t, "returns.ach", 2, inboundSplice(50, "XYZ"))), "r.ach")
	if !errors.Is(err, moov.ErrSECCode) {
		t.Errorf("SEC code error %v does not unwrap to moov-io/ach's", err)
	}
}

func TestInboundWords(t *testing.T) {
	for in, want := range map[string]string{
		"DFIAccountNumber": "DFI account number",
		"ReturnCode":       "return code",
		"TraceNumber":      "trace number",
		"Amount":           "amount",
		"ID":               "ID",
		"":                 "",
	} {
		if got := inboundWords(in); got != want {
			t.Errorf("inboundWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestInboundMaskText: the account number field of C01, C03, C06 and C07
// is masked because it is that field, even when it looks like a routing
// number (as about 1 in 10 numbers of nine digits do) or is short.
func TestInboundMaskText(t *testing.T) {
	for _, tc := range []struct{ code, in, want string }{
		{"C01", "1918171614                   ", "******1614                   "},
		{"C01", "026009593                    ", "*****9593                    "},
		{"C01", "94659                        ", "***59                        "},
		{"C06", "021000021        27          ", "*****0021        27          "},
		{"C02", "026009593                    ", "026009593                    "},
		{"C03", "011000015   12345678901234567", "011000015   *************4567"},
		{"C03", "011000015   021000021        ", "011000015   *****0021        "},
		{"C07", "0910000197007007007       27 ", "091000019******7007       27 "},
		{"C07", "091000019021000021        27 ", "091000019*****0021        27 "},
		{"C14", "JANE Q PUBLIC                ", "JANE Q PUBLIC                "},
		{"C05", "37                           ", "37                           "},
		{"C09", "ID12345678                   ", "******5678                   "},
	} {
		if got := inboundMaskText(tc.code, tc.in); got != tc.want {
			t.Errorf("inboundMaskText(%s, %q) = %q, want %q", tc.code, tc.in, got, tc.want)
		}
	}
}

// FuzzParseInbound: no input makes ParseInbound panic; what it accepts
// holds only known codes, 15-digit original traces, 94-character raw
// records, and no unmasked account field in Raw.
func FuzzParseInbound(f *testing.F) {
	for _, name := range []string{"returns.ach", "noc.ach", "origination.ach"} {
		f.Add(inboundFixture(f, name))
	}
	// One file per thing a strict reader must catch.
	strict, _ := filepath.Glob(filepath.Join(inboundFixtureDir, "strict", "*.ach"))
	for _, path := range strict {
		f.Add(inboundFixture(f, filepath.Join("strict", filepath.Base(path))))
	}
	if _, err := inboundMoovDirOnce(); err == nil {
		for _, rel := range []string{
			"test/testdata/return-WEB.ach", "test/testdata/cor-example.ach", "test/testdata/contested_addenda.txt",
			"examples/testdata/dishonored-return.ach", "examples/testdata/contested-return.ach",
			"test/testdata/pos-invalidReturnFile.ach", "test/testdata/web-invalidNOCFile.ach",
			"test/issues/testdata/issue1620_return.ach", "test/testdata/crashers/0.ach",
		} {
			f.Add(inboundMoovFile(f, rel))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseInbound(bytes.NewReader(data), "fuzz.ach")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			return
		}
		for _, r := range in.Returns {
			if p, ok := ReturnPolicy(r.Code); !ok || p.Kind != r.Kind {
				t.Fatalf("return code %q kind %s", r.Code, r.Kind)
			}
			inboundFuzzCommon(t, r.OriginalTrace, r.Raw, r.Line, in.Records)
		}
		for _, c := range in.Corrections {
			if p, ok := CorrectionPolicy(c.ChangeCode); !ok || (p.Action == CorrectionRefused) != c.Refused {
				t.Fatalf("change code %q refused %v", c.ChangeCode, c.Refused)
			}
			inboundFuzzCommon(t, c.OriginalTrace, c.Raw, c.Line, in.Records)
		}
	})
}

func inboundFuzzCommon(t *testing.T, trace, raw string, line, records int) {
	if len(trace) != 15 || !inboundDigits(trace) {
		t.Fatalf("original trace %q", trace)
	}
	if line < 1 || line >= records {
		t.Fatalf("line %d of %d records", line, records)
	}
	recs := strings.Split(raw, "\n")
	if len(recs) != 2 || len(recs[0]) != 94 || len(recs[1]) != 94 {
		t.Fatalf("raw %q", raw)
	}
	acct := strings.TrimSpace(recs[0][12:29])
	if len(acct) > 4 && strings.Trim(acct[:len(acct)-4], "*") != "" {
		t.Fatalf("raw account field %q is not masked", recs[0][12:29])
	}
}

// BenchmarkParseInbound parses a return file of 100,000 entries, keeping
// them all (ParseInbound).
func BenchmarkParseInbound(b *testing.B) { benchmarkInbound(b, true) }

// BenchmarkReadInbound reads the same file entry by entry (ReadInbound),
// as ingest does: its peak heap does not grow with the file.
func BenchmarkReadInbound(b *testing.B) { benchmarkInbound(b, false) }

func benchmarkInbound(b *testing.B, keep bool) {
	const n = 100_000
	orig, entries := bankTestOrigination(b, n)
	returns := make([]SimulatedReturn, n)
	codes := []string{"R01", "R02", "R03", "R09", "R07"}
	for i, e := range entries {
		returns[i] = SimulatedReturn{Trace: e.Trace, Code: codes[i%len(codes)]}
	}
	file, err := BuildReturnFile(orig, returns, bankTestCreated)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(file)))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	peak := inboundPeakHeap()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		if keep {
			in, err := ParseInbound(bytes.NewReader(file), "bench.ach")
			if err != nil {
				b.Fatal(err)
			}
			got = len(in.Returns)
		} else if _, err := ReadInbound(bytes.NewReader(file), "bench.ach", func(InboundEntry) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("%d returns", got)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64((peak()-base.HeapInuse)>>20), "peakHeapMiB")
	b.ReportMetric(float64(len(file)>>20), "fileMiB")
}

// inboundPeakHeap samples the heap in use every millisecond until the
// returned function is called, which returns the largest sample.
func inboundPeakHeap() func() uint64 {
	done := make(chan struct{})
	result := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				result <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return <-result }
}

// A returns job reads the bank's file, then looks up what to do with each
// return.
func ExampleParseInbound() {
	f, err := os.Open("testdata/inbound/returns.ach")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	in, err := ParseInbound(f, "returns.ach")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range in.Returns[:4] {
		p, _ := ReturnPolicy(r.Code)
		retry, why := RepresentmentDecision(r.Code, 1, civil.MustParse("2026-11-23"), in.Created)
		fmt.Printf("%s %s ****%s %s: %s; invalidate account %v; retry %v (%s)\n",
			r.OriginalTrace, r.Code, r.AccountNumberLast4, r.Amount, p.Reason, p.InvalidateBankAccount, retry, why)
	}
	// Output:
	// 021000020000001 R01 ****2345 $250.00: there was not enough money in the account; invalidate account false; retry true (R01: retry 1 of 2; it must settle by 2027-05-22)
	// 021000020000004 R03 ****6102 $280.39: the bank could not find an account with that number; invalidate account true; retry false (R03 (No Account/Unable to Locate Account) is never re-presented; only R01 and R09 are)
	// 021000020000007 R08 ****9859 $310.78: a stop payment was placed on this payment at your bank; invalidate account false; retry false (R08 (Payment Stopped) is never re-presented; only R01 and R09 are)
	// 021000020000002 R02 ****0264 $260.13: the bank account has been closed; invalidate account true; retry false (R02 (Account Closed) is never re-presented; only R01 and R09 are)
}

// TestParseInboundStrict reads one small file per thing a strict reader of
// bank files must catch (testdata/inbound/strict, made from returns.ach):
// each is refused with the line, the field and drafter's own words.
func TestParseInboundStrict(t *testing.T) {
	tests := []struct {
		file    string
		line    int
		field   string
		problem string // a part of the problem
	}{
		{"block-count.ach", 38, "file control block count", "says 5 blocks of 10 records; the file's 40 records, padding included, make 4"},
		{"addenda-trace.ach", 4, "addenda99 trace number", `"011000010000099" is not the trace number "011000010000001" of its entry on line 3`},
		{"forward-debit.ach", 3, "entry transaction code", "27 is not a return or NOC code"},
		{"padding-998.ach", 40, "padding", "only padding records of 94 nines may follow the file control on line 38"},
		{"bom.ach", 1, "file", "UTF-8 byte order mark"},
		{"ctrl-z.ach", 41, "file", "Ctrl-Z"},
		{"creation-date.ach", 1, "file header file creation date", `"261399" is not a date in YYMMDD form`},
		{"no-batch-control.ach", 34, "batch control", "the batch that starts on this line has no batch control record (type 8): the file control on line 37 comes first"},
		{"batch-count.ach", 9, "batch control entry/addenda count", "says 7; the records add up to 6"},
		{"batch-hash.ach", 9, "batch control entry hash", "says 6300007; the records add up to 6300006"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := inboundFixture(t, filepath.Join("strict", tt.file))
			pe := inboundExpectError(t, data, tt.line, tt.field)
			if pe.Field != tt.field || !strings.Contains(pe.Problem, tt.problem) {
				t.Errorf("got field %q problem %q, want field %q problem containing %q", pe.Field, pe.Problem, tt.field, tt.problem)
			}
			if strings.Contains(pe.Problem, "constructor") || strings.Contains(pe.Problem, "record length") {
				t.Errorf("problem %q is not in drafter's words", pe.Problem)
			}
		})
	}
}

// TestParseInboundRepeat: the same return twice in a file is read twice,
// the second naming the first's line, so the job can hold it for a person
// instead of collapsing it.
func TestParseInboundRepeat(t *testing.T) {
	in, err := ParseInbound(bytes.NewReader(inboundFixture(t, "strict/repeat.ach")), "repeat.ach")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Returns) != inboundEntries+1 {
		t.Fatalf("%d returns, want %d", len(in.Returns), inboundEntries+1)
	}
	var repeats []string
	for _, r := range in.Returns {
		if r.RepeatOf != 0 {
			repeats = append(repeats, fmt.Sprintf("%d of %d %s", r.Line, r.RepeatOf, r.OriginalTrace))
		}
	}
	if want := "[39 of 3 021000020000001]"; fmt.Sprint(repeats) != want {
		t.Errorf("repeats %v, want %s", repeats, want)
	}
	clean, err := ParseInbound(bytes.NewReader(inboundFixture(t, "returns.ach")), "returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range clean.Returns {
		if r.RepeatOf != 0 {
			t.Errorf("line %d marked a repeat of %d in a file without repeats", r.Line, r.RepeatOf)
		}
	}
}

// TestParseInboundTrimmedRecords: a processor's zero-entry file whose
// records lost their trailing blanks is read, with a note saying which
// records were padded.
func TestParseInboundTrimmedRecords(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		note string
	}{
		{"heartbeat-trimmed.ach", inboundFixture(t, "strict/heartbeat-trimmed.ach"), "lines 1 and 2 were shorter than 94 characters"},
		{"FISERV zero file", inboundMoovFile(t, "test/testdata/FISERV-ZEROFILE-PIMRET825324_032720_110221.ach"), "lines 1 and 2 were shorter"},
		{"trimmed entry file", inboundEdit(t, "returns.ach", 38, func(s string) string { return strings.TrimRight(s, " ") }), "line 38 was shorter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ParseInbound(bytes.NewReader(tt.data), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Notes) != 1 || !strings.Contains(in.Notes[0], tt.note) {
				t.Errorf("notes %q, want one containing %q", in.Notes, tt.note)
			}
		})
	}
	in, err := ParseInbound(bytes.NewReader(inboundFixture(t, "returns.ach")), "returns.ach")
	if err != nil || len(in.Notes) != 0 {
		t.Errorf("a clean file: notes %q, err %v", in.Notes, err)
	}
}

func TestInboundLineList(t *testing.T) {
	for _, tt := range []struct {
		lines []int
		want  string
	}{
		{[]int{3}, "line 3 was"},
		{[]int{1, 2}, "lines 1 and 2 were"},
		{[]int{1, 2, 5}, "lines 1, 2 and 5 were"},
		{[]int{1, 2, 3, 4, 5, 6, 7}, "lines 1, 2, 3, 4, 5 and 2 more were"},
	} {
		if got := inboundLineList(tt.lines, len(tt.lines)); got != tt.want {
			t.Errorf("inboundLineList(%v) = %q, want %q", tt.lines, got, tt.want)
		}
	}
}
