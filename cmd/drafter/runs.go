package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	fs := newFlagSet("runs", "runs [--job J] [--status S | --needs-attention] [--dry-runs] [--limit N] [--json]\n       drafter runs show RUN [--items] [--json]\n\n"+
		"Lists the run ledger, newest first: each run's job, business date, attempt,\n"+
		"status, trigger, counts and time taken. `runs show RUN` shows one run.")
	c.register(fs)
	job := fs.String("job", "", "only this job")
	status := fs.String("status", "", "only this status: running, succeeded, partial, failed, cancelled")
	attention := fs.Bool("needs-attention", false, "only runs a person must look at: failed, partial, cancelled, and running ones whose heartbeat is older than DRAFTER_STALE_AFTER (crashed?)")
	limit := fs.Int("limit", 50, "at most this many runs, newest first")
	dryRuns := fs.Bool("dry-runs", false, "list dry runs too (marked \"dry run\"; they wrote nothing and are left out otherwise)")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if err := oneOf("status", *status, ledger.RunStatuses); err != nil {
		return err
	}
	if err := oneOf("job", *job, registry().Names()); err != nil {
		return err
	}
	if *limit < 1 {
		return usageErrorf("--limit %d: want at least 1", *limit)
	}
	if *attention && *status != "" {
		return usageErrorf("--needs-attention with --status %s: give one of them", *status)
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	runs, err := a.store.ListRuns(ctx, ledger.RunFilter{Job: *job, Status: *status, Limit: *limit,
		NeedsAttention: *attention, StaleAfter: a.cfg.StaleAfter, NoDryRuns: !*dryRuns})
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

// Subcommands implements withSubcommands.
func (c *RunsCommand) Subcommands() []subcommand {
	return []subcommand{{"show", "one run: counts, chunks, timeline, failed items, what to do next"}}
}

func (c *RunsCommand) show(ctx context.Context, args []string) error {
	fs := newFlagSet("runs show", "runs show RUN [--items] [--json]\n\n"+
		"Shows one run: trigger, owner, times, counts, chunks, its timeline of\n"+
		"attempts, its failed items grouped by kind of error, and the command that\n"+
		"finishes it.")
	c.register(fs)
	all := fs.Bool("items", false, "list every failed item, not only a line per kind of error")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	id, err := runIDArg(fs, args)
	if err != nil {
		return err
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	det, err := a.store.RunDetails(ctx, id)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(det)
	}
	r, items, cp, events := det.Run, det.FailedItems, det.Chunks, det.Timeline
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
	if cr := det.CancelRequested; cr != nil {
		fmt.Printf("  cancel:    asked by %s at %s: %s (it stops at its next safe point)\n", cr.By, cr.At.Format(time.RFC3339), cr.Reason)
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
	printRunSummary(r, sum)
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
func printSummary(s any) { printSummaryAs(s, func(k string) string { return k }) }

// printRunSummary prints the summary of run r: a dry run's says what the
// run would do, for nothing in it was done.
func printRunSummary(r ledger.Run, s any) {
	if !r.DryRun {
		printSummary(s)
		return
	}
	fmt.Println("  dry run: nothing below was done; it is what a real run would do")
	printSummaryAs(s, wouldLabel)
}

// wouldWords are the dry-run labels of summary keys that name something
// done; wouldLabel reads any other as "would KEY".
var wouldWords = map[string]string{
	"payments_created":             "would create payments",
	"prenotes_created":             "would create prenotes",
	"prenotes_verified":            "would verify prenotes",
	"files":                        "would build files",
	"batches":                      "would build batches",
	"entries":                      "would originate entries",
	"prenotes":                     "would send prenote entries",
	"debit_total_cents":            "would debit_cents",
	"skipped_by_reason":            "would skip, by reason",
	"autopay_reduced":              "would reduce autopay debits",
	"autopay_covered":              "would cancel autopay debits (covered by one-time payments)",
	"held":                         "would hold",
	"stored":                       "stored (a dry run stores nothing)",
	"rendered":                     "would store documents",
	"emails_queued":                "would queue emails",
	"bytes":                        "would store bytes",
	"by_kind":                      "would store, by kind",
	"failed":                       "would fail",
	"sent":                         "sent (a dry run sends nothing)",
	"would_send":                   "would send",
	"would_fail":                   "would fail to send",
	"fee_total_cents":              "would charge fees_cents",
	"fees_assessed":                "would assess fees",
	"reversals_posted":             "would post reversals",
	"representments_scheduled":     "would schedule re-presentments",
	"autopay_stopped":              "would stop autopay",
	"autopay_suspended":            "would suspend autopay",
	"bank_accounts_invalidated":    "would invalidate bank accounts",
	"bank_accounts_corrected":      "would correct bank accounts",
	"accounts_flagged":             "would flag accounts",
	"scheduled_payments_cancelled": "would cancel scheduled payments",
	"exceptions":                   "would raise exceptions",
}

// facts are summary keys that say what a run is about, not what it did.
var facts = map[string]bool{"business_date": true, "effective_date": true, "selected": true, "seconds": true, "per_second": true,
	"bank": true, "dry_run_preview": true}

func wouldLabel(k string) string {
	if w, ok := wouldWords[k]; ok {
		return w
	}
	if facts[k] {
		return k
	}
	return "would " + k
}

// printSummaryAs prints a job summary as indented lines, each key named by
// label.
func printSummaryAs(s any, label func(string) string) {
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
			fmt.Printf("  %s: %d\n", label(k), len(x))
			for _, it := range x {
				jb, _ := json.Marshal(it)
				fmt.Printf("    %s\n", jb)
			}
		case map[string]any:
			jb, _ := json.Marshal(x)
			fmt.Printf("  %s: %s\n", label(k), jb)
		default:
			if l := label(k); strings.HasSuffix(l, "_cents") {
				if f, ok := v.(float64); ok {
					fmt.Printf("  %s: %s\n", strings.TrimSuffix(l, "_cents"), centsString(int64(f)))
					continue
				}
			}
			fmt.Printf("  %s: %s\n", label(k), valueText(v))
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
