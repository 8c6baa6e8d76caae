package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// insertStoredFile adds a stored NACHA file of 2026-12-01 with modifier mod.
func insertStoredFile(t *testing.T, s *ledger.Store, mod string) int64 {
	t.Helper()
	var id int64
	d := civil.MustParse("2026-12-01")
	if err := s.DB().QueryRow(`INSERT INTO ach_files (business_date, id_modifier, status, effective_on, storage_key, trace_start, trace_end, sha256, created_at)
		VALUES ($1, $2, 'stored', $3, $4, 1, 1, 'abc', $5) RETURNING id`, d, mod, d.AddDays(1), "ach/outbound/2026-12-01/"+mod+".ach", time.Now()).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func fileStatus(t *testing.T, s *ledger.Store, key string) string {
	t.Helper()
	f, err := s.FileByKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return f.Status
}

// TestMarkTransmittedSetsFileStatus: a file confirmed sent, by a rename
// this run made or found on the server, is transmitted in ach_files too;
// one uploaded but not yet confirmed stays stored; storing a transmitted
// file's bytes again (rebuilt after they went missing) keeps it
// transmitted.
func TestMarkTransmittedSetsFileStatus(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		renamed, found := insertStoredFile(t, s, "A"), insertStoredFile(t, s, "B")
		tr := ledger.Transmission{FileID: renamed, RemoteName: "drafter-2026-12-01-A.ach", Bytes: 940, SHA256: "abc", RunID: 1}
		if err := s.BeginTransmission(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if got := fileStatus(t, s, "ach/outbound/2026-12-01/A.ach"); got != ledger.FileStored {
			t.Fatalf("uploaded, rename not confirmed: %s, want stored", got)
		}
		if err := s.MarkTransmitted(ctx, tr, "uploaded"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkTransmitted(ctx, ledger.Transmission{FileID: found, RemoteName: "drafter-2026-12-01-B.ach", Bytes: 940, SHA256: "abc", RunID: 2}, "found"); err != nil {
			t.Fatal(err)
		}
		files, err := s.DayFiles(ctx, civil.MustParse("2026-12-01"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.Status != ledger.FileTransmitted || !f.InStorage() {
				t.Errorf("%s: %s, want transmitted", f.StorageKey, f.Status)
			}
		}
		if err := s.MarkFileStored(ctx, renamed, ledger.FileTotals{SHA256: "abc", Size: 940}); err != nil {
			t.Fatal(err)
		}
		if got := fileStatus(t, s, "ach/outbound/2026-12-01/A.ach"); got != ledger.FileTransmitted {
			t.Errorf("stored again after it was sent: %s, want transmitted", got)
		}
	})
}

// TestMigrationMarksSentFilesTransmitted: migration 0038 sets the files
// whose transmission was recorded sent before MarkTransmitted set the
// status, and leaves the others stored.
func TestMigrationMarksSentFilesTransmitted(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		sent, renaming := insertStoredFile(t, s, "A"), insertStoredFile(t, s, "B")
		insertStoredFile(t, s, "C")
		for id, state := range map[int64]string{sent: "sent", renaming: "renaming"} {
			if _, err := s.DB().Exec(`INSERT INTO transmissions (ach_file_id, remote_name, bytes, sha256, state, run_id, started_at)
				VALUES ($1, 'r', 1, 'abc', $2, 1, $3)`, id, state, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.DB().Exec(`DELETE FROM schema_migrations WHERE version = 38`); err != nil {
			t.Fatal(err)
		}
		if applied, err := s.Migrate(ctx); err != nil || len(applied) != 1 || applied[0] != 38 {
			t.Fatalf("migrate: %v %v", applied, err)
		}
		for key, want := range map[string]string{"A": ledger.FileTransmitted, "B": ledger.FileStored, "C": ledger.FileStored} {
			if got := fileStatus(t, s, "ach/outbound/2026-12-01/"+key+".ach"); got != want {
				t.Errorf("file %s: %s, want %s", key, got, want)
			}
		}
	})
}
