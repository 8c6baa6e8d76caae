package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestReleaseFileCommand: release-file needs a reason and a file the ledger
// knows, and never releases a file whose bytes are stored (it may be at the
// bank); a file allocated and never stored is released, audited, and its
// payments go into a new file on restart.
func TestReleaseFileCommand(t *testing.T) {
	d := civil.MustParse("2026-12-01")
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "import", writePortfolio(t, 40, 3, d))
	mustDrafter(t, dir, nil, "run", "originate", "--date", d.String())
	key := "ach/outbound/2026-12-01/drafter-2026-12-01-A.ach"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"release-file", key}, "--reason is required"},
		{[]string{"release-file", "ach/outbound/2026-12-01/nope.ach", "--reason", "x"}, "no NACHA file has the key"},
		{[]string{"release-file", "--reason", "x", key}, "not released"},
		{[]string{"release-file"}, "want the file's storage key"},
	} {
		r := drafter(t, dir, nil, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("drafter %s: exit %d, stderr %q; want a refusal saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}

	// The state an earlier version could leave: allocated, never stored.
	s := ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	if _, err := s.DB().Exec(`UPDATE ach_files SET status = 'allocated', sha256 = '' WHERE storage_key = $1`, key); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := removeStored(dir, key); err != nil {
		t.Fatal(err)
	}
	out := mustDrafter(t, dir, []string{"DRAFTER_OPERATOR=ana"}, "release-file", key, "--reason", "ticket 4411")
	if !strings.Contains(out, "released "+key) {
		t.Fatalf("release-file printed %q", out)
	}
	s = ledgertest.OpenURL(t, "sqlite:"+filepath.Join(dir, "drafter.db"))
	defer s.Close()
	var audits, inA int
	s.DB().QueryRow(`SELECT COUNT(*) FROM audit WHERE action = 'release-file' AND target = $1 AND reason LIKE '%ticket 4411'`, key).Scan(&audits)
	// Neither an originations record nor a settled payment row names the
	// released file.
	s.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM originations o JOIN ach_files f ON f.id = o.ach_file_id WHERE f.storage_key = $1)
		+ (SELECT COUNT(*) FROM payments p JOIN ach_files f ON f.id = p.ach_file_id WHERE f.storage_key = $1)`, key).Scan(&inA)
	if audits != 1 || inA != 0 {
		t.Fatalf("after release: %d audit rows, %d payments still in the file; want 1 and 0", audits, inA)
	}
}

// removeStored deletes a stored object from the data dir's file storage, as
// if its put had never happened.
func removeStored(dataDir, key string) error {
	return os.Remove(filepath.Join(dataDir, "docs", filepath.FromSlash(key)))
}
