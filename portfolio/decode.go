package portfolio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
)

// MaxLineBytes is the default longest line the decoder reads, newline
// excluded (DRAFTER_IMPORT_MAX_LINE_BYTES). A longer line ends the decoding
// with a *LimitError as soon as the limit is passed: memory never grows
// without bound, and an input without newlines (/dev/zero) is refused
// without being read to its end.
const MaxLineBytes = 1 << 20

// MaxFileBytes is the default largest extract the decoder reads
// (DRAFTER_IMPORT_MAX_FILE_BYTES).
const MaxFileBytes = 8 << 30

// LimitError ends the decoding of an input that passes a limit: a line
// longer than the line limit, or a file larger than the file limit. Error
// returns "FILE:LINE: field: problem"; it is not a *LineError, since no
// later line is read.
type LimitError struct{ LineError }

// Error returns "FILE:LINE: (line): problem".
func (e *LimitError) Error() string { return e.LineError.Error() }

// limitedReader counts what it reads and fails once more than max bytes
// came through.
type limitedReader struct {
	r        io.Reader
	n, max   int64
	exceeded bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		l.exceeded = true
		return 0, errFileTooLarge
	}
	if rest := l.max + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	return n, err
}

var errFileTooLarge = errors.New("file too large")

// Decoder reads an extract in JSON Lines form, one account per line, and
// validates each account. Blank lines are skipped; lines may end in LF or
// CRLF, and the last line may lack its newline.
type Decoder struct {
	// MaxLine and MaxFile are the longest line and the largest file read,
	// in bytes (MaxLineBytes and MaxFileBytes unless set before the first
	// Next).
	MaxLine int
	MaxFile int64
	lr      *limitedReader
	r       *bufio.Reader
	file    string
	line    int
	buf     []byte
	seen    map[string]int // account id -> line where it was first seen
	err     error          // sticky read error
}

// NewDecoder returns a Decoder reading r. File names r in error messages.
func NewDecoder(r io.Reader, file string) *Decoder {
	lr := &limitedReader{r: r, max: MaxFileBytes}
	return &Decoder{
		MaxLine: MaxLineBytes,
		MaxFile: MaxFileBytes,
		lr:      lr,
		r:       bufio.NewReaderSize(lr, 64<<10),
		file:    file,
		seen:    make(map[string]int),
	}
}

// Line returns the number of the line Next read last (1 for the first line).
func (d *Decoder) Line() int { return d.line }

// Next returns the next account. After the last one it returns io.EOF.
//
// A line that is not a valid account gives an error made of *LineError
// values (one, or several joined with errors.Join; LineErrors lists them),
// together with whatever of the account could be decoded, so a caller can
// report it; the caller must not import it. Decoding goes on with the next
// line at the next call. An error reading the input is returned as is and
// ends the decoding.
func (d *Decoder) Next() (Account, error) {
	for {
		if d.err != nil {
			return Account{}, d.err
		}
		d.lr.max = d.MaxFile
		line, n, err := d.readLine()
		switch {
		case d.lr.exceeded:
			d.err = &LimitError{LineError{File: d.file, Line: d.line + 1, Field: FieldLine,
				Problem: fmt.Sprintf("the file is larger than %d bytes (DRAFTER_IMPORT_MAX_FILE_BYTES); nothing was imported: split it, or raise the limit", d.MaxFile)}}
			return Account{}, d.err
		case err == errLineTooLong:
			d.err = &LimitError{LineError{File: d.file, Line: d.line + 1, Field: FieldLine,
				Problem: fmt.Sprintf("the line is longer than %d bytes (DRAFTER_IMPORT_MAX_LINE_BYTES); want one account per line: nothing was imported, and the file was not read further", d.MaxLine)}}
			return Account{}, d.err
		}
		if err != nil && err != io.EOF {
			d.err = fmt.Errorf("read %s: %w", d.file, err)
			return Account{}, d.err
		}
		if n == 0 && err == io.EOF {
			d.err = io.EOF
			return Account{}, io.EOF
		}
		if err == io.EOF {
			// The last line lacks its newline; decode it, then stop.
			d.err = io.EOF
		}
		d.line++
		if d.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			if d.err == io.EOF {
				return Account{}, io.EOF
			}
			continue
		}
		// After a last line without a newline, io.EOF comes at the next call.
		return d.decodeLine(line)
	}
}

