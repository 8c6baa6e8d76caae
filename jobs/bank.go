package jobs

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// BankOptions tune the simulated bank. Zero values take the defaults.
type BankOptions struct {
	// Seed makes a different, still deterministic, choice of entries.
	Seed int64
	// ReturnPerMille is the share of debits returned, in thousandths
	// (default 30: 3%, a typical consumer-debit return rate).
	ReturnPerMille int
	// NOCPerMille is the share of entries that get a notification of change
	// (default 8).
	NOCPerMille int
}

// BankSummary is what the simulated bank sent back.
type BankSummary struct {
	Files        []string       `json:"files"`
	Returns      int            `json:"returns"`
	ByCode       map[string]int `json:"by_return_code"`
	Corrections  int            `json:"corrections"`
	ByChangeCode map[string]int `json:"by_change_code"`
}

// SimulateBank plays the bank for the demo and tests: for each stored
// origination file of business date d it returns a realistic share of the
// debits (mostly R01, some R02 and R03, a few R10) and sends a few NOCs
// (C01, C02, C05), as files under InboundPrefix dated the files' effective
// (settlement) date. The choice depends only on the seed and the trace
// numbers, so running it again stores the same files. Production never
// calls it.
func SimulateBank(ctx context.Context, st *ledger.Store, docs storage.Store, d civil.Date, opt BankOptions) (BankSummary, error) {
	if opt.ReturnPerMille == 0 {
		opt.ReturnPerMille = 30
	}
	if opt.NOCPerMille == 0 {
		opt.NOCPerMille = 8
	}
	sum := BankSummary{Files: []string{}, ByCode: map[string]int{}, ByChangeCode: map[string]int{}}
	files, err := st.DayFiles(ctx, d)
	if err != nil {
		return sum, err
	}
	for _, f := range files {
		if !f.InStorage() {
			continue
		}
		original, _, err := docs.Get(ctx, f.StorageKey)
		if err != nil {
			return sum, fmt.Errorf("simulated bank: read %s: %w", f.StorageKey, err)
		}
		entries, err := st.FileEntries(ctx, f.ID)
		if err != nil {
			return sum, err
		}
		var rets []ach.SimulatedReturn
		var nocs []ach.SimulatedCorrection
		for _, e := range entries {
			h := fnv.New64a()
			fmt.Fprintf(h, "%d:%s", opt.Seed, e.TraceNumber)
			x := h.Sum64()
			pick, kind := int(x%1000), int(x/1000%100)
			switch {
			case pick < opt.ReturnPerMille && e.Kind == "debit":
				code := "R01"
				switch {
				case kind >= 95:
					code = "R10"
				case kind >= 87:
					code = "R03"
				case kind >= 77:
					code = "R02"
				}
				rets = append(rets, ach.SimulatedReturn{Trace: e.TraceNumber, Code: code})
				sum.ByCode[code]++
			case pick < opt.ReturnPerMille+opt.NOCPerMille:
				c := ach.SimulatedCorrection{Trace: e.TraceNumber}
				switch {
				case kind < 50:
					c.ChangeCode, c.AccountNumber = "C01", correctedNumber(e.AccountNumber)
				case kind < 80:
					c.ChangeCode, c.TransactionCode = "C05", 37
					if e.TransactionCode/10 == 3 {
						c.TransactionCode = 27
					}
				default:
					c.ChangeCode, c.RoutingNumber = "C02", "011000015"
					if e.RDFIRouting == c.RoutingNumber {
						c.RoutingNumber = "021000021"
					}
				}
				nocs = append(nocs, c)
				sum.ByChangeCode[c.ChangeCode]++
			}
		}
		created := f.EffectiveOn
		if len(rets) > 0 {
			b, err := ach.BuildReturnFile(original, rets, created)
			if err != nil {
				return sum, fmt.Errorf("simulated bank: %s: %w", f.StorageKey, err)
			}
			key := fmt.Sprintf("%sreturns-%s-%s.ach", InboundPrefix, f.BusinessDate, f.IDModifier)
			if err := putInbound(ctx, docs, key, b); err != nil {
				return sum, err
			}
			sum.Files = append(sum.Files, key)
			sum.Returns += len(rets)
		}
		if len(nocs) > 0 {
			b, err := ach.BuildNOCFile(original, nocs, created)
			if err != nil {
				return sum, fmt.Errorf("simulated bank: %s: %w", f.StorageKey, err)
			}
			key := fmt.Sprintf("%snoc-%s-%s.ach", InboundPrefix, f.BusinessDate, f.IDModifier)
			if err := putInbound(ctx, docs, key, b); err != nil {
				return sum, err
			}
			sum.Files = append(sum.Files, key)
			sum.Corrections += len(nocs)
		}
	}
	return sum, nil
}

// putInbound stores a bank file unless it was processed already.
func putInbound(ctx context.Context, docs storage.Store, key string, b []byte) error {
	if _, err := docs.Stat(ctx, storage.ProcessedKey(key)); err == nil {
		return nil
	}
	if _, err := docs.Put(ctx, key, b, storage.PutOptions{ContentType: "text/plain"}); err != nil {
		return fmt.Errorf("simulated bank: store %s: %w", key, err)
	}
	return nil
}

// correctedNumber makes the account number a C01 NOC corrects to: the
// same digits with the last one changed, as a mistyped number would be.
func correctedNumber(n string) string {
	if n == "" {
		return "1"
	}
	last := n[len(n)-1]
	d, err := strconv.Atoi(string(last))
	if err != nil {
		return n[:len(n)-1] + "0"
	}
	return n[:len(n)-1] + strconv.Itoa((d+1)%10)
}
