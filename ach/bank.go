package ach

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
)

// The simulated bank: given an origination file drafter built, it answers
// the way the RDFIs and the ODFI would, with a return file or a NOC file.
// Tests and the demo use it; production never does.

// SimulatedReturn names one entry of an origination file, by trace number,
// and the return code the simulated bank returns it with.
type SimulatedReturn struct {
	Trace              string     // trace number of the original entry
	Code               string     // "R01"; a return an RDFI sends (not R61-R77)
	DateOfDeath        civil.Date // required for R14 and R15
	AddendaInformation string     // optional, up to 44 characters
}

// SimulatedCorrection names one entry of an origination file, by trace
// number, and the notification of change the simulated bank sends for it.
// Only the fields the change code carries are used.
type SimulatedCorrection struct {
	Trace           string // trace number of the original entry
	ChangeCode      string // C01-C09, C13, C14
	AccountNumber   string // C01, C03, C06, C07
	RoutingNumber   string // C02, C03, C07
	TransactionCode int    // C05, C06, C07
	Name            string // C04
	IndividualID    string // C09
	Text            string // C08, C13, C14
}

// BuildReturnFile returns a NACHA return file for the chosen entries of
// original: one Addenda 99 per entry with the return code, the original
// trace and RDFI, and the date of death for R14/R15. Returns are batched
// per original batch and returning RDFI, in the order of the original file.
func BuildReturnFile(original []byte, returns []SimulatedReturn, created civil.Date) ([]byte, error) {
	if created.IsZero() {
		return nil, fmt.Errorf("build return file: no creation date")
	}
	src, err := bankReadOriginal(original)
	if err != nil {
		return nil, fmt.Errorf("build return file: %w", err)
	}
	chosen := make(map[string]SimulatedReturn, len(returns))
	traces := make(map[string]bool, len(returns))
	for _, r := range returns {
		p, ok := ReturnPolicy(r.Code)
		switch {
		case !ok:
			return nil, fmt.Errorf("build return file: trace %s: %q is not a return code", r.Trace, r.Code)
		case p.Kind != KindReturn:
			return nil, fmt.Errorf("build return file: trace %s: %s is a %s return, which an RDFI does not send", r.Trace, r.Code, p.Kind)
		case (r.Code == "R14" || r.Code == "R15") && r.DateOfDeath.IsZero():
			return nil, fmt.Errorf("build return file: trace %s: %s needs a date of death", r.Trace, r.Code)
		case len(r.AddendaInformation) > 44:
			return nil, fmt.Errorf("build return file: trace %s: addenda information is longer than 44 characters", r.Trace)
		}
		if _, dup := chosen[r.Trace]; dup {
			return nil, fmt.Errorf("build return file: trace %s is returned twice", r.Trace)
		}
		chosen[r.Trace] = r
		traces[r.Trace] = true
	}
	return bankBuild(src, created, "", traces, nil, func(ed *moov.EntryDetail, orig *moov.EntryDetail, trace string) error {
		r := chosen[orig.TraceNumber]
		a := moov.NewAddenda99()
		a.ReturnCode = r.Code
		a.OriginalTrace = orig.TraceNumber
		a.OriginalDFI = orig.RDFIIdentification
		if !r.DateOfDeath.IsZero() {
			a.DateOfDeath = r.DateOfDeath.Compact()
		}
		a.AddendaInformation = r.AddendaInformation
		a.TraceNumber = trace
		ed.Addenda99 = a
		ed.Category = moov.CategoryReturn
		return nil
	})
}

// BuildNOCFile returns a NACHA notification-of-change file (SEC COR) for the
// chosen entries of original: zero-amount entries, each with an Addenda 98
// carrying the change code and the corrected data in NACHA's layout.
func BuildNOCFile(original []byte, corrections []SimulatedCorrection, created civil.Date) ([]byte, error) {
	if created.IsZero() {
		return nil, fmt.Errorf("build NOC file: no creation date")
	}
	src, err := bankReadOriginal(original)
	if err != nil {
		return nil, fmt.Errorf("build NOC file: %w", err)
	}
	traces := make(map[string]bool, len(corrections))
	data := make(map[string]SimulatedCorrection, len(corrections))
	for _, c := range corrections {
		p, ok := CorrectionPolicy(c.ChangeCode)
		if !ok || p.Action == CorrectionRefused {
			return nil, fmt.Errorf("build NOC file: trace %s: %q is not a change code an RDFI sends", c.Trace, c.ChangeCode)
		}
		if _, err := bankCorrectedData(c); err != nil {
			return nil, fmt.Errorf("build NOC file: trace %s: %w", c.Trace, err)
		}
		if traces[c.Trace] {
			return nil, fmt.Errorf("build NOC file: trace %s is corrected twice", c.Trace)
		}
		traces[c.Trace] = true
		data[c.Trace] = c
	}
	return bankBuild(src, created, moov.COR, traces, nil, func(ed *moov.EntryDetail, orig *moov.EntryDetail, trace string) error {
		c := data[orig.TraceNumber]
		corrected, _ := bankCorrectedData(c)
		a := moov.NewAddenda98()
		a.ChangeCode = c.ChangeCode
		a.OriginalTrace = orig.TraceNumber
		a.OriginalDFI = orig.RDFIIdentification
		a.CorrectedData = corrected
		a.TraceNumber = trace
		ed.Amount = 0
		ed.Addenda98 = a
		ed.Category = moov.CategoryNOC
		return nil
	})
}

