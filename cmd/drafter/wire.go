package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/logs"
	"github.com/drafterhq/drafter/storage"
)

// common are the flags every command takes.
type common struct {
	dataDir    string
	configFile string
	jsonOut    bool
	// as is --as of a write command: who it is recorded under.
	as string
}

func (c *common) register(fs *flagSet) {
	fs.StringVar(&c.dataDir, "data-dir", "", "data folder (DRAFTER_DATA_DIR, default ./drafter-data)")
	fs.StringVar(&c.configFile, "config", "", "config file of DRAFTER_*=value lines (default DRAFTER_CONFIG)")
}

// load resolves the settings. Every command that opens the ledger, builds
// files or serves calls it first, before any work: a bad setting (NACHA
// fields the build would refuse, a storage or mail URL that would not open)
// stops drafter with exit code 2 (usage), naming the setting.
func (c *common) load() (*config.Config, error) {
	file := c.configFile
	if file == "" {
		file = os.Getenv("DRAFTER_CONFIG")
	}
	cfg, err := config.Load(map[string]string{"DRAFTER_DATA_DIR": c.dataDir}, os.LookupEnv, file)
	if err != nil {
		return nil, settingError{err}
	}
	return cfg, nil
}

// settingError is a setting drafter cannot start with: a usage error.
type settingError struct{ error }

func (e settingError) Unwrap() error { return e.error }

// ExitCode is 2, the exit code of a usage error.
func (settingError) ExitCode() int { return 2 }

func newLogger(cfg *config.Config) zerolog.Logger {
	var w io.Writer = os.Stderr
	t := stderrTerminal()
	if t != nil {
		w = t // log lines above the progress bar
	}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if t != nil {
			format = "console"
		}
	}
	return logs.New(w, logs.Options{Format: format, Level: cfg.LogLevel, Zone: cfg.Zone, NoColor: t == nil})
}

// secureDataDir restricts the data folder to drafter's user (0700), or
// warns that it cannot.
func secureDataDir(cfg *config.Config, log zerolog.Logger) {
	if changed, err := cfg.SecureDataDir(); err != nil {
		log.Warn().Err(err).Msg("data folder: others may read it; chmod 700 it as its owner")
	} else if changed {
		log.Info().Str("dir", cfg.DataDir).Msg("data folder restricted to drafter's user (0700)")
	}
}

// app is the wired program: config, logger, store, storage.
type app struct {
	cfg   *config.Config
	log   zerolog.Logger
	store *ledger.Store
	docs  storage.Store
}

// open wires the parts. createKey makes a key file when none exists (demo).
// A key that is not the ledger's stops the command here, before any data is
// read or written.
func (c *common) open(ctx context.Context, createKey bool) (*app, error) {
	cfg, err := c.load()
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg)
	st, err := openLedger(ctx, cfg, createKey)
	if err != nil {
		return nil, err
	}
	secureDataDir(cfg, log)
	st.OnBinding(bindingOptions(cfg, log))
	if err := st.CheckKey(ctx); err != nil {
		st.Close()
		return nil, keyError(cfg, err)
	}
	if st.NumbersUnbound() {
		log.Warn().Msg("the ledger's account numbers are not yet bound to their rows (migration 0029): a run is working; they are bound the next time drafter starts with none running")
	}
	if strings.HasPrefix(cfg.StorageURL, "file://") {
		if err := os.MkdirAll(strings.TrimPrefix(cfg.StorageURL, "file://"), 0o700); err != nil {
			st.Close()
			return nil, fmt.Errorf("create document folder: %w", err)
		}
	}
	docs, err := storage.Open(ctx, cfg.StorageURL)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("setting DRAFTER_STORAGE_URL: %w", err)
	}
	return &app{cfg: cfg, log: log, store: st, docs: docs}, nil
}

// openLedger opens the ledger with the configured key, migrating SQLite and
// checking that PostgreSQL is migrated. It does not check the key.
func openLedger(ctx context.Context, cfg *config.Config, createKey bool) (*ledger.Store, error) {
	cipher, err := cipherFor(cfg, createKey)
	if err != nil {
		return nil, err
	}
	st, err := ledger.Open(ctx, cfg.DatabaseURL, cipher)
	if err != nil {
		return nil, err
	}
	if st.Dialect() == "sqlite" {
		if _, err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	// PostgreSQL is migrated by `drafter migrate` only; on either database
	// a schema migrated by a newer drafter is not this binary's to write.
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// bindingOptions log the binding of an old ledger's numbers to their rows
// (ledger.Store.CheckKey) as it goes, and let crash tests kill it.
func bindingOptions(cfg *config.Config, log zerolog.Logger) ledger.RotateOptions {
	crash := jobs.CrashpointsFromEnv()
	return ledger.RotateOptions{StaleAfter: cfg.StaleAfter, After: func(p ledger.KeyRotation) {
		log.Info().Str("step", p.Step).Int("key_version", p.Version).Int64("done", p.Done).Int64("total", p.Total).
			Bool("resumed", p.Resumed).Msg("binding account numbers to their rows")
		if crash != nil {
			crash.Hit("key binding " + p.Step)
		}
	}}
}

func cipherFor(cfg *config.Config, createKey bool) (*ledger.Cipher, error) {
	keyText, err := cfg.Key(createKey)
	var missing *config.Error
	if errors.As(err, &missing) {
		return nil, settingError{err}
	}
	if err != nil {
		return nil, err
	}
	key, err := ledger.ParseKey(keyText)
	if err != nil {
		return nil, &config.Error{Setting: "DRAFTER_ENCRYPTION_KEY", Value: "(hidden)", Want: err.Error()}
	}
	return ledger.NewCipher(key)
}

// keySource names where the encryption key came from, for messages.
func keySource(cfg *config.Config) string {
	if cfg.EncryptionKey != "" {
		return "DRAFTER_ENCRYPTION_KEY"
	}
	return "the key file " + filepath.Join(cfg.DataDir, "encryption.key") + " (DRAFTER_ENCRYPTION_KEY is not set)"
}

// keyError says what a refused key means and what to do. It never shows a
// key or a check value.
func keyError(cfg *config.Config, err error) error {
	switch {
	case errors.Is(err, ledger.ErrWrongKey):
		return fmt.Errorf("wrong encryption key: the key from %s is not the key this ledger was created with (or last rotated to); nothing was read or written. "+
			"Use the ledger's own key; to change keys, run `drafter rotate-key` with that key in DRAFTER_ENCRYPTION_KEY and the new one in DRAFTER_NEW_ENCRYPTION_KEY", keySource(cfg))
	case errors.Is(err, ledger.ErrRotationUnfinished):
		return fmt.Errorf("%w: some numbers are under the old key and some under the new one, so no other command may run. "+
			"Finish it: run `drafter rotate-key` again with the old key in DRAFTER_ENCRYPTION_KEY and the new one in DRAFTER_NEW_ENCRYPTION_KEY (it continues where it stopped)", err)
	}
	return fmt.Errorf("check encryption key: %w", err)
}

func (a *app) close() {
	a.docs.Close()
	a.store.Close()
}

func (a *app) env() *jobs.Env {
	e := jobs.NewEnv(a.store, a.docs, a.cfg, a.log)
	e.Progress = progressFor(a.log)
	return e
}

func parseDate(flagName, s string) (civil.Date, error) {
	if s == "" {
		return civil.Date{}, fmt.Errorf("--%s is required: want a business date as YYYY-MM-DD", flagName)
	}
	d, err := civil.Parse(s)
	if err != nil {
		return d, fmt.Errorf("--%s: %w", flagName, err)
	}
	return d, nil
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
