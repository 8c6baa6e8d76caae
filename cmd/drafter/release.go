package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// ReleaseFileCommand undoes the allocation of a NACHA file that was never
// stored because it cannot be built from what its payments recorded.
type ReleaseFileCommand struct{ common }

// Run implements command.
func (c *ReleaseFileCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("release-file", "release-file KEY --reason TEXT [--json]\n\n"+
		"Puts the payments of an allocated NACHA file that was never stored back to\n"+
		"scheduled, in one transaction recorded in the audit log with the operator\n"+
		"(--as, DRAFTER_OPERATOR or the OS user) and the reason. KEY is the file's storage key as\n"+
		"the failed originate run names it (ach/outbound/DATE/drafter-DATE-M.ach).\n\n"+
		"Use it when `drafter restart RUN` of an originate run keeps failing with\n"+
		"\"build ach/outbound/...\": the file's payments were allocated by an earlier\n"+
		"version that did not check their entries first. After the release, restart\n"+
		"the run (or wait for the next night): the payments are allocated again into\n"+
		"a new file, and any whose entry still cannot be made is held with an\n"+
		"exception saying what to fix. A stored file may have gone to the bank and\n"+
		"is never released.")
	c.register(fs)
	reason := fs.String("reason", "", "why (required; recorded in the audit log)")
	fs.BoolVar(&c.jsonOut, "json", false, "print the result as JSON")
	c.registerOperator(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("want the file's storage key (ach/outbound/DATE/drafter-DATE-M.ach), got %q", pos)
	}
	key := pos[0]
	if strings.TrimSpace(*reason) == "" {
		return usageErrorf("%s: --reason is required: say why (for example \"name snapshot cannot be built, ticket 4411\")", key)
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
	f, err := a.store.FileByKey(ctx, key)
	if errors.Is(err, ledger.ErrNotFound) {
		return fmt.Errorf("no NACHA file has the key %q: see the failed originate run (`drafter runs show RUN`) for the key", key)
	}
	if err != nil {
		return err
	}
	// Bytes at the file's key mean it was built and put before the
	// process died: it may be on its way to the bank. Finish it instead.
	if _, err := a.docs.Stat(ctx, f.StorageKey); err == nil {
		return fmt.Errorf("file %s is in storage: it may have gone to the bank, so it is not released; `drafter restart` the originate run for %s to finish it",
			f.StorageKey, f.BusinessDate)
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("check storage for %s: %w", f.StorageKey, err)
	}
	n, err := a.store.ReleaseFile(ctx, f.ID, who, *reason)
	if err != nil {
		return err
	}
	if c.jsonOut {
		return printJSON(map[string]any{"storage_key": f.StorageKey, "business_date": f.BusinessDate, "payments_released": n})
	}
	fmt.Printf("released %s: %d payments are scheduled again; restart the originate run for %s to allocate them into a new file\n",
		f.StorageKey, n, f.BusinessDate)
	return nil
}
