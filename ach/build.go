package ach

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// MaxEntryAmount is the largest amount one entry carries: the ten-digit
// amount field, $99,999,999.99.
const MaxEntryAmount money.Cents = 99_999_999_99

// buildMaxTotal is the largest batch or file total: the twelve-digit total
// fields of the control records.
const buildMaxTotal money.Cents = 9_999_999_999_99

// The count fields of the control records: six digits of entries per batch
// and of batches per file, eight digits of entries per file.
const (
	buildMaxBatchEntries = 999_999
	buildMaxBatches      = 999_999
	buildMaxFileEntries  = 99_999_999
)

// Originator is the company that originates the entries and the bank that
// sends them: the fixed part of every file, from configuration.
type Originator struct {
	// ODFIRouting is the nine-digit routing number of the originating bank;
	// its first eight digits are the batch ODFI identification and the prefix
	// of every trace number.
	ODFIRouting string
	// ImmediateDestination is the nine-digit routing number of the point the
	// file is sent to (usually the ODFI itself).
	ImmediateDestination string
	// ImmediateDestinationName names the destination, up to 23 characters.
	ImmediateDestinationName string
	// ImmediateOrigin is the nine-digit number identifying the sender, as the
	// ODFI assigned it.
	ImmediateOrigin string
	// ImmediateOriginName names the sender, up to 23 characters.
	ImmediateOriginName string
	// CompanyName is the originator's name as customers see it on their
	// statements, up to 16 characters.
	CompanyName string
	// CompanyID is the originator's company identification, up to 10
	// characters (commonly "1" followed by the EIN).
	CompanyID string
	// CompanyDiscretionaryData is optional, up to 20 characters.
	CompanyDiscretionaryData string
	// Offset, when set, balances every batch that debits with a credit to
	// the company's settlement account (see BuildFile).
	Offset *OffsetAccount
}

// OffsetAccount is the company's settlement account that receives the
// balancing credit of each batch.
type OffsetAccount struct {
	Routing       string // nine digits
	AccountNumber string // digits, up to 17
	Type          string // "checking" or "savings"
	Name          string // individual name on the offset entries, sanitised to 22
}

// FileSpec is everything one origination file holds besides the originator.
// The same FileSpec (and Originator) always builds the same bytes: nothing
// is read from a clock.
type FileSpec struct {
	// IDModifier tells apart files sent on the same creation date: 'A' to 'Z'
	// then '0' to '9' (see NextModifier).
	IDModifier byte
	// CreationDate and CreationTime ("HHMM", 24-hour) go in the file header.
	CreationDate civil.Date
	CreationTime string
	// EffectiveDate is the effective entry date of every batch: the banking
	// day the debits are meant to settle. It may not be before CreationDate.
	EffectiveDate civil.Date
	// Entries are the debits and prenotes; their order does not matter.
	Entries []Entry
	// OffsetTraceSequence is the trace sequence of the first offset entry;
	// the offsets of later batches take the following sequences, in batch
	// order. It must be above every entry's TraceSequence, so the offset is
	// the last entry of its batch and unique in the file. Zero means the
	// sequence after the highest entry's. It is ignored without an offset
	// account.
	OffsetTraceSequence int
}

// Entry is one debit (or prenote) to a customer's bank account.
type Entry struct {
	// SEC is the standard entry class: "PPD" (written authorisation),
	// "WEB" (internet) or "TEL" (telephone).
	SEC string
	// Description is the company entry description of the entry's batch, up
	// to 10 upper-case characters: AUTOPAY, PAYMENT, RETRY PYMT, PRENOTE.
	Description string
	// TransactionCode is 27 (checking debit), 37 (savings debit), 28
	// (checking prenote debit) or 38 (savings prenote debit).
	TransactionCode int
	// RDFIRouting is the customer bank's nine-digit routing number.
	RDFIRouting string
	// AccountNumber is the customer's account number, digits only, up to 17.
	AccountNumber string
	// Amount is what to debit; zero for a prenote and only for a prenote.
	Amount money.Cents
	// IndividualID is our reference for the account, up to 15 characters.
	IndividualID string
	// IndividualName is the customer's name in any script; the entry carries
	// EntryName of it: transliterated to 22 NACHA characters, or
	// FallbackName when no letter remains. It never refuses an entry.
	IndividualName string
	// TraceSequence is the seven-digit sequence of the entry's trace number,
	// 1 to MaxTraceSequence, unique in the file.
	TraceSequence int
	// PaymentType is "S" (single) or "R" (recurring) for WEB and TEL, and
	// empty for PPD.
	PaymentType string
}

