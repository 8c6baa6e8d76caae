package ach

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// The package's other tests may define the conventional -update flag; a
// second definition would panic, so the outbound golden files have their own
// flag and also honour -update when it exists.
var outboundUpdate = flag.Bool("update-outbound", false, "rewrite the golden NACHA files in testdata/outbound")

func outboundUpdating() bool {
	if *outboundUpdate {
		return true
	}
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const (
	buildTestODFI  = "021000021"
	buildTestRDFI1 = "011000015"
	buildTestRDFI2 = "091000019"
	buildTestRDFI3 = "026009593"
)

func buildTestOriginator(withOffset bool) Originator {
	o := Originator{
		ODFIRouting:              buildTestODFI,
		ImmediateDestination:     buildTestODFI,
		ImmediateDestinationName: "JPMORGAN CHASE",
		ImmediateOrigin:          "987654320",
		ImmediateOriginName:      "DRAFTER AUTO FINANCE",
		CompanyName:              "DRAFTER AUTO",
		CompanyID:                "1987654320",
		CompanyDiscretionaryData: "NIGHTLY",
	}
	if withOffset {
		o.Offset = &OffsetAccount{Routing: buildTestODFI, AccountNumber: "400012345678", Type: "checking", Name: "Drafter Auto Settlement"}
	}
	return o
}

// buildTestSmallEntries is one file's worth of the entries drafter sends: two
// autopay debits, a portal payment, a re-presentment and a prenote.
func buildTestSmallEntries() []Entry {
	return []Entry{
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1234567890", Amount: 45_678, IndividualID: "LN-000101", IndividualName: "Maria Garcia", TraceSequence: 12},
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 37, RDFIRouting: buildTestRDFI2, AccountNumber: "55501234", Amount: 38_900, IndividualID: "LS-000202", IndividualName: "John O'Neil", TraceSequence: 10},
		{SEC: "WEB", Description: "PAYMENT", TransactionCode: 27, RDFIRouting: buildTestRDFI3, AccountNumber: "000987654321", Amount: 25_000, IndividualID: "LN-000303", IndividualName: "Wei Chen", TraceSequence: 11, PaymentType: "S"},
		{SEC: "PPD", Description: "RETRY PYMT", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "7788990011", Amount: 51_234, IndividualID: "LN-000404", IndividualName: "Ana Souza", TraceSequence: 13},
		{SEC: "PPD", Description: "PRENOTE", TransactionCode: 28, RDFIRouting: buildTestRDFI2, AccountNumber: "31415926", Amount: 0, IndividualID: "LN-000505", IndividualName: "Priya Patel", TraceSequence: 14},
	}
}

func buildTestSpec(entries []Entry) FileSpec {
	return FileSpec{
		IDModifier:    'A',
		CreationDate:  civil.MustParse("2026-11-24"),
		CreationTime:  "2130",
		EffectiveDate: civil.MustParse("2026-11-25"),
		Entries:       entries,
	}
}

