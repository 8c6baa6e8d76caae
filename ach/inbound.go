package ach

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"

	moov "github.com/moov-io/ach"
	"github.com/moov-io/base"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/mask"
	"github.com/drafterhq/drafter/money"
)

// Inbound is one return or notification-of-change (NOC) file the ODFI sent
// back: its header, and every return and correction in file order. Full
// account numbers never appear in it except where a NOC carries a corrected
// one (CorrectedAccountNumber, which prints masked).
type Inbound struct {
	File                 string // the name given to ParseInbound
	SHA256               string // hex SHA-256 of the file's bytes: an inbound file is processed once
	Records              int    // 94-character records, padding included
	ImmediateDestination string
	ImmediateOrigin      string
	DestinationName      string
	OriginName           string
	Created              civil.Date
	CreatedTime          string // HHMM, or empty
	FileIDModifier       string

	Returns     []ReturnEntry
	Corrections []Correction
	// Notes say what drafter had to mend to read the file (records whose
	// trailing blanks were trimmed), for the operator; empty for a clean file.
	Notes []string `json:",omitempty"`
}

// InboundBatch holds the batch header fields every entry of the batch shares.
type InboundBatch struct {
	BatchNumber      int
	SEC              string // standard entry class of the returned entry: PPD, WEB, COR, ...
	CompanyName      string
	CompanyID        string
	EntryDescription string
	EffectiveDate    civil.Date // zero when the header's date is blank
}

// ReturnEntry is one returned entry (an entry detail record and its
// Addenda 99). The account number is kept only as its last four digits and
// a SHA-256 (AccountNumberSHA256) the caller compares with its own.
type ReturnEntry struct {
	InboundBatch
	Code                string // "R01"
	Kind                ReturnKind
	Trace               string // the return entry's own trace number
	OriginalTrace       string // 15 digits: the trace of the entry drafter sent
	OriginalRDFI        string // 8 digits: the RDFI of the original entry
	Amount              money.Cents
	TransactionCode     int
	AccountNumberLast4  string
	AccountNumberSHA256 string
	IndividualID        string
	IndividualName      string
	DateOfDeath         civil.Date // R14/R15; zero if none
	AddendaInformation  string
	// Dishonor is set for dishonored and contested returns (Kind not
	// KindReturn): the return they are about.
	Dishonor *DishonorDetail
	Line     int    // line of the entry detail record
	Raw      string // the entry and addenda records, account number masked
	// RepeatOf is, when the file holds this same entry (a return of the same
	// original entry) earlier, the line of that first one; 0 otherwise.
	RepeatOf int `json:",omitempty"`
}

// DishonorDetail identifies the return a dishonored (R61-R70) or contested
// (R71-R77) return is about. Julian days are as sent (3 digits).
type DishonorDetail struct {
	ReturnTrace         string
	ReturnSettlementDay string
	ReturnCode          string // the original return's code, "R01"
	// Contested returns only:
	DishonoredReturnTrace         string
	DishonoredReturnSettlementDay string
	DishonoredReturnCode          string
	OriginalSettlementDay         string
	DateOriginalEntryReturned     civil.Date
}

// Correction is one notification of change (an entry detail record and its
// Addenda 98), or a refused one (C61-C69).
type Correction struct {
	InboundBatch
	ChangeCode string // "C01"; for a refused NOC the refusal code, "C61"
	Refused    bool
	// RefusedChangeCode is, for a refused NOC, the change code refused.
	RefusedChangeCode   string
	TraceSequence       string // refused NOCs: the sequence of the NOC's trace
	Trace               string
	OriginalTrace       string // 15 digits
	OriginalRDFI        string // 8 digits
	TransactionCode     int
	AccountNumberLast4  string
	AccountNumberSHA256 string
	IndividualID        string
	IndividualName      string
	CorrectedData       CorrectedData
	Line                int
	Raw                 string // the entry and addenda records, account numbers masked
	// RepeatOf is, when the file holds a NOC (or refused NOC) for the same
	// original entry earlier, the line of that first one; 0 otherwise.
	RepeatOf int `json:",omitempty"`
}