// Built is an origination file: its bytes and what it holds.
type Built struct {
	File    []byte
	Summary Summary
}

// Summary describes a built file, with the control totals as written.
type Summary struct {
	Batches     int // companion offset batches included
	Entries     int // customer entries, prenotes included, offsets not
	Prenotes    int
	Offsets     int // offset entries: one per customer batch with debits
	DebitTotal  money.Cents
	CreditTotal money.Cents // the offsets
	// EntryHash is the file control's entry hash: the sum of the eight-digit
	// RDFI routing prefixes of every entry, last ten digits.
	EntryHash int64
	// Lines counts the 94-character records, nine-filled padding included;
	// BlockCount is Lines / 10.
	Lines      int
	BlockCount int
	// Traces[i] is the trace number of FileSpec.Entries[i].
	Traces []string
	// LastTraceSequence is the highest trace sequence in the file, offsets
	// included: the next file of the day starts above it.
	LastTraceSequence int
	// BatchSummaries lists the batches in file order.
	BatchSummaries []BuiltBatch
	// SHA256 is the hex digest of File.
	SHA256 string
}

// BuiltBatch describes one batch of a built file.
type BuiltBatch struct {
	Number      int
	SEC         string
	Description string
	Entries     int // customer entries, offset not counted
	DebitTotal  money.Cents
	CreditTotal money.Cents
	OffsetTrace string // empty when the batch has no offset
	// Balances is, for a companion offset batch (OffsetCompanionSEC, only
	// the offset credit of a TEL batch), the number of the batch it
	// balances; 0 for every other batch.
	Balances int
}

// BuildEntryError reports an entry BuildFile refuses, naming the entry by its
// position in FileSpec.Entries and its trace sequence, and the field.
type BuildEntryError struct {
	Index         int
	TraceSequence int
	Field         string
	Err           error
}

// Error names the entry, its trace sequence and the field.
func (e *BuildEntryError) Error() string {
	return fmt.Sprintf("entry %d (trace sequence %d): %s: %v", e.Index, e.TraceSequence, e.Field, e.Err)
}

// Unwrap returns what was wrong with the field.
func (e *BuildEntryError) Unwrap() error { return e.Err }

// buildMaxReported bounds how many entry errors BuildFile reports at once.
const buildMaxReported = 20

// NextModifier returns the file ID modifier after prev: 'A' to 'Z', then
// '0' to '9'. The first file of a day uses 'A'. After '9' (36 files) there
// is none, and it returns an error.
func NextModifier(prev byte) (byte, error) {
	switch {
	case prev >= 'A' && prev < 'Z', prev >= '0' && prev < '9':
		return prev + 1, nil
	case prev == 'Z':
		return '0', nil
	case prev == '9':
		return 0, errors.New("next file id modifier: all 36 modifiers (A-Z, 0-9) used for this date")
	default:
		return 0, fmt.Errorf("next file id modifier: %q is not A-Z or 0-9", prev)
	}
}

// buildValidModifier reports whether m is a file ID modifier drafter uses.
func buildValidModifier(m byte) bool {
	return m >= 'A' && m <= 'Z' || m >= '0' && m <= '9'
}