func TestBuildFileGolden(t *testing.T) {
	var cal Calendar
	holidayCreation := civil.MustParse("2026-11-25")
	holidaySpec := buildTestSpec(buildTestSmallEntries())
	holidaySpec.IDModifier = 'B'
	holidaySpec.CreationDate = holidayCreation
	holidaySpec.EffectiveDate = cal.NextBankingDay(holidayCreation)
	if got := holidaySpec.EffectiveDate.String(); got != "2026-11-27" {
		t.Fatalf("effective date after 2026-11-25 = %s, want 2026-11-27 (Thanksgiving closed)", got)
	}

	unicodeSpec := buildTestSpec([]Entry{
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1001", Amount: 10_000, IndividualID: "LN-1", IndividualName: "Nguyễn Thị Ánh", TraceSequence: 1},
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1002", Amount: 10_001, IndividualID: "LN-2", IndividualName: "Łukasz Żółkiewski-Strauß", TraceSequence: 2},
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1003", Amount: 10_002, IndividualID: "LN-3", IndividualName: "Maximiliano Alejandro de la Santísima Trinidad", TraceSequence: 3},
		{SEC: "TEL", Description: "PAYMENT", TransactionCode: 37, RDFIRouting: buildTestRDFI2, AccountNumber: "1004", Amount: 10_003, IndividualID: "LN-4", IndividualName: "Søren Ærøe Þórsson", TraceSequence: 4, PaymentType: "R"},
	})

	amountsSpec := buildTestSpec([]Entry{
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "12345678901234567", Amount: MaxEntryAmount, IndividualID: "LN-MAX", IndividualName: "Max Amount", TraceSequence: 9_999_999},
		{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI2, AccountNumber: "1", Amount: 1, IndividualID: "LN-MIN", IndividualName: "One Cent", TraceSequence: 1},
		{SEC: "PPD", Description: "PRENOTE", TransactionCode: 38, RDFIRouting: buildTestRDFI3, AccountNumber: "2", Amount: 0, IndividualID: "LN-ZERO", IndividualName: "Zero Prenote", TraceSequence: 2},
	})

	cases := []struct {
		name     string
		offset   bool
		spec     FileSpec
		batches  []string // SEC/Description in file order
		entries  int
		prenotes int
		debit    money.Cents
	}{
		{"small", false, buildTestSpec(buildTestSmallEntries()),
			[]string{"PPD/AUTOPAY", "PPD/PRENOTE", "PPD/RETRY PYMT", "WEB/PAYMENT"}, 5, 1, 160_812},
		{"small_offset", true, buildTestSpec(buildTestSmallEntries()),
			[]string{"PPD/AUTOPAY", "PPD/PRENOTE", "PPD/RETRY PYMT", "WEB/PAYMENT"}, 5, 1, 160_812},
		{"holiday_week", false, holidaySpec,
			[]string{"PPD/AUTOPAY", "PPD/PRENOTE", "PPD/RETRY PYMT", "WEB/PAYMENT"}, 5, 1, 160_812},
		{"unicode_names", false, unicodeSpec,
			[]string{"PPD/AUTOPAY", "TEL/PAYMENT"}, 4, 0, 40_006},
		{"amounts", false, amountsSpec,
			[]string{"PPD/AUTOPAY", "PPD/PRENOTE"}, 3, 1, MaxEntryAmount + 1},
		{"tel_offset", true, buildTestSpec(buildTestSECEntries("TEL")),
			[]string{"TEL/PAYMENT", "CCD/PAYMENT", "TEL/PRENOTE"}, 3, 1, 70_000},
		{"mixed_offset", true, buildTestSpec(buildTestMixedEntries()),
			[]string{"PPD/AUTOPAY", "PPD/PRENOTE", "PPD/RETRY PYMT", "TEL/PAYMENT", "CCD/PAYMENT", "TEL/RETRY PYMT", "CCD/RETRY PYMT", "WEB/PAYMENT"}, 8, 1, 275_812},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := buildTestOriginator(tc.offset)
			built, err := BuildFile(o, tc.spec)
			if err != nil {
				t.Fatalf("BuildFile: %v", err)
			}
			outboundGolden(t, tc.name+".ach", built.File)
			buildTestVerify(t, built)

			s := built.Summary
			var got []string
			for _, b := range s.BatchSummaries {
				got = append(got, b.SEC+"/"+b.Description)
			}
			if !slices.Equal(got, tc.batches) {
				t.Errorf("batches = %q, want %q", got, tc.batches)
			}
			if s.Batches != len(tc.batches) || s.Entries != tc.entries || s.Prenotes != tc.prenotes || s.DebitTotal != tc.debit {
				t.Errorf("summary batches %d entries %d prenotes %d debit %s; want %d %d %d %s",
					s.Batches, s.Entries, s.Prenotes, s.DebitTotal, len(tc.batches), tc.entries, tc.prenotes, tc.debit)
			}
			wantCredit, wantOffsets := money.Cents(0), 0
			if tc.offset {
				wantCredit = tc.debit
				for _, b := range s.BatchSummaries {
					if b.DebitTotal > 0 {
						wantOffsets++
					}
				}
			}
			if s.CreditTotal != wantCredit || s.Offsets != wantOffsets {
				t.Errorf("credit %s offsets %d, want %s %d", s.CreditTotal, s.Offsets, wantCredit, wantOffsets)
			}
			for i, e := range tc.spec.Entries {
				want, _ := Trace(buildTestODFI, e.TraceSequence)
				if s.Traces[i] != want {
					t.Errorf("Traces[%d] = %q, want %q", i, s.Traces[i], want)
				}
			}

			again, err := BuildFile(o, tc.spec)
			if err != nil || !bytes.Equal(again.File, built.File) {
				t.Fatalf("second build differs (err %v)", err)
			}
			shuffled := tc.spec
			shuffled.Entries = slices.Clone(tc.spec.Entries)
			slices.Reverse(shuffled.Entries)
			reordered, err := BuildFile(o, shuffled)
			if err != nil || !bytes.Equal(reordered.File, built.File) {
				t.Fatalf("build from reordered entries differs (err %v)", err)
			}
		})
	}
}

func TestBuildFileHolidayWeekDates(t *testing.T) {
	spec := buildTestSpec(buildTestSmallEntries())
	spec.CreationDate = civil.MustParse("2026-11-25")
	spec.EffectiveDate = civil.MustParse("2026-11-27")
	built, err := BuildFile(buildTestOriginator(false), spec)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(built.File), "\n")
	if got := lines[0][23:29]; got != "261125" {
		t.Errorf("file creation date %q, want 261125", got)
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "5") && l[69:75] != "261127" {
			t.Errorf("batch effective date %q, want 261127: %s", l[69:75], l)
		}
	}
}

