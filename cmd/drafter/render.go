package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// RenderCommand renders one statement or lease-end notice from the ledger,
// as the jobs would, into a file for an operator to look at. It stores and
// records nothing.
type RenderCommand struct{ common }

// Subcommands implements withSubcommands.
func (c *RenderCommand) Subcommands() []subcommand {
	return []subcommand{{"statement", "a statement for a date the account's cycle ends on"}, {"notice", "a lease-end notice"}}
}

// Run implements command.
func (c *RenderCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("render", "render statement --account ID --date YYYY-MM-DD --out FILE\n"+
		"       drafter render notice --account ID --date YYYY-MM-DD [--days N] --out FILE\n\n"+
		"Renders one statement or lease-end notice from the ledger as the jobs\n"+
		"would, into a PDF file to look at; it stores and records nothing. A\n"+
		"statement's --date must be a date the account's cycle ends on.")
	c.register(fs)
	account := fs.String("account", "", "account id")
	date := fs.String("date", "", "statement date (the cycle's last day) or notice date")
	days := fs.Int("days", 0, "notice: the threshold (90, 60, 30); default the one due on --date, else the days left")
	out := fs.String("out", "", "PDF file to write")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("which document? want statement or notice (see `drafter render --help`)")
	case pos[0] != "statement" && pos[0] != "notice":
		return usageErrorf("unknown document %q: want statement or notice", pos[0])
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	case *account == "":
		return usageErrorf("--account is required: the account id")
	case *out == "":
		return usageErrorf("--out is required: the PDF file to write")
	case *days < 0:
		return usageErrorf("--days %d: want a threshold such as 90, 60 or 30", *days)
	}
	what := pos[0]
	d, err := parseDate("date", *date)
	if err != nil {
		return usageError{err}
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	var pdf []byte
	if what == "statement" {
		pdf, err = jobs.RenderStatementFor(ctx, a.env(), *account, d)
	} else {
		pdf, err = jobs.RenderLeaseEndFor(ctx, a.store, a.cfg, *account, d, *days)
	}
	var notCycle *jobs.NotCycleEndError
	switch {
	case errors.As(err, &notCycle):
		return usageError{err}
	case errors.Is(err, ledger.ErrNotFound):
		return usageErrorf("render %s: no account %s in the ledger", what, *account)
	case err != nil:
		return fmt.Errorf("render %s for account %s: %w", what, *account, err)
	}
	// 0600: a statement is one customer's; share it on purpose.
	if err := os.WriteFile(*out, pdf, 0o600); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes\n", *out, len(pdf))
	return nil
}
