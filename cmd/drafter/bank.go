package main

import (
	"context"
	"fmt"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
)

// BankCommand shows the bank connection: `bank status [--date D]`.
type BankCommand struct{ common }

// Run implements command.
func (c *BankCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("bank", "bank status [--date D] [--json]\n\n"+
		"Shows what went to the bank for a business date: each NACHA file, whether it\n"+
		"was sent (remote name, bytes, sha256, when, which run) or is pending, the\n"+
		"day's cutoff, files held because it was missed, and the bank's files waiting\n"+
		"under ach/inbound/ for the returns job. Settings: DRAFTER_BANK_*.")
	c.register(fs)
	date := fs.String("date", "", "business date (default today in DRAFTER_ZONE)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the status as JSON")
	if len(args) == 0 || args[0] != "status" {
		fs.Usage()
		return fmt.Errorf("bank: want `bank status [--date D]`")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	d := civil.Of(time.Now().In(a.cfg.Zone))
	if *date != "" {
		if d, err = parseDate("date", *date); err != nil {
			return err
		}
	}
	bs, err := jobs.GetBankStatus(ctx, a.store, a.docs, a.cfg, d)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(bs)
	}
	bankName := bs.Bank
	if bankName == "" {
		bankName = "none configured (DRAFTER_BANK_URL): files stay in storage"
	}
	fmt.Printf("bank:     %s\ndate:     %s\n", bankName, bs.Date)
	if bs.Deadline != nil {
		fmt.Printf("cutoff:   %s\n", bs.Deadline.In(a.cfg.Zone).Format(time.RFC3339))
	}
	fmt.Printf("files:    %d, %d pending\n", len(bs.Files), bs.Pending)
	for _, f := range bs.Files {
		state := "pending"
		if tr := f.Transmission; tr != nil {
			state = tr.State + " as " + tr.RemoteName
			if tr.SentAt != nil {
				state += fmt.Sprintf(" at %s (%s, run %d)", tr.SentAt.In(a.cfg.Zone).Format(time.RFC3339), tr.How, tr.RunID)
			}
		}
		fmt.Printf("  %s  %s  %d entries  %s  %s\n", f.IDModifier, f.StorageKey, f.Entries, f.DebitTotal, state)
	}
	for _, e := range bs.Missed {
		fmt.Printf("CUTOFF MISSED (exception %d): %s\n", e.ID, e.Detail)
	}
	fmt.Printf("arrived:  %d files waiting for the returns job\n", len(bs.Arrived))
	for _, o := range bs.Arrived {
		fmt.Printf("  %s  %d bytes\n", o.Key, o.Size)
	}
	return nil
}
