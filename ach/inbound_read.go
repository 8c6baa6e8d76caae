package ach

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
)

// InboundEntry is one entry of an inbound file, as ReadInbound gives it:
// a return or a correction (the other is nil).
type InboundEntry struct {
	Return     *ReturnEntry
	Correction *Correction
}

// inboundWindowEntries bounds the entries moov-io/ach reads at once: the
// records are handed to it in windows of whole batches, or parts of one
// large batch, each a small file of its own.
var inboundWindowEntries = 500

// inboundIrregularRecords bounds the records kept so that moov-io/ach can
// name a record out of place (an entry outside a batch) in its context.
const inboundIrregularRecords = 20000

// ParseInbound reads a return or NOC file whole: ReadInbound, with the
// entries collected into Returns and Corrections. A malformed file is
// rejected whole with a *ParseError: records that are not 94 characters,
// an entry without an addenda record or with more than one, an unknown
// return or change code, an IAT or ADV batch, or anything moov-io/ach's
// validation rejects. A file without batches is valid and holds nothing.
func ParseInbound(r io.Reader, name string) (Inbound, error) {
	var rets []ReturnEntry
	var cors []Correction
	in, err := ReadInbound(r, name, func(e InboundEntry) error {
		if e.Return != nil {
			rets = append(rets, *e.Return)
		} else {
			cors = append(cors, *e.Correction)
		}
		return nil
	})
	if err != nil {
		return Inbound{}, err
	}
	in.Returns, in.Corrections = rets, cors
	return in, nil
}

// ReadInbound reads a return or NOC file record by record, with every
// check ParseInbound makes, and calls each (when not nil) with every entry
// in file order. Memory does not grow with the file but for the original
// traces seen (about 20 bytes an entry), kept to mark repeats. A problem
// anywhere refuses the whole file, and some are only known at its end (the
// file control), so the entries given to each are good only when
// ReadInbound returns no error; each is not called after a problem is
// found. An error from each stops the reading and is returned as it is;
// any other error is a *ParseError. The Inbound returned has no Returns or
// Corrections.
func ReadInbound(r io.Reader, name string, each func(InboundEntry) error) (Inbound, error) {
	s := &inboundStream{
		inboundParser: inboundParser{file: name},
		each:          each,
		sum:           sha256.New(),
		firstReturn:   map[uint64]int32{},
		firstNOC:      map[uint64]int32{},
		firstOther:    map[string]int{},
	}
	in, perr := s.read(r)
	if s.eachErr != nil {
		return Inbound{}, s.eachErr
	}
	if s.readErr != nil {
		return Inbound{}, s.readErr
	}
	if perr != nil {
		return Inbound{}, perr
	}
	return in, nil
}

// inboundTotals are what a batch's or file's control must say.
type inboundTotals struct {
	records       int // entries and addenda
	hash          int64
	debit, credit int64
}

func (t *inboundTotals) add(o inboundTotals) {
	t.records += o.records
	t.hash += o.hash
	t.debit += o.debit
	t.credit += o.credit
}

func (t inboundTotals) fields() string {
	return fmt.Sprintf("%010d%012d%012d", t.hash%10_000_000_000, t.debit, t.credit)
}