// BuildFile builds the NACHA origination file for f's entries from o: one
// batch per (SEC, Description), in ascending order of SEC then description,
// numbered from 1; entries in each batch ascending by trace number. With an
// offset account, every batch with a non-zero debit total is balanced by a
// credit (22 or 32) of that total to the account, with the fields its class
// requires (payment type S under WEB), so the file nets to zero: a PPD or
// WEB batch ends with its offset; a TEL batch, which may carry no credit, is
// followed by a companion batch of class OffsetCompanionSEC holding only its
// offset. A batch of prenotes only gets none. Offsets take trace sequences
// from OffsetTraceSequence on, one per balanced batch, in batch order. Every
// entry is checked before anything is built, and the finished file is
// checked by moov-io/ach and by CheckRecords.
func BuildFile(o Originator, f FileSpec) (Built, error) {
	if err := buildCheckOriginator(o); err != nil {
		return Built{}, fmt.Errorf("build file: %w", err)
	}
	if err := buildCheckHeader(f); err != nil {
		return Built{}, fmt.Errorf("build file: %w", err)
	}
	names, err := buildCheckEntries(f.Entries)
	if err != nil {
		return Built{}, fmt.Errorf("build file: %w", err)
	}
	plan, err := buildPlan(o, f)
	if err != nil {
		return Built{}, fmt.Errorf("build file: %w", err)
	}
	out, control, err := buildWrite(o, f, names, plan)
	if err != nil {
		return Built{}, fmt.Errorf("build file: %w", err)
	}
	if err := CheckRecords(out); err != nil {
		return Built{}, fmt.Errorf("build file: record check of the built file: %w", err)
	}
	return Built{File: out, Summary: buildSummarise(out, control, o, f, plan)}, nil
}

// CheckOriginator reports whether BuildFile accepts o: the same rules, so
// configuration can be refused at start, before any entry is allocated. It
// refuses what would not make a valid file rather than letting a field be
// cut or padded silently. The error is an *OriginatorError naming the
// field.
func CheckOriginator(o Originator) error { return buildCheckOriginator(o) }

// OriginatorError reports an Originator field BuildFile refuses. Field is
// the Originator field ("CompanyName"), or "Offset." and the OffsetAccount
// field ("Offset.Routing").
type OriginatorError struct {
	Field string
	Err   error
}

// Error names the field and what is wrong with it.
func (e *OriginatorError) Error() string {
	if rest, ok := strings.CutPrefix(e.Field, "Offset."); ok {
		return fmt.Sprintf("offset account %s: %v", rest, e.Err)
	}
	return fmt.Sprintf("originator %s: %v", e.Field, e.Err)
}

// Unwrap returns what was wrong with the field.
func (e *OriginatorError) Unwrap() error { return e.Err }

func buildCheckOriginator(o Originator) error {
	bad := func(field string, err error) error { return &OriginatorError{Field: field, Err: err} }
	if err := ValidRouting(o.ODFIRouting); err != nil {
		return bad("ODFIRouting", err)
	}
	if err := ValidRouting(o.ImmediateDestination); err != nil {
		return bad("ImmediateDestination", err)
	}
	if !buildAllDigits(o.ImmediateOrigin) || len(o.ImmediateOrigin) != 9 || o.ImmediateOrigin == "000000000" {
		return bad("ImmediateOrigin", fmt.Errorf("%q: want 9 digits, not all zero", o.ImmediateOrigin))
	}
	texts := []struct {
		field, value string
		width        int
		required     bool
	}{
		{"ImmediateDestinationName", o.ImmediateDestinationName, 23, false},
		{"ImmediateOriginName", o.ImmediateOriginName, 23, false},
		{"CompanyName", o.CompanyName, 16, true},
		{"CompanyID", o.CompanyID, 10, true},
		{"CompanyDiscretionaryData", o.CompanyDiscretionaryData, 20, false},
	}
	for _, t := range texts {
		if err := buildCheckUpperText(t.value, t.width, t.required); err != nil {
			return bad(t.field, err)
		}
	}
	if o.Offset != nil {
		off := o.Offset
		if err := ValidRouting(off.Routing); err != nil {
			return bad("Offset.Routing", err)
		}
		if err := buildCheckAccount(off.AccountNumber); err != nil {
			return bad("Offset.AccountNumber", err)
		}
		if off.Type != "checking" && off.Type != "savings" {
			return bad("Offset.Type", fmt.Errorf("%q: want checking or savings", off.Type))
		}
		if Sanitize(off.Name, 22) == "" {
			return bad("Offset.Name", fmt.Errorf("%q: empty once sanitised", off.Name))
		}
	}
	return nil
}