// CorrectedData is the Addenda 98 corrected data, split per change code.
// Fields a code does not carry are zero.
type CorrectedData struct {
	AccountNumber   CorrectedAccountNumber // C01, C03, C06, C07
	RoutingNumber   string                 // C02, C03, C07: nine digits, check digit verified
	TransactionCode int                    // C05, C06, C07
	Name            string                 // C04
	IndividualID    string                 // C09
	// Text is the field as sent, trimmed, account numbers masked: the only
	// content of C08, C13, C14 and refused NOCs.
	Text string
}

// CorrectedAccountNumber is a full account number from a NOC, which drafter
// needs to apply the change. It prints, formats and marshals masked
// (****6789); Reveal returns the number itself, for the one place that
// encrypts and stores it.
type CorrectedAccountNumber struct{ number string }

// Reveal returns the full account number.
func (a CorrectedAccountNumber) Reveal() string { return a.number }

// IsZero reports whether there is no account number.
func (a CorrectedAccountNumber) IsZero() bool { return a.number == "" }

// Last4 returns the last four characters.
func (a CorrectedAccountNumber) Last4() string { return inboundLast4(a.number) }

// SHA256 returns the hex SHA-256 of the number, as AccountNumberSHA256 does.
func (a CorrectedAccountNumber) SHA256() string {
	if a.number == "" {
		return ""
	}
	return AccountNumberSHA256(a.number)
}

// String returns the masked number, ****6789.
func (a CorrectedAccountNumber) String() string { return inboundMask(a.number) }

// GoString returns the masked number, so %#v does not reveal it.
func (a CorrectedAccountNumber) GoString() string { return strconv.Quote(a.String()) }

// Format writes the masked number for every verb.
func (a CorrectedAccountNumber) Format(f fmt.State, verb rune) {
	if verb == 'q' || (verb == 'v' && f.Flag('#')) {
		_, _ = io.WriteString(f, strconv.Quote(a.String()))
		return
	}
	_, _ = io.WriteString(f, a.String())
}

// MarshalText writes the masked number (JSON, logs).
func (a CorrectedAccountNumber) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// AccountNumberSHA256 returns the hex SHA-256 of an account number with
// surrounding spaces removed: what ReturnEntry and Correction keep. It lets
// the caller match an entry to its bank account; it is not encryption (an
// account number is short enough to guess), so treat it as sensitive.
func AccountNumberSHA256(number string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(number)))
	return hex.EncodeToString(sum[:])
}

// ParseError says what is wrong with an inbound file, where: the file name,
// the line (1-based; 0 when the problem is the whole file), the field, and
// the problem in words. It never holds a full account number.
type ParseError struct {
	File    string
	Line    int
	Field   string
	Problem string
	cause   error // a moov-io/ach sentinel, for errors.Is; never a value-carrying error
}

// Error returns "returns-20261125.ach:14: addenda99 return code: ...".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Problem)
	return b.String()
}

// Unwrap returns the moov-io/ach error kind behind e, if any.
func (e *ParseError) Unwrap() error { return e.cause }

// inboundRecordLength is the NACHA record length.
const inboundRecordLength = 94

// inboundLineList names lines in words: "line 3 was", "lines 1, 2 and 5
// were", "lines 1, 2, 3 and 17 more were". lines holds the first ones
// (at least 6 when there are more), total how many there are.
func inboundLineList(lines []int, total int) string {
	if total == 1 {
		return fmt.Sprintf("line %d was", lines[0])
	}
	const shown = 5
	var parts []string
	for _, l := range lines[:min(len(lines), shown)] {
		parts = append(parts, strconv.Itoa(l))
	}
	if total > shown {
		return fmt.Sprintf("lines %s and %d more were", strings.Join(parts, ", "), total-shown)
	}
	return fmt.Sprintf("lines %s and %s were", strings.Join(parts[:len(parts)-1], ", "), parts[len(parts)-1])
}

// inboundParser reads a window of records with moov-io/ach: a small file
// of whole batches or part of one, made of the file's records.
type inboundParser struct {
	file  string
	lines []string
	real  []int // the line in the file of each of lines; nil: the same
}

