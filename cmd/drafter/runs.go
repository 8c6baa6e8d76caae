package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// RunsCommand lists the run ledger or shows one run.
type RunsCommand struct{ common }

// Run implements command.
func (c *RunsCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "show" {
		return c.show(ctx, args[1:])
	}
	fs := newFlagSet("runs", "runs [--job J] [--status S | --needs-attention] [--limit N] [--json]\n       drafter runs show RUN [--json]")
	c.register(fs)
	job := fs.String("job", "", "only this job")
	status := fs.String("status", "", "only this status: running, succeeded, partial, failed, cancelled")
	attention := fs.Bool("needs-attention", false, "only runs a person must look at: failed, partial, cancelled, and running ones whose heartbeat is older than DRAFTER_STALE_AFTER (crashed?)")
	limit := fs.Int("limit", 50, "at most this many runs, newest first")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch *status {
	case "", ledger.RunRunning, ledger.RunSucceeded, ledger.RunPartial, ledger.RunFailed, ledger.RunCancelled:
	default:
		return usageErrorf("--status %q: want running, succeeded, partial, failed or cancelled", *status)
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	runs, err := a.store.ListRuns(ctx, ledger.RunFilter{Job: *job, Status: *status, Limit: *limit,
		NeedsAttention: *attention, StaleAfter: a.cfg.StaleAfter})
	if err != nil {
		return err
	}
	if c.jsonOut {
		if runs == nil {
			runs = []ledger.Run{}
		}
		return printJSON(runs)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tJOB\tDATE\tATTEMPT\tSTATUS\tTRIGGER\tSELECTED\tDONE\tSKIPPED\tFAILED\tTOOK")
	for _, r := range runs {
		st := r.Status
		if r.DryRun {
			st += " (dry run)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.Job+scopeSuffix(r.Scope), r.BusinessDate, r.Attempt, st,
			trigger(r), r.Selected, r.Done, r.Skipped, r.Failed, took(r))
	}
	return w.Flush()
}

func (c *RunsCommand) show(ctx context.Context, args []string) error {
	fs := newFlagSet("runs show", "runs show RUN [--items] [--json]")
	c.register(fs)
	all := fs.Bool("items", false, "list every failed item, not only a line per kind of error")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	r, err := a.store.GetRun(ctx, id)
	if err != nil {
		return err
	}
	items, err := a.store.RunItems(ctx, id)
	if err != nil {
		return err
	}
	chunks, err := a.store.RunChunkProgress(ctx, id)
	if err != nil {
		return err
	}
	events, err := a.store.RunEvents(ctx, id)
	if err != nil {
		return err
	}
	var cp *ledger.ChunkProgress
	if chunks.Pending+chunks.Claimed+chunks.Done > 0 {
		cp = &chunks
	}
	if r.Status == ledger.RunRunning && cp != nil {
		// Live counts: the chunks done so far, not the last heartbeat's.
		if live, err := a.store.ChunkCounts(ctx, id); err == nil {
			r.Selected, r.Done, r.Skipped, r.Failed = live.Selected, live.Done, live.Skipped, live.Failed
		}
	}
	if c.jsonOut {
		if events == nil {
			events = []ledger.RunEvent{}
		}
		return printJSON(struct {
			ledger.Run
			Items    []ledger.RunItem      `json:"failed_items"`
			Chunks   *ledger.ChunkProgress `json:"chunks,omitempty"`
			Timeline []ledger.RunEvent     `json:"timeline"`
		}{r, items, cp, events})
	}
	printRunLine(r)
	fmt.Printf("  trigger:   %s\n", trigger(r))
	if r.Reason != "" {
		fmt.Printf("  reason:    %s\n", r.Reason)
	}
	fmt.Printf("  owner:     %s\n  started:   %s\n  heartbeat: %s (%s ago)\n", r.Owner, r.StartedAt.Format(time.RFC3339),
		r.HeartbeatAt.Format(time.RFC3339), time.Since(r.HeartbeatAt).Round(time.Second))
	if r.FinishedAt != nil {
		fmt.Printf("  finished:  %s (took %s)\n", r.FinishedAt.Format(time.RFC3339), took(r))
	}
	live := ""
	if r.Status == ledger.RunRunning && cp != nil {
		live = fmt.Sprintf(" (so far, over %d of %d chunks)", cp.Done, cp.Done+cp.Claimed+cp.Pending)
	}
	fmt.Printf("  counts:    selected %d, done %d, skipped %d, failed %d%s\n", r.Selected, r.Done, r.Skipped, r.Failed, live)
	if r.Error != "" {
		fmt.Printf("  error:     %s\n", r.Error)
	}
	if cp != nil {
		printChunks(*cp)
	}
	if len(events) > 0 {
		fmt.Println("  timeline:")
		for _, e := range events {
			by := ""
			if e.Actor != "" {
				by = " by " + e.Actor
			}
			fmt.Printf("    %s  %s%s: %s\n", e.At.Format(time.RFC3339), e.Event, by, e.Detail)
		}
	}
	var sum any
	_ = json.Unmarshal(r.Summary, &sum)
	printSummary(sum)
	printFailedItems(items, *all)
	if next := nextStep(r); next != "" {
		fmt.Printf("  next:      %s\n", next)
	}
	return nil
}

// nextStep is the command that finishes a run, or "" when nothing is left.
func nextStep(r ledger.Run) string {
	switch {
	case r.DryRun:
		return ""
	case r.Status == ledger.RunFailed, r.Status == ledger.RunCancelled:
		return fmt.Sprintf("after the fix, `drafter resume %d` finishes it", r.ID)
	case r.Status == ledger.RunPartial:
		return fmt.Sprintf("after the fix, `drafter resume %d` retries the failed items", r.ID)
	case r.Status == ledger.RunRunning:
		return fmt.Sprintf("if its process died, `drafter resume %d` detects it and finishes the run", r.ID)
	}
	return ""
}

// printFailedItems prints a run's failed items grouped by kind of error
// (ledger.GroupFailedItems, as the console shows them): how many, the first
// and last item, the error once; all lists each.
func printFailedItems(items []ledger.RunItem, all bool) {
	if len(items) == 0 {
		return
	}
	groups := ledger.GroupFailedItems(items)
	fmt.Printf("  failed items: %d, %d kind(s) of error", len(items), len(groups))
	if !all {
		fmt.Print(" (--items lists every one)")
	}
	fmt.Println()
	for _, g := range groups {
		if g.Count == 1 {
			fmt.Printf("    1 item, %s: %s\n", g.First, g.Error)
			continue
		}
		fmt.Printf("    %d items, first %s, last %s: %s\n", g.Count, g.First, g.Last, g.Error)
	}
	if all {
		for _, it := range items {
			fmt.Printf("  failed item %s: %s\n", it.Item, it.Error)
		}
	}
}

func printRunLine(r ledger.Run) {
	dry := ""
	if r.DryRun {
		dry = " (dry run: nothing written)"
	}
	fmt.Printf("run %d: %s %s attempt %d: %s%s\n", r.ID, r.Job+scopeSuffix(r.Scope), r.BusinessDate, r.Attempt, r.Status, dry)
	if r.Error != "" {
		fmt.Printf("  error: %s\n", firstLine(r.Error))
	}
}

// printSummary prints a job summary as indented key: value lines.
func printSummary(s any) {
	b, err := json.Marshal(s)
	if err != nil || string(b) == "null" {
		return
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m[k]
		switch x := v.(type) {
		case []any:
			fmt.Printf("  %s: %d\n", k, len(x))
			for _, it := range x {
				jb, _ := json.Marshal(it)
				fmt.Printf("    %s\n", jb)
			}
		case map[string]any:
			jb, _ := json.Marshal(x)
			fmt.Printf("  %s: %s\n", k, jb)
		default:
			if strings.HasSuffix(k, "_cents") {
				if f, ok := v.(float64); ok {
					fmt.Printf("  %s: %s\n", strings.TrimSuffix(k, "_cents"), centsString(int64(f)))
					continue
				}
			}
			if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1e15 {
				fmt.Printf("  %s: %d\n", k, int64(f))
				continue
			}
			fmt.Printf("  %s: %v\n", k, v)
		}
	}
}

func scopeSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "[" + s + "]"
}

func trigger(r ledger.Run) string {
	if r.TriggeredBy != "" {
		return r.Trigger + ":" + r.TriggeredBy
	}
	return r.Trigger
}

func took(r ledger.Run) string {
	if r.FinishedAt == nil {
		return "-"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// printChunks prints a chunked run's chunks and each worker's share.
func printChunks(p ledger.ChunkProgress) {
	fmt.Printf("  chunks:    %d done, %d claimed, %d pending, %d retaken\n", p.Done, p.Claimed, p.Pending, p.Retaken)
	workers := make([]string, 0, len(p.ByWorker))
	for w := range p.ByWorker {
		workers = append(workers, w)
	}
	sort.Strings(workers)
	for _, w := range workers {
		c := p.ByWorker[w]
		fmt.Printf("    worker %s: claimed %d, done %d, retaken %d\n", w, c.Claimed, c.Done, c.Retaken)
	}
}