func TestBuildFileOffset(t *testing.T) {
	o := buildTestOriginator(true)
	spec := buildTestSpec(buildTestSmallEntries())
	built, err := BuildFile(o, spec)
	if err != nil {
		t.Fatal(err)
	}
	// Derived: the sequences after the highest entry's (14), in batch order,
	// skipping the prenote batch that has nothing to balance.
	var offsets []string
	for _, b := range built.Summary.BatchSummaries {
		offsets = append(offsets, b.OffsetTrace)
		if b.OffsetTrace != "" && b.CreditTotal != b.DebitTotal {
			t.Errorf("batch %d credit %s != debit %s", b.Number, b.CreditTotal, b.DebitTotal)
		}
	}
	want := []string{"021000020000015", "", "021000020000016", "021000020000017"}
	if !slices.Equal(offsets, want) {
		t.Errorf("offset traces %q, want %q", offsets, want)
	}
	if built.Summary.LastTraceSequence != 17 {
		t.Errorf("LastTraceSequence = %d, want 17", built.Summary.LastTraceSequence)
	}

	f := buildTestRead(t, built.File)
	for _, b := range f.Batches {
		entries := b.GetEntries()
		last := entries[len(entries)-1]
		if b.GetHeader().CompanyEntryDescription == "PRENOTE" {
			if b.GetHeader().ServiceClassCode != moov.DebitsOnly {
				t.Errorf("prenote batch service class %d, want 225", b.GetHeader().ServiceClassCode)
			}
			continue
		}
		if b.GetHeader().ServiceClassCode != moov.MixedDebitsAndCredits {
			t.Errorf("batch %d service class %d, want 200", b.GetHeader().BatchNumber, b.GetHeader().ServiceClassCode)
		}
		if last.TransactionCode != moov.CheckingCredit || last.DFIAccountNumber != "400012345678" || last.IndividualName != "DRAFTER AUTO SETTLEMEN" {
			t.Errorf("batch %d last entry %+v is not the offset", b.GetHeader().BatchNumber, last)
		}
		if c := b.GetControl(); c.TotalCreditEntryDollarAmount != c.TotalDebitEntryDollarAmount {
			t.Errorf("batch %d does not net to zero: debit %d credit %d", b.GetHeader().BatchNumber, c.TotalDebitEntryDollarAmount, c.TotalCreditEntryDollarAmount)
		}
	}

	// Explicit, and a savings offset account.
	o.Offset.Type = "savings"
	spec.OffsetTraceSequence = 500
	built, err = BuildFile(o, spec)
	if err != nil {
		t.Fatal(err)
	}
	if got := built.Summary.BatchSummaries[3].OffsetTrace; got != "021000020000502" {
		t.Errorf("explicit offset trace of batch 4 = %q, want 021000020000502", got)
	}
	for _, b := range buildTestRead(t, built.File).Batches {
		if es := b.GetEntries(); b.GetHeader().CompanyEntryDescription != "PRENOTE" && es[len(es)-1].TransactionCode != moov.SavingsCredit {
			t.Errorf("savings offset transaction code %d, want 32", es[len(es)-1].TransactionCode)
		}
	}
	buildTestVerify(t, built)
}