func (p *inboundParser) fail(line int, field, format string, args ...any) *ParseError {
	return &ParseError{File: p.file, Line: line, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// at returns the line in the file of the window's line.
func (p *inboundParser) at(line int) int {
	if p.real == nil || line < 1 || line > len(p.real) {
		return line
	}
	return p.real[line-1]
}

// checkControl compares a batch or file control's entry/addenda count,
// entry hash and debit and credit totals with what the records add up to.
// at holds the start of the count and the ends of the count, hash and
// debit fields; credit the credit field's bounds.
func (p *inboundParser) checkControl(line int, record, rec string, records int, hash, debit, credit int64, at [4]int, creditAt [2]int) *ParseError {
	fields := []struct {
		name       string
		start, end int
		want       int64
		money      bool
	}{
		{"entry/addenda count", at[0], at[1], int64(records), false},
		// The entry hash keeps its last 10 digits.
		{"entry hash", at[1], at[2], hash % 10_000_000_000, false},
		{"total debit amount", at[2], at[3], debit, true},
		{"total credit amount", creditAt[0], creditAt[1], credit, true},
	}
	for _, f := range fields {
		v := rec[f.start:f.end]
		if !inboundDigits(v) {
			return p.fail(line, record+" "+f.name, "%q is not digits", v)
		}
		got, _ := strconv.ParseInt(v, 10, 64)
		if got == f.want {
			continue
		}
		if f.money {
			return p.fail(line, record+" "+f.name, "says %s; the entries add up to %s: the file is out of balance, ask the bank for a corrected file",
				money.Cents(got), money.Cents(f.want))
		}
		return p.fail(line, record+" "+f.name, "says %d; the records add up to %d: the file is out of balance, ask the bank for a corrected file", got, f.want)
	}
	return nil
}

// inboundPadding is the record that fills a file's last block.
var inboundPadding = strings.Repeat("9", inboundRecordLength)

// inboundReturnTransactionCodes are the transaction codes of returns and
// NOCs ("automated return or notification of change") for checking,
// savings, general ledger and loan accounts.
var inboundReturnTransactionCodes = map[string]bool{
	"21": true, "26": true, "31": true, "36": true, "41": true, "46": true, "51": true, "56": true,
}

func inboundValidYYMMDD(s string) bool {
	_, err := time.Parse("060102", s)
	return err == nil && inboundDigits(s)
}

func inboundValidHHMM(s string) bool {
	_, err := time.Parse("1504", s)
	return err == nil && inboundDigits(s)
}

// header makes the file header's values.
func (p *inboundParser) header(h moov.FileHeader) (Inbound, *ParseError) {
	in := Inbound{
		ImmediateDestination: strings.TrimSpace(h.ImmediateDestination),
		ImmediateOrigin:      strings.TrimSpace(h.ImmediateOrigin),
		DestinationName:      strings.TrimSpace(h.ImmediateDestinationName),
		OriginName:           strings.TrimSpace(h.ImmediateOriginName),
		CreatedTime:          strings.TrimSpace(h.FileCreationTime),
		FileIDModifier:       h.FileIDModifier,
	}
	created, ok := inboundYYMMDD(h.FileCreationDate, civil.Date{})
	if !ok {
		return Inbound{}, p.fail(p.at(h.LineNumber), "file header file creation date", "%q is not a YYMMDD date", h.FileCreationDate)
	}
	in.Created = created
	return in, nil
}

// readMoov parses and validates the records with moov-io/ach. A window
// that is not the whole file leaves the order of batch numbers to the
// caller (unordered).
func (p *inboundParser) readMoov(unordered bool) (f moov.File, perr *ParseError) {
	defer func() {
		// moov-io/ach has panicked on crafted input before; a bad file must
		// become an error, never take the nightly run down.
		if r := recover(); r != nil {
			perr = p.fail(0, "file", "moov-io/ach could not read the file (%v)", r)
		}
	}()
	reader := moov.NewReader(&inboundLineReader{lines: p.lines})
	// A bank may send a file with no batches on a day without returns. The
	// immediate destination and origin name the parties, often by an
	// identifier that is not a routing number (a processor's own, a tax id);
	// drafter matches entries by their traces, never by these.
	reader.SetValidation(&moov.ValidateOpts{AllowZeroBatches: true, BypassOriginValidation: true, BypassDestinationValidation: true,
		AllowUnorderedBatchNumbers: unordered})
	f, err := reader.Read()
	if err != nil {
		return f, p.moovError(err, 0)
	}
	if err := f.Validate(); err != nil {
		return f, p.moovError(err, f.Control.LineNumber)
	}
	return f, nil
}

// inboundLineReader reads lines as one LF-separated text without making
// that text: a copy of a large file less in memory.
type inboundLineReader struct {
	lines []string
	at    int // index into lines[0] of what is read next; len+1 after its "\n"
}

func (r *inboundLineReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.lines) > 0 {
		line := r.lines[0]
		if r.at < len(line) {
			c := copy(p[n:], line[r.at:])
			n += c
			r.at += c
			continue
		}
		p[n] = '\n'
		n++
		r.lines, r.at = r.lines[1:], 0
	}
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// moovError turns moov-io/ach's first error into a ParseError. moov's
// errors carry the line and record; defaultLine is used when they do not.
func (p *inboundParser) moovError(err error, defaultLine int) *ParseError {
	var list base.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		err = list[0]
	}
	out := &ParseError{File: p.file, Line: defaultLine}
	var pe *base.ParseError
	var pev base.ParseError
	switch {
	case errors.As(err, &pe):
		out.Line = pe.Line
		err = pe.Err
	case errors.As(err, &pev):
		out.Line = pev.Line
		err = pev.Err
	}
	record := p.recordName(out.Line)
	var fe *moov.FieldError
	var be *moov.BatchError
	var fileErr moov.ErrFileCalculatedControlEquality
	switch {
	case errors.Is(err, moov.ErrFileHeader):
		out.Field, out.cause = "file header", moov.ErrFileHeader
		out.Problem = "the file needs exactly one file header record (type 1) at the top"
	case errors.Is(err, moov.ErrFileControl):
		out.Field, out.cause = "file control", moov.ErrFileControl
		out.Problem = "the file needs exactly one file control record (type 9) after the last batch"
	case errors.As(err, &fe) && errors.Is(fe.Err, moov.ErrConstructor):
		// moov-io/ach's words for a field it could not read at all.
		out.Field = strings.TrimSpace(record + " " + inboundWords(fe.FieldName))
		out.cause = fe.Err
		out.Problem = "the field is blank or not in its NACHA form; ask the bank for a corrected file"
	case errors.As(err, &fe):
		out.Field = strings.TrimSpace(record + " " + inboundWords(fe.FieldName))
		out.cause = fe.Err
		value := strings.TrimSpace(fmt.Sprint(fe.Value))
		if strings.Contains(fe.FieldName, "Account") {
			value = inboundMask(value)
		}
		if value != "" && fe.Value != nil {
			out.Problem = fmt.Sprintf("%q %v", value, fe.Err)
		} else {
			out.Problem = fmt.Sprint(fe.Err)
		}
	case errors.As(err, &be):
		out.Field = strings.TrimSpace(fmt.Sprintf("batch %d %s", be.BatchNumber, inboundWords(be.FieldName)))
		out.cause = be.Err
		out.Problem = fmt.Sprint(be.Err)
	case errors.As(err, &fileErr):
		out.Field = "file control " + inboundWords(fileErr.Field)
		out.Problem = fmt.Sprintf("calculated %d is out of balance with the file control's %d", fileErr.CalculatedValue, fileErr.ControlValue)
	default:
		out.Field = record
		out.cause = err
		out.Problem = err.Error()
	}
	if out.Field == "" {
		out.Field = "file"
	}
	out.Line = p.at(out.Line)
	return out
}

// recordName names the record on a line in words.
func (p *inboundParser) recordName(line int) string {
	if line < 1 || line > len(p.lines) {
		return ""
	}
	rec := p.lines[line-1]
	switch rec[0] {
	case '1':
		return "file header"
	case '5':
		return "batch header"
	case '6':
		return "entry"
	case '7':
		return "addenda" + rec[1:3]
	case '8':
		return "batch control"
	case '9':
		return "file control"
	}
	return "record type " + strconv.Quote(rec[:1])
}

// redact masks every account number of the file that appears in an error:
// moov-io/ach puts field values into its messages.
func (p *inboundParser) redact(e *ParseError) *ParseError {
	for _, rec := range p.lines {
		var candidates []string
		switch rec[0] {
		case '6':
			candidates = []string{strings.TrimSpace(rec[12:29])}
		case '7':
			if rec[1:3] == "98" {
				candidates = inboundCorrectedAccounts(rec[3:6], rec[35:64])
			}
		}
		for _, c := range candidates {
			if len(c) >= 5 && strings.Contains(e.Problem, c) {
				e.Problem = strings.ReplaceAll(e.Problem, c, inboundMask(c))
			}
		}
	}
	return e
}

// inboundCorrectedAccounts returns the account numbers a corrected data
// field may hold, by change code.
func inboundCorrectedAccounts(code, data string) []string {
	fields := strings.Fields(data)
	switch {
	case code == "C07" && len(data) > 9:
		fields = strings.Fields(data[9:])
		fallthrough
	case code == "C01" || code == "C06":
		if len(fields) > 0 {
			return fields[:1]
		}
	case code == "C03":
		if len(fields) > 1 {
			return fields[1:2]
		}
	}
	return nil
}

// entry makes an entry's values from what moov-io/ach read, checking the
// fields drafter relies on.
func (p *inboundParser) entry(created civil.Date, batch InboundBatch, ed *moov.EntryDetail) (InboundEntry, *ParseError) {
	line := ed.LineNumber
	if line < 1 || line >= len(p.lines) {
		return InboundEntry{}, p.fail(p.at(line), "entry", "moov-io/ach reported an entry on a line the file does not have")
	}
	entryRec, addendaRec := p.lines[line-1], p.lines[line]
	account := strings.TrimSpace(ed.DFIAccountNumber)
	raw := inboundMaskEntry(entryRec) + "\n"
	trace, origTrace, origRDFI := "", "", ""
	switch {
	case ed.Addenda99 != nil, ed.Addenda99Dishonored != nil, ed.Addenda99Contested != nil:
		ret := ReturnEntry{
			InboundBatch:        batch,
			Kind:                KindReturn,
			Amount:              money.Cents(ed.Amount),
			TransactionCode:     ed.TransactionCode,
			AccountNumberLast4:  inboundLast4(account),
			AccountNumberSHA256: AccountNumberSHA256(account),
			IndividualID:        strings.TrimSpace(ed.IdentificationNumber),
			IndividualName:      strings.TrimSpace(ed.IndividualName),
			Line:                p.at(line),
			Raw:                 raw + addendaRec,
		}
		switch a := ed; {
		case a.Addenda99 != nil:
			ret.Code, trace = a.Addenda99.ReturnCode, a.Addenda99.TraceNumber
			origTrace, origRDFI = a.Addenda99.OriginalTrace, a.Addenda99.OriginalDFI
			ret.AddendaInformation = strings.TrimSpace(a.Addenda99.AddendaInformation)
			if dod := addendaRec[21:27]; strings.Trim(dod, " 0") != "" {
				d, ok := inboundYYMMDD(dod, created)
				if !ok {
					return InboundEntry{}, p.fail(p.at(line+1), "addenda99 date of death", "%q is not a YYMMDD date", dod)
				}
				ret.DateOfDeath = d
			}
		case a.Addenda99Dishonored != nil:
			d := a.Addenda99Dishonored
			ret.Kind, ret.Code, trace = KindDishonored, d.DishonoredReturnReasonCode, d.TraceNumber
			origTrace, origRDFI = d.OriginalEntryTraceNumber, d.OriginalReceivingDFIIdentification
			ret.AddendaInformation = strings.TrimSpace(d.AddendaInformation)
			ret.Dishonor = &DishonorDetail{
				ReturnTrace:         strings.TrimSpace(d.ReturnTraceNumber),
				ReturnSettlementDay: strings.TrimSpace(d.ReturnSettlementDate),
				ReturnCode:          inboundReturnCode(d.ReturnReasonCode),
			}
		default:
			c := a.Addenda99Contested
			ret.Kind, ret.Code, trace = KindContested, c.ContestedReturnCode, c.TraceNumber
			origTrace, origRDFI = c.OriginalEntryTraceNumber, c.OriginalReceivingDFIIdentification
			returned, _ := inboundYYMMDD(c.DateOriginalEntryReturned, created)
			ret.Dishonor = &DishonorDetail{
				ReturnTrace:                   strings.TrimSpace(c.ReturnTraceNumber),
				ReturnSettlementDay:           strings.TrimSpace(c.ReturnSettlementDate),
				ReturnCode:                    inboundReturnCode(c.ReturnReasonCode),
				DishonoredReturnTrace:         strings.TrimSpace(c.DishonoredReturnTraceNumber),
				DishonoredReturnSettlementDay: strings.TrimSpace(c.DishonoredReturnSettlementDate),
				DishonoredReturnCode:          inboundReturnCode(c.DishonoredReturnReasonCode),
				OriginalSettlementDay:         strings.TrimSpace(c.OriginalSettlementDate),
				DateOriginalEntryReturned:     returned,
			}
		}
		if err := p.checkOriginal(p.at(line+1), "addenda99", origTrace, origRDFI); err != nil {
			return InboundEntry{}, err
		}
		ret.Trace, ret.OriginalTrace, ret.OriginalRDFI = strings.TrimSpace(trace), origTrace, origRDFI
		return InboundEntry{Return: &ret}, nil
	case ed.Addenda98 != nil, ed.Addenda98Refused != nil:
		c := Correction{
			InboundBatch:        batch,
			TransactionCode:     ed.TransactionCode,
			AccountNumberLast4:  inboundLast4(account),
			AccountNumberSHA256: AccountNumberSHA256(account),
			IndividualID:        strings.TrimSpace(ed.IdentificationNumber),
			IndividualName:      strings.TrimSpace(ed.IndividualName),
			Line:                p.at(line),
		}
		data := addendaRec[35:64]
		if a := ed.Addenda98; a != nil {
			c.ChangeCode, trace = a.ChangeCode, a.TraceNumber
			origTrace, origRDFI = strings.TrimSpace(a.OriginalTrace), strings.TrimSpace(a.OriginalDFI)
			cd, problem := parseCorrectedData(c.ChangeCode, data)
			if problem != "" {
				return InboundEntry{}, p.fail(p.at(line+1), "addenda98 corrected data", "%s %s", c.ChangeCode, problem)
			}
			c.CorrectedData = cd
		} else {
			a := ed.Addenda98Refused
			c.ChangeCode, c.Refused, trace = a.RefusedChangeCode, true, a.TraceNumber
			c.RefusedChangeCode, c.TraceSequence = a.ChangeCode, a.TraceSequenceNumber
			origTrace, origRDFI = a.OriginalTrace, a.OriginalDFI
			// The refused NOC's data may be the very thing that is wrong
			// (C65), so it is kept as text only.
			c.CorrectedData = CorrectedData{Text: strings.TrimSpace(inboundMaskText(a.ChangeCode, data))}
		}
		if err := p.checkOriginal(p.at(line+1), "addenda98", origTrace, origRDFI); err != nil {
			return InboundEntry{}, err
		}
		c.Trace, c.OriginalTrace, c.OriginalRDFI = strings.TrimSpace(trace), origTrace, origRDFI
		layout := c.ChangeCode
		if c.Refused {
			layout = c.RefusedChangeCode
		}
		c.Raw = raw + addendaRec[:35] + inboundMaskText(layout, data) + addendaRec[64:]
		return InboundEntry{Correction: &c}, nil
	}
	return InboundEntry{}, p.fail(p.at(line), "entry addenda", "the entry has no addenda 99 or 98")
}

func (p *inboundParser) checkOriginal(line int, record, trace, rdfi string) *ParseError {
	if len(trace) != 15 || !inboundDigits(trace) {
		return p.fail(line, record+" original entry trace number", "%q is not 15 digits", trace)
	}
	if len(rdfi) != 8 || !inboundDigits(rdfi) {
		return p.fail(line, record+" original receiving DFI", "%q is not 8 digits", rdfi)
	}
	return nil
}

// parseCorrectedData splits an Addenda 98 corrected-data field (29
// characters, positions 36-64) per its change code, the layouts of NACHA
// Appendix Five. problem is empty when the data fits the code.
func parseCorrectedData(code, data string) (CorrectedData, string) {
	cd := CorrectedData{Text: strings.TrimSpace(inboundMaskText(code, data))}
	fields := strings.Fields(data)
	account := func(s string) string {
		if len(s) > 17 {
			return "account number is longer than 17 characters"
		}
		for _, r := range s {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
				return "account number has a character other than letters, digits and '-'"
			}
		}
		return ""
	}
	routing := func(s string) string {
		if err := ValidRouting(s); err != nil {
			return "routing number is not valid (" + strings.TrimPrefix(err.Error(), "routing number ") + ")"
		}
		return ""
	}
	tranCode := func(s string) (int, string) {
		n, err := strconv.Atoi(s)
		if err != nil || len(s) != 2 || !inboundTransactionCodes[n] {
			return 0, fmt.Sprintf("transaction code %q is not a DFI account transaction code", s)
		}
		return n, ""
	}
	want := func(n int, what string) string {
		if len(fields) != n {
			return fmt.Sprintf("wants %s, got %d fields", what, len(fields))
		}
		return ""
	}
	var problem string
	switch code {
	case "C01":
		if problem = want(1, "an account number"); problem == "" {
			problem = account(fields[0])
			cd.AccountNumber = CorrectedAccountNumber{fields[0]}
		}
	case "C02":
		if problem = want(1, "a routing number"); problem == "" {
			problem = routing(fields[0])
			cd.RoutingNumber = fields[0]
		}
	case "C03":
		if problem = want(2, "a routing number and an account number"); problem == "" {
			problem = inboundFirstProblem(routing(fields[0]), account(fields[1]))
			cd.RoutingNumber, cd.AccountNumber = fields[0], CorrectedAccountNumber{fields[1]}
		}
	case "C04":
		if cd.Name = strings.TrimSpace(data[:22]); cd.Name == "" {
			problem = "wants a name, got nothing"
		}
	case "C05":
		if problem = want(1, "a transaction code"); problem == "" {
			cd.TransactionCode, problem = tranCode(fields[0])
		}
	case "C06":
		if problem = want(2, "an account number and a transaction code"); problem == "" {
			var tp string
			cd.TransactionCode, tp = tranCode(fields[1])
			problem = inboundFirstProblem(account(fields[0]), tp)
			cd.AccountNumber = CorrectedAccountNumber{fields[0]}
		}
	case "C07":
		// Routing in positions 1-9, the account from 10 (no space between).
		rest := strings.Fields(data[min(9, len(data)):])
		if len(data) < 9 || len(rest) != 2 {
			problem = "wants a routing number, an account number and a transaction code"
			break
		}
		var tp string
		cd.TransactionCode, tp = tranCode(rest[1])
		problem = inboundFirstProblem(routing(data[:9]), account(rest[0]), tp)
		cd.RoutingNumber, cd.AccountNumber = data[:9], CorrectedAccountNumber{rest[0]}
	case "C09":
		if cd.IndividualID = strings.TrimSpace(data[:22]); cd.IndividualID == "" {
			problem = "wants an individual identification number, got nothing"
		}
	}
	if problem != "" {
		return CorrectedData{}, problem
	}
	return cd, ""
}

