// Package jobstest gives tests a job environment on a real store: a fresh
// database, documents in a temporary folder, the default settings with
// overrides, and no crashpoints.
package jobstest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/storage"
)

// Env returns an environment on a migrated store at the database URL (see
// ledgertest.URL), with settings (DRAFTER_* names) over the defaults;
// documents are stored at DRAFTER_STORAGE_URL (default: a folder).
func Env(t testing.TB, url string, settings map[string]string) *jobs.Env {
	t.Helper()
	dir := t.TempDir()
	flags := map[string]string{"DRAFTER_DATA_DIR": dir}
	for k, v := range settings {
		flags[k] = v
	}
	cfg, err := config.Load(flags, func(string) (string, bool) { return "", false }, "")
	if err != nil {
		t.Fatal(err)
	}
	st := ledgertest.OpenURL(t, url)
	if err := os.MkdirAll(filepath.Join(dir, "docs"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Documents go where the settings say: the data folder by default.
	docs, err := storage.Open(context.Background(), cfg.StorageURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docs.Close() })
	env := jobs.NewEnv(st, docs, cfg, zerolog.Nop())
	env.Crash = nil
	return env
}