// bankReadOriginal parses and validates an origination file.
func bankReadOriginal(original []byte) (moov.File, error) {
	var lines []string
	for i, line := range strings.Split(strings.TrimRight(strings.ReplaceAll(string(original), "\r\n", "\n"), "\n"), "\n") {
		if len(line) != inboundRecordLength {
			return moov.File{}, &ParseError{File: "origination file", Line: i + 1, Field: "record length",
				Problem: fmt.Sprintf("the record is %d characters; NACHA records are 94", len(line))}
		}
		lines = append(lines, line)
	}
	p := inboundParser{file: "origination file", lines: lines}
	f, perr := p.readMoov(false)
	if perr != nil {
		return moov.File{}, p.redact(perr)
	}
	return f, nil
}

// bankBuild writes the answer file: for every original entry whose trace
// is chosen, a returned (or corrected) copy, made by addenda. sec overrides
// the batches' SEC code (COR for NOCs). Entries are batched by original
// batch and RDFI, and, when class is not nil, by what it says of each
// trace (entries a batch may not mix).
func bankBuild(src moov.File, created civil.Date, sec string, chosen map[string]bool, class func(trace string) string,
	addenda func(ed, orig *moov.EntryDetail, trace string) error) ([]byte, error) {
	type key struct {
		batch int
		rdfi  string
		class string
	}
	type group struct {
		header  moov.BatchHeader
		entries []*moov.EntryDetail
	}
	var order []key
	groups := map[key]*group{}
	found := 0
	for bi, b := range src.Batches {
		for _, orig := range b.GetEntries() {
			if !chosen[orig.TraceNumber] {
				continue
			}
			found++
			k := key{batch: bi, rdfi: orig.RDFIIdentification}
			if class != nil {
				k.class = class(orig.TraceNumber)
			}
			g := groups[k]
			if g == nil {
				bh := *b.GetHeader()
				g = &group{header: bh}
				groups[k] = g
				order = append(order, k)
			}
			g.entries = append(g.entries, orig)
		}
	}
	if found != len(chosen) {
		for trace := range chosen {
			if !bankHasTrace(src, trace) {
				return nil, fmt.Errorf("trace %s is not in the origination file", trace)
			}
		}
	}

	yymmdd := created.Compact()
	out := moov.NewFile()
	out.Header = moov.NewFileHeader()
	// The answer travels the other way: from the bank back to the originator.
	out.Header.ImmediateDestination = src.Header.ImmediateOrigin
	out.Header.ImmediateDestinationName = src.Header.ImmediateOriginName
	out.Header.ImmediateOrigin = src.Header.ImmediateDestination
	out.Header.ImmediateOriginName = src.Header.ImmediateDestinationName
	out.Header.FileCreationDate = yymmdd
	out.Header.FileCreationTime = "0000"
	out.Header.FileIDModifier = "A"

	// Trace numbers are unique in the file: one sequence per returning RDFI.
	seq := map[string]int{}
	for n, k := range order {
		g := groups[k]
		bh := moov.NewBatchHeader()
		bh.ServiceClassCode = g.header.ServiceClassCode
		bh.CompanyName = g.header.CompanyName
		bh.CompanyDiscretionaryData = g.header.CompanyDiscretionaryData
		bh.CompanyIdentification = g.header.CompanyIdentification
		bh.StandardEntryClassCode = g.header.StandardEntryClassCode
		if sec != "" {
			bh.StandardEntryClassCode = sec
		}
		bh.CompanyEntryDescription = g.header.CompanyEntryDescription
		bh.CompanyDescriptiveDate = g.header.CompanyDescriptiveDate
		bh.EffectiveEntryDate = yymmdd
		// The RDFI originates the return: its routing heads the batch and
		// the traces.
		bh.ODFIIdentification = k.rdfi
		bh.BatchNumber = n + 1
		batch, err := moov.NewBatch(bh)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", n+1, err)
		}
		odfi8 := g.header.ODFIIdentification
		check, err := RoutingCheckDigit(odfi8)
		if err != nil {
			return nil, fmt.Errorf("original ODFI %q: %w", odfi8, err)
		}
		for _, orig := range g.entries {
			ed := moov.NewEntryDetail()
			code, ok := bankReturnTransactionCode(orig.TransactionCode)
			if !ok {
				return nil, fmt.Errorf("trace %s: transaction code %d has no return code", orig.TraceNumber, orig.TransactionCode)
			}
			ed.TransactionCode = code
			// The return goes back to the original ODFI.
			ed.RDFIIdentification = odfi8
			ed.CheckDigit = string(check)
			ed.DFIAccountNumber = orig.DFIAccountNumber
			ed.Amount = orig.Amount
			ed.IdentificationNumber = orig.IdentificationNumber
			ed.IndividualName = orig.IndividualName
			ed.DiscretionaryData = orig.DiscretionaryData
			ed.AddendaRecordIndicator = 1
			seq[k.rdfi]++
			trace := k.rdfi + fmt.Sprintf("%07d", seq[k.rdfi])
			ed.TraceNumber = trace
			if err := addenda(ed, orig, trace); err != nil {
				return nil, err
			}
			batch.AddEntry(ed)
		}
		if err := batch.Create(); err != nil {
			return nil, fmt.Errorf("batch %d: %w", n+1, bankSafeError(err))
		}
		out.AddBatch(batch)
	}
	if err := out.Create(); err != nil {
		return nil, fmt.Errorf("file: %w", bankSafeError(err))
	}
	var buf bytes.Buffer
	if err := moov.NewWriter(&buf).Write(out); err != nil {
		return nil, fmt.Errorf("write: %w", bankSafeError(err))
	}
	return buf.Bytes(), nil
}