type inboundStream struct {
	inboundParser // file; lines and real: the window moov-io/ach reads next
	each          func(InboundEntry) error
	sum           hash.Hash

	// Problems found, by precedence: in the records themselves, in the
	// file's structure, found by moov-io/ach, in a field's value. Each is
	// the first of its kind; a later kind is looked for only while no
	// earlier one is known, and the reading goes on to the end for the
	// earlier kinds (a Ctrl-Z at the end is named before all of them).
	splitErr, structErr, moovErr, valuesErr *ParseError
	eachErr, readErr                        error

	// Splitting into records.
	nl, lastSigNL int  // line breaks so far; and before the last byte other than blank, CR, LF
	lastSig       byte // that byte
	nonSpace      bool
	mode          int // 0: no line break yet; 1: lines; 2: consecutive records; 3: only draining
	cur           [inboundRecordLength]byte
	curLen        int
	curNonSpace   bool
	bad           int // column of the record's first byte that is not printable ASCII; 0 none
	badByte       byte
	prevCR        bool
	lineNo        int // line of the last record ended
	firstLen      int // mode 2: the bytes so far, all before any line break
	pendingBlank  int // first of the blank lines read since the last record; 0 none
	records       int
	padded        []int // the first lines padded (up to 6)
	paddedN       int

	// Structure.
	entryLine, addenda int
	entryRec           string
	batchLine          int // line of the open batch's header; 0 outside a batch
	batchHeader        string
	batch, fileTotals  inboundTotals
	batches            int
	controlLine        int // line of the file control; 0 before it
	controlRec         string
	paddingErr         *ParseError

	// Windows given to moov-io/ach.
	headerRec             string        // line 1, the file header
	win                   []string      // records of the window (p.lines aliases it when read)
	winReal               []int         // their lines in the file
	winEntries            int           // entries in the window
	winSeg                inboundTotals // the open batch's records in the window
	winFile               inboundTotals // closed batches' records in the window
	winBatches            int           // batches, whole or in part, in the window
	winBatchHeaders       int           // batch header records in the window
	winControl            int           // index of the file control in the window; -1 none
	batchSplit            bool          // the open batch was cut across windows
	flushed               bool          // a window was read already
	lastBatchNumber       int           // the last batch header's number
	lastTrace             string        // the open batch's last trace number in an earlier window
	irregular, windowsOff bool
	ascending             error // batch numbers out of order across windows
	irregularLine         int
	haveHeader            bool
	in                    Inbound
	firstReturn, firstNOC map[uint64]int32 // original trace -> line of its first return, NOC
	firstOther            map[string]int   // dishonored and contested returns
}

var inboundBOM = []byte("\xef\xbb\xbf")

func (s *inboundStream) read(r io.Reader) (Inbound, *ParseError) {
	s.winControl = -1
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, inboundBOM) {
		return Inbound{}, s.fail(1, "file",
			"the file starts with a UTF-8 byte order mark (bytes EF BB BF), which an editor or a converter adds; NACHA files are plain ASCII: ask the bank to resend the file as it was produced")
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := br.Read(buf)
		if n > 0 {
			s.sum.Write(buf[:n])
			for _, c := range buf[:n] {
				s.byte(c)
			}
			if s.eachErr != nil {
				return Inbound{}, nil
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			s.readErr = fmt.Errorf("read inbound file %s: %w", s.file, err)
			return Inbound{}, nil
		}
	}
	return s.finish()
}

func inboundSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// byte takes the file's next byte: LF, CRLF or CR end a line; a file
// without line breaks is read as consecutive records.
func (s *inboundStream) byte(c byte) {
	if c == '\n' {
		s.nl++
	}
	if c != ' ' && c != '\r' && c != '\n' {
		s.lastSig, s.lastSigNL = c, s.nl
	}
	if !inboundSpace(c) {
		s.nonSpace = true
	}
	switch s.mode {
	case 3:
		return
	case 2:
		if c == '\r' || c == '\n' {
			// There were line breaks after all: the first line is too long.
			s.splitErr = s.fail(1, "record length", "the record is %d characters; NACHA records are 94", s.firstLen)
			s.mode = 3
			return
		}
		s.firstLen++
		if s.splitErr == nil {
			s.add(c)
			if s.curLen == inboundRecordLength {
				s.endLine()
			}
		}
		return
	}
	if c == '\n' && s.prevCR {
		s.prevCR = false
		return
	}
	s.prevCR = c == '\r'
	if c == '\r' || c == '\n' {
		s.mode = 1
		s.endLine()
		return
	}
	if s.mode == 1 || s.curLen < inboundRecordLength {
		s.add(c)
		return
	}
	// 95 bytes and no line break: records follow one another, unless a
	// line break comes later.
	s.mode, s.firstLen = 2, s.curLen+1
	s.endLine()
	if s.splitErr == nil {
		s.add(c)
	}
}

func (s *inboundStream) add(c byte) {
	if s.curLen < inboundRecordLength {
		s.cur[s.curLen] = c
		if s.bad == 0 && (c < 0x20 || c > 0x7e) {
			s.bad, s.badByte = s.curLen+1, c
		}
	}
	s.curLen++
	if !inboundSpace(c) {
		s.curNonSpace = true
	}
}

func (s *inboundStream) splitFail(line int, field, format string, args ...any) {
	if s.splitErr == nil {
		s.splitErr = s.fail(line, field, format, args...)
	}
	if s.mode != 2 {
		s.mode = 3
	}
}

