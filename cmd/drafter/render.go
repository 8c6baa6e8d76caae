package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/drafterhq/drafter/jobs"
)

// RenderCommand renders one statement or lease-end notice from the ledger,
// as the jobs would, into a file for an operator to look at. It stores and
// records nothing.
type RenderCommand struct{ common }

// Run implements command.
func (c *RenderCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("render", "render statement --account ID --date YYYY-MM-DD --out FILE\n"+
		"       drafter render notice --account ID --date YYYY-MM-DD [--days N] --out FILE")
	c.register(fs)
	account := fs.String("account", "", "account id")
	date := fs.String("date", "", "statement date (the cycle's last day) or notice date")
	days := fs.Int("days", 0, "notice: the threshold (90, 60, 30); default the one due on --date, else the days left")
	out := fs.String("out", "", "PDF file to write")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return errHelp
	}
	what := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if what != "statement" && what != "notice" {
		return fmt.Errorf("unknown document %q: want statement or notice", what)
	}
	if *account == "" {
		return errors.New("--account is required: the account id")
	}
	if *out == "" {
		return errors.New("--out is required: the PDF file to write")
	}
	d, err := parseDate("date", *date)
	if err != nil {
		return err
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
	if err != nil {
		return fmt.Errorf("render %s for account %s: %w", what, *account, err)
	}
	// 0600: a statement is one customer's; share it on purpose.
	if err := os.WriteFile(*out, pdf, 0o600); err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes\n", *out, len(pdf))
	return nil
}