// buildTestSECEntries is a file of one SEC code: two debits and a prenote.
func buildTestSECEntries(sec string) []Entry {
	pt := ""
	if sec != "PPD" {
		pt = "S"
	}
	return []Entry{
		{SEC: sec, Description: "PAYMENT", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1234567890", Amount: 45_000, IndividualID: "LN-1", IndividualName: "Maria Garcia", TraceSequence: 3, PaymentType: pt},
		{SEC: sec, Description: "PAYMENT", TransactionCode: 37, RDFIRouting: buildTestRDFI2, AccountNumber: "55501234", Amount: 25_000, IndividualID: "LN-2", IndividualName: "王小明", TraceSequence: 1, PaymentType: pt},
		{SEC: sec, Description: "PRENOTE", TransactionCode: 28, RDFIRouting: buildTestRDFI3, AccountNumber: "31415926", IndividualID: "LN-3", IndividualName: "Priya Patel", TraceSequence: 2, PaymentType: pt},
	}
}

// buildTestMixedEntries is a file of every SEC code, with two TEL batches.
func buildTestMixedEntries() []Entry {
	entries := buildTestSmallEntries()
	return append(entries,
		Entry{SEC: "TEL", Description: "PAYMENT", TransactionCode: 27, RDFIRouting: buildTestRDFI3, AccountNumber: "90001", Amount: 60_000, IndividualID: "LN-000606", IndividualName: "Γιώργος Παπαδόπουλος", TraceSequence: 15, PaymentType: "S"},
		Entry{SEC: "TEL", Description: "PAYMENT", TransactionCode: 37, RDFIRouting: buildTestRDFI1, AccountNumber: "90002", Amount: 40_000, IndividualID: "LN-000707", IndividualName: "Иван Петров", TraceSequence: 16, PaymentType: "R"},
		Entry{SEC: "TEL", Description: "RETRY PYMT", TransactionCode: 27, RDFIRouting: buildTestRDFI2, AccountNumber: "90003", Amount: 15_000, IndividualID: "LN-000808", IndividualName: "😀", TraceSequence: 17, PaymentType: "S"},
	)
}

// With an offset account every batch that debits is balanced, PPD, WEB and
// TEL alike: each batch nets to zero (a TEL batch together with the
// companion batch that carries its offset), and so does the file; every
// offset has the fields its class requires.
func TestBuildFileOffsetsBalance(t *testing.T) {
	cases := []struct {
		name    string
		entries []Entry
		offsets int
	}{
		{"PPD", buildTestSECEntries("PPD"), 1},
		{"WEB", buildTestSECEntries("WEB"), 1},
		{"TEL", buildTestSECEntries("TEL"), 1},
		{"mixed", buildTestMixedEntries(), 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := buildTestOriginator(true)
			spec := buildTestSpec(tc.entries)
			built, err := BuildFile(o, spec)
			if err != nil {
				t.Fatalf("BuildFile: %v", err)
			}
			buildTestVerify(t, built)
			f := buildTestRead(t, built.File)
			s := built.Summary
			if len(f.Batches) != s.Batches || len(s.BatchSummaries) != s.Batches {
				t.Fatalf("%d batches read, summary says %d with %d summaries", len(f.Batches), s.Batches, len(s.BatchSummaries))
			}
			if s.Offsets != tc.offsets || s.CreditTotal != s.DebitTotal {
				t.Errorf("offsets %d credit %s debit %s; want %d offsets and a balanced file", s.Offsets, s.CreditTotal, s.DebitTotal, tc.offsets)
			}

			// Sum each batch from the entries as read, folding a companion
			// offset batch into the TEL batch it follows.
			net := map[int]int{} // batch number (the TEL batch for a companion) -> debits minus credits
			var fileNet int
			maxEntrySeq := 0
			for _, e := range spec.Entries {
				maxEntrySeq = max(maxEntrySeq, e.TraceSequence)
			}
			var offsetSeqs []int
			for i, b := range f.Batches {
				h := b.GetHeader()
				sum := s.BatchSummaries[i]
				if h.BatchNumber != sum.Number || h.StandardEntryClassCode != sum.SEC || h.CompanyEntryDescription != sum.Description {
					t.Errorf("batch %d header %s %q, summary %+v", h.BatchNumber, h.StandardEntryClassCode, h.CompanyEntryDescription, sum)
				}
				key := h.BatchNumber
				var debit, credit int
				for _, e := range b.GetEntries() {
					if e.CreditOrDebit() == "C" {
						credit += e.Amount
						offsetSeqs = append(offsetSeqs, buildTestTraceSeq(t, e.TraceNumber))
						buildTestCheckOffset(t, h.StandardEntryClassCode, e)
					} else {
						debit += e.Amount
					}
				}
				if debit != int(sum.DebitTotal) || credit != int(sum.CreditTotal) {
					t.Errorf("batch %d debit %d credit %d, summary %s %s", key, debit, credit, sum.DebitTotal, sum.CreditTotal)
				}
				switch h.StandardEntryClassCode {
				case "TEL":
					if credit != 0 || h.ServiceClassCode != moov.DebitsOnly {
						t.Errorf("TEL batch %d: credit %d, service class %d; want no credit, 225", key, credit, h.ServiceClassCode)
					}
					if debit > 0 {
						next := f.Batches[i+1].GetHeader()
						if next.StandardEntryClassCode != OffsetCompanionSEC || s.BatchSummaries[i+1].Balances != key {
							t.Fatalf("TEL batch %d is not followed by its companion offset batch: %+v", key, s.BatchSummaries[i+1])
						}
					}
				case OffsetCompanionSEC:
					prev := f.Batches[i-1].GetHeader()
					if sum.Balances != prev.BatchNumber || prev.StandardEntryClassCode != "TEL" || len(b.GetEntries()) != 1 ||
						h.ServiceClassCode != moov.CreditsOnly || h.CompanyName != prev.CompanyName || h.CompanyIdentification != prev.CompanyIdentification ||
						h.EffectiveEntryDate != prev.EffectiveEntryDate || h.CompanyEntryDescription != prev.CompanyEntryDescription ||
						h.CompanyDiscretionaryData != prev.CompanyDiscretionaryData {
						t.Errorf("companion batch %d %+v does not match TEL batch %+v", key, h, prev)
					}
					key = sum.Balances
				default:
					if sum.Balances != 0 {
						t.Errorf("batch %d Balances = %d, want 0", key, sum.Balances)
					}
				}
				net[key] += debit - credit
				fileNet += debit - credit
			}
			for n, v := range net {
				if v != 0 {
					t.Errorf("batch %d nets to %d, want 0", n, v)
				}
			}
			if fileNet != 0 {
				t.Errorf("file nets to %d, want 0", fileNet)
			}
			// Offsets take the sequences above every entry's, one each, in
			// batch order.
			for i, seq := range offsetSeqs {
				if seq != maxEntrySeq+1+i {
					t.Errorf("offset %d has trace sequence %d, want %d", i, seq, maxEntrySeq+1+i)
				}
			}
			if s.LastTraceSequence != maxEntrySeq+tc.offsets {
				t.Errorf("LastTraceSequence %d, want %d", s.LastTraceSequence, maxEntrySeq+tc.offsets)
			}
		})
	}
}

