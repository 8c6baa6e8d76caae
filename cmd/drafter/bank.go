package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// BankCommand shows the bank connection: `bank status [--date D]`.
type BankCommand struct{ common }

// Subcommands implements withSubcommands.
func (c *BankCommand) Subcommands() []subcommand {
	return []subcommand{
		{"status", "files sent to the bank, pending, held at a missed cutoff; the bank's files waiting"},
		{"reoriginate", "void a file held by a missed cutoff and put its payments back for the next file (audited)"},
	}
}

// Run implements command.
func (c *BankCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("bank", "bank status [--date D] [--json]\n       bank reoriginate KEY --reason TEXT [--json]\n\n"+
		"Shows what went to the bank for a business date: each NACHA file, whether it\n"+
		"was sent (remote name, bytes, sha256, when, which run) or is pending, the\n"+
		"day's cutoff, files held because it was missed, and the bank's files waiting\n"+
		"under ach/inbound/ for the returns job. Settings: DRAFTER_BANK_*.")
	c.register(fs)
	date := fs.String("date", "", "business date (default today in DRAFTER_ZONE)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the status as JSON")
	// `bank reoriginate` has flags of its own: hand it the arguments
	// before they are parsed as status's.
	for i, a := range args {
		if a == "reoriginate" {
			return c.reoriginate(ctx, append(append([]string{}, args[:i]...), args[i+1:]...))
		}
		if !strings.HasPrefix(a, "-") {
			break
		}
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("want `drafter bank status [--date D]` (see --help)")
	case pos[0] != "status":
		return usageErrorf("unknown bank command %q: want status or reoriginate", pos[0])
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	}
	var day civil.Date
	if *date != "" {
		if day, err = parseDate("date", *date); err != nil {
			return usageError{err}
		}
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	d := civil.Of(time.Now().In(a.cfg.Zone))
	if *date != "" {
		d = day
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
	fmt.Printf("acks:     %d acknowledgement or other files from the bank (kept under %s)\n", len(bs.Acks), jobs.AckPrefix)
	for _, o := range bs.Acks {
		fmt.Printf("  %s  %d bytes\n", o.Key, o.Size)
	}
	for _, e := range bs.Flagged {
		label := "BANK REJECTED A FILE"
		if e.Kind == jobs.ExceptionBankFileUnknown {
			label = "UNKNOWN FILE FROM THE BANK"
		}
		fmt.Printf("%s (exception %d): %s\n", label, e.ID, e.Detail)
	}
	return nil
}

// reoriginate is `bank reoriginate KEY --reason TEXT`: the way out of a
// missed cutoff that sends the debits a day later.
func (c *BankCommand) reoriginate(ctx context.Context, args []string) error {
	fs := newFlagSet("bank reoriginate", "bank reoriginate KEY --reason TEXT [--json]\n\n"+
		"Voids a NACHA file held because the bank's cutoff passed before it was sent\n"+
		"(exception cutoff_missed; see `drafter bank status`), so it is never sent, and\n"+
		"puts its payments back to scheduled: the next originate run allocates them\n"+
		"into a new file with that run's effective date. One transaction, recorded in\n"+
		"the audit log with the operator (--as, DRAFTER_OPERATOR or the OS user) and the reason;\n"+
		"the exception is resolved with it. A file with any transmission recorded may\n"+
		"be at the bank and is refused. To hold the file instead (never send it, and\n"+
		"debit nothing), resolve the exception: `drafter exceptions resolve ID --note`.\n"+
		"See docs/operations.md, \"Missed cutoffs: hold or re-originate\".")
	c.register(fs)
	reason := fs.String("reason", "", "why (required; recorded in the audit log and the exception)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageErrorf("want the held file's storage key (ach/outbound/DATE/drafter-DATE-M.ach), got %q", pos)
	}
	key := pos[0]
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("%s: --reason is required: say what was agreed (for example \"missed 16:00 cutoff, debit a day later, ticket 5120\")", key)
	}
	who, err := c.operator()
	if err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	f, err := a.store.FileByKey(ctx, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("no NACHA file has the key %q: `drafter bank status --date D` lists the day's files", key)
	}
	if err != nil {
		return err
	}
	n, err := a.store.VoidHeldFile(ctx, f.ID, who, *reason)
	if err != nil {
		return err
	}
	a.log.Warn().Str("key", f.StorageKey).Str("operator", who).Str("reason", *reason).Int("payments", n).
		Msg("held file voided after a missed cutoff: its payments go into the next originate run's file")
	if c.jsonOut {
		return printJSON(map[string]any{"storage_key": f.StorageKey, "business_date": f.BusinessDate, "payments_rescheduled": n})
	}
	fmt.Printf("voided %s (never sent): %d payments are scheduled again; the next originate run puts them in a new file with its own effective date "+
		"(`drafter run originate --date NEXT-BUSINESS-DATE`, then transmit before that day's cutoff)\n", f.StorageKey, n)
	return nil
}
