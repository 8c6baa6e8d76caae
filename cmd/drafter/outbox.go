package main

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	fs := newFlagSet("outbox", "outbox [--status queued|sending|sent|failed] [--kind K] [--limit N] [--json]\n       drafter outbox retry ID [--reason TEXT] [--json]\n       drafter outbox resend ID --reason TEXT [--json]\n\n"+
		"Shows the email queue: the counts by status, then each message with its\n"+
		"kind, recipient, attempts, next attempt and last error.")
	c.register(fs)
	status := fs.String("status", "", "only this status: queued, sending, sent or failed")
	kind := fs.String("kind", "", "only this kind: "+strings.Join(ledger.OutboxKinds, ", "))
	limit := fs.Int("limit", 0, "at most this many messages (0: all)")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if err := oneOf("status", *status, ledger.OutboxStatuses); err != nil {
		return err
	}
	if err := oneOf("kind", *kind, ledger.OutboxKinds); err != nil {
		return err
	}
	if *limit < 0 {
		return usageErrorf("--limit %d: want 0 (all) or more", *limit)
	}
	a, err := c.openReadOnly(ctx)
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
			next = m.NextAttemptAt.In(a.cfg.Zone).Format(time.RFC3339)
		case ledger.OutboxSending:
			next = "lease to " + m.NextAttemptAt.In(a.cfg.Zone).Format(time.RFC3339)
		case ledger.OutboxSent:
			if m.SentAt != nil {
				next = "sent " + m.SentAt.In(a.cfg.Zone).Format(time.RFC3339)
			}
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", m.ID, m.Kind, m.Recipient, m.Status, m.Attempts, next, oneLine(m.LastError, 100))
	}
	return w.Flush()
}

// Subcommands implements withSubcommands.
func (c *OutboxCommand) Subcommands() []subcommand {
	return []subcommand{
		{"retry", "requeue a failed message: the next deliver run sends it"},
		{"resend", "queue a sent message again (a customer lost it), with a reason (audited)"},
	}
}

func (c *OutboxCommand) retry(ctx context.Context, args []string) error {
	fs := newFlagSet("outbox retry", "outbox retry ID [--reason TEXT] [--json]\n\n"+
		"Puts a failed message back in the queue (recorded in the audit log with\n"+
		"the operator, DRAFTER_OPERATOR or USER): the next deliver run sends it.")
	c.register(fs)
	reason := fs.String("reason", "", "why the message is sent again (recorded in the audit log)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the message as JSON")
	c.registerOperator(fs)
	id, err := idArg(fs, args, "outbox id (a number from `drafter outbox --status failed`)")
	if err != nil {
		return err
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
	m, err := a.store.RetryOutbox(ctx, id, time.Now())
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("outbox %d does not exist: see `drafter outbox`", id)
	}
	if err != nil {
		return err
	}
	if err := a.store.Audit(ctx, who, "outbox retry", fmt.Sprintf("outbox %d", id), *reason); err != nil {
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
	c.registerOperator(fs)
	id, err := idArg(fs, args, "outbox id (a number from `drafter outbox`)")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("outbox resend %d: --reason is required (it is recorded)", id)
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
	m, err := a.store.ResendOutbox(ctx, id, who, *reason)
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