// endLine ends the line read so far. Blank lines are allowed only at the
// end. A line shorter than 94 characters is taken as a record whose
// trailing blanks were trimmed on the way (processors do this) and padded
// back, with a note saying so; the field checks that follow refuse it if
// more than blanks were lost.
func (s *inboundStream) endLine() {
	s.lineNo++
	line, n, blank, bad, badByte := s.lineNo, s.curLen, !s.curNonSpace, s.bad, s.badByte
	rec := string(s.cur[:min(n, inboundRecordLength)])
	s.curLen, s.curNonSpace, s.bad = 0, false, 0
	if blank {
		if s.mode == 2 {
			s.splitFail(line, "record length", "a blank line inside the file")
			return
		}
		if s.pendingBlank == 0 {
			s.pendingBlank = line
		}
		return
	}
	if s.pendingBlank != 0 {
		s.splitFail(s.pendingBlank, "record length", "a blank line inside the file")
		return
	}
	if n > inboundRecordLength {
		s.splitFail(line, "record length", "the record is %d characters; NACHA records are 94", n)
		return
	}
	if n < inboundRecordLength {
		rec += strings.Repeat(" ", inboundRecordLength-n)
		if len(s.padded) < 6 {
			s.padded = append(s.padded, line)
		}
		s.paddedN++
	}
	if bad != 0 {
		s.splitFail(line, "record", "column %d holds byte 0x%02x; NACHA records are printable ASCII", bad, badByte)
		return
	}
	s.records = line
	if s.splitErr == nil {
		s.record(line, rec)
	}
}

func (s *inboundStream) finish() (Inbound, *ParseError) {
	switch s.mode {
	case 0, 2:
		total := s.curLen
		if s.mode == 2 {
			total = s.firstLen
		}
		if total%inboundRecordLength != 0 {
			s.splitErr = s.fail(total/inboundRecordLength+1, "record length",
				"the file has no line breaks and its %d bytes are not whole 94-character records", total)
		} else if s.mode == 0 && s.curLen > 0 {
			s.mode = 2
			s.endLine()
		}
	case 1:
		if s.curLen > 0 {
			s.endLine()
		}
	}
	switch {
	case !s.nonSpace:
		return Inbound{}, &ParseError{File: s.file, Field: "file", Problem: "the file is empty"}
	case s.lastSig == 0x1a:
		return Inbound{}, s.fail(s.lastSigNL+1, "file",
			"the file ends in a Ctrl-Z (byte 1A, an MS-DOS end-of-file mark) that a transfer added; NACHA files end after their last record: ask the bank to resend the file without it")
	case s.splitErr != nil:
		return Inbound{}, s.splitErr
	}
	s.endStructure()
	if s.structErr != nil {
		return Inbound{}, s.structErr
	}
	s.lastWindow()
	if s.eachErr != nil {
		return Inbound{}, nil
	}
	if s.moovErr == nil && s.ascending != nil {
		s.moovErr = s.fail(s.controlLine, "file control", "%v", s.ascending)
	}
	if s.moovErr != nil {
		return Inbound{}, s.moovErr
	}
	if s.valuesErr != nil {
		return Inbound{}, s.valuesErr
	}
	in := s.in
	in.File, in.Records = s.file, s.records
	in.SHA256 = hex.EncodeToString(s.sum.Sum(nil))
	if s.paddedN > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("%s shorter than 94 characters (trailing blanks trimmed on the way) and padded with blanks",
			inboundLineList(s.padded, s.paddedN)))
	}
	return in, nil
}

func (s *inboundStream) structFail(perr *ParseError) {
	if s.structErr == nil {
		s.structErr = perr
		s.win, s.winReal = nil, nil
	}
}

func (s *inboundStream) endEntry() *ParseError {
	if s.entryLine > 0 && s.addenda == 0 {
		return s.fail(s.entryLine, "entry addenda",
			"the entry has no addenda record; every entry of a return file carries an addenda 99, of a NOC an addenda 98")
	}
	s.entryLine, s.addenda = 0, 0
	return nil
}

func (s *inboundStream) noBatchControl(line int, what string) *ParseError {
	return s.fail(s.batchLine, "batch control",
		"the batch that starts on this line has no batch control record (type 8): %s on line %d comes first", what, line)
}

