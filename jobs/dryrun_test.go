package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// noteJob writes one audit row per run, counting the rows written before
// it; it fails after writing when fail is set.
type noteJob struct {
	seen *[]int
	fail bool
}

func (noteJob) Name() string { return "note" }

func (j noteJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	var n int
	err := r.Store.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE actor = 'note'`).Scan(&n); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target) VALUES (CURRENT_TIMESTAMP, 'note', 'x', 'y')`)
		return err
	})
	*j.seen = append(*j.seen, n)
	if err != nil {
		return nil, err
	}
	if j.fail {
		return nil, errors.New("the job failed after its write")
	}
	return map[string]int{"notes_before": n}, nil
}

// TestDryRunStepsSeeTheStepsBefore: the steps of a dry run work in order
// in one transaction, each seeing the writes of the steps before it; a
// step that fails leaves nothing for the next (its savepoint is rolled
// back), the plan goes on, and each step's outcome is recorded as a dry
// run while nothing stays in the ledger.
func TestDryRunStepsSeeTheStepsBefore(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			env := jobstest.Env(t, ledgertest.URL(t, dialect), nil)
			var seen []int
			d := civil.MustParse("2026-12-03")
			var steps []jobs.DryStep
			for i, fail := range []bool{false, false, true, false} {
				steps = append(steps, jobs.DryStep{Job: noteJob{seen: &seen, fail: fail},
					Spec: jobs.StartSpec{Date: d.AddDays(i), Trigger: "operator", TriggeredBy: "tester"}})
			}
			res, errs := env.DryRun(ctx, steps)
			if want := []int{0, 1, 2, 2}; len(seen) != 4 || seen[0] != want[0] || seen[1] != want[1] || seen[2] != want[2] || seen[3] != want[3] {
				t.Fatalf("rows seen by each step: %v, want %v (the failed step's row undone)", seen, want)
			}
			for i, r := range res {
				wantStatus := ledger.RunSucceeded
				if i == 2 {
					wantStatus = ledger.RunFailed
				}
				if !r.Run.DryRun || r.Run.Status != wantStatus || (errs[i] != nil) != (i == 2) {
					t.Errorf("step %d: %+v, error %v", i, r.Run, errs[i])
				}
			}
			// Each record says when its own step was simulated, in order.
			for i := 1; i < len(res); i++ {
				prev, cur := res[i-1].Run, res[i].Run
				if prev.FinishedAt == nil || cur.FinishedAt == nil || cur.StartedAt.Before(*prev.FinishedAt) || cur.FinishedAt.Before(cur.StartedAt) {
					t.Errorf("step %d ran %v to %v, step %d %v to %v", i-1, prev.StartedAt, prev.FinishedAt, i, cur.StartedAt, cur.FinishedAt)
				}
			}
			var notes int
			if err := env.Store.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM audit WHERE actor = 'note'`).Scan(&notes); err != nil || notes != 0 {
				t.Fatalf("the dry run left %d rows (%v)", notes, err)
			}
			real, err := env.Store.ListRuns(ctx, ledger.RunFilter{NoDryRuns: true})
			if err != nil || len(real) != 0 {
				t.Fatalf("real runs after a dry run: %v %v", real, err)
			}
		})
	}
}
