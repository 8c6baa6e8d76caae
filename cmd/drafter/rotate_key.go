package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// RotateKeyCommand re-encrypts every stored account number under a new
// encryption key.
type RotateKeyCommand struct{ common }

const rotateKeyHelp = `Re-encrypts every stored bank account number (bank accounts and the entry
snapshots of originated payments) from the ledger's key to a new one, in
batches, each committed with its progress. The current key comes from
DRAFTER_ENCRYPTION_KEY (or the key file) as for every command; the new key
from DRAFTER_NEW_ENCRYPTION_KEY or --new-key-file (64 hex digits or base64;
generate one with: openssl rand -hex 32).

Stop drafter serve and every scheduled command first. If rotate-key is
killed or fails, run it again with the same two keys: it continues where it
stopped. Until it finishes, every other command refuses to run. When it
finishes, the new key is the ledger's key: set DRAFTER_ENCRYPTION_KEY to it
everywhere (or replace the key file). The old key then opens nothing but
backups taken before the rotation: keep it as long as you keep those.
Number MACs (and the prenote keys built from them) do not change: the
ledger's MAC key is kept, sealed under the new key. See docs/operations.md.

`

// Run implements command.
func (c *RotateKeyCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet("rotate-key", "rotate-key [--new-key-file FILE] [--batch N]")
	usage := fs.Usage
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), rotateKeyHelp)
		usage()
	}
	c.register(fs)
	newKeyFile := fs.String("new-key-file", "", "file holding the new key (default: DRAFTER_NEW_ENCRYPTION_KEY)")
	batch := fs.Int("batch", 1000, "numbers re-encrypted and committed per transaction")
	c.registerOperator(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch <= 0 {
		fs.Usage()
		return rotateKeyUsage{errors.New("rotate-key takes no arguments, and --batch must be positive")}
	}
	who, err := c.operator()
	if err != nil {
		return err
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	newKeyText, source := os.Getenv("DRAFTER_NEW_ENCRYPTION_KEY"), "DRAFTER_NEW_ENCRYPTION_KEY"
	if *newKeyFile != "" {
		b, err := os.ReadFile(*newKeyFile)
		if err != nil {
			return fmt.Errorf("--new-key-file: %w", err)
		}
		newKeyText, source = string(b), "--new-key-file "+*newKeyFile
	}
	if strings.TrimSpace(newKeyText) == "" {
		return rotateKeyUsage{errors.New("the new key is missing: set DRAFTER_NEW_ENCRYPTION_KEY or give --new-key-file (generate one with: openssl rand -hex 32)")}
	}
	newKey, err := ledger.ParseKey(newKeyText)
	if err != nil {
		return fmt.Errorf("new key from %s: %w", source, err)
	}
	to, err := ledger.NewCipher(newKey)
	if err != nil {
		return err
	}
	st, err := openLedger(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	crash := jobs.CrashpointsFromEnv()
	p, err := st.RotateKey(ctx, to, ledger.RotateOptions{Batch: *batch, StaleAfter: cfg.StaleAfter, After: func(p ledger.KeyRotation) {
		log.Info().Str("step", p.Step).Int("key_version", p.Version).Int64("done", p.Done).Int64("total", p.Total).
			Bool("resumed", p.Resumed).Msg("key rotation")
		if crash != nil {
			crash.Hit("key rotation " + p.Step)
		}
	}})
	outcome := fmt.Sprintf("key version %d: %d account numbers re-encrypted", p.Version, p.Done)
	switch {
	case err != nil:
		outcome = "stopped: " + firstLine(err.Error())
	case p.AlreadyCurrent:
		outcome = fmt.Sprintf("key version %d already current: nothing to do", p.Version)
	}
	if aerr := st.Audit(context.WithoutCancel(ctx), who, "rotate-key", "ledger", outcome); aerr != nil && err == nil {
		return fmt.Errorf("audit: %w", aerr)
	}
	if errors.Is(err, ledger.ErrWrongKey) {
		return fmt.Errorf("rotate key: the key from %s is not the ledger's key: rotate-key needs the ledger's current key there and the new key in %s; nothing was changed", keySource(cfg), source)
	}
	if err != nil {
		return err
	}
	if p.AlreadyCurrent {
		fmt.Printf("the ledger already uses the new key (key version %d): nothing to do. Set DRAFTER_ENCRYPTION_KEY to it.\n", p.Version)
		return nil
	}
	fmt.Printf("key rotated: %d account numbers re-encrypted; the ledger now uses key version %d.\n"+
		"Set DRAFTER_ENCRYPTION_KEY to the new key everywhere drafter runs (or replace the key file); the old key no longer opens this ledger.\n", p.Done, p.Version)
	return nil
}

// rotateKeyUsage is a usage error of rotate-key: exit code 2.
type rotateKeyUsage struct{ error }

func (rotateKeyUsage) ExitCode() int { return 2 }