// record checks a record in drafter's words, for what drafter relies on
// and what moov-io/ach lets through: the file header's creation date;
// every entry carries exactly one addenda record, of type 99 with a known
// return code or 98 with a known change code, whose trace number is its
// entry's; return and NOC entries carry a return transaction code; no IAT
// or ADV batches; every batch ends in a batch control whose counts, hash
// and totals are the batch's, and the file control's are the file's,
// block count included; after the file control only padding records of 94
// nines. Records out of place (an entry outside a batch, no file header)
// are left to moov-io/ach, which names them. A record that passes goes
// into the window moov-io/ach reads next.
func (s *inboundStream) record(line int, rec string) {
	if s.structErr != nil {
		return
	}
	inBatch := s.batchLine > 0
	if perr := s.checkRecord(line, rec); perr != nil {
		s.structFail(perr)
		return
	}
	s.window(line, rec, inBatch)
}

func (s *inboundStream) checkRecord(line int, rec string) *ParseError {
	if line == 1 && rec[0] == '1' {
		if d := rec[23:29]; !inboundValidYYMMDD(d) {
			return s.fail(1, "file header file creation date", "%q is not a date in YYMMDD form (positions 24-29); ask the bank for a corrected file", d)
		}
		if t := rec[29:33]; strings.TrimSpace(t) != "" && !inboundValidHHMM(t) {
			return s.fail(1, "file header file creation time", "%q is not a time in HHMM form (positions 30-33)", t)
		}
	}
	if s.controlLine > 0 {
		if rec != inboundPadding && s.paddingErr == nil {
			s.paddingErr = s.fail(line, "padding",
				"only padding records of 94 nines may follow the file control on line %d; this one is not, so the file may have been cut or joined: ask the bank for a corrected file", s.controlLine)
		}
		return nil
	}
	switch rec[0] {
	case '1':
		return s.endEntry()
	case '5':
		if err := s.endEntry(); err != nil {
			return err
		}
		if s.batchLine > 0 {
			return s.noBatchControl(line, "the next batch header")
		}
		switch sec := rec[50:53]; sec {
		case "IAT", "ADV":
			return s.fail(line, "batch header SEC code",
				"%s batch: drafter never originates %s entries, so this file cannot be its returns; hand it to a person", sec, sec)
		}
		if strings.TrimSpace(rec[4:20]) == moov.IATCOR {
			return s.fail(line, "batch header", "IAT notification of change: drafter never originates IAT entries")
		}
		s.batchLine, s.batch = line, inboundTotals{}
	case '6':
		if err := s.endEntry(); err != nil {
			return err
		}
		if s.batchLine == 0 {
			return nil // moov-io/ach names the entry outside a batch
		}
		s.entryLine, s.entryRec = line, rec
		// moov-io/ach reads a malformed number as zero; name it here.
		for _, f := range []struct {
			name       string
			start, end int
		}{{"entry transaction code", 1, 3}, {"entry receiving DFI identification", 3, 12}, {"entry amount", 29, 39}, {"entry trace number", 79, 94}} {
			if v := rec[f.start:f.end]; !inboundDigits(v) {
				return s.fail(line, f.name, "%q is not digits", v)
			}
		}
		if strings.Contains(strings.TrimSpace(rec[12:29]), " ") {
			// Never the number itself in the message: it is an account number.
			return s.fail(line, "entry DFI account number",
				"has a blank between its characters (positions 13-29); an account number is one run of characters, blank-filled after it: ask the bank for a corrected file")
		}
		s.batch.records++
		routing, _ := strconv.ParseInt(rec[3:11], 10, 64)
		s.batch.hash += routing
		amount, _ := strconv.ParseInt(rec[29:39], 10, 64)
		if code := rec[1:3]; code[1] >= '5' {
			s.batch.debit += amount
		} else {
			s.batch.credit += amount
		}
	case '7':
		s.batch.records++
		if s.entryLine == 0 {
			return nil // moov-io/ach names the misplaced addenda
		}
		s.addenda++
		if s.addenda > 1 {
			return s.fail(line, "addenda",
				"the entry on line %d has a second addenda record; a return or NOC entry carries exactly one", s.entryLine)
		}
		typ, code := rec[1:3], rec[3:6]
		switch typ {
		case "99":
			if _, ok := ReturnPolicy(code); !ok {
				return s.fail(line, "addenda99 return code", "%q is not a return code NACHA defines", code)
			}
		case "98":
			if _, ok := CorrectionPolicy(code); !ok {
				return s.fail(line, "addenda98 change code", "%q is not a change code NACHA defines", code)
			}
		default:
			return s.fail(line, "addenda type code",
				"addenda type %q: a return carries addenda 99 and a notification of change addenda 98", typ)
		}
		if tc := s.entryRec[1:3]; !inboundReturnTransactionCodes[tc] {
			what := "return"
			if typ == "98" {
				what = "notification of change"
			}
			return s.fail(s.entryLine, "entry transaction code",
				"%s is not a return or NOC code (21, 26, 31, 36, 41, 46, 51, 56), yet the entry carries the %s on line %d: the bank's file is not what it says; ask the bank for a corrected file",
				tc, what, line)
		}
		if at, et := rec[79:94], s.entryRec[79:94]; at != et {
			return s.fail(line, "addenda"+typ+" trace number",
				"%q is not the trace number %q of its entry on line %d; the addenda may belong to another entry: ask the bank for a corrected file", at, et, s.entryLine)
		}
	case '8':
		if err := s.endEntry(); err != nil {
			return err
		}
		if s.batchLine == 0 {
			return nil // moov-io/ach names the misplaced control
		}
		if err := s.checkControl(line, "batch control", rec, s.batch.records, s.batch.hash, s.batch.debit, s.batch.credit,
			[4]int{4, 10, 20, 32}, [2]int{32, 44}); err != nil {
			return err
		}
		s.batches++
		s.fileTotals.add(s.batch)
		s.batchLine = 0
	case '9':
		if err := s.endEntry(); err != nil {
			return err
		}
		if rec == inboundPadding {
			return s.fail(line, "padding", "a padding record of 94 nines before the file control; padding belongs after it")
		}
		if s.batchLine > 0 {
			return s.noBatchControl(line, "the file control")
		}
		s.controlLine, s.controlRec = line, rec
		if v := rec[1:7]; !inboundDigits(v) {
			return s.fail(line, "file control batch count", "%q is not digits", v)
		} else if n, _ := strconv.Atoi(v); n != s.batches {
			return s.fail(line, "file control batch count", "says %d batches; the file has %d", n, s.batches)
		}
		// The block count, the totals and the padding after are checked
		// at the end, when the records are counted.
	default:
		return s.fail(line, "record type code",
			"record type %q: NACHA records start with 1, 5, 6, 7, 8 or 9", rec[:1])
	}
	return nil
}

