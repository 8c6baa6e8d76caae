package main

import (
	"context"
	"fmt"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// openReadOnly wires what a look-up needs (runs, outbox, exceptions,
// report, storage, bank status, audit, schedule): the settings, the logger, the ledger
// opened read-only and without the encryption key, and storage opened to
// read. It writes nothing: no migration (a ledger older or newer than this
// binary is an error saying what to do), no key file, no folder created,
// no file's mode changed.
func (c *common) openReadOnly(ctx context.Context) (*app, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg)
	st, err := ledger.OpenReadOnly(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	docs, err := storage.OpenReadOnly(ctx, cfg.StorageURL)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("setting DRAFTER_STORAGE_URL: %w", err)
	}
	return &app{cfg: cfg, log: log, store: st, docs: docs}, nil
}
