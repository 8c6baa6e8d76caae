package ach

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// bankTestODFI is the ODFI of the origination files the inbound tests
// build; bankTestRDFIs the banks their customers use.
const bankTestODFI = "021000021"

var bankTestRDFIs = []string{"011000015", "091000019", "026009593"}

// bankTestEntry is one debit of a test origination file.
type bankTestEntry struct {
	Trace, RDFI, Account, Name, ID string
	Amount                         money.Cents
	TransactionCode                int
	SEC                            string
}

// bankTestOrigination builds, with moov-io/ach directly, an origination file
// like drafter's: n debits split into a PPD AUTOPAY batch and a WEB PAYMENT
// batch, customers at three RDFIs, a savings account every fifth entry.
// It stands in for the origination builder in these tests.
func bankTestOrigination(tb testing.TB, n int) ([]byte, []bankTestEntry) {
	tb.Helper()
	f := moov.NewFile()
	f.Header = moov.NewFileHeader()
	f.Header.ImmediateDestination = bankTestODFI
	f.Header.ImmediateDestinationName = "JPMORGAN CHASE"
	f.Header.ImmediateOrigin = "987654320"
	f.Header.ImmediateOriginName = "DRAFTER AUTO FINANCE"
	f.Header.FileCreationDate = "261124"
	f.Header.FileCreationTime = "2100"
	f.Header.FileIDModifier = "A"

	var entries []bankTestEntry
	web := n / 4
	for bn, spec := range []struct {
		sec, desc string
		count     int
	}{{"PPD", "AUTOPAY", n - web}, {"WEB", "PAYMENT", web}} {
		if spec.count == 0 {
			continue
		}
		bh := moov.NewBatchHeader()
		bh.ServiceClassCode = moov.DebitsOnly
		bh.CompanyName = "DRAFTER AUTO FIN"
		bh.CompanyIdentification = "1987654320"
		bh.StandardEntryClassCode = spec.sec
		bh.CompanyEntryDescription = spec.desc
		bh.EffectiveEntryDate = "261125"
		bh.ODFIIdentification = bankTestODFI[:8]
		bh.BatchNumber = bn + 1
		batch, err := moov.NewBatch(bh)
		if err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < spec.count; i++ {
			k := len(entries)
			e := bankTestEntry{
				Trace:           fmt.Sprintf("%s%07d", bankTestODFI[:8], k+1),
				RDFI:            bankTestRDFIs[k%len(bankTestRDFIs)],
				Account:         fmt.Sprintf("%d", 4400012345+int64(k)*7919),
				Name:            fmt.Sprintf("CUSTOMER %06d", k),
				ID:              fmt.Sprintf("LN%08d", 1000+k),
				Amount:          money.Cents(25000 + (k%97)*1013),
				TransactionCode: 27,
				SEC:             spec.sec,
			}
			if k%5 == 4 {
				e.TransactionCode = 37
			}
			ed := moov.NewEntryDetail()
			ed.TransactionCode = e.TransactionCode
			ed.SetRDFI(e.RDFI)
			ed.DFIAccountNumber = e.Account
			ed.Amount = int(e.Amount)
			ed.IdentificationNumber = e.ID
			ed.IndividualName = e.Name
			if spec.sec == "WEB" {
				ed.DiscretionaryData = "S"
			}
			ed.TraceNumber = e.Trace
			batch.AddEntry(ed)
			entries = append(entries, e)
		}
		if err := batch.Create(); err != nil {
			tb.Fatal(err)
		}
		f.AddBatch(batch)
	}
	if err := f.Create(); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := moov.NewWriter(&buf).Write(f); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), entries
}

// bankTestMoovValid checks a file with moov-io/ach and with the record
// checker, the two opinions every NACHA file drafter writes must pass.
func bankTestMoovValid(t *testing.T, b []byte) {
	t.Helper()
	f, err := moov.NewReader(bytes.NewReader(b)).Read()
	if err != nil {
		t.Fatalf("moov-io/ach cannot read the file: %v", err)
	}
	if err := f.Validate(); err != nil {
		t.Fatalf("moov-io/ach rejects the file: %v", err)
	}
	if err := CheckRecords(b); err != nil {
		t.Fatalf("CheckRecords rejects the file: %v", err)
	}
}

var bankTestCreated = civil.MustParse("2026-11-25")