// endStructure makes the checks that wait for the file's end.
func (s *inboundStream) endStructure() {
	if s.structErr != nil {
		return
	}
	if err := s.endEntry(); err != nil {
		s.structFail(err)
		return
	}
	if s.batchLine > 0 {
		s.structFail(s.fail(s.batchLine, "batch control", "the batch that starts on this line has no batch control record (type 8) before the file ends"))
		return
	}
	if s.controlLine == 0 {
		return
	}
	line, rec := s.controlLine, s.controlRec
	blocks := (s.records + 9) / 10
	if v := rec[7:13]; !inboundDigits(v) {
		s.structFail(s.fail(line, "file control block count", "%q is not digits", v))
		return
	} else if n, _ := strconv.Atoi(v); n != blocks {
		s.structFail(s.fail(line, "file control block count",
			"says %d blocks of 10 records; the file's %d records, padding included, make %d: records may be missing or added", n, s.records, blocks))
		return
	}
	if err := s.checkControl(line, "file control", rec, s.fileTotals.records, s.fileTotals.hash, s.fileTotals.debit, s.fileTotals.credit,
		[4]int{13, 21, 31, 43}, [2]int{43, 55}); err != nil {
		s.structFail(err)
		return
	}
	if s.paddingErr != nil {
		s.structFail(s.paddingErr)
	}
}

