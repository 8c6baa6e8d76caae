package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// InitCommand creates a data folder with a new encryption key file.
type InitCommand struct{ common }

// Run implements command.
func (c *InitCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("init", "init [--data-dir DIR]\n\n"+
		"Creates the data folder (mode 0700) with a new random encryption key in\n"+
		"DIR/encryption.key (mode 0600): the key that encrypts every stored bank\n"+
		"account number. Back the key up apart from the data (a backup of the\n"+
		"folder without the key cannot be read, and the key alone is a secret).\n"+
		"With DRAFTER_ENCRYPTION_KEY set, the folder uses that key and no key file\n"+
		"is written. A folder that has a key file already is left as it is.")
	c.register(fs)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	keyFile := filepath.Join(cfg.DataDir, "encryption.key")
	if _, err := os.Stat(keyFile); err == nil {
		return fmt.Errorf("%s has a key file already (%s): nothing was changed", cfg.DataDir, keyFile)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder: %w", err)
	}
	if _, err := cfg.SecureDataDir(); err != nil {
		return err
	}
	if cfg.EncryptionKey != "" {
		fmt.Printf("data folder %s created (0700); its key is DRAFTER_ENCRYPTION_KEY (no key file written): keep that key backed up\n", cfg.DataDir)
		return nil
	}
	if _, err := cfg.Key(true); err != nil {
		return err
	}
	fmt.Printf("data folder %s created (0700) with a new encryption key in %s (0600).\n"+
		"Back the key up now, somewhere apart from the data: without it the stored bank account numbers cannot be read.\n"+
		"Next: drafter import EXTRACT.jsonl --data-dir %s\n", cfg.DataDir, keyFile, cfg.DataDir)
	return nil
}
