package ach

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	moov "github.com/moov-io/ach"
)

// recordsTestGolden reads a golden origination file as lines, without the
// final newline.
func recordsTestGolden(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "outbound", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// recordsTestSet overwrites columns from..to (1-based, inclusive, as NACHA
// numbers positions) of a record.
func recordsTestSet(line string, from, to int, value string) string {
	if len(value) != to-from+1 {
		panic("recordsTestSet: value does not fit the columns")
	}
	return line[:from-1] + value + line[to:]
}

func recordsTestJoin(lines []string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

func TestCheckRecordsAcceptsGoldenFiles(t *testing.T) {
	matches, err := filepath.Glob(filepath.Join("testdata", "outbound", "*.ach"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no golden files (%v)", err)
	}
	for _, path := range matches {
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckRecords(b); err != nil {
				t.Errorf("CheckRecords: %v", err)
			}
			crlf := bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
			if err := CheckRecords(crlf); err != nil {
				t.Errorf("CheckRecords with CRLF: %v", err)
			}
			if err := CheckRecords(bytes.TrimSuffix(b, []byte("\n"))); err != nil {
				t.Errorf("CheckRecords without the final newline: %v", err)
			}
		})
	}
}

// TestCheckRecordsAcceptsAddenda checks a file with addenda records that
// moov-io/ach writes, a shape drafter's builder does not produce.
func TestCheckRecordsAcceptsAddenda(t *testing.T) {
	fh := moov.NewFileHeader()
	fh.ImmediateDestination, fh.ImmediateOrigin = buildTestODFI, "987654320"
	fh.FileCreationDate, fh.FileCreationTime = "261124", "2130"
	fh.ImmediateDestinationName, fh.ImmediateOriginName = "BANK", "DRAFTER"
	file := moov.NewFile()
	file.SetHeader(fh)
	bh := moov.NewBatchHeader()
	bh.ServiceClassCode, bh.CompanyName, bh.CompanyIdentification = moov.DebitsOnly, "DRAFTER", "1987654320"
	bh.StandardEntryClassCode, bh.CompanyEntryDescription, bh.EffectiveEntryDate = "PPD", "AUTOPAY", "261125"
	bh.ODFIIdentification = buildTestODFI[:8]
	batch, err := moov.NewBatch(bh)
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range []int{1, 2} {
		ed := moov.NewEntryDetail()
		ed.TransactionCode = 27
		ed.SetRDFI(buildTestRDFI1)
		ed.DFIAccountNumber, ed.Amount, ed.IndividualName = "123", 100+i, "A B"
		ed.SetTraceNumber(buildTestODFI[:8], seq)
		ed.Category = moov.CategoryForward
		add := moov.NewAddenda05()
		add.PaymentRelatedInformation = "LOAN PAYMENT"
		ed.AddAddenda05(add)
		ed.AddendaRecordIndicator = 1
		batch.AddEntry(ed)
	}
	if err := batch.Create(); err != nil {
		t.Fatal(err)
	}
	file.AddBatch(batch)
	if err := file.Create(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := moov.NewWriter(&buf).Write(file); err != nil {
		t.Fatal(err)
	}
	if err := CheckRecords(buf.Bytes()); err != nil {
		t.Fatalf("CheckRecords on a file with addenda: %v\n%s", err, buf.Bytes())
	}
}

func TestCheckRecordsRejects(t *testing.T) {
	// small_offset.ach, lines numbered from 1:
	//  1 file header
	//  2 batch 1 header (PPD AUTOPAY, 200); 3, 4 debits; 5 offset credit; 6 control
	//  7 batch 2 header (PPD PRENOTE, 225); 8 prenote; 9 control
	// 10 batch 3 header; 11 debit; 12 offset; 13 control
	// 14 batch 4 header; 15 debit; 16 offset; 17 control
	// 18 file control; 19, 20 filler
	const filler = "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
	cases := []struct {
		name   string
		mutate func(l []string) []string
		line   int
		field  string
	}{
		{"short line", func(l []string) []string { l[2] = l[2][:93]; return l }, 3, ""},
		{"long line", func(l []string) []string { l[2] += " "; return l }, 3, ""},
		{"non-ascii byte", func(l []string) []string { l[2] = recordsTestSet(l[2], 60, 60, "\x01"); return l }, 3, ""},
		{"blank line", func(l []string) []string { return append(l[:5], append([]string{""}, l[5:]...)...) }, 6, ""},
		{"missing filler", func(l []string) []string { return l[:19] }, 19, "blocking factor"},
		{"extra filler block", func(l []string) []string {
			for i := 0; i < 10; i++ {
				l = append(l, filler)
			}
			return l
		}, 28, "blocking factor"},
		{"not a file header first", func(l []string) []string { l[0] = recordsTestSet(l[0], 1, 1, "5"); return l }, 1, "file header record type"},
		{"bad priority code", func(l []string) []string { l[0] = recordsTestSet(l[0], 2, 3, "02"); return l }, 1, "priority code"},
		{"bad record size", func(l []string) []string { l[0] = recordsTestSet(l[0], 35, 37, "095"); return l }, 1, "record size"},
		{"bad blocking factor", func(l []string) []string { l[0] = recordsTestSet(l[0], 38, 39, "20"); return l }, 1, "blocking factor"},
		{"bad modifier", func(l []string) []string { l[0] = recordsTestSet(l[0], 34, 34, "a"); return l }, 1, "file id modifier"},
		{"bad creation date", func(l []string) []string { l[0] = recordsTestSet(l[0], 24, 29, "261324"); return l }, 1, "file creation date"},
		{"file control batch count", func(l []string) []string { l[17] = recordsTestSet(l[17], 2, 7, "000003"); return l }, 18, "file control batch count"},
		{"file control block count", func(l []string) []string { l[17] = recordsTestSet(l[17], 8, 13, "000003"); return l }, 18, "file control block count"},
		{"file control entry count", func(l []string) []string { l[17] = recordsTestSet(l[17], 14, 21, "00000007"); return l }, 18, "file control entry/addenda count"},
		{"file control entry hash", func(l []string) []string { l[17] = recordsTestSet(l[17], 22, 31, "0029300968"); return l }, 18, "file control entry hash"},
		{"file control debit", func(l []string) []string { l[17] = recordsTestSet(l[17], 32, 43, "000000160813"); return l }, 18, "file control total debit amount"},
		{"file control credit", func(l []string) []string { l[17] = recordsTestSet(l[17], 44, 55, "000000160811"); return l }, 18, "file control total credit amount"},
		{"file control not digits", func(l []string) []string { l[17] = recordsTestSet(l[17], 2, 7, "00000X"); return l }, 18, "file control batch count"},
		{"entry amount changed", func(l []string) []string { l[2] = recordsTestSet(l[2], 30, 39, "0000038901"); return l }, 6, "batch control total debit amount"},
		{"offset amount changed", func(l []string) []string { l[4] = recordsTestSet(l[4], 30, 39, "0000084579"); return l }, 6, "batch control total credit amount"},
		{"entry routing changed", func(l []string) []string { l[2] = recordsTestSet(l[2], 4, 11, "09100002"); return l }, 6, "batch control entry hash"},
		{"batch control count", func(l []string) []string { l[5] = recordsTestSet(l[5], 5, 10, "000004"); return l }, 6, "batch control entry/addenda count"},
		{"batch control company id", func(l []string) []string { l[5] = recordsTestSet(l[5], 45, 54, "1987654321"); return l }, 6, "batch control company identification"},
		{"batch control service class", func(l []string) []string { l[5] = recordsTestSet(l[5], 2, 4, "225"); return l }, 6, "batch control service class code"},
		{"batch control odfi", func(l []string) []string { l[5] = recordsTestSet(l[5], 80, 87, "02100003"); return l }, 6, "batch control ODFI identification"},
		{"batch control number", func(l []string) []string { l[5] = recordsTestSet(l[5], 88, 94, "0000009"); return l }, 6, "batch control batch number"},
		{"batch numbers not ascending", func(l []string) []string {
			l[6] = recordsTestSet(l[6], 88, 94, "0000001")
			l[8] = recordsTestSet(l[8], 88, 94, "0000001")
			return l
		}, 7, "batch number"},
		{"bad service class", func(l []string) []string { l[1] = recordsTestSet(l[1], 2, 4, "280"); return l }, 2, "batch header service class code"},
		{"bad effective date", func(l []string) []string { l[1] = recordsTestSet(l[1], 70, 75, "26112X"); return l }, 2, "batch header effective entry date"},
		{"traces not ascending", func(l []string) []string { l[2], l[3] = l[3], l[2]; return l }, 4, "entry trace number"},
		{"duplicate trace across batches", func(l []string) []string {
			l[10] = recordsTestSet(l[10], 80, 94, "021000020000010")
			return l
		}, 11, "entry trace number"},
		{"trace not digits", func(l []string) []string { l[2] = recordsTestSet(l[2], 80, 94, "02100002000001A"); return l }, 3, "entry trace number"},
		{"amount not digits", func(l []string) []string { l[2] = recordsTestSet(l[2], 30, 39, "00000389 0"); return l }, 3, "entry amount"},
		{"bad transaction code", func(l []string) []string { l[2] = recordsTestSet(l[2], 2, 3, "20"); return l }, 3, "entry transaction code"},
		{"credit in debits-only batch", func(l []string) []string { l[7] = recordsTestSet(l[7], 2, 3, "22"); return l }, 8, "entry transaction code"},
		{"bad addenda indicator", func(l []string) []string { l[2] = recordsTestSet(l[2], 79, 79, "2"); return l }, 3, "entry addenda record indicator"},
		{"announced addenda missing", func(l []string) []string { l[2] = recordsTestSet(l[2], 79, 79, "1"); return l }, 4, "record type"},
		{"unannounced addenda", func(l []string) []string {
			l[2] = "705" + strings.Repeat(" ", 80) + "0001" + "0000010"
			return l
		}, 3, "entry detail"},
		{"entry outside a batch", func(l []string) []string { l[1] = l[2]; return l }, 2, "record type"},
		{"batch header inside a batch", func(l []string) []string { l[5] = l[1]; return l }, 6, "record type"},
		{"batch control without header", func(l []string) []string { l[6] = l[5]; return l }, 7, "record type"},
		{"batch without entries", func(l []string) []string { return append(l[:7], l[8:]...) }, 8, "record type"},
		{"second file header", func(l []string) []string { l[6] = l[0]; return l }, 7, "record type"},
		{"unknown record type", func(l []string) []string { l[2] = recordsTestSet(l[2], 1, 1, "X"); return l }, 3, "record type"},
		{"file control inside a batch", func(l []string) []string { l[5] = l[17]; return l }, 6, "record type"},
		{"padding where the file control belongs", func(l []string) []string { l[17] = filler; return l }, 18, "record type"},
		{"no file control", func(l []string) []string { return l[:17] }, 17, "record type"},
		{"record after file control", func(l []string) []string { l[18] = l[1]; return l }, 19, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := tc.mutate(recordsTestGolden(t, "small_offset.ach"))
			err := CheckRecords(recordsTestJoin(lines))
			var re *RecordCheckError
			if !errors.As(err, &re) {
				t.Fatalf("CheckRecords = %v, want a *RecordCheckError", err)
			}
			if re.Line != tc.line || !strings.Contains(re.Field+" "+re.Msg, tc.field) {
				t.Fatalf("CheckRecords = %v; want line %d, field %q", err, tc.line, tc.field)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Errorf("error %q does not start with the line", err)
			}
		})
	}
	if err := CheckRecords(nil); err == nil {
		t.Error("CheckRecords(nil) = nil, want an error")
	}
}

func FuzzCheckRecords(f *testing.F) {
	matches, _ := filepath.Glob(filepath.Join("testdata", "outbound", "*.ach"))
	for _, path := range matches {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckRecords(b)
		if err != nil {
			var re *RecordCheckError
			if !errors.As(err, &re) || re.Line < 1 {
				t.Fatalf("CheckRecords error %v is not a *RecordCheckError with a line", err)
			}
			return
		}
		// Whatever passes is 94-character records in whole blocks.
		lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), "\n")
		if len(lines)%10 != 0 || lines[0][0] != '1' {
			t.Fatalf("CheckRecords passed %d lines starting %q", len(lines), lines[0][:1])
		}
	})
}