func buildCheckHeader(f FileSpec) error {
	if !buildValidModifier(f.IDModifier) {
		return fmt.Errorf("file IDModifier %q: want A-Z or 0-9", f.IDModifier)
	}
	if f.CreationDate.IsZero() {
		return errors.New("file CreationDate: missing")
	}
	if f.CreationDate.Year < 2000 || f.CreationDate.Year > 2099 {
		return fmt.Errorf("file CreationDate %s: out of range for a YYMMDD field", f.CreationDate)
	}
	if err := buildCheckHHMM(f.CreationTime); err != nil {
		return fmt.Errorf("file CreationTime: %w", err)
	}
	if f.EffectiveDate.IsZero() {
		return errors.New("file EffectiveDate: missing")
	}
	if f.EffectiveDate.Before(f.CreationDate) {
		return fmt.Errorf("file EffectiveDate %s: before CreationDate %s", f.EffectiveDate, f.CreationDate)
	}
	if f.EffectiveDate.Year > 2099 {
		return fmt.Errorf("file EffectiveDate %s: out of range for a YYMMDD field", f.EffectiveDate)
	}
	if len(f.Entries) == 0 {
		return errors.New("file Entries: none; a file needs at least one entry")
	}
	return nil
}

func buildCheckHHMM(s string) error {
	if len(s) != 4 || !buildAllDigits(s) {
		return fmt.Errorf("%q: want HHMM", s)
	}
	hh, _ := strconv.Atoi(s[:2])
	mm, _ := strconv.Atoi(s[2:])
	if hh > 23 || mm > 59 {
		return fmt.Errorf("%q: not a time of day", s)
	}
	return nil
}

