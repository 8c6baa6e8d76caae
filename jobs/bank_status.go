package jobs

import (
	"context"
	"time"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// BankStatus is what went to the bank for a business date and what came
// back: the operator's view (`drafter bank status`).
type BankStatus struct {
	Date civil.Date `json:"date"`
	// Bank is the server; empty when none is configured.
	Bank string `json:"bank,omitempty"`
	// Deadline is the day's last cutoff, when cutoffs are set.
	Deadline *time.Time         `json:"deadline,omitempty"`
	Files    []BankStatusFile   `json:"files"`
	Pending  int                `json:"pending"`
	Arrived  []storage.Object   `json:"arrived"`
	Missed   []ledger.Exception `json:"cutoff_missed,omitempty"`
	// Acks are the bank's acknowledgement files and the files it sent
	// that drafter cannot read, kept under AckPrefix.
	Acks []storage.Object `json:"acknowledgements"`
	// Flagged are the open exceptions of rejected files and of files
	// drafter cannot read: each needs a person.
	Flagged []ledger.Exception `json:"flagged,omitempty"`
}

// BankStatusFile is one NACHA file of the day and its transmission.
type BankStatusFile struct {
	ledger.ACHFile
	Transmission *ledger.Transmission `json:"transmission,omitempty"`
}

// GetBankStatus gathers the bank status of business date d: the day's
// files with their transmissions, how many are not sent, the files from
// the bank waiting under InboundPrefix for the returns job, and open
// missed-cutoff exceptions, the bank's acknowledgement files under
// AckPrefix, and open exceptions of rejected or unreadable bank files.
func GetBankStatus(ctx context.Context, st *ledger.Store, docs storage.Store, cfg *config.Config, d civil.Date) (BankStatus, error) {
	bs := BankStatus{Date: d, Files: []BankStatusFile{}, Arrived: []storage.Object{}, Acks: []storage.Object{}}
	if cfg.Bank != nil {
		bs.Bank = cfg.Bank.String()
		if dl, ok := bank.Deadline(d, cfg.Bank.Cutoffs, cfg.Zone); ok {
			bs.Deadline = &dl
		}
	}
	files, err := st.DayFiles(ctx, d)
	if err != nil {
		return bs, err
	}
	trs, err := st.DayTransmissions(ctx, d)
	if err != nil {
		return bs, err
	}
	for _, f := range files {
		sf := BankStatusFile{ACHFile: f}
		if tr, ok := trs[f.ID]; ok {
			sf.Transmission = &tr
		}
		if sf.Transmission == nil || sf.Transmission.State != ledger.TransmissionSent {
			bs.Pending++
		}
		bs.Files = append(bs.Files, sf)
	}
	objs, err := docs.List(ctx, InboundPrefix)
	if err != nil {
		return bs, err
	}
	for _, o := range objs {
		if !inProcessedFolder(o.Key) {
			bs.Arrived = append(bs.Arrived, o)
		}
	}
	acks, err := docs.List(ctx, AckPrefix)
	if err != nil {
		return bs, err
	}
	bs.Acks = append(bs.Acks, acks...)
	exs, err := st.Exceptions(ctx, false)
	if err != nil {
		return bs, err
	}
	for _, e := range exs {
		switch e.Kind {
		case ExceptionCutoffMissed:
			bs.Missed = append(bs.Missed, e)
		case ExceptionBankReject, ExceptionBankFileUnknown:
			bs.Flagged = append(bs.Flagged, e)
		}
	}
	return bs, nil
}
