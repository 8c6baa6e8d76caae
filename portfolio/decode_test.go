package portfolio

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// sampleLines returns the first n lines of the committed sample extract.
func sampleLines(t testing.TB, n int) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "portfolio", "small.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < n {
		t.Fatalf("sample has %d lines, want %d", len(lines), n)
	}
	return lines[:n]
}

type decoded struct {
	ids  []string
	errs []string
}

func decodeAll(t *testing.T, r io.Reader, file string) decoded {
	t.Helper()
	var out decoded
	d := NewDecoder(r, file)
	for {
		a, err := d.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			les := LineErrors(err)
			if len(les) == 0 {
				t.Fatalf("error that is not a LineError: %v", err)
			}
			for _, le := range les {
				out.errs = append(out.errs, le.Error())
			}
			continue
		}
		out.ids = append(out.ids, a.ID)
	}
}

func TestDecodeLineEndingsAndBlankLines(t *testing.T) {
	l := sampleLines(t, 3)
	tests := []struct {
		name  string
		input string
	}{
		{"LF", l[0] + "\n" + l[1] + "\n" + l[2] + "\n"},
		{"CRLF", l[0] + "\r\n" + l[1] + "\r\n" + l[2] + "\r\n"},
		{"no final newline", l[0] + "\n" + l[1] + "\n" + l[2]},
		{"blank lines", "\n\n" + l[0] + "\n   \n\t\n" + l[1] + "\r\n\r\n" + l[2] + "\n\n"},
		{"byte order mark", "\xef\xbb\xbf" + l[0] + "\n" + l[1] + "\n" + l[2] + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []io.Reader{strings.NewReader(tt.input), iotest.OneByteReader(strings.NewReader(tt.input))} {
				got := decodeAll(t, r, "x.jsonl")
				if len(got.errs) > 0 {
					t.Fatalf("errors: %v", got.errs)
				}
				if want := "ACC-00000001 ACC-00000002 ACC-00000003"; strings.Join(got.ids, " ") != want {
					t.Fatalf("ids = %v, want %s", got.ids, want)
				}
			}
		})
	}
}

func TestDecodeLineNumbersCountBlankLines(t *testing.T) {
	l := sampleLines(t, 2)
	got := decodeAll(t, strings.NewReader("\n"+l[0]+"\n\n"+l[0]+"\n"), "x.jsonl")
	want := `x.jsonl:4: id: "ACC-00000001" was already used on line 2; want each account once per file`
	if len(got.errs) != 1 || got.errs[0] != want {
		t.Fatalf("errs = %q, want %q", got.errs, want)
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", "\n", "\r\n\r\n", "   "} {
		if got := decodeAll(t, strings.NewReader(in), "x.jsonl"); len(got.ids)+len(got.errs) != 0 {
			t.Errorf("%q: got %+v, want nothing", in, got)
		}
	}
}

func TestDecodeTruncatedLastLine(t *testing.T) {
	l := sampleLines(t, 2)
	got := decodeAll(t, strings.NewReader(l[0]+"\n"+l[1][:len(l[1])/2]), "x.jsonl")
	want := "x.jsonl:2: (line): ends in the middle of the JSON object (truncated?)"
	if len(got.ids) != 1 || len(got.errs) != 1 || !strings.HasPrefix(got.errs[0], want) {
		t.Fatalf("got %+v, want one account and %q", got, want)
	}
}

func TestDecodeHugeLine(t *testing.T) {
	l := sampleLines(t, 2)
	huge := `{"id":"` + strings.Repeat("x", 3*MaxLineBytes) + `"}`
	got := decodeAll(t, strings.NewReader(l[0]+"\n"+huge+"\n"+l[1]+"\n"), "x.jsonl")
	want := "x.jsonl:2: (line): line is 3145737 bytes long; want at most 1048576 bytes per account"
	if len(got.errs) != 1 || got.errs[0] != want {
		t.Fatalf("errs = %q, want %q", got.errs, want)
	}
	if strings.Join(got.ids, " ") != "ACC-00000001 ACC-00000002" {
		t.Fatalf("ids = %v: the lines around a huge line must decode", got.ids)
	}
	// A huge last line without a newline ends the file cleanly.
	got = decodeAll(t, strings.NewReader(l[0]+"\n"+huge), "x.jsonl")
	if len(got.errs) != 1 || len(got.ids) != 1 {
		t.Fatalf("got %d errors and %d accounts, want 1 and 1", len(got.errs), len(got.ids))
	}
}

func TestDecodeUnknownField(t *testing.T) {
	l := sampleLines(t, 1)
	line := strings.Replace(l[0], `"vin":`, `"color":"red","vin":`, 1)
	line = strings.Replace(line, `"routing":`, `"rtn":"x","routing":`, 1)
	got := decodeAll(t, strings.NewReader(line), "x.jsonl")
	want := "x.jsonl:1: contract.vehicle.color: unknown field; want only the fields in docs/portfolio-format.md"
	if len(got.errs) != 1 || got.errs[0] != want {
		t.Fatalf("errs = %q, want %q", got.errs, want)
	}
}

