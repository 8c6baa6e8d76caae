package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// AuditCommand lists the audit log: who did what, when and why.
type AuditCommand struct{ common }

// Run implements command.
func (c *AuditCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("audit", "audit [--action A] [--limit N] [--json]\n\n"+
		"The operator actions recorded in the ledger, newest first: who (--as,\n"+
		"DRAFTER_OPERATOR or the OS user of the command; the API's caller), what,\n"+
		"on what, when and why.")
	c.register(fs)
	action := fs.String("action", "", "only this action (cancel, resume, rerun, schedule pause, import, ...)")
	limit := fs.Int("limit", 50, "at most this many entries")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("audit takes no arguments, got %q", pos)
	}
	a, err := c.openReadOnly(ctx) // a look-up: no key, no write
	if err != nil {
		return err
	}
	defer a.close()
	es, err := a.store.AuditLog(ctx, *action, *limit)
	if err != nil {
		return err
	}
	if c.jsonOut {
		if es == nil {
			es = []ledger.AuditEntry{}
		}
		return printJSON(es)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tWHO\tACTION\tTARGET\tWHY")
	for _, e := range es {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", e.At.In(a.cfg.Zone).Format(time.RFC3339), e.Actor, e.Action, oneLine(e.Target, 80), oneLine(e.Reason, 100))
	}
	return w.Flush()
}