// buildTestCheckOffset checks an offset credit carries what its class needs.
func buildTestCheckOffset(t *testing.T, sec string, e *moov.EntryDetail) {
	t.Helper()
	if e.TransactionCode != moov.CheckingCredit || e.DFIAccountNumber != "400012345678" || e.RDFIIdentification+e.CheckDigit != buildTestODFI ||
		e.IndividualName != "DRAFTER AUTO SETTLEMEN" {
		t.Errorf("%s offset %+v is not the credit to the settlement account", sec, e)
	}
	want := ""
	if sec == "WEB" {
		want = "S"
	}
	if got := strings.TrimSpace(e.DiscretionaryData); got != want {
		t.Errorf("%s offset payment type / discretionary data %q, want %q", sec, got, want)
	}
}

func buildTestTraceSeq(t *testing.T, trace string) int {
	t.Helper()
	if len(trace) != 15 || trace[:8] != buildTestODFI[:8] {
		t.Fatalf("trace %q", trace)
	}
	n := 0
	for _, c := range trace[8:] {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestBuildFileRejectsFile(t *testing.T) {
	entry := func(seq int, amount money.Cents) Entry {
		return Entry{SEC: "PPD", Description: "AUTOPAY", TransactionCode: 27, RDFIRouting: buildTestRDFI1, AccountNumber: "1", Amount: amount, IndividualName: "A", TraceSequence: seq}
	}
	cases := []struct {
		name   string
		mutate func(o *Originator, f *FileSpec)
		want   string
	}{
		{"bad modifier lower case", func(o *Originator, f *FileSpec) { f.IDModifier = 'a' }, "IDModifier"},
		{"bad modifier zero byte", func(o *Originator, f *FileSpec) { f.IDModifier = 0 }, "IDModifier"},
		{"effective before creation", func(o *Originator, f *FileSpec) { f.EffectiveDate = civil.MustParse("2026-11-23") }, "EffectiveDate"},
		{"missing creation date", func(o *Originator, f *FileSpec) { f.CreationDate = civil.Date{} }, "CreationDate"},
		{"bad creation time", func(o *Originator, f *FileSpec) { f.CreationTime = "2460" }, "CreationTime"},
		{"no entries", func(o *Originator, f *FileSpec) { f.Entries = nil }, "Entries"},
		{"bad odfi", func(o *Originator, f *FileSpec) { o.ODFIRouting = "021000022" }, "ODFIRouting"},
		{"bad destination", func(o *Originator, f *FileSpec) { o.ImmediateDestination = "12345" }, "ImmediateDestination"},
		{"bad origin", func(o *Originator, f *FileSpec) { o.ImmediateOrigin = "1987654320" }, "ImmediateOrigin"},
		{"long company name", func(o *Originator, f *FileSpec) { o.CompanyName = "DRAFTER AUTO FINANCE" }, "CompanyName"},
		{"missing company id", func(o *Originator, f *FileSpec) { o.CompanyID = "" }, "CompanyID"},
		{"non-ascii destination name", func(o *Originator, f *FileSpec) { o.ImmediateDestinationName = "BANCO ESPAÑOL" }, "ImmediateDestinationName"},
		{"offset bad routing", func(o *Originator, f *FileSpec) { o.Offset.Routing = "021000022" }, "offset account Routing"},
		{"offset bad type", func(o *Originator, f *FileSpec) { o.Offset.Type = "loan" }, "offset account Type"},
		{"offset bad account", func(o *Originator, f *FileSpec) { o.Offset.AccountNumber = "12-34" }, "offset account AccountNumber"},
		{"offset trace not above entries", func(o *Originator, f *FileSpec) { f.OffsetTraceSequence = 14 }, "OffsetTraceSequence"},
		{"offset trace overflows", func(o *Originator, f *FileSpec) { f.OffsetTraceSequence = MaxTraceSequence - 1 }, "OffsetTraceSequence"},
		{"offset over one entry's amount", func(o *Originator, f *FileSpec) {
			f.Entries = []Entry{entry(1, MaxEntryAmount), entry(2, 1)}
		}, "one offset entry holds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := buildTestOriginator(true)
			f := buildTestSpec(buildTestSmallEntries())
			tc.mutate(&o, &f)
			_, err := BuildFile(o, f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("BuildFile error = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// CheckOriginator applies BuildFile's rules to the originator and names the
// field, so configuration is refused at start by the build's own rules.
func TestCheckOriginator(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(o *Originator)
		field  string // "" accepted
		text   string
	}{
		{"as configured", func(o *Originator) {}, "", ""},
		{"without offset", func(o *Originator) { o.Offset = nil }, "", ""},
		{"optional names empty", func(o *Originator) { o.ImmediateDestinationName, o.ImmediateOriginName = "", "" }, "", ""},
		{"names at their widths", func(o *Originator) {
			o.ImmediateDestinationName, o.ImmediateOriginName, o.CompanyName, o.CompanyID = strings.Repeat("D", 23), strings.Repeat("O", 23), strings.Repeat("C", 16), strings.Repeat("1", 10)
		}, "", ""},
		{"punctuation allowed", func(o *Originator) { o.CompanyName = "A&B AUTO, INC." }, "", ""},
		{"umlaut in company name", func(o *Originator) { o.CompanyName = "DRÄFTER" }, "CompanyName", "printable ASCII"},
		{"origin name of 40", func(o *Originator) { o.ImmediateOriginName = strings.Repeat("X", 40) }, "ImmediateOriginName", "over 23"},
		{"newline in odfi name", func(o *Originator) { o.ImmediateDestinationName = "DEMO\nBANK" }, "ImmediateDestinationName", "printable ASCII"},
		{"tab in company id", func(o *Originator) { o.CompanyID = "12\t34" }, "CompanyID", "printable ASCII"},
		{"lower-case company name", func(o *Originator) { o.CompanyName = "Drafter Auto" }, "CompanyName", "upper-case"},
		{"lower-case origin name", func(o *Originator) { o.ImmediateOriginName = "drafter" }, "ImmediateOriginName", "upper-case"},
		{"company name of 17", func(o *Originator) { o.CompanyName = strings.Repeat("C", 17) }, "CompanyName", "over 16"},
		{"company name empty", func(o *Originator) { o.CompanyName = "" }, "CompanyName", "empty"},
		{"company id of 11", func(o *Originator) { o.CompanyID = "12345678901" }, "CompanyID", "over 10"},
		{"odfi check digit", func(o *Originator) { o.ODFIRouting = "021000022" }, "ODFIRouting", "check digit"},
		{"odfi letters", func(o *Originator) { o.ODFIRouting = "02100002X" }, "ODFIRouting", "digits"},
		{"origin all zero", func(o *Originator) { o.ImmediateOrigin = "000000000" }, "ImmediateOrigin", "not all zero"},
		{"offset routing", func(o *Originator) { o.Offset.Routing = "12345" }, "Offset.Routing", "9 digits"},
		{"offset account letters", func(o *Originator) { o.Offset.AccountNumber = "12AB" }, "Offset.AccountNumber", "digits"},
		{"offset account of 18", func(o *Originator) { o.Offset.AccountNumber = strings.Repeat("1", 18) }, "Offset.AccountNumber", "over 17"},
		{"offset type", func(o *Originator) { o.Offset.Type = "loan" }, "Offset.Type", "checking or savings"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := buildTestOriginator(true)
			tc.mutate(&o)
			err := CheckOriginator(o)
			_, berr := BuildFile(o, buildTestSpec(buildTestSmallEntries()))
			if tc.field == "" {
				if err != nil || berr != nil {
					t.Fatalf("CheckOriginator = %v, BuildFile = %v; want both to accept", err, berr)
				}
				return
			}
			var oe *OriginatorError
			if !errors.As(err, &oe) || oe.Field != tc.field || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("CheckOriginator = %v, want an *OriginatorError naming %s and saying %q", err, tc.field, tc.text)
			}
			if berr == nil || !errors.As(berr, &oe) || oe.Field != tc.field {
				t.Fatalf("BuildFile = %v, want it to refuse %s as CheckOriginator does", berr, tc.field)
			}
		})
	}
}

func TestBuildFileRejectsEntry(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(e *Entry)
		field  string
	}{
		{"routing check digit", func(e *Entry) { e.RDFIRouting = "011000016" }, "RDFIRouting"},
		{"routing letters", func(e *Entry) { e.RDFIRouting = "01100001X" }, "RDFIRouting"},
		{"empty account", func(e *Entry) { e.AccountNumber = "" }, "AccountNumber"},
		{"account with a dash", func(e *Entry) { e.AccountNumber = "1234-5678" }, "AccountNumber"},
		{"account over 17", func(e *Entry) { e.AccountNumber = "123456789012345678" }, "AccountNumber"},
		{"negative amount", func(e *Entry) { e.Amount = -1 }, "Amount"},
		{"amount over max", func(e *Entry) { e.Amount = MaxEntryAmount + 1 }, "Amount"},
		{"zero debit", func(e *Entry) { e.Amount = 0 }, "Amount"},
		{"prenote with amount", func(e *Entry) { e.TransactionCode = 28 }, "Amount"},
		{"unknown sec", func(e *Entry) { e.SEC = "CCD" }, "SEC"},
		{"credit code", func(e *Entry) { e.TransactionCode = 22 }, "TransactionCode"},
		{"unknown code", func(e *Entry) { e.TransactionCode = 99 }, "TransactionCode"},
		{"web without payment type", func(e *Entry) { e.SEC = "WEB" }, "PaymentType"},
		{"tel bad payment type", func(e *Entry) { e.SEC, e.PaymentType = "TEL", "X" }, "PaymentType"},
		{"ppd with payment type", func(e *Entry) { e.PaymentType = "S" }, "PaymentType"},
		{"empty description", func(e *Entry) { e.Description = "" }, "Description"},
		{"lower-case description", func(e *Entry) { e.Description = "autopay" }, "Description"},
		{"long description", func(e *Entry) { e.Description = "AUTOPAYMENTS" }, "Description"},
		{"long individual id", func(e *Entry) { e.IndividualID = "LN-0000000000000001" }, "IndividualID"},
		{"zero trace sequence", func(e *Entry) { e.TraceSequence = 0 }, "TraceSequence"},
		{"trace sequence overflow", func(e *Entry) { e.TraceSequence = MaxTraceSequence + 1 }, "TraceSequence"},
		{"duplicate trace sequence", func(e *Entry) { e.TraceSequence = 12 }, "TraceSequence"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildTestSpec(buildTestSmallEntries())
			bad := &f.Entries[1]
			tc.mutate(bad)
			_, err := BuildFile(buildTestOriginator(false), f)
			var ee *BuildEntryError
			if !errors.As(err, &ee) {
				t.Fatalf("BuildFile error = %v, want a *BuildEntryError", err)
			}
			if ee.Index != 1 || ee.TraceSequence != bad.TraceSequence || ee.Field != tc.field {
				t.Fatalf("error names entry %d trace %d field %q, want 1, %d, %q (%v)",
					ee.Index, ee.TraceSequence, ee.Field, bad.TraceSequence, tc.field, err)
			}
			if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "trace sequence") {
				t.Errorf("error text %q does not name the field and trace", err)
			}
			// CheckEntry applies the same rules before allocation, all but
			// the trace sequence, which allocation assigns.
			cerr := CheckEntry(*bad)
			if tc.field == "TraceSequence" {
				if cerr != nil {
					t.Fatalf("CheckEntry = %v, want nil: the trace sequence is not yet assigned", cerr)
				}
				return
			}
			var ce *BuildEntryError
			if !errors.As(cerr, &ce) || ce.Field != tc.field {
				t.Fatalf("CheckEntry = %v, want a *BuildEntryError naming %q", cerr, tc.field)
			}
		})
	}
}

func TestCheckEntryAcceptsWhatBuilds(t *testing.T) {
	for i, e := range buildTestSmallEntries() {
		if err := CheckEntry(e); err != nil {
			t.Errorf("entry %d: CheckEntry = %v, want nil for an entry BuildFile accepts", i, err)
		}
	}
}

// A holder name never fails a build: a name with nothing NACHA can carry
// (it once sanitised to "" and stranded a night) builds with FallbackName,
// and CheckEntry agrees.
func TestBuildFileNameFallback(t *testing.T) {
	cases := []struct {
		name, holder, want string
	}{
		{"name empty once sanitised", "😀", FallbackName},
		{"emoji and punctuation", "🚗 - . 🚗", FallbackName},
		{"digits only", "12345", FallbackName},
		{"empty", "", FallbackName},
		{"cjk", "李小龍", "LI XIAO LONG"},
		{"greek", "Γιώργος Παπαδόπουλος", "GIORGOS PAPADOPOULOS"},
		{"cyrillic", "Наталья Кузнецова", "NATALIA KUZNETSOVA"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildTestSpec(buildTestSmallEntries())
			f.Entries[1].IndividualName = tc.holder
			if err := CheckEntry(f.Entries[1]); err != nil {
				t.Fatalf("CheckEntry = %v, want nil: a name never refuses an entry", err)
			}
			built, err := BuildFile(buildTestOriginator(true), f)
			if err != nil {
				t.Fatalf("BuildFile: %v", err)
			}
			buildTestVerify(t, built)
			var got string
			for _, b := range buildTestRead(t, built.File).Batches {
				for _, e := range b.GetEntries() {
					if e.TraceNumber == built.Summary.Traces[1] {
						got = strings.TrimSpace(e.IndividualName)
					}
				}
			}
			if got != tc.want {
				t.Errorf("individual name %q, want %q", got, tc.want)
			}
		})
	}
}

