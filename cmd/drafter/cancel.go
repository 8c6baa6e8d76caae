package main

import (
	"context"
	"fmt"
	"time"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// CancelCommand stops a running run at its next safe point.
type CancelCommand struct{ common }

// Run implements command.
func (c *CancelCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("cancel", "cancel RUN --reason TEXT [--wait D] [--as NAME] [--json]\n\n"+
		"Asks a running run to stop at its next safe point: a chunk boundary (the\n"+
		"workers of every process and replica look for the cancel in the ledger\n"+
		"before claiming a chunk), or an item boundary in the jobs that work item by\n"+
		"item (between files, batches of email, pages of documents; between two NACHA\n"+
		"files' allocations, never inside one). What the run did stays done; it ends\n"+
		"cancelled, which is listed by `drafter runs --needs-attention`, and\n"+
		"`drafter resume RUN` finishes it. The schedule and backfills leave a\n"+
		"cancelled run alone. A run whose process is gone is recorded cancelled at\n"+
		"once. Who asked and why go in the run's timeline and the audit log.\n"+
		"Exit code: 0 the run is cancelled (or ended before it reached a safe\n"+
		"point: said so; or --wait 0 and the cancel is asked), 1 it is still running\n"+
		"after --wait (the cancel stands) or it is not running, 2 usage.")
	c.register(fs)
	c.registerOperator(fs)
	reason := fs.String("reason", "", "why the run is stopped (required; recorded)")
	wait := fs.Duration("wait", time.Minute, "how long to wait for the run to stop (0: ask and return)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the run as JSON")
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	if *reason == "" {
		return usageErrorf("--reason is required: say why the run is stopped (for example \"wrong extract imported, ticket 4411\")")
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
	r, err := a.env().Cancel(ctx, id, who, *reason, a.cfg.StaleAfter)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(*wait)
	for r.Status == ledger.RunRunning && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if r, err = a.store.GetRun(ctx, id); err != nil {
			return err
		}
	}
	if c.jsonOut {
		if err := printJSON(r); err != nil {
			return err
		}
	}
	switch r.Status {
	case ledger.RunCancelled:
		if !c.jsonOut {
			fmt.Printf("run %d (%s %s) cancelled: selected %d, done %d, skipped %d, failed %d; what it did stays done\n  finish it: drafter resume %d\n",
				r.ID, r.Job, r.BusinessDate, r.Selected, r.Done, r.Skipped, r.Failed, r.ID)
		}
		return nil
	case ledger.RunRunning:
		if *wait == 0 {
			if !c.jsonOut {
				fmt.Printf("cancel of run %d (%s %s) requested by %s: it stops at its next safe point\n  look: drafter runs show %d\n", r.ID, r.Job, r.BusinessDate, who, r.ID)
			}
			return nil
		}
		return &outcomeError{exitFailed, fmt.Sprintf("cancel of run %d requested by %s; it is still running after %s and stops at its next safe point (the cancel stands)\n  look: drafter runs show %d",
			id, who, *wait, id)}
	}
	if !c.jsonOut {
		fmt.Printf("run %d (%s %s) ended %s before it reached a safe point: nothing was cancelled\n", r.ID, r.Job, r.BusinessDate, r.Status)
	}
	return outcomeOf([]jobs.Result{{Run: r}})
}