func TestBuildReturnFile(t *testing.T) {
	orig, entries := bankTestOrigination(t, 12)
	returns := []SimulatedReturn{
		{Trace: entries[0].Trace, Code: "R01"},
		{Trace: entries[1].Trace, Code: "R02"},
		{Trace: entries[4].Trace, Code: "R03"}, // savings
		{Trace: entries[5].Trace, Code: "R15", DateOfDeath: civil.MustParse("2026-11-02")},
		{Trace: entries[7].Trace, Code: "R07", AddendaInformation: "CUSTOMER REVOKED"},
		{Trace: entries[10].Trace, Code: "R10"}, // WEB batch
	}
	out, err := BuildReturnFile(orig, returns, bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	bankTestMoovValid(t, out)
	in, err := ParseInbound(bytes.NewReader(out), "returns.ach")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Returns) != len(returns) || len(in.Corrections) != 0 {
		t.Fatalf("%d returns, %d corrections; want %d, 0", len(in.Returns), len(in.Corrections), len(returns))
	}
	if in.Created != bankTestCreated || in.ImmediateDestination != "987654320" || in.ImmediateOrigin != bankTestODFI {
		t.Errorf("header: created %s, destination %s, origin %s", in.Created, in.ImmediateDestination, in.ImmediateOrigin)
	}
	byTrace := map[string]bankTestEntry{}
	for _, e := range entries {
		byTrace[e.Trace] = e
	}
	want := map[string]SimulatedReturn{}
	for _, r := range returns {
		want[r.Trace] = r
	}
	for _, got := range in.Returns {
		r, ok := want[got.OriginalTrace]
		if !ok {
			t.Errorf("return for trace %s was not asked for", got.OriginalTrace)
			continue
		}
		e := byTrace[got.OriginalTrace]
		wantCode := 26
		if e.TransactionCode == 37 {
			wantCode = 36
		}
		switch {
		case got.Code != r.Code, got.Kind != KindReturn:
			t.Errorf("%s: code %s kind %s, want %s return", r.Trace, got.Code, got.Kind, r.Code)
		case got.OriginalRDFI != e.RDFI[:8]:
			t.Errorf("%s: original RDFI %s, want %s", r.Trace, got.OriginalRDFI, e.RDFI[:8])
		case got.Amount != e.Amount:
			t.Errorf("%s: amount %s, want %s", r.Trace, got.Amount, e.Amount)
		case got.AccountNumberSHA256 != AccountNumberSHA256(e.Account) || got.AccountNumberLast4 != e.Account[len(e.Account)-4:]:
			t.Errorf("%s: account does not match", r.Trace)
		case got.TransactionCode != wantCode:
			t.Errorf("%s: transaction code %d, want %d", r.Trace, got.TransactionCode, wantCode)
		case got.DateOfDeath != r.DateOfDeath:
			t.Errorf("%s: date of death %s, want %s", r.Trace, got.DateOfDeath, r.DateOfDeath)
		case got.AddendaInformation != r.AddendaInformation:
			t.Errorf("%s: addenda information %q", r.Trace, got.AddendaInformation)
		case got.SEC != e.SEC || got.CompanyID != "1987654320" || got.EffectiveDate != bankTestCreated:
			t.Errorf("%s: batch %+v", r.Trace, got.InboundBatch)
		case got.IndividualName != e.Name || got.IndividualID != e.ID:
			t.Errorf("%s: individual %q %q", r.Trace, got.IndividualName, got.IndividualID)
		case !strings.HasPrefix(got.Trace, got.OriginalRDFI):
			t.Errorf("%s: the return's trace %s should start with the returning RDFI", r.Trace, got.Trace)
		}
		if strings.Contains(got.Raw, e.Account) {
			t.Errorf("%s: raw record holds the full account number", r.Trace)
		}
	}
}