func TestBuildFileReportsManyEntryErrors(t *testing.T) {
	f := buildTestSpec(buildTestSmallEntries())
	f.Entries[0].Amount = -5
	f.Entries[4].AccountNumber = "x"
	_, err := BuildFile(buildTestOriginator(false), f)
	if err == nil || !strings.Contains(err.Error(), "entry 0 (trace sequence 12): Amount") ||
		!strings.Contains(err.Error(), "entry 4 (trace sequence 14): AccountNumber") {
		t.Fatalf("error = %v, want both entries named", err)
	}
}

func TestBuildFileDoesNotReorderCallerEntries(t *testing.T) {
	entries := buildTestSmallEntries()
	before := slices.Clone(entries)
	if _, err := BuildFile(buildTestOriginator(true), buildTestSpec(entries)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(entries, before) {
		t.Error("BuildFile changed the caller's entries")
	}
}

func TestNextModifier(t *testing.T) {
	cases := []struct {
		name    string
		prev    byte
		want    byte
		wantErr bool
	}{
		{"a to b", 'A', 'B', false},
		{"y to z", 'Y', 'Z', false},
		{"z to 0", 'Z', '0', false},
		{"0 to 1", '0', '1', false},
		{"8 to 9", '8', '9', false},
		{"after 9 none", '9', 0, true},
		{"lower case", 'a', 0, true},
		{"zero byte", 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NextModifier(tc.prev)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("NextModifier(%q) = %q, %v; want %q, error %v", tc.prev, got, err, tc.want, tc.wantErr)
			}
		})
	}
	// 36 files a day: A..Z then 0..9.
	n, m := 1, byte('A')
	for {
		next, err := NextModifier(m)
		if err != nil {
			break
		}
		m, n = next, n+1
	}
	if n != 36 || m != '9' {
		t.Errorf("sequence from A has %d modifiers ending %q, want 36 ending '9'", n, m)
	}
}