// buildCheckEntries checks every entry and returns their sanitised names.
// It reports up to buildMaxReported problems at once, each a
// *BuildEntryError, so an operator can fix a batch of them in one go.
func buildCheckEntries(entries []Entry) ([]string, error) {
	names := make([]string, len(entries))
	seen := make(map[int]int, len(entries))
	var errs []error
	more := 0
	report := func(i int, field string, err error) {
		if len(errs) < buildMaxReported {
			errs = append(errs, &BuildEntryError{Index: i, TraceSequence: entries[i].TraceSequence, Field: field, Err: err})
		} else {
			more++
		}
	}
	for i := range entries {
		e := &entries[i]
		if e.TraceSequence < 1 || e.TraceSequence > MaxTraceSequence {
			report(i, "TraceSequence", fmt.Errorf("%d out of range 1..%d", e.TraceSequence, MaxTraceSequence))
		} else if j, dup := seen[e.TraceSequence]; dup {
			report(i, "TraceSequence", fmt.Errorf("duplicate of entry %d", j))
		} else {
			seen[e.TraceSequence] = i
		}
		field, err := buildCheckEntry(e)
		if err != nil {
			report(i, field, err)
			continue
		}
		names[i], _ = EntryName(e.IndividualName)
	}
	if more > 0 {
		errs = append(errs, fmt.Errorf("and %d more entry errors", more))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return names, nil
}

// CheckEntry reports whether BuildFile accepts e as an entry, by the same
// rules, leaving out only its trace sequence (assigned when the entry is
// allocated into a file). An entry it accepts builds. The holder name is
// never a reason to refuse (see EntryName). The error is a *BuildEntryError
// naming the field.
func CheckEntry(e Entry) error {
	if field, err := buildCheckEntry(&e); err != nil {
		return &BuildEntryError{TraceSequence: e.TraceSequence, Field: field, Err: err}
	}
	return nil
}

// buildCheckEntry checks one entry's fields and names the first bad one.
func buildCheckEntry(e *Entry) (string, error) {
	switch e.SEC {
	case "PPD":
		if e.PaymentType != "" {
			return "PaymentType", fmt.Errorf("%q: PPD entries have none", e.PaymentType)
		}
	case "WEB", "TEL":
		if e.PaymentType != "S" && e.PaymentType != "R" {
			return "PaymentType", fmt.Errorf("%q: %s entries need S (single) or R (recurring)", e.PaymentType, e.SEC)
		}
	default:
		return "SEC", fmt.Errorf("%q: want PPD, WEB or TEL", e.SEC)
	}
	if e.Description == "" || Sanitize(e.Description, 10) != e.Description {
		return "Description", fmt.Errorf("%q: want 1 to 10 upper-case letters, digits, spaces or - ' . , & /", e.Description)
	}
	prenote := false
	switch e.TransactionCode {
	case moov.CheckingDebit, moov.SavingsDebit:
	case moov.CheckingPrenoteDebit, moov.SavingsPrenoteDebit:
		prenote = true
	default:
		return "TransactionCode", fmt.Errorf("%d: want 27, 37 (debit) or 28, 38 (prenote debit)", e.TransactionCode)
	}
	if err := ValidRouting(e.RDFIRouting); err != nil {
		return "RDFIRouting", err
	}
	if err := buildCheckAccount(e.AccountNumber); err != nil {
		return "AccountNumber", err
	}
	switch {
	case e.Amount < 0:
		return "Amount", fmt.Errorf("%s is negative", e.Amount)
	case e.Amount > MaxEntryAmount:
		return "Amount", fmt.Errorf("%s is over the %s an entry holds", e.Amount, MaxEntryAmount)
	case prenote && e.Amount != 0:
		return "Amount", fmt.Errorf("%s on a prenote; prenotes carry zero", e.Amount)
	case !prenote && e.Amount == 0:
		return "Amount", errors.New("zero on a debit; only prenotes carry zero")
	}
	if err := buildCheckText(e.IndividualID, 15, false); err != nil {
		return "IndividualID", err
	}
	return "", nil
}

// buildCheckUpperText accepts what drafter writes in the originator's text
// fields: printable ASCII of at most width characters, letters upper case.
// drafter writes every other alphabetic field upper case (names,
// descriptions); NACHA requires upper case of the file ID modifier and of
// entry descriptions such as REVERSAL, and many ODFIs of every field.
func buildCheckUpperText(s string, width int, required bool) error {
	if err := buildCheckText(s, width, required); err != nil {
		return err
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' }); i >= 0 {
		return fmt.Errorf("%q: lower-case %q; want upper-case letters", s, s[i])
	}
	return nil
}

func buildCheckAccount(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > 17:
		return fmt.Errorf("%d characters, over 17", len(s))
	case !buildAllDigits(s):
		return errors.New("want digits only")
	}
	return nil
}

// buildCheckText accepts what a NACHA alphanumeric field of width holds:
// printable ASCII.
func buildCheckText(s string, width int, required bool) error {
	if required && s == "" {
		return errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return fmt.Errorf("%q: printable ASCII only (no accents, other scripts or control characters such as a newline)", s)
		}
	}
	if len(s) > width {
		return fmt.Errorf("%q is %d characters, over %d", s, len(s), width)
	}
	return nil
}

func buildAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// buildBatchPlan is one customer batch as it will be written.
type buildBatchPlan struct {
	sec, description string
	entries          []int // indexes into FileSpec.Entries, ascending by trace
	debit            money.Cents
	prenotes         int
	offsetSeq        int // 0: no offset
	// companion: the offset is not in this batch but in a batch of its own
	// written right after it (TEL, whose batches may carry no credit).
	companion bool
}

