package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// ReturnsCommand ingests return and NOC files an operator was given.
type ReturnsCommand struct{ common }

// Run implements command.
func (c *ReturnsCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("returns ingest", "returns ingest FILE... [--date YYYY-MM-DD] [--json]\n\n"+
		"Applies return and NOC files an operator was given (the returns job picks\n"+
		"up what the bank's connection stored under ach/inbound/ itself): each file\n"+
		"once (by sha256), each entry matched to its payment by trace number and\n"+
		"the policy applied (docs/returns.md). A file that cannot be read is\n"+
		"rejected whole into an exception.")
	c.register(fs)
	date := fs.String("date", "", "business date the files are processed on (default today in DRAFTER_ZONE)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the summary as JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("want `drafter returns ingest FILE...` (see --help)")
	case pos[0] != "ingest":
		return usageErrorf("unknown returns command %q: want ingest", pos[0])
	case len(pos) == 1:
		return usageErrorf("name at least one return or NOC file to ingest")
	}
	files := pos[1:]
	var day civil.Date
	if *date != "" {
		if day, err = parseDate("date", *date); err != nil {
			return usageError{err}
		}
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
	d := civil.Of(time.Now().In(a.cfg.Zone))
	if *date != "" {
		d = day
	}
	env := a.env()
	in := env.Ingester(a.store, false, nil)
	sum := jobs.NewIngestSummary()
	for _, name := range files {
		max := int64(a.cfg.MaxInboundFileBytes)
		var fr jobs.FileIngest
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			// Read from the disk as it is applied: memory does not grow with
			// the file.
			fr, err = in.FileFrom(ctx, name, func() (io.ReadCloser, error) { return openInbound(name, max) }, max, d)
			if err != nil {
				return err
			}
		} else {
			// A pipe or a device is read once, into memory.
			data, err := readInbound(ctx, name, max)
			if err != nil {
				return err
			}
			if fr, err = in.File(ctx, name, data, d); err != nil {
				return err
			}
		}
		_ = a.store.Audit(ctx, who, "returns ingest", name+" sha256:"+fr.SHA256, fr.Status)
		sum.Add(fr)
	}
	if c.jsonOut {
		if err := printJSON(sum); err != nil {
			return err
		}
	} else {
		printIngest(sum)
	}
	if sum.Rejected > 0 {
		return fmt.Errorf("%d file(s) rejected, nothing from them applied; see `drafter exceptions`", sum.Rejected)
	}
	return nil
}

// Subcommands implements withSubcommands.
func (c *ReturnsCommand) Subcommands() []subcommand {
	return []subcommand{{"ingest", "apply return and NOC files: `returns ingest FILE...`"}}
}