func TestDecodeTypeMismatchNamesTheField(t *testing.T) {
	// The third account has autopay and two odometer readings.
	l := sampleLines(t, 3)[2:]
	tests := []struct{ from, to, want string }{
		{`"routing":"061000159"`, `"routing":61000159`, "x.jsonl:1: bank_accounts[0].routing: is a JSON number; want a string"},
		{`"miles":2946`, `"miles":"2946"`, "x.jsonl:1: odometer_readings[1].miles: is a JSON string; want a whole number"},
		{`"monthly_payment_cents":55192`, `"monthly_payment_cents":551.92`, "x.jsonl:1: contract.monthly_payment_cents: 551.92 is not a whole number in range"},
		{`"opened_on":"2025-12-20"`, `"opened_on":"2025-02-30"`, `x.jsonl:1: contract.opened_on: "2025-02-30" is not a date; want YYYY-MM-DD`},
		{`"as_of":"2026-11-24"`, `"as_of":20261124`, `x.jsonl:1: balance.as_of: is a JSON number; want a date string "YYYY-MM-DD"`},
		{`"autopay":{`, `"autopay":[{`, "x.jsonl:1: autopay: is a JSON array; want an object"},
	}
	for _, tt := range tests {
		if !strings.Contains(l[0], tt.from) {
			t.Fatalf("sample line lacks %s", tt.from)
		}
		line := strings.Replace(l[0], tt.from, tt.to, 1)
		if tt.to == `"autopay":[{` {
			line = strings.Replace(line, `"status":"active"},"odometer`, `"status":"active"}],"odometer`, 1)
		}
		got := decodeAll(t, strings.NewReader(line), "x.jsonl")
		if len(got.errs) != 1 || !strings.HasPrefix(got.errs[0], tt.want) {
			t.Errorf("%s: errs = %q, want %q", tt.to, got.errs, tt.want)
		}
	}
}

func TestDecodeReadError(t *testing.T) {
	boom := errors.New("boom")
	d := NewDecoder(iotest.ErrReader(boom), "x.jsonl")
	if _, err := d.Next(); !errors.Is(err, boom) || len(LineErrors(err)) != 0 {
		t.Fatalf("err = %v, want the read error", err)
	}
	if _, err := d.Next(); !errors.Is(err, boom) {
		t.Fatalf("second Next: err = %v, want the read error again", err)
	}
}

func TestDecodeAllIterator(t *testing.T) {
	l := sampleLines(t, 3)
	d := NewDecoder(strings.NewReader(l[0]+"\nnope\n"+l[2]+"\n"), "x.jsonl")
	var ids []string
	nerr := 0
	for a, err := range d.All() {
		if err != nil {
			nerr++
			continue
		}
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, " ") != "ACC-00000001 ACC-00000003" || nerr != 1 {
		t.Fatalf("ids = %v, errors = %d", ids, nerr)
	}
}

// TestDecodeBadLinesFile checks every error of a hand-written file of bad
// lines against testdata/bad_lines.errors (rewrite with -update).
func TestDecodeBadLinesFile(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "bad_lines.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := decodeAll(t, f, "bad_lines.jsonl")
	text := strings.Join(got.errs, "\n") + "\n"
	golden := filepath.Join("testdata", "bad_lines.errors")
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if text != string(want) {
		t.Errorf("errors differ from %s:\n%s", golden, text)
	}
	if strings.Join(got.ids, " ") != "ACC-00000001" {
		t.Errorf("valid ids = %v, want ACC-00000001", got.ids)
	}
}

func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{
		filepath.Join("..", "testdata", "portfolio", "*.jsonl"),
		filepath.Join("testdata", "*.jsonl"),
	} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			// Single lines, and a few lines together: whole files make the
			// coverage-guided mutator crawl.
			lines := bytes.SplitAfter(b, []byte("\n"))
			f.Add(bytes.Join(lines[:min(3, len(lines))], nil))
			for _, line := range lines {
				f.Add(line)
			}
		}
	}
	f.Add([]byte("{}\n\r\n{\"id\":1}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), "fuzz.jsonl")
		for range 100000 {
			_, err := d.Next()
			if err == io.EOF {
				return
			}
			if err == nil {
				continue
			}
			les := LineErrors(err)
			if len(les) == 0 {
				t.Fatalf("error that is not a LineError: %v", err)
			}
			for _, le := range les {
				if le.Line < 1 || le.File != "fuzz.jsonl" || le.Field == "" || le.Problem == "" {
					t.Fatalf("malformed LineError %#v", le)
				}
			}
		}
		t.Fatal("decoder did not reach io.EOF")
	})
}