// OffsetCompanionSEC is the standard entry class of the batch that carries
// the offset credit balancing a TEL batch. NACHA's rules (and moov-io/ach)
// allow no credit in a TEL batch, so the credit to the company's own
// settlement account goes in a batch of its own right after it, under CCD:
// the class of an entry to a business's account, which a settlement
// account is. It has the TEL batch's company name, company id,
// discretionary data, entry description and effective date.
const OffsetCompanionSEC = "CCD"

// buildBatchCount counts the batches written for plans, companions included.
func buildBatchCount(plans []buildBatchPlan) int {
	n := len(plans)
	for _, p := range plans {
		if p.companion {
			n++
		}
	}
	return n
}

// buildPlan groups the entries into batches, orders them, and assigns the
// offset trace sequences.
func buildPlan(o Originator, f FileSpec) ([]buildBatchPlan, error) {
	type key struct{ sec, description string }
	byKey := map[key]int{}
	var plans []buildBatchPlan
	maxSeq := 0
	for i, e := range f.Entries {
		k := key{e.SEC, e.Description}
		n, ok := byKey[k]
		if !ok {
			n = len(plans)
			byKey[k] = n
			plans = append(plans, buildBatchPlan{sec: e.SEC, description: e.Description})
		}
		p := &plans[n]
		p.entries = append(p.entries, i)
		p.debit += e.Amount
		if e.Amount == 0 {
			p.prenotes++
		}
		maxSeq = max(maxSeq, e.TraceSequence)
	}
	slices.SortFunc(plans, func(a, b buildBatchPlan) int {
		return cmp.Or(cmp.Compare(a.sec, b.sec), cmp.Compare(a.description, b.description))
	})
	var fileDebit money.Cents
	for i := range plans {
		p := &plans[i]
		slices.SortFunc(p.entries, func(a, b int) int {
			return cmp.Compare(f.Entries[a].TraceSequence, f.Entries[b].TraceSequence)
		})
		if len(p.entries)+1 > buildMaxBatchEntries {
			return nil, fmt.Errorf("batch %s %q: %d entries, over the %d a batch holds; split the file",
				p.sec, p.description, len(p.entries), buildMaxBatchEntries-1)
		}
		if p.debit > buildMaxTotal {
			return nil, fmt.Errorf("batch %s %q: debit total %s over the 12-digit total field; split the file", p.sec, p.description, p.debit)
		}
		fileDebit += p.debit
	}
	// One possible companion batch per TEL batch, and one offset per batch.
	batches := len(plans)
	for _, p := range plans {
		if p.sec == "TEL" {
			batches++
		}
	}
	if batches > buildMaxBatches || len(f.Entries)+len(plans) > buildMaxFileEntries {
		return nil, fmt.Errorf("file: %d entries in %d batches, over what one file holds; split the file", len(f.Entries), len(plans))
	}
	if fileDebit > buildMaxTotal {
		return nil, fmt.Errorf("file debit total %s over the 12-digit total field; split the file", fileDebit)
	}
	if o.Offset == nil {
		return plans, nil
	}
	next := f.OffsetTraceSequence
	if next == 0 {
		next = maxSeq + 1
	}
	if next <= maxSeq {
		return nil, fmt.Errorf("file OffsetTraceSequence %d: must be above the highest entry trace sequence %d", next, maxSeq)
	}
	for i := range plans {
		p := &plans[i]
		// A prenote-only batch has nothing to offset.
		if p.debit == 0 {
			continue
		}
		if p.debit > MaxEntryAmount {
			return nil, fmt.Errorf("batch %s %q: debit total %s is over the %s one offset entry holds; split the file",
				p.sec, p.description, p.debit, MaxEntryAmount)
		}
		if next > MaxTraceSequence {
			return nil, fmt.Errorf("file OffsetTraceSequence: offset of batch %s %q needs sequence %d, over %d",
				p.sec, p.description, next, MaxTraceSequence)
		}
		p.offsetSeq = next
		p.companion = p.sec == "TEL"
		next++
	}
	return plans, nil
}