func TestBuildNOCFile(t *testing.T) {
	orig, entries := bankTestOrigination(t, 12)
	corrections := []SimulatedCorrection{
		{Trace: entries[0].Trace, ChangeCode: "C01", AccountNumber: "99887766554433"},
		{Trace: entries[1].Trace, ChangeCode: "C02", RoutingNumber: "026009593"},
		{Trace: entries[2].Trace, ChangeCode: "C03", RoutingNumber: "011000015", AccountNumber: "12345678901234567"},
		{Trace: entries[3].Trace, ChangeCode: "C04", Name: "JANE Q PUBLIC"},
		{Trace: entries[4].Trace, ChangeCode: "C05", TransactionCode: 27},
		{Trace: entries[5].Trace, ChangeCode: "C06", AccountNumber: "5550001111", TransactionCode: 37},
		{Trace: entries[6].Trace, ChangeCode: "C07", RoutingNumber: "091000019", AccountNumber: "7007007007", TransactionCode: 27},
		{Trace: entries[7].Trace, ChangeCode: "C09", IndividualID: "LN00009999"},
		{Trace: entries[9].Trace, ChangeCode: "C13"},
		{Trace: entries[10].Trace, ChangeCode: "C14", Text: "IAT"},
	}
	out, err := BuildNOCFile(orig, corrections, bankTestCreated)
	if err != nil {
		t.Fatal(err)
	}
	bankTestMoovValid(t, out)
	in, err := ParseInbound(bytes.NewReader(out), "noc.ach")
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Corrections) != len(corrections) || len(in.Returns) != 0 {
		t.Fatalf("%d corrections, %d returns", len(in.Corrections), len(in.Returns))
	}
	byTrace := map[string]Correction{}
	for _, c := range in.Corrections {
		byTrace[c.OriginalTrace] = c
		if c.SEC != "COR" || c.Refused || c.Line == 0 {
			t.Errorf("%s: %+v", c.OriginalTrace, c)
		}
	}
	for _, want := range corrections {
		got, ok := byTrace[want.Trace]
		if !ok {
			t.Errorf("%s: no correction", want.Trace)
			continue
		}
		d := got.CorrectedData
		if got.ChangeCode != want.ChangeCode || d.AccountNumber.Reveal() != want.AccountNumber ||
			d.RoutingNumber != want.RoutingNumber || d.TransactionCode != want.TransactionCode ||
			d.Name != want.Name || d.IndividualID != want.IndividualID {
			t.Errorf("%s %s: corrected data %+v (account %s), want %+v", want.Trace, want.ChangeCode, d, d.AccountNumber.Last4(), want)
		}
		if want.AccountNumber != "" && (strings.Contains(got.Raw, want.AccountNumber) || strings.Contains(d.Text, want.AccountNumber)) {
			t.Errorf("%s: the corrected account number shows in the raw record or text", want.Trace)
		}
	}
}

func TestBuildReturnFileRejects(t *testing.T) {
	orig, entries := bankTestOrigination(t, 4)
	tests := []struct {
		name    string
		returns []SimulatedReturn
		want    string
	}{
		{"unknown trace", []SimulatedReturn{{Trace: "021000029999999", Code: "R01"}}, "not in the origination file"},
		{"unknown code", []SimulatedReturn{{Trace: entries[0].Trace, Code: "R99"}}, "not a return code"},
		{"dishonored code", []SimulatedReturn{{Trace: entries[0].Trace, Code: "R68"}}, "dishonored"},
		{"death without a date", []SimulatedReturn{{Trace: entries[0].Trace, Code: "R14"}}, "date of death"},
		{"twice", []SimulatedReturn{{Trace: entries[0].Trace, Code: "R01"}, {Trace: entries[0].Trace, Code: "R02"}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildReturnFile(orig, tt.returns, bankTestCreated)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := BuildReturnFile([]byte("not a file"), nil, bankTestCreated); err == nil {
		t.Error("a file that is not NACHA built a return file")
	}
	if _, err := BuildReturnFile(orig, nil, civil.Date{}); err == nil {
		t.Error("no creation date built a return file")
	}
}

func TestBuildNOCFileRejects(t *testing.T) {
	orig, entries := bankTestOrigination(t, 4)
	tr := entries[0].Trace
	tests := []struct {
		name string
		c    SimulatedCorrection
		want string
	}{
		{"refused code", SimulatedCorrection{Trace: tr, ChangeCode: "C61"}, "not a change code an RDFI sends"},
		{"unknown code", SimulatedCorrection{Trace: tr, ChangeCode: "C10"}, "not a change code"},
		{"C01 without account", SimulatedCorrection{Trace: tr, ChangeCode: "C01"}, "needs an account number"},
		{"C02 bad routing", SimulatedCorrection{Trace: tr, ChangeCode: "C02", RoutingNumber: "123456789"}, "check digit"},
		{"C05 bad code", SimulatedCorrection{Trace: tr, ChangeCode: "C05", TransactionCode: 99}, "transaction code 99"},
		{"unknown trace", SimulatedCorrection{Trace: "021000029999999", ChangeCode: "C13"}, "not in the origination file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildNOCFile(orig, []SimulatedCorrection{tt.c}, bankTestCreated)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