func inboundFirstProblem(problems ...string) string {
	for _, p := range problems {
		if p != "" {
			return p
		}
	}
	return ""
}

// inboundTransactionCodes are the transaction codes a NOC may correct to:
// checking, savings, general ledger and loan accounts.
var inboundTransactionCodes = map[int]bool{
	22: true, 23: true, 24: true, 27: true, 28: true, 29: true,
	32: true, 33: true, 34: true, 37: true, 38: true, 39: true,
	42: true, 43: true, 44: true, 47: true, 48: true, 49: true,
	52: true, 53: true, 54: true, 55: true,
}

// inboundYYMMDD reads a YYMMDD date. With a pivot, a year that would fall
// after the pivot's year is taken from the 1900s (a date of death in 1998).
func inboundYYMMDD(s string, pivot civil.Date) (civil.Date, bool) {
	t, err := time.Parse("060102", s)
	if err != nil || !inboundDigits(s) {
		return civil.Date{}, false
	}
	d := civil.Of(t)
	d.Year = 2000 + d.Year%100
	if !pivot.IsZero() && d.Year > pivot.Year {
		d.Year -= 100
	}
	return d, true
}

func inboundReturnCode(twoDigits string) string {
	s := strings.TrimSpace(twoDigits)
	if s == "" {
		return ""
	}
	if len(s) == 2 && inboundDigits(s) {
		return "R" + s
	}
	return s
}

func inboundDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func inboundLast4(s string) string { return mask.Tail(s) }

// inboundMask shows the last four characters (package mask): ****6789.
func inboundMask(s string) string { return mask.Number(s) }

// inboundMaskEntry masks the DFI account number (positions 13-29) of an
// entry detail record, keeping the record 94 characters.
func inboundMaskEntry(rec string) string {
	return rec[:12] + mask.InPlace(rec[12:29]) + rec[29:]
}

// inboundMaskText masks corrected data laid out for change code: the
// account number field of C01, C03, C06 and C07 because it is that field,
// whatever it looks like; then every other token of five or more characters
// that holds a digit and is not a valid routing number (IDs). Names stay
// readable. The result has the length of data.
func inboundMaskText(code, data string) string {
	out := []byte(data)
	if s, e := inboundAccountSpan(code, data); e > s {
		copy(out[s:e], mask.InPlace(data[s:e]))
	}
	first := true
	for i := 0; i < len(out); {
		if out[i] == ' ' {
			i++
			continue
		}
		j := i
		for j < len(out) && out[j] != ' ' {
			j++
		}
		// C07 writes the routing number and the account with no space.
		start := i
		if first && j-i > 9 && ValidRouting(string(out[i:i+9])) == nil {
			start = i + 9
		}
		first = false
		tok := string(out[start:j])
		if len(tok) >= 5 && strings.ContainsAny(tok, "0123456789") && !strings.Contains(tok, "*") && ValidRouting(tok) != nil {
			copy(out[start:j], mask.InPlace(tok))
		}
		i = j
	}
	return string(out)
}

// inboundAccountSpan returns where the account number is in corrected data
// of change code: the first field of C01 and C06, the second of C03, the
// first after the 9-digit routing number of C07; 0, 0 for other codes.
func inboundAccountSpan(code, data string) (int, int) {
	from, nth := 0, 0
	switch code {
	case "C01", "C06":
	case "C03":
		nth = 1
	case "C07":
		if len(data) <= 9 {
			return 0, 0
		}
		from = 9
	default:
		return 0, 0
	}
	i := from
	for f := 0; ; f++ {
		for i < len(data) && data[i] == ' ' {
			i++
		}
		if i >= len(data) {
			return 0, 0
		}
		j := i
		for j < len(data) && data[j] != ' ' {
			j++
		}
		if f == nth {
			return i, j
		}
		i = j
	}
}

// inboundWords turns moov-io/ach's Go field names into words:
// "DFIAccountNumber" -> "DFI account number".
func inboundWords(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		upper := unicode.IsUpper(r)
		if i > 0 && upper && (!unicode.IsUpper(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			b.WriteByte(' ')
		}
		// Lower the capital that starts a word; keep acronyms (DFI, ID).
		if upper && i+1 < len(rs) && unicode.IsLower(rs[i+1]) {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
