package ach

import (
	"bytes"
	"fmt"
)

// RecordCheckError names the line (counted from 1) and the field of a NACHA
// file that CheckRecords refuses.
type RecordCheckError struct {
	Line  int
	Field string
	Msg   string
}

// Error names the line and the field.
func (e *RecordCheckError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Msg)
}

// recordsHashModulus keeps the last ten digits of an entry hash.
const recordsHashModulus = 10_000_000_000

// recordsFiller is the record that fills the last block of a file.
var recordsFiller = bytes.Repeat([]byte{'9'}, 94)

// recordsBatch accumulates what one batch's control record must state.
type recordsBatch struct {
	line          int // of the batch header
	serviceClass  string
	companyID     string
	odfi          string
	number        int64
	entries       int // entry detail records
	entryAddenda  int64
	hash          int64
	debit, credit int64
	lastTrace     int64
}

// CheckRecords checks a NACHA file record by record without moov-io/ach: a
// second, independent opinion on every file drafter writes. It checks that
// every line is 94 printable ASCII characters; records come in order (file
// header, batches of batch header, entries each followed by its addenda,
// batch control, then the file control and nine-filled padding); the line
// count is a multiple of 10 with no more padding than the last block needs;
// every batch control and the file control state the right entry/addenda
// count, entry hash, debit and credit totals, and the file control the
// right batch and block counts; batch header and control agree; batch
// numbers ascend; and trace numbers are unique in the file and ascending in
// each batch. Lines end in LF (CRLF is accepted). The first problem found is
// returned as a *RecordCheckError.
func CheckRecords(b []byte) error {
	if len(b) == 0 {
		return &RecordCheckError{Line: 1, Msg: "empty file"}
	}
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if n := len(l); n > 0 && l[n-1] == '\r' {
			lines[i] = l[:n-1]
		}
	}
	for i, l := range lines {
		if len(l) != 94 {
			return &RecordCheckError{Line: i + 1, Msg: fmt.Sprintf("%d characters, want 94", len(l))}
		}
		for j, c := range l {
			if c < 0x20 || c > 0x7e {
				return &RecordCheckError{Line: i + 1, Msg: fmt.Sprintf("byte 0x%02x at column %d is not printable ASCII", c, j+1)}
			}
		}
	}
	if err := recordsCheckFileHeader(lines[0]); err != nil {
		return err
	}

	var (
		batch        *recordsBatch
		batches      int
		lastBatchNum int64
		inEntry      bool // the last record was an entry or addenda of an open batch
		wantAddenda  bool // the last entry announced addenda not yet seen
		fileEntries  int64
		fileHash     int64
		fileDebit    int64
		fileCredit   int64
		traces       = make(map[int64]int)
		controlLine  int
	)
	for i := 1; i < len(lines); i++ {
		l, n := lines[i], i+1
		if controlLine != 0 {
			if !bytes.Equal(l, recordsFiller) {
				return &RecordCheckError{Line: n, Msg: "after the file control only 94 '9's may follow"}
			}
			continue
		}
		if wantAddenda && l[0] != '7' {
			return &RecordCheckError{Line: n, Field: "record type", Msg: fmt.Sprintf("%q, want 7: the entry above announces an addenda record", l[0])}
		}
		switch l[0] {
		case '5':
			if batch != nil {
				return &RecordCheckError{Line: n, Field: "record type", Msg: fmt.Sprintf("batch header inside the batch opened on line %d", batch.line)}
			}
			bt, err := recordsCheckBatchHeader(l, n)
			if err != nil {
				return err
			}
			if bt.number <= lastBatchNum {
				return &RecordCheckError{Line: n, Field: "batch number", Msg: fmt.Sprintf("%d after %d, want ascending", bt.number, lastBatchNum)}
			}
			lastBatchNum = bt.number
			batch = bt
			batches++
		case '6':
			if batch == nil {
				return &RecordCheckError{Line: n, Field: "record type", Msg: "entry detail outside a batch"}
			}
			if err := recordsCheckEntry(l, n, batch, traces); err != nil {
				return err
			}
			inEntry = true
			wantAddenda = l[78] == '1'
		case '7':
			if batch == nil || !inEntry {
				return &RecordCheckError{Line: n, Field: "record type", Msg: "addenda record without an entry detail before it"}
			}
			if !wantAddenda && lines[i-1][0] == '6' {
				return &RecordCheckError{Line: n, Field: "record type", Msg: "addenda record after an entry whose addenda indicator is 0"}
			}
			if !recordsDigits(l[1:3]) {
				return &RecordCheckError{Line: n, Field: "addenda type code", Msg: fmt.Sprintf("%q, want two digits", l[1:3])}
			}
			batch.entryAddenda++
			wantAddenda = false
		case '8':
			if batch == nil {
				return &RecordCheckError{Line: n, Field: "record type", Msg: "batch control without a batch header"}
			}
			if batch.entries == 0 {
				return &RecordCheckError{Line: n, Field: "record type", Msg: fmt.Sprintf("batch opened on line %d has no entries", batch.line)}
			}
			if err := recordsCheckBatchControl(l, n, batch); err != nil {
				return err
			}
			fileEntries += batch.entryAddenda
			fileHash += batch.hash
			fileDebit += batch.debit
			fileCredit += batch.credit
			batch, inEntry = nil, false
		case '9':
			if batch != nil {
				return &RecordCheckError{Line: n, Field: "record type", Msg: fmt.Sprintf("file control before the batch opened on line %d is closed", batch.line)}
			}
			if bytes.Equal(l, recordsFiller) {
				return &RecordCheckError{Line: n, Field: "record type", Msg: "nine-filled padding where the file control belongs"}
			}
			controlLine = n
			if pad := len(lines) - n; pad > 9 {
				return &RecordCheckError{Line: n + 10, Field: "blocking factor", Msg: fmt.Sprintf("%d filler records, a whole block more than needed", pad)}
			}
			want := recordsFileTotals{
				batches: int64(batches), blocks: int64((len(lines) + 9) / 10), entries: fileEntries,
				hash: fileHash % recordsHashModulus, debit: fileDebit, credit: fileCredit,
			}
			if err := recordsCheckFileControl(l, n, want); err != nil {
				return err
			}
		case '1':
			return &RecordCheckError{Line: n, Field: "record type", Msg: "a second file header"}
		default:
			return &RecordCheckError{Line: n, Field: "record type", Msg: fmt.Sprintf("%q is not a NACHA record type", l[0])}
		}
	}
	if controlLine == 0 {
		return &RecordCheckError{Line: len(lines), Field: "record type", Msg: "no file control record"}
	}
	if len(lines)%10 != 0 {
		return &RecordCheckError{Line: len(lines), Field: "blocking factor", Msg: fmt.Sprintf("%d records, not a multiple of 10", len(lines))}
	}
	return nil
}