// buildTestVerify checks a built file the two ways every file is checked:
// moov-io/ach reads it back and validates it, and CheckRecords passes it;
// and the summary agrees with what moov-io/ach read.
func buildTestVerify(t *testing.T, built Built) {
	t.Helper()
	if err := CheckRecords(built.File); err != nil {
		t.Fatalf("CheckRecords: %v", err)
	}
	f := buildTestRead(t, built.File)
	s := built.Summary
	if f.Control.BatchCount != s.Batches || f.Control.BlockCount != s.BlockCount ||
		f.Control.EntryAddendaCount != s.Entries+s.Offsets || int64(f.Control.EntryHash) != s.EntryHash ||
		money.Cents(f.Control.TotalDebitEntryDollarAmountInFile) != s.DebitTotal ||
		money.Cents(f.Control.TotalCreditEntryDollarAmountInFile) != s.CreditTotal {
		t.Errorf("file control %+v disagrees with summary %+v", f.Control, s)
	}
	if s.Lines%10 != 0 || s.Lines != bytes.Count(built.File, []byte("\n")) {
		t.Errorf("summary lines %d", s.Lines)
	}
	for _, b := range f.Batches {
		for _, e := range b.GetEntries() {
			if len(e.IndividualName) > 22 || e.IndividualName == "" {
				t.Errorf("entry %s individual name %q", e.TraceNumber, e.IndividualName)
			}
		}
	}
}

