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
}

// ImportReport says what an import did.
type ImportReport struct {
	File     string              `json:"file"`
	Lines    int                 `json:"lines"`
	Imported int                 `json:"imported"`
	Rejected int                 `json:"rejected"`
	Counts   ledger.ImportCounts `json:"counts"`
	Errors   []string            `json:"errors,omitempty"`
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
	dec := portfolio.NewDecoder(r, name)
	batch := make([]portfolio.Account, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		c, err := im.Import(ctx, batch)
		if err != nil {
			return err
		}
		rep.Counts.Add(c)
		rep.Imported += len(batch)
		batch = batch[:0]
		if opt.Progress != nil {
			opt.Progress(dec.Line())
		}
		return nil
	}
	for {
		a, err := dec.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			les := portfolio.LineErrors(err)
			if len(les) == 0 {
				return rep, err // the input could not be read
			}
			rep.Rejected++
			for _, le := range les {
				if len(rep.Errors) < opt.MaxErrors {
					rep.Errors = append(rep.Errors, le.Error())
				}
				if opt.SkipInvalid && opt.Rejects != nil {
					if _, werr := fmt.Fprintln(opt.Rejects, le.Error()); werr != nil {
						return rep, fmt.Errorf("write rejects: %w", werr)
					}
				}
			}
			continue
		}
		if rep.Rejected > 0 && !opt.SkipInvalid {
			continue // keep validating to report every bad line; import nothing
		}
		batch = append(batch, a)
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	rep.Lines = dec.Line()
	if rep.Rejected > 0 && !opt.SkipInvalid {
		rep.Imported = 0
		rep.Counts = ledger.ImportCounts{}
		return rep, ErrInvalidLines
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if err := im.Commit(); err != nil {
		return rep, fmt.Errorf("commit import: %w", err)
	}
	committed = true
	return rep, nil
}
