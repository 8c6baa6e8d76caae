package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestChunkedStatements: a run split into many small chunks, worked by a
// pool of three, stores exactly the statements one unchunked pass would,
// counts every chunk done by the pool's workers, and writes the run's
// counts once from the chunks' outcomes.
func TestChunkedStatements(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "9", "DRAFTER_CHUNK_WORKERS": "3"})
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 200, 11, d)
			due := dueAccounts(t, env.Store, d)
			res, err := env.Start(ctx, jobs.Statements{}, jobs.StartSpec{Date: d, Trigger: "test"})
			if err != nil {
				t.Fatal(err)
			}
			sum := res.Summary.(*jobs.DocumentSummary)
			if res.Run.Status != ledger.RunSucceeded || sum.Stored != len(due) || res.Run.Done != len(due) || res.Run.Selected != len(due) {
				t.Fatalf("run %s, %d stored, counts %d/%d; want %d due", res.Run.Status, sum.Stored, res.Run.Done, res.Run.Selected, len(due))
			}
			if docs := recordedDocuments(t, env.Store, "statement"); len(docs) != len(due) {
				t.Fatalf("%d documents recorded, want %d", len(docs), len(due))
			}
			p, err := env.Store.RunChunkProgress(ctx, res.Run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if p.Done != 23 || !p.Finished() || p.Retaken != 0 || len(p.ByWorker) == 0 || len(p.ByWorker) > 3 {
				t.Fatalf("progress %+v: want 23 chunks done by at most 3 workers", p)
			}
			// A rerun plans its own chunks and repeats nothing.
			again, err := env.Rerun(ctx, jobs.Statements{}, res.Run, "test", "verify", "")
			if err != nil {
				t.Fatal(err)
			}
			if s := again.Summary.(*jobs.DocumentSummary); s.Verified != len(due) || s.Stored != 0 || s.EmailsQueued != 0 {
				t.Fatalf("rerun: %+v", s)
			}
		})
	}
}

// TestChunkTakenOver: a chunk claimed by a worker that then dies is left
// alone until its lease runs out, then taken over and done by another
// worker, whose completion finishes the run; the dead worker's late
// completion is refused.
func TestChunkTakenOver(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "40", "DRAFTER_CHUNK_WORKERS": "2"})
			d := civil.MustParse("2026-11-30")
			importGenerated(t, env.Store, 200, 11, d)
			due := dueAccounts(t, env.Store, d)
			run, err := env.Store.BeginRun(ctx, ledger.RunSpec{Job: "statements", BusinessDate: d, Trigger: "test", Owner: env.Owner})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := env.Store.PlanChunks(ctx, run.ID, 40); err != nil || n != 5 {
				t.Fatalf("plan: %d %v", n, err)
			}
			// The dead worker's lease is long while the others work (a
			// short one could run out on a loaded machine before they
			// finish theirs); then it is made to have run out.
			dead, ok, err := env.Store.ClaimChunk(ctx, run.ID, "dead:1/1", time.Hour)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if err := env.WorkChunks(ctx, jobs.Statements{}, run); err != nil {
				t.Fatal(err)
			}
			if st, _ := env.Store.RunStatus(ctx, run.ID); st != ledger.RunRunning {
				t.Fatalf("run %s with the dead worker's chunk still leased; want running", st)
			}
			if _, err := env.Store.DB().ExecContext(ctx, `UPDATE run_chunks SET lease_until = $1 WHERE run_id = $2 AND owner = 'dead:1/1'`,
				time.Now().Add(-time.Second).UTC(), run.ID); err != nil {
				t.Fatal(err)
			}
			if err := env.WorkChunks(ctx, jobs.Statements{}, run); err != nil {
				t.Fatal(err)
			}
			fin, err := env.Store.GetRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			if fin.Status != ledger.RunSucceeded || fin.Done != len(due) {
				t.Fatalf("run %s, done %d; want succeeded with %d", fin.Status, fin.Done, len(due))
			}
			if docs := recordedDocuments(t, env.Store, "statement"); len(docs) != len(due) {
				t.Fatalf("%d documents recorded, want %d", len(docs), len(due))
			}
			p, _ := env.Store.RunChunkProgress(ctx, run.ID)
			retaken := 0
			for _, w := range p.ByWorker {
				retaken += w.Retaken
			}
			if p.Retaken != 1 || retaken != 1 || p.ByWorker["dead:1/1"].Done != 0 {
				t.Fatalf("progress %+v: want the dead worker's chunk retaken once", p)
			}
			err = env.Store.CompleteChunkWith(ctx, dead, "dead:1/1", ledger.ChunkOutcome{})
			if !errors.Is(err, ledger.ErrLeaseLost) {
				t.Fatalf("dead worker's completion: %v, want ErrLeaseLost", err)
			}
		})
	}
}

// TestChunkedOriginateMatchesOnePass: originate over many chunks makes the
// same payments and byte-identical files as the same day in one pass (a
// dry run computes it on the same ledger).
func TestChunkedOriginateMatchesOnePass(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			d := civil.MustParse("2026-12-01")
			one := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "100000", "DRAFTER_FILE_ENTRY_LIMIT": "30"})
			many := testEnv(t, dialect, map[string]string{"DRAFTER_CHUNK_SIZE": "7", "DRAFTER_CHUNK_WORKERS": "3", "DRAFTER_FILE_ENTRY_LIMIT": "30"})
			var files [2][]jobs.FileSummary
			for i, env := range []*jobs.Env{one, many} {
				importGenerated(t, env.Store, 300, 5, d)
				res, err := env.Start(ctx, jobs.Originate{}, jobs.StartSpec{Date: d, Trigger: "test"})
				if err != nil {
					t.Fatal(err)
				}
				sum := res.Summary.(*jobs.OriginateSummary)
				if sum.Entries == 0 || len(sum.Files) < 2 {
					t.Fatalf("run %d: %+v; want several files", i, sum)
				}
				files[i] = sum.Files
			}
			if len(files[0]) != len(files[1]) {
				t.Fatalf("%d files in one pass, %d chunked", len(files[0]), len(files[1]))
			}
			for i := range files[0] {
				if files[0][i].SHA256 != files[1][i].SHA256 || files[0][i].Key != files[1][i].Key {
					t.Fatalf("file %d: %+v one pass, %+v chunked", i, files[0][i], files[1][i])
				}
			}
		})
	}
}