func buildTestRead(t *testing.T, b []byte) moov.File {
	t.Helper()
	f, err := moov.NewReader(bytes.NewReader(b)).Read()
	if err != nil {
		t.Fatalf("moov-io/ach reading the built file: %v", err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("moov-io/ach validating the built file: %v", err)
	}
	return f
}

// outboundGolden compares got with testdata/outbound/name, or rewrites it
// under -update-outbound (or -update).
func outboundGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "outbound", name)
	if outboundUpdating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test ./ach -update-outbound to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

func BenchmarkBuildFile(b *testing.B) {
	const n = 100_000
	entries := make([]Entry, n)
	routings := []string{buildTestRDFI1, buildTestRDFI2, buildTestRDFI3}
	descriptions := []string{"AUTOPAY", "AUTOPAY", "AUTOPAY", "PAYMENT", "RETRY PYMT"}
	for i := range entries {
		e := Entry{
			SEC: "PPD", Description: descriptions[i%len(descriptions)], TransactionCode: 27,
			RDFIRouting: routings[i%len(routings)], AccountNumber: "1234567890", Amount: money.Cents(10_000 + i%50_000),
			IndividualID: "LN-0000001", IndividualName: "Nguyễn Thị Ánh", TraceSequence: i + 1,
		}
		if e.Description == "PAYMENT" {
			e.SEC, e.PaymentType = "WEB", "S"
		}
		entries[i] = e
	}
	spec := buildTestSpec(entries)
	o := buildTestOriginator(true)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := BuildFile(o, spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// FuzzBuildFile feeds one arbitrary entry beside a good one: BuildFile must
// refuse it or build a file that moov-io/ach and CheckRecords accept, and
// never panic.
func FuzzBuildFile(f *testing.F) {
	for _, e := range buildTestSmallEntries() {
		f.Add(e.SEC, e.Description, e.TransactionCode, e.RDFIRouting, e.AccountNumber, int64(e.Amount), e.IndividualID, e.IndividualName, e.TraceSequence, e.PaymentType)
	}
	f.Add("WEB", "PAYMENT", 37, "011000015", "1", int64(MaxEntryAmount), "x", "Đặng Văn Lâm", MaxTraceSequence-10, "R")
	f.Fuzz(func(t *testing.T, sec, desc string, code int, routing, account string, amount int64, id, name string, seq int, payType string) {
		fixed := buildTestSmallEntries()[0]
		fixed.TraceSequence = 1
		spec := buildTestSpec([]Entry{fixed, {
			SEC: sec, Description: desc, TransactionCode: code, RDFIRouting: routing, AccountNumber: account,
			Amount: money.Cents(amount), IndividualID: id, IndividualName: name, TraceSequence: seq, PaymentType: payType,
		}})
		built, err := BuildFile(buildTestOriginator(seq%2 == 0), spec)
		if err != nil {
			return
		}
		buildTestVerify(t, built)
	})
}
