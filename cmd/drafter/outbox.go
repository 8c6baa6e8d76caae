package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// OutboxCommand shows the email queue, or requeues a failed message.
type OutboxCommand struct{ common }

// Run implements command.
func (c *OutboxCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "retry" {
		return c.retry(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "resend" {
		return c.resend(ctx, args[1:])
	}
	fs := newFlagSet("outbox", "outbox [--status queued|sending|sent|failed] [--kind K] [--limit N] [--json]\n       drafter outbox retry ID [--reason TEXT]\n       drafter outbox resend ID --reason TEXT")
	c.register(fs)
	status := fs.String("status", "", "only this status: queued, sending, sent or failed")
	kind := fs.String("kind", "", "only this kind: payment_scheduled, payment_returned, statement_ready, lease_end_notice")
	limit := fs.Int("limit", 0, "at most this many messages (0: all)")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *status {
	case "", ledger.OutboxQueued, ledger.OutboxSending, ledger.OutboxSent, ledger.OutboxFailed:
	default:
		return fmt.Errorf("--status %q: want queued, sending, sent or failed", *status)
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	ms, err := a.store.ListOutbox(ctx, ledger.OutboxFilter{Status: *status, Kind: *kind, Limit: *limit})
	if err != nil {
		return err
	}
	if c.jsonOut {
		if ms == nil {
			ms = []ledger.OutboxMessage{}
		}
		return printJSON(ms)
	}
	counts, err := a.store.OutboxCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("outbox: %d queued, %d sending, %d sent, %d failed\n", counts[ledger.OutboxQueued], counts[ledger.OutboxSending],
		counts[ledger.OutboxSent], counts[ledger.OutboxFailed])
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tKIND\tRECIPIENT\tSTATUS\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
	for _, m := range ms {
		next := "-"
		switch m.Status {
		case ledger.OutboxQueued:
			next = m.NextAttemptAt.In(a.cfg.Zone).Format("2006-01-02 15:04:05")
		case ledger.OutboxSending:
			next = "lease to " + m.NextAttemptAt.In(a.cfg.Zone).Format("15:04:05")
		case ledger.OutboxSent:
			if m.SentAt != nil {
				next = "sent " + m.SentAt.In(a.cfg.Zone).Format("2006-01-02 15:04:05")
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, m.Recipient, m.Status, m.Attempts, next, oneLine(m.LastError, 100))
	}
	return w.Flush()
}

func (c *OutboxCommand) retry(ctx context.Context, args []string) error {
	fs := newFlagSet("outbox retry", "outbox retry ID [--reason TEXT] [--json]")
	c.register(fs)
	reason := fs.String("reason", "", "why the message is sent again (recorded in the audit log)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the message as JSON")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fs.Usage()
		return errHelp
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil {
		return fmt.Errorf("want an outbox id (a number from `drafter outbox --status failed`), got %q", args[0])
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	m, err := a.store.RetryOutbox(ctx, id, time.Now())
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("outbox %d does not exist: see `drafter outbox`", id)
	}
	if err != nil {
		return err
	}
	if err := a.store.Audit(ctx, operator(), "outbox retry", fmt.Sprintf("outbox %d", id), *reason); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if c.jsonOut {
		return printJSON(m)
	}
	fmt.Printf("outbox %d (%s to %s) requeued; the next deliver run sends it (last error: %s)\n", m.ID, m.Kind, m.Recipient, oneLine(m.LastError, 200))
	return nil
}

// resend queues a message again (a sent statement email the customer lost),
// as the console's resend does.
func (c *OutboxCommand) resend(ctx context.Context, args []string) error {
	fs := newFlagSet("outbox resend", "outbox resend ID --reason TEXT [--json]")
	c.register(fs)
	reason := fs.String("reason", "", "why the message is sent again (required; recorded in the audit log)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the new message as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("outbox resend: want one outbox ID")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageErrorf("want an outbox id (a number from `drafter outbox`), got %q", pos[0])
	}
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("outbox resend %d: --reason is required (it is recorded)", id)
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	m, err := a.store.ResendOutbox(ctx, id, operator(), *reason)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(m)
	}
	fmt.Printf("outbox %d queued again as outbox %d (%s to %s); the next deliver run sends it\n", id, m.ID, m.Kind, m.Recipient)
	return nil
}

// oneLine shortens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-3]) + "..."
	}
	if s == "" {
		return "-"
	}
	return s
}