// buildWrite assembles the file with moov-io/ach, validates it and writes
// it out; it returns the bytes and the file control record.
func buildWrite(o Originator, f FileSpec, names []string, plans []buildBatchPlan) ([]byte, moov.FileControl, error) {
	file := moov.NewFile()
	file.Header.ImmediateDestination = o.ImmediateDestination
	file.Header.ImmediateDestinationName = o.ImmediateDestinationName
	file.Header.ImmediateOrigin = o.ImmediateOrigin
	file.Header.ImmediateOriginName = o.ImmediateOriginName
	file.Header.FileCreationDate = f.CreationDate.Compact()
	file.Header.FileCreationTime = f.CreationTime
	file.Header.FileIDModifier = string(rune(f.IDModifier))

	odfi8 := o.ODFIRouting[:8]
	effective := f.EffectiveDate.Compact()
	newBatch := func(number, serviceClass int, sec, description string) (moov.Batcher, error) {
		bh := moov.NewBatchHeader()
		bh.ServiceClassCode = serviceClass
		bh.CompanyName = o.CompanyName
		bh.CompanyDiscretionaryData = o.CompanyDiscretionaryData
		bh.CompanyIdentification = o.CompanyID
		bh.StandardEntryClassCode = sec
		bh.CompanyEntryDescription = description
		bh.EffectiveEntryDate = effective
		bh.ODFIIdentification = odfi8
		bh.BatchNumber = number
		batch, err := moov.NewBatch(bh)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", number, err)
		}
		return batch, nil
	}
	// offsetEntry is the credit of total to the settlement account, with
	// the payment type code its batch's class requires (WEB and TEL
	// entries carry one; the offset is a single entry, S).
	offsetEntry := func(sec string, total money.Cents, seq int) *moov.EntryDetail {
		off := o.Offset
		ed := moov.NewEntryDetail()
		ed.TransactionCode = moov.CheckingCredit
		if off.Type == "savings" {
			ed.TransactionCode = moov.SavingsCredit
		}
		ed.SetRDFI(off.Routing)
		ed.DFIAccountNumber = off.AccountNumber
		ed.Amount = int(total)
		ed.IndividualName = Sanitize(off.Name, 22)
		if sec == "WEB" || sec == "TEL" {
			ed.DiscretionaryData = "S"
		}
		ed.TraceNumber = odfi8 + buildSeq7(seq)
		ed.Category = moov.CategoryForward
		return ed
	}
	number := 0
	for _, p := range plans {
		number++
		serviceClass := moov.DebitsOnly
		if p.offsetSeq != 0 && !p.companion {
			serviceClass = moov.MixedDebitsAndCredits
		}
		batch, err := newBatch(number, serviceClass, p.sec, p.description)
		if err != nil {
			return nil, moov.FileControl{}, err
		}
		for _, i := range p.entries {
			e := &f.Entries[i]
			ed := moov.NewEntryDetail()
			ed.TransactionCode = e.TransactionCode
			ed.SetRDFI(e.RDFIRouting)
			ed.DFIAccountNumber = e.AccountNumber
			ed.Amount = int(e.Amount)
			ed.IdentificationNumber = e.IndividualID
			ed.IndividualName = names[i]
			ed.DiscretionaryData = e.PaymentType
			ed.TraceNumber = odfi8 + buildSeq7(e.TraceSequence)
			ed.Category = moov.CategoryForward
			batch.AddEntry(ed)
		}
		if p.offsetSeq != 0 && !p.companion {
			batch.AddEntry(offsetEntry(p.sec, p.debit, p.offsetSeq))
		}
		if err := batch.Create(); err != nil {
			return nil, moov.FileControl{}, fmt.Errorf("batch %d (%s %s): %w", number, p.sec, p.description, err)
		}
		file.AddBatch(batch)
		if !p.companion {
			continue
		}
		number++
		companion, err := newBatch(number, moov.CreditsOnly, OffsetCompanionSEC, p.description)
		if err != nil {
			return nil, moov.FileControl{}, err
		}
		companion.AddEntry(offsetEntry(OffsetCompanionSEC, p.debit, p.offsetSeq))
		if err := companion.Create(); err != nil {
			return nil, moov.FileControl{}, fmt.Errorf("batch %d (%s %s, offset of batch %d): %w", number, OffsetCompanionSEC, p.description, number-1, err)
		}
		file.AddBatch(companion)
	}
	if err := file.Create(); err != nil {
		return nil, moov.FileControl{}, fmt.Errorf("assemble: %w", err)
	}
	if err := file.Validate(); err != nil {
		return nil, moov.FileControl{}, fmt.Errorf("validate: %w", err)
	}
	var buf bytes.Buffer
	// 95 bytes a line; the padding is at most nine lines more.
	buf.Grow(95 * (len(f.Entries) + 4*len(plans) + 12))
	w := moov.NewWriter(&buf)
	w.BypassValidation = true // validated just above; once is enough
	if err := w.Write(file); err != nil {
		return nil, moov.FileControl{}, fmt.Errorf("write: %w", err)
	}
	return buf.Bytes(), file.Control, nil
}