// parseInterspersed parses flags that may come after the positional
// arguments (drafter returns ingest a.ach b.ach --json).
func parseInterspersed(fs interface {
	Parse([]string) error
	Args() []string
}, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// readInbound reads a return or NOC file of at most max bytes; a larger
// one (or an endless one, /dev/zero) is refused without being read whole.
func readInbound(ctx context.Context, name string, max int64) ([]byte, error) {
	f, err := openInbound(name, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// A pipe may send nothing for ever: a signal stops the read at once
	// (nothing was applied yet), rather than when the writer gives up.
	type read struct {
		data []byte
		err  error
	}
	done := make(chan read, 1)
	go func() {
		data, err := jobs.ReadInbound(f, name, max)
		done <- read{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s: %w; nothing was ingested", name, ctx.Err())
	}
}

// openInbound opens a return or NOC file of at most max bytes; a larger
// regular file is refused unread. Others (a pipe, /dev/zero) are read up
// to the limit by jobs.ReadInbound.
func openInbound(name string, max int64) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && max > 0 && fi.Size() > max {
		f.Close()
		return nil, jobs.InboundTooLarge(name, max)
	}
	return f, nil
}

func printIngest(s *jobs.IngestSummary) {
	for _, f := range s.Files {
		fmt.Printf("%s: %s", f.Name, f.Status)
		if f.Status == jobs.IngestApplied {
			fmt.Printf(" (%d entries: %d matched, %d unmatched, %d mismatched, %d repeated in the file, %d already applied)", f.Entries, f.Matched,
				f.Unmatched, f.Mismatched, f.Repeats, f.Duplicates)
		}
		fmt.Println()
		if f.Error != "" {
			fmt.Printf("  %s\n", f.Error)
		}
		for _, n := range f.Notes {
			fmt.Printf("  note: %s\n", n)
		}
	}
	fmt.Printf("entries %d: returns %d, corrections %d; matched %d, unmatched %d, mismatched %d, dishonored/contested %d, repeated in the file %d, already applied %d\n",
		s.Entries, s.Returns, s.Corrections, s.Matched, s.Unmatched, s.Mismatched, s.Dishonored, s.Repeats, s.Duplicates)
	if len(s.ByCode) > 0 {
		fmt.Printf("by return code: %s\n", countList(s.ByCode))
	}
	if len(s.ByChangeCode) > 0 {
		fmt.Printf("by change code: %s\n", countList(s.ByChangeCode))
	}
	fmt.Printf("re-presentments scheduled %d; autopay stopped %d, suspended %d; bank accounts invalidated %d, corrected %d\n",
		s.Represented, s.AutopayStopped, s.AutopaySuspended, s.BankAccountsInvalidated, s.BankAccountsCorrected)
	fmt.Printf("fees assessed %d (%s); accounts flagged %d; scheduled payments cancelled %d; emails queued %d; exceptions %d\n",
		s.FeesAssessed, s.FeeTotal, s.AccountsFlagged, s.PaymentsCancelled, s.Emails, s.Exceptions)
}

func countList(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// ExceptionsCommand lists what needs a person, and marks one resolved.
type ExceptionsCommand struct{ common }

// Run implements command.
func (c *ExceptionsCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "resolve" {
		return c.resolve(ctx, args[1:])
	}
	fs := newFlagSet("exceptions", "exceptions [--all] [--json]\n       drafter exceptions resolve ID --note TEXT [--json]\n\n"+
		"Lists the open exceptions: returns and NOCs that matched no payment or\n"+
		"did not agree with it, refused NOCs, rejected return files. Once a person\n"+
		"has dealt with one, `exceptions resolve` records who and what was done.")
	c.register(fs)
	all := fs.Bool("all", false, "include resolved exceptions")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	exs, err := a.store.Exceptions(ctx, *all)
	if err != nil {
		return err
	}
	if c.jsonOut {
		if exs == nil {
			exs = []ledger.Exception{}
		}
		return printJSON(exs)
	}
	if len(exs) == 0 {
		fmt.Println("no open exceptions")
		return nil
	}
	open := 0
	for _, e := range exs {
		printException(e)
		if e.Resolved == nil {
			open++
		}
	}
	fmt.Printf("%d open exception(s)", open)
	if n := len(exs) - open; n > 0 {
		fmt.Printf(", %d resolved", n)
	}
	fmt.Println()
	return nil
}

func printException(e ledger.Exception) {
	fmt.Printf("#%d %s %s (%s)\n  %s\n", e.ID, e.Kind, e.Reference, e.CreatedAt.Format(time.RFC3339), e.Detail)
	for l := range strings.SplitSeq(e.Raw, "\n") {
		if l != "" {
			fmt.Printf("  | %s\n", l)
		}
	}
	if e.Resolved != nil {
		fmt.Printf("  resolved %s by %s: %s\n", e.Resolved.Format(time.RFC3339), e.ResolvedBy, oneLine(e.Resolution, 200))
	}
}

// Subcommands implements withSubcommands.
func (c *ExceptionsCommand) Subcommands() []subcommand {
	return []subcommand{{"resolve", "record who dealt with an exception and how: `exceptions resolve ID --note TEXT`"}}
}

// resolve marks one exception resolved.
func (c *ExceptionsCommand) resolve(ctx context.Context, args []string) error {
	fs := newFlagSet("exceptions resolve", "exceptions resolve ID --note TEXT [--json]\n\n"+
		"Marks an open exception resolved, with what was done about it (recorded\n"+
		"with the operator, --as, DRAFTER_OPERATOR or the OS user, in the audit log). It changes\n"+
		"nothing else: correcting a bank account or calling the bank is the fix.")
	c.register(fs)
	note := fs.String("note", "", "what was done about it (required)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the exception as JSON")
	c.registerOperator(fs)
	id, err := idArg(fs, args, "exception id (the number after # in `drafter exceptions`)")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*note) == "" {
		return usageErrorf("exceptions resolve %d: --note is required: say what was done (for example \"bank account corrected by phone, ticket 4411\")", id)
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
	e, err := a.store.ResolveException(ctx, id, who, *note)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		return fmt.Errorf("exception %d does not exist: see `drafter exceptions --all`", id)
	case errors.Is(err, ledger.ErrAlreadyResolved):
		return fmt.Errorf("exception %d was resolved %s by %s: %s", id, e.Resolved.Format(time.RFC3339), e.ResolvedBy, oneLine(e.Resolution, 200))
	case err != nil:
		return err
	}
	if c.jsonOut {
		return printJSON(e)
	}
	fmt.Printf("exception %d (%s %s) resolved by %s\n", e.ID, e.Kind, e.Reference, e.ResolvedBy)
	return nil
}

// ReportCommand prints reports; `report return-rates` for now.
type ReportCommand struct{ common }

// ReturnRatesReport is the JSON of `drafter report return-rates`.
type ReturnRatesReport struct {
	From     civil.Date     `json:"from"`
	Through  civil.Date     `json:"through"`
	Days     int            `json:"days"`
	Debits   int            `json:"debits_originated"`
	ByCode   map[string]int `json:"returns_by_code"`
	Rates    []RateLine     `json:"rates"`
	Warnings []string       `json:"warnings"`
}

// RateLine is one rate of the report.
type RateLine struct {
	Name        string  `json:"name"`
	Returns     int     `json:"returns"`
	Debits      int     `json:"debits"`
	Percent     float64 `json:"percent"`
	ThresholdBP int     `json:"threshold_bp"`
	Warning     bool    `json:"warning"`
	Exceeded    bool    `json:"exceeded"`
}

// Run implements command.
func (c *ReportCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("report return-rates", "report return-rates [--days 60] [--as-of YYYY-MM-DD] [--json]\n\n"+
		"Return rates over a window of debits originated, against NACHA's\n"+
		"thresholds: unauthorized (R05, R07, R10, R11, R29, R51) 0.5%, administrative\n"+
		"(R02, R03, R04) 3%, overall 15%. A rate past half its threshold warns.")
	c.register(fs)
	days := fs.Int("days", 60, "window in calendar days, ending on --as-of (NACHA measures 60)")
	asOf := fs.String("as-of", "", "last business date of the window (default today in DRAFTER_ZONE)")
	fs.BoolVar(&c.jsonOut, "json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) == 0:
		return usageErrorf("which report? want `drafter report return-rates` (see --help)")
	case pos[0] != "return-rates":
		return usageErrorf("unknown report %q: want return-rates", pos[0])
	case len(pos) > 1:
		return usageErrorf("unexpected argument %q", pos[1])
	case *days < 1:
		return usageErrorf("--days %d: want at least 1", *days)
	}
	var through civil.Date
	if *asOf != "" {
		if through, err = parseDate("as-of", *asOf); err != nil {
			return usageError{err}
		}
	}
	a, err := c.openReadOnly(ctx)
	if err != nil {
		return err
	}
	defer a.close()
	if *asOf == "" {
		through = civil.Of(time.Now().In(a.cfg.Zone))
	}
	from := through.AddDays(-(*days - 1))
	debits, byCode, err := a.store.ReturnCounts(ctx, from, through)
	if err != nil {
		return err
	}
	rates := ach.ReturnRates(debits, byCode)
	rep := ReturnRatesReport{From: from, Through: through, Days: *days, Debits: debits, ByCode: byCode, Warnings: []string{}}
	for _, r := range []ach.Rate{rates.Unauthorized, rates.Administrative, rates.Overall} {
		rep.Rates = append(rep.Rates, RateLine{Name: r.Name, Returns: r.Returns, Debits: r.Debits, Percent: r.BasisPoints() / 100,
			ThresholdBP: r.ThresholdBP, Warning: r.Warning, Exceeded: r.Exceeded})
		switch {
		case r.Exceeded:
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s return rate is over NACHA's threshold: %s", r.Name, r))
		case r.Warning:
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s return rate is past half of NACHA's threshold: %s", r.Name, r))
		}
	}
	if c.jsonOut {
		return printJSON(rep)
	}
	fmt.Printf("return rates %s to %s (%d days): %d debits originated\n", from, through, *days, debits)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RATE\tRETURNS\tDEBITS\tRATE\tTHRESHOLD\tSTATE")
	for _, r := range rep.Rates {
		state := "ok"
		switch {
		case r.Exceeded:
			state = "EXCEEDED"
		case r.Warning:
			state = "warning"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.2f%%\t%.2f%%\t%s\n", r.Name, r.Returns, r.Debits, r.Percent, float64(r.ThresholdBP)/100, state)
	}
	w.Flush()
	if len(byCode) > 0 {
		fmt.Printf("by code: %s\n", countList(byCode))
	}
	for _, wn := range rep.Warnings {
		fmt.Fprintf(os.Stderr, "warning: %s\n", wn)
	}
	return nil
}

// Subcommands implements withSubcommands.
func (c *ReportCommand) Subcommands() []subcommand {
	return []subcommand{{"return-rates", "return rates against the NACHA thresholds"}}
}

// simulateBank answers the day's origination files as the bank would and
// runs the returns job on the next banking day, when the bank sends them:
// the demo's way to show the whole loop.
func simulateBank(ctx context.Context, env *jobs.Env, d civil.Date, seed int64) error {
	bank, err := jobs.SimulateBank(ctx, env.Store, env.Docs, d, jobs.BankOptions{Seed: seed})
	if err != nil {
		return err
	}
	fmt.Printf("simulated bank: %d returns (%s), %d NOCs (%s) in %d files\n", bank.Returns, countsText(bank.ByCode), bank.Corrections, countsText(bank.ByChangeCode), len(bank.Files))
	next := env.Calendar.NextBankingDay(d)
	res, err := env.Start(ctx, jobs.Returns{}, jobs.StartSpec{Date: next, Trigger: "demo", TriggeredBy: "demo"})
	if errors.Is(err, ledger.ErrRunCompleted) {
		fmt.Printf("returns: already ran for %s (see `drafter runs`)\n", next)
		return nil
	}
	if err != nil {
		return fmt.Errorf("returns: %w", err)
	}
	printRunLine(res.Run)
	if s, ok := res.Summary.(*jobs.IngestSummary); ok {
		printIngest(s)
	}
	return nil
}