// window adds a record that passed the structure checks to the window
// moov-io/ach reads next, and has the window read when it holds enough
// entries at a point where it can be cut: after a batch control, or
// between two entries of a large batch (a batch control and a file
// control made up for the part close it then).
func (s *inboundStream) window(line int, rec string, inBatch bool) {
	if s.windowsOff {
		return
	}
	irregular := func() {
		if !s.irregular {
			s.irregular, s.irregularLine = true, line
		}
	}
	switch {
	case line == 1 && rec[0] == '1':
		s.headerRec = rec
	case line == 1, rec[0] == '1':
		irregular()
	case s.controlLine > 0 && line > s.controlLine:
		// padding
	case rec[0] == '5':
		// moov-io/ach checks batch numbers ascend in a file it reads whole;
		// for windows, here. It checks this after all else, so the problem
		// is named only when moov-io/ach finds none other.
		n, err := strconv.Atoi(strings.TrimSpace(rec[87:94]))
		if err != nil {
			n = 0 // as moov-io/ach reads it
		}
		if n <= s.lastBatchNumber && s.ascending == nil {
			s.ascending = moov.NewErrFileBatchNumberAscending(s.lastBatchNumber, n)
		}
		s.lastBatchNumber = n
		s.batchHeader, s.winSeg, s.batchSplit, s.lastTrace = rec, inboundTotals{}, false, ""
		s.winBatches++
	case rec[0] == '6':
		if s.batchLine == 0 {
			irregular()
			break
		}
		if !s.irregular && s.winEntries >= inboundWindowEntries {
			s.cutBatch(line)
			if s.windowsOff {
				return
			}
		}
		if s.lastTrace != "" {
			if trace := rec[79:94]; trace <= s.lastTrace {
				n, _ := strconv.Atoi(strings.TrimSpace(s.batchHeader[87:94]))
				s.windowFail(line, &moov.BatchError{BatchNumber: n, BatchType: s.batchHeader[50:53], FieldName: "TraceNumber",
					Err: moov.NewErrBatchAscending(s.lastTrace, trace)})
				return
			}
			s.lastTrace = ""
		}
		s.winEntries++
		s.winSeg.records++
		routing, _ := strconv.ParseInt(rec[3:11], 10, 64)
		s.winSeg.hash += routing
		amount, _ := strconv.ParseInt(rec[29:39], 10, 64)
		if rec[2] >= '5' {
			s.winSeg.debit += amount
		} else {
			s.winSeg.credit += amount
		}
	case rec[0] == '7':
		s.winSeg.records++
		if s.entryLine == 0 {
			irregular()
		}
	case rec[0] == '8':
		if !inBatch {
			irregular()
			break
		}
		if s.batchSplit {
			rec = rec[:4] + fmt.Sprintf("%06d", s.winSeg.records) + s.winSeg.fields() + rec[44:]
		}
		s.winFile.add(s.winSeg)
		s.winSeg = inboundTotals{}
	case rec[0] == '9':
		s.winControl = len(s.win)
	}
	s.win = append(s.win, rec)
	s.winReal = append(s.winReal, line)
	switch {
	case s.irregular && len(s.win) > inboundIrregularRecords:
		s.windowsOff = true
		s.win, s.winReal = nil, nil
		if s.moovErr == nil {
			s.moovErr = s.fail(s.irregularLine, "record",
				"the record is out of place (an entry, addenda, batch control or file header where none may be); ask the bank for a corrected file")
		}
	case rec[0] == '8' && !s.irregular && s.winEntries >= inboundWindowEntries:
		s.win = append(s.win, s.fileControl(s.winFile, "9"+strings.Repeat(" ", 93)))
		s.winReal = append(s.winReal, line)
		s.readWindow(false)
		s.newWindow()
	}
}

// cutBatch has the window read up to the entry on line, inside a batch.
func (s *inboundStream) cutBatch(line int) {
	bh := s.batchHeader
	ctl := "8" + bh[1:4] + fmt.Sprintf("%06d", s.winSeg.records) + s.winSeg.fields() + bh[40:50] + strings.Repeat(" ", 25) + bh[79:94]
	s.win = append(s.win, ctl)
	s.winReal = append(s.winReal, line)
	s.winFile.add(s.winSeg)
	s.win = append(s.win, s.fileControl(s.winFile, "9"+strings.Repeat(" ", 93)))
	s.winReal = append(s.winReal, line)
	s.lastTrace = s.win[len(s.win)-4][79:94] // the last entry's (its addenda, then the two controls follow)
	s.readWindow(false)
	s.newWindow()
	s.win = append(s.win, bh)
	s.winReal = append(s.winReal, s.batchLine)
	s.winBatches, s.batchSplit = 1, true
}

// fileControl returns a file control for the window with the totals t,
// the rest of the record from rec.
func (s *inboundStream) fileControl(t inboundTotals, rec string) string {
	blocks := (len(s.win) + 1 + 9) / 10
	return "9" + fmt.Sprintf("%06d%06d%08d", s.winBatches, blocks, t.records) + t.fields() + rec[55:]
}

