package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/portfolio"
)

func centsString(c int64) string { return money.Cents(c).String() }

// GenerateCommand writes a demo portfolio.
type GenerateCommand struct{}

// Run implements command.
func (c *GenerateCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("generate", "generate --accounts N --seed S --as-of YYYY-MM-DD [--out FILE]\n\n"+
		"Writes a realistic, deterministic demo portfolio in the import format\n"+
		"(docs/portfolio-format.md): the same seed gives the same bytes. It opens no\n"+
		"data folder and reads no setting.")
	n := fs.Int("accounts", 1000, "number of accounts")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same bytes")
	asOf := fs.String("as-of", "", "extract date (YYYY-MM-DD)")
	out := fs.String("out", "", "output file (default standard output)")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	d, err := parseDate("as-of", *asOf)
	if err != nil {
		return usageError{err}
	}
	if *n < 0 {
		return usageErrorf("--accounts %d: want 0 or more", *n)
	}
	return generateTo(*out, portfolio.GenerateOptions{Accounts: *n, Seed: *seed, AsOf: d})
}

func generateTo(path string, opt portfolio.GenerateOptions) error {
	if path == "" {
		return portfolio.Generate(os.Stdout, opt)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := portfolio.Generate(f, opt); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ImportCommand imports an extract.
type ImportCommand struct{ common }

// Run implements command.
func (c *ImportCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("import", "import FILE [--skip-invalid [--rejects FILE]] [--json]\n\n"+
		"Imports the servicing system's extract (JSON Lines, docs/portfolio-format.md)\n"+
		"into the ledger, all or nothing: every bad line is reported as FILE:LINE:\n"+
		"field: problem, and nothing is imported unless --skip-invalid. The data\n"+
		"folder must exist with its key: `drafter init` creates one.")
	c.register(fs)
	skip := fs.Bool("skip-invalid", false, "import the good lines; write the bad ones' errors to --rejects")
	rejects := fs.String("rejects", "", "where --skip-invalid writes rejected lines' errors (default FILE.rejects)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want one extract file to import, got %q (see `drafter import --help`)", pos)
	}
	file := pos[0]
	who, err := c.operator()
	if err != nil {
		return err
	}
	a, err := c.open(ctx, false)
	if err != nil {
		return err
	}
	defer a.close()
	rep, err := importFile(ctx, a, file, *skip, *rejects)
	outcome := fmt.Sprintf("%d lines, %d accounts imported, %d rejected", rep.Lines, rep.Imported, rep.Rejected)
	if err != nil {
		outcome = "nothing imported: " + firstLine(err.Error())
	}
	if aerr := a.store.Audit(context.WithoutCancel(ctx), who, "import", file, outcome); aerr != nil {
		return errors.Join(err, fmt.Errorf("audit: %w", aerr))
	}
	if c.jsonOut && (err == nil || len(rep.Errors) > 0) {
		if perr := printJSON(rep); perr != nil {
			return perr
		}
	} else {
		for _, e := range rep.Errors {
			fmt.Fprintln(os.Stderr, e)
		}
		for _, w := range rep.Warnings {
			fmt.Fprintln(os.Stderr, "warning: "+w)
		}
		if rep.Warned > len(rep.Warnings) {
			fmt.Fprintf(os.Stderr, "warning: and %d more\n", rep.Warned-len(rep.Warnings))
		}
		fmt.Printf("%s: %d lines, %d accounts imported, %d rejected\n", file, rep.Lines, rep.Imported, rep.Rejected)
	}
	return err
}

func importFile(ctx context.Context, a *app, file string, skip bool, rejectsPath string) (jobs.ImportReport, error) {
	f, err := os.Open(file)
	if err != nil {
		return jobs.ImportReport{File: file}, err
	}
	defer f.Close()
	opt := jobs.ImportOptions{SkipInvalid: skip, MaxLineBytes: a.cfg.ImportMaxLineBytes, MaxFileBytes: int64(a.cfg.ImportMaxFileBytes)}
	if skip {
		if rejectsPath == "" {
			rejectsPath = file + ".rejects"
		}
		rf, err := os.OpenFile(rejectsPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return jobs.ImportReport{File: file}, err
		}
		defer rf.Close()
		bw := bufio.NewWriter(rf)
		defer bw.Flush()
		opt.Rejects = bw
	}
	start := time.Now()
	last := time.Now()
	bar, barDone, onTerminal := importProgress(file)
	opt.Progress = func(lines int) {
		if onTerminal {
			bar(lines)
		} else if time.Since(last) > 5*time.Second {
			last = time.Now()
			a.log.Info().Str("file", filepath.Base(file)).Int("lines", lines).Msg("import progress")
		}
	}
	rep, err := jobs.ImportFile(ctx, a.store, f, file, opt)
	if onTerminal {
		barDone(rep.Imported + rep.Rejected)
	}
	ev := a.log.Info()
	if err != nil {
		ev = a.log.Error().Err(err)
	}
	ev.Str("file", filepath.Base(file)).Int("imported", rep.Imported).Int("rejected", rep.Rejected).Int("warned", rep.Warned).Dur("took_ms", time.Since(start)).Msg("import finished")
	return rep, err
}

// MigrateCommand applies migrations.
type MigrateCommand struct{ common }

// Run implements command.
func (c *MigrateCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("migrate", "migrate\n\n"+
		"Applies the database migrations embedded in this binary: needed once per\n"+
		"release on PostgreSQL (DRAFTER_DATABASE_URL); SQLite is migrated by every\n"+
		"command that opens it.")
	c.register(fs)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	// SQLite's database is made in the data folder here, as by open.
	secureDataDir(cfg, newLogger(cfg))
	st, err := openStoreNoKey(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if crash := jobs.CrashpointsFromEnv(); crash != nil {
		st.OnMigrationStatement(func(name string, i int) { crash.Hit(fmt.Sprintf("migration %s statement %d", name, i)) })
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("migrations applied: %s\n", migrationsText(applied))
	return nil
}

func openStoreNoKey(ctx context.Context, url string) (*ledger.Store, error) {
	return ledger.Open(ctx, url, nil)
}