func recordsCheckFileHeader(l []byte) error {
	fail := func(field, format string, args ...any) error {
		return &RecordCheckError{Line: 1, Field: "file header " + field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case l[0] != '1':
		return fail("record type", "%q, want 1", l[0])
	case string(l[1:3]) != "01":
		return fail("priority code", "%q, want 01", l[1:3])
	case !recordsDigits(bytes.TrimLeft(l[3:13], " ")):
		return fail("immediate destination", "%q, want digits", l[3:13])
	case !recordsDigits(bytes.TrimLeft(l[13:23], " ")):
		return fail("immediate origin", "%q, want digits", l[13:23])
	case !recordsDate(l[23:29]):
		return fail("file creation date", "%q, want YYMMDD", l[23:29])
	case !recordsDigits(l[29:33]):
		return fail("file creation time", "%q, want HHMM", l[29:33])
	case !(l[33] >= 'A' && l[33] <= 'Z' || l[33] >= '0' && l[33] <= '9'):
		return fail("file id modifier", "%q, want A-Z or 0-9", l[33])
	case string(l[34:37]) != "094":
		return fail("record size", "%q, want 094", l[34:37])
	case string(l[37:39]) != "10":
		return fail("blocking factor", "%q, want 10", l[37:39])
	case l[39] != '1':
		return fail("format code", "%q, want 1", l[39])
	}
	return nil
}

func recordsCheckBatchHeader(l []byte, n int) (*recordsBatch, error) {
	fail := func(field, format string, args ...any) error {
		return &RecordCheckError{Line: n, Field: "batch header " + field, Msg: fmt.Sprintf(format, args...)}
	}
	scc := string(l[1:4])
	if scc != "200" && scc != "220" && scc != "225" {
		return nil, fail("service class code", "%q, want 200, 220 or 225", scc)
	}
	if !recordsDate(l[69:75]) {
		return nil, fail("effective entry date", "%q, want YYMMDD", l[69:75])
	}
	if !recordsDigits(l[79:87]) {
		return nil, fail("ODFI identification", "%q, want 8 digits", l[79:87])
	}
	num, ok := recordsNumber(l[87:94])
	if !ok {
		return nil, fail("batch number", "%q, want 7 digits", l[87:94])
	}
	return &recordsBatch{
		line: n, serviceClass: scc, companyID: string(l[40:50]), odfi: string(l[79:87]), number: num,
	}, nil
}

func recordsCheckEntry(l []byte, n int, b *recordsBatch, traces map[int64]int) error {
	fail := func(field, format string, args ...any) error {
		return &RecordCheckError{Line: n, Field: "entry " + field, Msg: fmt.Sprintf(format, args...)}
	}
	if !recordsDigits(l[1:3]) || l[2] == '0' {
		return fail("transaction code", "%q, want two digits ending 1-9", l[1:3])
	}
	rdfi, ok := recordsNumber(l[3:11])
	if !ok {
		return fail("RDFI identification", "%q, want 8 digits", l[3:11])
	}
	if !recordsDigits(l[11:12]) {
		return fail("check digit", "%q, want a digit", l[11:12])
	}
	amount, ok := recordsNumber(l[29:39])
	if !ok {
		return fail("amount", "%q, want 10 digits", l[29:39])
	}
	if l[78] != '0' && l[78] != '1' {
		return fail("addenda record indicator", "%q, want 0 or 1", l[78])
	}
	trace, ok := recordsNumber(l[79:94])
	if !ok {
		return fail("trace number", "%q, want 15 digits", l[79:94])
	}
	if prev, dup := traces[trace]; dup {
		return fail("trace number", "%015d already used on line %d", trace, prev)
	}
	traces[trace] = n
	if b.entries > 0 && trace <= b.lastTrace {
		return fail("trace number", "%015d after %015d, want ascending within the batch", trace, b.lastTrace)
	}
	b.lastTrace = trace
	credit := l[2] <= '4'
	switch {
	case credit && b.serviceClass == "225":
		return fail("transaction code", "credit %s in a debits-only (225) batch", l[1:3])
	case !credit && b.serviceClass == "220":
		return fail("transaction code", "debit %s in a credits-only (220) batch", l[1:3])
	}
	if credit {
		b.credit += amount
	} else {
		b.debit += amount
	}
	b.entries++
	b.entryAddenda++
	b.hash += rdfi
	return nil
}

func recordsCheckBatchControl(l []byte, n int, b *recordsBatch) error {
	fail := func(field, format string, args ...any) error {
		return &RecordCheckError{Line: n, Field: "batch control " + field, Msg: fmt.Sprintf(format, args...)}
	}
	if scc := string(l[1:4]); scc != b.serviceClass {
		return fail("service class code", "%q, batch header on line %d says %q", scc, b.line, b.serviceClass)
	}
	checks := []struct {
		field string
		raw   []byte
		want  int64
	}{
		{"entry/addenda count", l[4:10], b.entryAddenda},
		{"entry hash", l[10:20], b.hash % recordsHashModulus},
		{"total debit amount", l[20:32], b.debit},
		{"total credit amount", l[32:44], b.credit},
		{"batch number", l[87:94], b.number},
	}
	for _, c := range checks {
		got, ok := recordsNumber(c.raw)
		if !ok {
			return fail(c.field, "%q, want %d digits", c.raw, len(c.raw))
		}
		if got != c.want {
			return fail(c.field, "%d, the batch's records add up to %d", got, c.want)
		}
	}
	if id := string(l[44:54]); id != b.companyID {
		return fail("company identification", "%q, batch header on line %d says %q", id, b.line, b.companyID)
	}
	if odfi := string(l[79:87]); odfi != b.odfi {
		return fail("ODFI identification", "%q, batch header on line %d says %q", odfi, b.line, b.odfi)
	}
	return nil
}

// recordsFileTotals is what the file control record must state.
type recordsFileTotals struct {
	batches, blocks, entries, hash, debit, credit int64
}

func recordsCheckFileControl(l []byte, n int, want recordsFileTotals) error {
	checks := []struct {
		field string
		raw   []byte
		want  int64
	}{
		{"batch count", l[1:7], want.batches},
		{"block count", l[7:13], want.blocks},
		{"entry/addenda count", l[13:21], want.entries},
		{"entry hash", l[21:31], want.hash},
		{"total debit amount", l[31:43], want.debit},
		{"total credit amount", l[43:55], want.credit},
	}
	for _, c := range checks {
		got, ok := recordsNumber(c.raw)
		if !ok {
			return &RecordCheckError{Line: n, Field: "file control " + c.field, Msg: fmt.Sprintf("%q, want %d digits", c.raw, len(c.raw))}
		}
		if got != c.want {
			return &RecordCheckError{Line: n, Field: "file control " + c.field, Msg: fmt.Sprintf("%d, the file's records add up to %d", got, c.want)}
		}
	}
	return nil
}

func recordsDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// recordsNumber reads an all-digit field of at most 18 digits.
func recordsNumber(b []byte) (int64, bool) {
	if !recordsDigits(b) || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// recordsDate reports whether b is a plausible YYMMDD date.
func recordsDate(b []byte) bool {
	v, ok := recordsNumber(b)
	if !ok || len(b) != 6 {
		return false
	}
	mm, dd := v/100%100, v%100
	return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}