func (s *inboundStream) newWindow() {
	s.flushed = true
	s.win, s.winReal = s.win[:0], s.winReal[:0]
	s.win = append(s.win, s.headerRec)
	s.winReal = append(s.winReal, 1)
	s.winEntries, s.winFile, s.winSeg, s.winBatches, s.winControl = 0, inboundTotals{}, inboundTotals{}, 0, -1
}

// lastWindow has the rest read. When windows were read before, the file
// control is made the window's and the padding left out (both were
// checked whole).
func (s *inboundStream) lastWindow() {
	if s.windowsOff || len(s.win) == 0 {
		return
	}
	if s.flushed && s.winControl >= 0 {
		s.win, s.winReal = s.win[:s.winControl], s.winReal[:s.winControl+1]
		s.win = append(s.win, s.fileControl(s.winFile, s.controlRec))
	}
	s.readWindow(true)
}

func (s *inboundStream) windowFail(line int, err error) {
	s.windowsOff = true
	s.win, s.winReal = nil, nil
	if s.moovErr == nil {
		p := inboundParser{file: s.file}
		s.moovErr = p.moovError(err, line)
	}
}

// readWindow has moov-io/ach read and validate the window, and gives its
// entries to each.
func (s *inboundStream) readWindow(last bool) {
	if s.moovErr != nil || s.structErr != nil || s.eachErr != nil {
		return
	}
	whole := last && !s.flushed
	if whole {
		s.ascending = nil // moov-io/ach checks it
	}
	p := inboundParser{file: s.file, lines: s.win, real: s.winReal}
	f, perr := p.readMoov(!whole)
	if perr != nil {
		s.moovErr = p.redact(perr)
		return
	}
	if s.valuesErr != nil || s.ascending != nil {
		return
	}
	if !s.haveHeader {
		s.haveHeader = true
		in, perr := p.header(f.Header)
		if perr != nil {
			s.valuesErr = p.redact(perr)
			return
		}
		s.in = in
	}
	for _, b := range f.Batches {
		batch := inboundBatchValues(b.GetHeader())
		for _, ed := range b.GetEntries() {
			e, perr := p.entry(s.in.Created, batch, ed)
			if perr != nil {
				s.valuesErr = p.redact(perr)
				return
			}
			s.markRepeat(e)
			if s.each != nil {
				if err := s.each(e); err != nil {
					s.eachErr = err
					return
				}
			}
		}
	}
}

// markRepeat sets RepeatOf when the file holds an entry about the same
// original entry before it: a return (or a dishonored or contested one,
// by code) or a NOC names its original entry once. The original traces
// are kept as numbers, so the memory this takes stays small.
func (s *inboundStream) markRepeat(e InboundEntry) {
	if r := e.Return; r != nil {
		if r.Kind != KindReturn {
			key := string(r.Kind) + " " + r.OriginalTrace + " " + r.Code + " " + r.Trace
			if l, ok := s.firstOther[key]; ok {
				r.RepeatOf = l
			} else {
				s.firstOther[key] = r.Line
			}
			return
		}
		trace, _ := strconv.ParseUint(r.OriginalTrace, 10, 64) // 15 digits: checkOriginal
		if l, ok := s.firstReturn[trace]; ok {
			r.RepeatOf = int(l)
		} else {
			s.firstReturn[trace] = int32(r.Line)
		}
		return
	}
	c := e.Correction
	trace, _ := strconv.ParseUint(c.OriginalTrace, 10, 64)
	if l, ok := s.firstNOC[trace]; ok {
		c.RepeatOf = int(l)
	} else {
		s.firstNOC[trace] = int32(c.Line)
	}
}

func inboundBatchValues(bh *moov.BatchHeader) InboundBatch {
	b := InboundBatch{
		BatchNumber:      bh.BatchNumber,
		SEC:              bh.StandardEntryClassCode,
		CompanyName:      strings.TrimSpace(bh.CompanyName),
		CompanyID:        strings.TrimSpace(bh.CompanyIdentification),
		EntryDescription: strings.TrimSpace(bh.CompanyEntryDescription),
	}
	b.EffectiveDate, _ = inboundYYMMDD(bh.EffectiveEntryDate, civil.Date{})
	return b
}