// All returns an iterator over the remaining accounts and their errors, as
// Next returns them; it stops at io.EOF or after an error reading the input.
func (d *Decoder) All() iter.Seq2[Account, error] {
	return func(yield func(Account, error) bool) {
		for {
			a, err := d.Next()
			if err == io.EOF {
				return
			}
			if !yield(a, err) {
				return
			}
			if err != nil && len(LineErrors(err)) == 0 {
				return
			}
		}
	}
}

// readLine reads one line with its terminator removed; n is the line's
// length without the terminator. It stops with errLineTooLong as soon as
// the line is longer than MaxLine (and its terminator).
func (d *Decoder) readLine() (line []byte, n int, err error) {
	d.buf = d.buf[:0]
	for {
		chunk, rerr := d.r.ReadSlice('\n')
		n += len(chunk)
		if n > d.MaxLine+2 {
			return nil, n, errLineTooLong
		}
		d.buf = append(d.buf, chunk...)
		if rerr == bufio.ErrBufferFull {
			continue
		}
		line = d.buf
		if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
			n--
			if len(chunk) > 1 && chunk[len(chunk)-2] == '\r' {
				n--
			}
		}
		if n > d.MaxLine {
			return nil, n, errLineTooLong
		}
		line = bytes.TrimSuffix(line, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		return line, n, rerr
	}
}

var errLineTooLong = errors.New("line too long")

func (d *Decoder) lineError(field, problem string) *LineError {
	return &LineError{File: d.file, Line: d.line, Field: field, Problem: problem}
}

func (d *Decoder) decodeLine(line []byte) (Account, error) {
	var a Account
	if line[0] != '{' {
		return a, d.lineError(FieldLine, "does not start with {; want one JSON object per line")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		field, problem := jsonProblem(line, err)
		return a, d.lineError(field, problem)
	}
	if _, err := dec.Token(); err != io.EOF {
		return a, d.lineError(FieldLine, fmt.Sprintf("has more after the JSON object ends at byte %d; want one JSON object per line", dec.InputOffset()))
	}
	var errs []error
	if field, dup := duplicateKey(line); dup {
		errs = append(errs, d.lineError(field, "appears twice; want each field once (JSON keeps the last silently, so which one was meant is not known)"))
	}
	if a.ID != "" {
		if first, dup := d.seen[a.ID]; dup {
			errs = append(errs, d.lineError("id", fmt.Sprintf("%q was already used on line %d; want each account once per file", a.ID, first)))
		} else {
			d.seen[a.ID] = d.line
		}
	}
	for _, fe := range Validate(a) {
		errs = append(errs, d.lineError(fe.Field, fe.Problem))
	}
	switch len(errs) {
	case 0:
		return a, nil
	case 1:
		return a, errs[0]
	}
	return a, errors.Join(errs...)
}

// jsonProblem turns an encoding/json error about line into a field path and
// a problem a person can act on.
func jsonProblem(line []byte, err error) (field, problem string) {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return FieldLine, fmt.Sprintf("not valid JSON at byte %d: %s; want one JSON object per line", syn.Offset, syn.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return FieldLine, "ends in the middle of the JSON object (truncated?); want one complete JSON object per line"
	}
	if field, problem, ok := locate(line); ok {
		return field, problem
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return typ.Field, fmt.Sprintf("JSON %s where %s is wanted", typ.Value, typ.Type)
	}
	return FieldLine, strconv.Quote(err.Error())
}
