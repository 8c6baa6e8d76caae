package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/portfolio"
)

// ImportOptions say how an extract is imported.
type ImportOptions struct {
	// SkipInvalid imports the good lines and writes each bad one to Rejects;
	// without it a file with any bad line imports nothing.
	SkipInvalid bool
	// Rejects receives the bad lines' errors, one per line, when SkipInvalid.
	Rejects io.Writer
	// MaxErrors bounds how many line errors are kept for the report.
	MaxErrors int
	// Progress, when set, is called after each batch with the lines read.
	Progress func(lines int)
	// MaxLineBytes and MaxFileBytes bound the input
	// (DRAFTER_IMPORT_MAX_LINE_BYTES, DRAFTER_IMPORT_MAX_FILE_BYTES; the
	// portfolio package's defaults when 0): past either, nothing is
	// imported and the input is not read further.
	MaxLineBytes int
	MaxFileBytes int64
}

// ImportReport says what an import did.
type ImportReport struct {
	File     string              `json:"file"`
	Lines    int                 `json:"lines"`
	Imported int                 `json:"imported"`
	Rejected int                 `json:"rejected"`
	Counts   ledger.ImportCounts `json:"counts"`
	Errors   []string            `json:"errors,omitempty"`
	// Warnings name what was imported but deserves a look (a holder name
	// that needs the fallback name), "FILE:LINE: field: problem", at most
	// MaxErrors of them; Warned counts them all.
	Warnings []string `json:"warnings,omitempty"`
	Warned   int      `json:"warned,omitempty"`
}

// ErrInvalidLines is returned when a file had bad lines and nothing was
// imported.
var ErrInvalidLines = errors.New("the file has invalid lines; nothing was imported (fix them, or use --skip-invalid)")

const importBatch = 1000

// ImportFile reads an extract and upserts it into the store in one
// transaction. Reimporting the same file changes nothing.
func ImportFile(ctx context.Context, st *ledger.Store, r io.Reader, name string, opt ImportOptions) (ImportReport, error) {
	rep := ImportReport{File: name}
	if opt.MaxErrors == 0 {
		opt.MaxErrors = 100
	}
	im, err := st.NewImporter(ctx)
	if err != nil {
		return rep, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = im.Rollback()
		}
	}()
	// Decoding and validating run on one core while the database writes on
	// the other: batches pass between them.
	dec := portfolio.NewDecoder(r, name)
	if opt.MaxLineBytes > 0 {
		dec.MaxLine = opt.MaxLineBytes
	}
	if opt.MaxFileBytes > 0 {
		dec.MaxFile = opt.MaxFileBytes
	}
	batches := make(chan []portfolio.Account, 2)
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(batches)
		batch := make([]portfolio.Account, 0, importBatch)
		send := func() bool {
			select {
			case batches <- batch:
				batch = make([]portfolio.Account, 0, importBatch)
				return true
			case <-stop:
				return false
			}
		}
		for {
			if ctx.Err() != nil {
				return // the import is cancelled: nothing is committed
			}
			a, err := dec.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				les := portfolio.LineErrors(err)
				if len(les) == 0 {
					readErr = err // the input could not be read
					return
				}
				rep.Rejected++
				for _, le := range les {
					if len(rep.Errors) < opt.MaxErrors {
						rep.Errors = append(rep.Errors, le.Error())
					}
					if opt.SkipInvalid && opt.Rejects != nil {
						if _, werr := fmt.Fprintln(opt.Rejects, le.Error()); werr != nil {
							readErr = fmt.Errorf("write rejects: %w", werr)
							return
						}
					}
				}
				continue
			}
			for _, w := range portfolio.Warnings(a) {
				rep.Warned++
				if len(rep.Warnings) < opt.MaxErrors {
					le := portfolio.LineError{File: name, Line: dec.Line(), Field: w.Field, Problem: w.Problem}
					rep.Warnings = append(rep.Warnings, le.Error())
				}
			}
			if rep.Rejected > 0 && !opt.SkipInvalid {
				continue // keep validating to report every bad line; import nothing
			}
			batch = append(batch, a)
			if len(batch) == importBatch && !send() {
				return
			}
		}
		if len(batch) > 0 {
			send()
		}
		rep.Lines = dec.Line()
	}()
	var writeErr error
	for {
		var batch []portfolio.Account
		var more bool
		select {
		case batch, more = <-batches:
		case <-ctx.Done():
			// A signal: stop at once, even while the decoder waits on an
			// input that sends nothing; the deferred rollback keeps the
			// ledger as it was.
			close(stop)
			return rep, fmt.Errorf("import %s: %w; nothing was imported", name, ctx.Err())
		}
		if !more {
			break
		}
		if writeErr != nil {
			continue // drain, so the decoder can stop
		}
		c, err := im.Import(ctx, batch)
		if err != nil {
			writeErr = err
			close(stop)
			continue
		}
		rep.Counts.Add(c)
		rep.Imported += len(batch)
		if opt.Progress != nil {
			opt.Progress(rep.Imported + rep.Rejected)
		}
	}
	if writeErr != nil {
		return rep, writeErr
	}
	if readErr != nil {
		return rep, readErr
	}
	if rep.Rejected > 0 && !opt.SkipInvalid {
		rep.Imported = 0
		rep.Counts = ledger.ImportCounts{}
		return rep, ErrInvalidLines
	}
	if err := im.Commit(); err != nil {
		return rep, fmt.Errorf("commit import: %w", err)
	}
	committed = true
	// The night's jobs may start right after a large import: plan them for
	// the tables' new sizes. The import is committed whatever this says;
	// without it autovacuum refreshes the statistics a little later.
	if err := st.Analyze(ctx, "customers", "accounts", "bank_accounts", "autopay_enrollments", "scheduled_payments",
		"odometer_readings", "transactions"); err != nil {
		rep.Errors = append(rep.Errors, "imported, but refreshing planner statistics failed: "+err.Error())
	}
	return rep, nil
}