func bankHasTrace(f moov.File, trace string) bool {
	for _, b := range f.Batches {
		for _, e := range b.GetEntries() {
			if e.TraceNumber == trace {
				return true
			}
		}
	}
	return false
}

// bankSafeError keeps moov-io/ach's message but drops field values, which
// may be account numbers.
func bankSafeError(err error) error {
	var fe *moov.FieldError
	if errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", inboundWords(fe.FieldName), fe.Err)
	}
	return err
}

// bankReturnTransactionCode maps a forward entry's transaction code to the
// code of its return or NOC: 21/26 for checking credits/debits, 31/36 for
// savings, 41/46 general ledger, 51/56 loan.
func bankReturnTransactionCode(code int) (int, bool) {
	switch code {
	case 22, 23, 24, 32, 33, 34, 42, 43, 44, 52, 53, 54:
		return code/10*10 + 1, true
	case 27, 28, 29, 37, 38, 39, 47, 48, 49, 55:
		if code == 55 {
			return 56, true
		}
		return code/10*10 + 6, true
	}
	return 0, false
}

// bankCorrectedData lays out the 29-character corrected data field as
// NACHA Appendix Five describes it for each change code.
func bankCorrectedData(c SimulatedCorrection) (string, error) {
	pad := func(s string, n int) string { return fmt.Sprintf("%-*s", n, s) }
	needAccount := func() error {
		if c.AccountNumber == "" || len(c.AccountNumber) > 17 || strings.ContainsAny(c.AccountNumber, " ") {
			return fmt.Errorf("%s needs an account number of 1-17 characters without spaces", c.ChangeCode)
		}
		return nil
	}
	needRouting := func() error {
		if err := ValidRouting(c.RoutingNumber); err != nil {
			return fmt.Errorf("%s: %w", c.ChangeCode, err)
		}
		return nil
	}
	needCode := func() error {
		if !inboundTransactionCodes[c.TransactionCode] {
			return fmt.Errorf("%s: transaction code %d is not a DFI account code", c.ChangeCode, c.TransactionCode)
		}
		return nil
	}
	tc := strconv.Itoa(c.TransactionCode)
	var s string
	var err error
	switch c.ChangeCode {
	case "C01":
		err = needAccount()
		s = c.AccountNumber
	case "C02":
		err = needRouting()
		s = c.RoutingNumber
	case "C03":
		err = bankFirstError(needRouting(), needAccount())
		s = c.RoutingNumber + "   " + c.AccountNumber
	case "C04":
		if c.Name == "" || len(c.Name) > 22 {
			err = fmt.Errorf("C04 needs a name of 1-22 characters")
		}
		s = c.Name
	case "C05":
		err = needCode()
		s = tc
	case "C06":
		err = bankFirstError(needAccount(), needCode())
		s = pad(c.AccountNumber, 17) + "   " + tc
	case "C07":
		err = bankFirstError(needRouting(), needAccount(), needCode())
		s = c.RoutingNumber + pad(c.AccountNumber, 17) + tc
	case "C09":
		if c.IndividualID == "" || len(c.IndividualID) > 22 {
			err = fmt.Errorf("C09 needs an individual ID of 1-22 characters")
		}
		s = c.IndividualID
	default:
		s = c.Text
		if s == "" {
			s = c.ChangeCode
		}
		if len(s) > 29 {
			err = fmt.Errorf("%s: text is longer than 29 characters", c.ChangeCode)
		}
	}
	if err != nil {
		return "", err
	}
	return pad(s, 29), nil
}

func bankFirstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
