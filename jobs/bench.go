package jobs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	moov "github.com/moov-io/ach"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
)

// BenchResult is a measured job: JSON keys as operators' scripts read them.
type BenchResult struct {
	Name         string  `json:"name"`
	Payments     int     `json:"payments,omitempty"`
	Documents    int     `json:"documents,omitempty"`
	Seconds      float64 `json:"seconds"`
	PerSecond    float64 `json:"per_second"`
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	Database     string  `json:"database,omitempty"`
	// SettleSeconds is what the deliver job then spends settling the
	// originated payment rows (ledger.SettleFile): off origination's
	// path to the bank, and so outside Seconds, but the night's work.
	SettleSeconds float64 `json:"settle_seconds,omitempty"`
}

// PeakRSS returns the process's peak resident set size (VmHWM), or 0 where
// /proc is not available.
func PeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// ResetPeakRSS returns the memory the untimed setup freed to the system
// and starts the peak resident set size over from there (Linux:
// /proc/self/clear_refs), so that PeakRSS measures what comes after. It
// reports false where the peak cannot be reset; PeakRSS then includes the
// setup.
func ResetPeakRSS() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// benchBankAccounts is how many accounts the synthetic payments are spread
// over: the number of bank accounts does not change origination's cost.
const benchBankAccounts = 1000

// SeedBenchPayments fills an empty store with n scheduled one-time debits
// due on the effective date of business date d, spread over a thousand
// accounts with verified bank accounts.
func SeedBenchPayments(ctx context.Context, st *ledger.Store, n int, d civil.Date) error {
	accts := make([]portfolio.Account, 0, benchBankAccounts)
	for a := range portfolio.Generated(portfolio.GenerateOptions{Accounts: benchBankAccounts * 2, Seed: 42, AsOf: d}) {
		if len(a.BankAccounts) == 0 || a.BankAccounts[0].Status != "active" || a.Status != "active" {
			continue
		}
		a.BankAccounts = a.BankAccounts[:1]
		a.BankAccounts[0].Prenote = "verified"
		a.Autopay, a.ScheduledPayments = nil, nil
		accts = append(accts, a)
		if len(accts) == benchBankAccounts {
			break
		}
	}
	im, err := st.NewImporter(ctx)
	if err != nil {
		return err
	}
	if _, err := im.Import(ctx, accts); err != nil {
		im.Rollback()
		return err
	}
	if err := im.Commit(); err != nil {
		return err
	}
	cal := NewCachedCalendar()
	eff := cal.NextBankingDay(d)
	const batch = 20000
	ps := make([]ledger.NewPayment, 0, batch)
	for i := 0; i < n; i++ {
		a := accts[i%len(accts)]
		sec := "WEB"
		if i%3 == 0 {
			sec = "TEL"
		}
		ps = append(ps, ledger.NewPayment{Source: ledger.SourceScheduled, SourceKey: "bench-" + strconv.Itoa(i), AccountID: a.ID,
			BankAccountID: a.BankAccounts[0].ID, Kind: "debit", SEC: sec, Description: "PAYMENT",
			Amount: money.Cents(1000 + i%50000), DueOn: eff, DraftOn: eff})
		if len(ps) == batch || i == n-1 {
			if _, err := st.InsertPayments(ctx, ps); err != nil {
				return err
			}
			ps = ps[:0]
		}
	}
	return nil
}

// BenchOriginate runs the originate job on a store seeded by
// SeedBenchPayments and measures it: select, build, write and mark; then,
// timed apart, the settlement of the payment rows the deliver job does
// next.
func BenchOriginate(ctx context.Context, env *Env, d civil.Date) (BenchResult, error) {
	// The seed's rows are flushed before the clock starts, not by a
	// checkpoint the database begins (and syncs) in the middle of the
	// timed part; a role that may not checkpoint measures with whatever
	// checkpoint comes.
	if _, err := env.Store.Checkpoint(ctx); err != nil {
		return BenchResult{}, err
	}
	ResetPeakRSS()
	start := time.Now()
	res, err := env.Start(ctx, Originate{}, StartSpec{Date: d, Trigger: "bench"})
	if err != nil {
		return BenchResult{}, err
	}
	secs := time.Since(start).Seconds()
	n := res.Summary.(*OriginateSummary).Entries
	out := BenchResult{Name: "originate", Payments: n, Seconds: secs, PerSecond: float64(n) / secs, PeakRSSBytes: PeakRSS(),
		Database: env.Store.Dialect()}
	start = time.Now()
	if _, err := env.Store.SettleStoredFiles(ctx, nil); err != nil {
		return out, err
	}
	out.SettleSeconds = time.Since(start).Seconds()
	return out, nil
}

// BenchMoovBaseline builds and writes n debit entries with moov-io/ach
// alone, split into files of limit entries: what origination costs without
// drafter's ledger, for the ratio.
func BenchMoovBaseline(n, limit int, dir string) (BenchResult, error) {
	ResetPeakRSS()
	start := time.Now()
	for fileNo := 0; fileNo*limit < n; fileNo++ {
		f := moov.NewFile()
		f.SetHeader(moov.NewFileHeader())
		f.Header.ImmediateDestination = "021000021"
		f.Header.ImmediateOrigin = "021000021"
		f.Header.FileCreationDate = "261201"
		f.Header.FileCreationTime = "2100"
		f.Header.ImmediateDestinationName = "DEMO BANK"
		f.Header.ImmediateOriginName = "DRAFTER AUTO FINANCE"
		f.Header.FileIDModifier = string(rune('A' + fileNo%26))
		bh := moov.NewBatchHeader()
		bh.ServiceClassCode = moov.DebitsOnly
		bh.CompanyName = "DRAFTER AUTO FIN"
		bh.CompanyIdentification = "1234567890"
		bh.StandardEntryClassCode = moov.WEB
		bh.CompanyEntryDescription = "PAYMENT"
		bh.EffectiveEntryDate = "261202"
		bh.ODFIIdentification = "02100002"
		b, err := moov.NewBatch(bh)
		if err != nil {
			return BenchResult{}, err
		}
		end := min((fileNo+1)*limit, n)
		for i := fileNo * limit; i < end; i++ {
			e := moov.NewEntryDetail()
			e.TransactionCode = moov.CheckingDebit
			e.SetRDFI("011000015")
			e.DFIAccountNumber = strconv.Itoa(10000000 + i)
			e.Amount = 1000 + i%50000
			e.IndividualName = "TRAN DUC THANG"
			e.IdentificationNumber = "LN-" + strconv.Itoa(i%1000)
			e.DiscretionaryData = "S "
			e.SetTraceNumber("02100002", i+1)
			b.AddEntry(e)
		}
		if err := b.Create(); err != nil {
			return BenchResult{}, err
		}
		f.AddBatch(b)
		if err := f.Create(); err != nil {
			return BenchResult{}, err
		}
		if err := f.Validate(); err != nil {
			return BenchResult{}, err
		}
		var buf bytes.Buffer
		if err := moov.NewWriter(&buf).Write(f); err != nil {
			return BenchResult{}, err
		}
		if err := os.WriteFile(fmt.Sprintf("%s/baseline-%d.ach", dir, fileNo), buf.Bytes(), 0o600); err != nil {
			return BenchResult{}, err
		}
	}
	secs := time.Since(start).Seconds()
	return BenchResult{Name: "moov-io/ach baseline", Payments: n, Seconds: secs, PerSecond: float64(n) / secs, PeakRSSBytes: PeakRSS()}, nil
}