// buildSeq7 zero-pads a trace sequence already checked to be in range.
func buildSeq7(seq int) string {
	s := strconv.Itoa(seq)
	const zeros = "0000000"
	return zeros[:7-len(s)] + s
}

// buildSummarise describes the written file: totals as its file control
// states them, batches and traces from the plan.
func buildSummarise(out []byte, control moov.FileControl, o Originator, f FileSpec, plans []buildBatchPlan) Summary {
	sum := sha256.Sum256(out)
	s := Summary{
		Batches:     buildBatchCount(plans),
		Entries:     len(f.Entries),
		DebitTotal:  money.Cents(control.TotalDebitEntryDollarAmountInFile),
		CreditTotal: money.Cents(control.TotalCreditEntryDollarAmountInFile),
		EntryHash:   int64(control.EntryHash),
		Lines:       bytes.Count(out, []byte{'\n'}),
		BlockCount:  control.BlockCount,
		Traces:      make([]string, len(f.Entries)),
		SHA256:      hex.EncodeToString(sum[:]),
	}
	odfi8 := o.ODFIRouting[:8]
	number := 0
	for _, p := range plans {
		number++
		b := BuiltBatch{Number: number, SEC: p.sec, Description: p.description, Entries: len(p.entries), DebitTotal: p.debit}
		for _, i := range p.entries {
			seq := f.Entries[i].TraceSequence
			s.Traces[i] = odfi8 + buildSeq7(seq)
			s.LastTraceSequence = max(s.LastTraceSequence, seq)
		}
		s.Prenotes += p.prenotes
		if p.offsetSeq == 0 {
			s.BatchSummaries = append(s.BatchSummaries, b)
			continue
		}
		s.Offsets++
		s.LastTraceSequence = max(s.LastTraceSequence, p.offsetSeq)
		offset := odfi8 + buildSeq7(p.offsetSeq)
		if !p.companion {
			b.CreditTotal, b.OffsetTrace = p.debit, offset
			s.BatchSummaries = append(s.BatchSummaries, b)
			continue
		}
		s.BatchSummaries = append(s.BatchSummaries, b)
		number++
		s.BatchSummaries = append(s.BatchSummaries, BuiltBatch{Number: number, SEC: OffsetCompanionSEC, Description: p.description,
			CreditTotal: p.debit, OffsetTrace: offset, Balances: number - 1})
	}
	return s
}
