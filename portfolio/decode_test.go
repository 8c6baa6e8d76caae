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

// TestDecodeLimits: a line longer than the line limit, or a file larger
// than the file limit, ends the decoding with a *LimitError as soon as the
// limit is passed, without reading the rest (an endless input ends too).
func TestDecodeLimits(t *testing.T) {
	l := sampleLines(t, 2)
	if len(l[0]) > len(l[1]) {
		l[0], l[1] = l[1], l[0] // the longer line second, for "one byte over"
	}
	huge := `{"id":"` + strings.Repeat("x", 3*MaxLineBytes) + `"}`
	tests := []struct {
		name    string
		r       io.Reader
		maxLine int
		maxFile int64
		ids     int
		want    string
	}{
		{"huge line", strings.NewReader(l[0] + "\n" + huge + "\n" + l[1] + "\n"), 0, 0, 1,
			"x.jsonl:2: (line): the line is longer than 1048576 bytes (DRAFTER_IMPORT_MAX_LINE_BYTES)"},
		{"huge last line without newline", strings.NewReader(l[0] + "\n" + huge), 0, 0, 1, "x.jsonl:2: (line): the line is longer"},
		{"endless zeros", endlessReader{}, 0, 0, 0, "x.jsonl:1: (line): the line is longer than 1048576 bytes"},
		{"line one byte over", strings.NewReader(l[0] + "\n" + l[1] + "\n"), len(l[1]) - 1, 0, 1, "x.jsonl:2: (line): the line is longer than"},
		{"line at the limit", strings.NewReader(l[0] + "\r\n" + l[1] + "\r\n"), max(len(l[0]), len(l[1])), 0, 2, ""},
		{"file over the limit", strings.NewReader(l[0] + "\n" + l[1] + "\n"), 0, int64(len(l[0]) + 5), 1,
			"x.jsonl:2: (line): the file is larger than"},
		{"endless lines", endlessLines(l[0]), 0, 10 << 20, -1, "(DRAFTER_IMPORT_MAX_FILE_BYTES)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.r, "x.jsonl")
			if tt.maxLine > 0 {
				d.MaxLine = tt.maxLine
			}
			if tt.maxFile > 0 {
				d.MaxFile = tt.maxFile
			}
			ids := 0
			var last error
			for {
				_, err := d.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					last = err
					var le *LimitError
					if errors.As(err, &le) {
						break
					}
					if len(LineErrors(err)) > 0 {
						continue // endless lines repeat an id
					}
					t.Fatalf("unexpected error %v", err)
				}
				ids++
			}
			if tt.ids >= 0 && ids != tt.ids {
				t.Errorf("%d accounts, want %d", ids, tt.ids)
			}
			if tt.want == "" {
				if last != nil {
					t.Errorf("error %v", last)
				}
				return
			}
			if last == nil || !strings.Contains(last.Error(), tt.want) || len(LineErrors(last)) != 0 {
				t.Errorf("error %v, want a *LimitError containing %q", last, tt.want)
			}
			if _, err := d.Next(); err != last {
				t.Errorf("after a limit, Next returns %v, want the same error again", err)
			}
		})
	}
}

type endlessReader struct{}

func (endlessReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// endlessLines repeats line forever.
func endlessLines(line string) io.Reader {
	b := []byte(line + "\n")
	return readerFunc(func(p []byte) (int, error) {
		n := 0
		for n < len(p) {
			n += copy(p[n:], b)
		}
		return n, nil
	})
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestDecodeDuplicateKeys: a field twice in one object is refused with its
// path, whatever the case or escaping of the second; the same name in
// different objects is fine.
func TestDecodeDuplicateKeys(t *testing.T) {
	l := sampleLines(t, 1)
	tests := []struct {
		name, line, want string
	}{
		{"id twice", strings.Replace(l[0], `{`, `{"id":"OTHER-1",`, 1), "x.jsonl:1: id: appears twice"},
		{"account number twice", strings.Replace(l[0], `"account_number":`, `"account_number":"999999999","account_number":`, 1),
			"x.jsonl:1: bank_accounts[0].account_number: appears twice"},
		{"other case", strings.Replace(l[0], `{`, `{"ID":"OTHER-1",`, 1), "x.jsonl:1: id: appears twice"},
		{"escaped", strings.Replace(l[0], `{`, `{"\u0069d":"OTHER-1",`, 1), "x.jsonl:1: id: appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeAll(t, strings.NewReader(tt.line), "x.jsonl")
			if len(got.errs) == 0 || !strings.HasPrefix(got.errs[0], tt.want) {
				t.Fatalf("errs = %q, want %q", got.errs, tt.want)
			}
		})
	}
	if field, dup := duplicateKey([]byte(l[0])); dup {
		t.Errorf("a clean line has a duplicate %s", field)
	}
	for line, want := range map[string]string{
		`{"a":{"b":1,"c":[{"d":1},{"d":2,"e":"d","d":3}]}}`: "a.c[1].d",
		`{"a":"\"a\"","b":{"a":1},"a":2}`:                   "a",
		`{"a":[1,{"a":1}],"b":{"a":{"a":1}}}`:               "",
	} {
		if field, _ := duplicateKey([]byte(line)); field != want {
			t.Errorf("duplicateKey(%s) = %q, want %q", line, field, want)
		}
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
	f.Add([]byte(`{"id":"A","ID":"B","bank_accounts":[{"account_number":"1","account_number":"2"}]}` + "\n" + `{"id":".."}`))
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
