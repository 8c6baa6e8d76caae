package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ChunkSpan is the key range a chunk covers for its work: accounts with ids
// after After (exclusive; "" for the first chunk) through Through
// (inclusive; "" for the last chunk, which runs to the end). Spans of one
// run cover every account id exactly once, whatever was imported after the
// run was planned.
type ChunkSpan struct {
	After   string `json:"after"`
	Through string `json:"through"`
}

// Contains reports whether an account id is in the span.
func (s ChunkSpan) Contains(id string) bool {
	return id > s.After && (s.Through == "" || id <= s.Through)
}

// SpanOf returns the span a chunk works: from the previous chunk's last key
// to its own, open at either end for the first and last chunk.
func (s *Store) SpanOf(ctx context.Context, c Chunk) (ChunkSpan, error) {
	var prev sql.NullString
	var later int
	err := s.q.QueryRowContext(ctx, `SELECT (SELECT last_key FROM run_chunks WHERE run_id = $1 AND chunk = $2),
		(SELECT COUNT(*) FROM run_chunks WHERE run_id = $1 AND chunk > $3)`, c.RunID, c.Chunk-1, c.Chunk).Scan(&prev, &later)
	if err != nil {
		return ChunkSpan{}, fmt.Errorf("span of chunk %d of run %d: %w", c.Chunk, c.RunID, err)
	}
	sp := ChunkSpan{After: prev.String, Through: c.LastKey}
	if later == 0 {
		sp.Through = ""
	}
	return sp, nil
}

// ChunkOutcome is what a worker did with a chunk: the run's item counts, a
// job-specific result and the time it took.
type ChunkOutcome struct {
	Counts Counts
	Result json.RawMessage
	Took   time.Duration
}

// CompleteChunkWith marks owner's chunk done with its outcome, in one
// statement, or returns ErrLeaseLost when another worker took it over.
func (s *Store) CompleteChunkWith(ctx context.Context, c Chunk, owner string, o ChunkOutcome) error {
	res, err := s.q.ExecContext(ctx, `UPDATE run_chunks SET status = 'done', done_at = $4, lease_until = NULL,
			items_selected = $5, items_done = $6, items_skipped = $7, items_failed = $8, result = $9, work_ms = $10
		WHERE run_id = $1 AND chunk = $2 AND owner = $3 AND status = 'claimed'`, c.RunID, c.Chunk, owner, now(),
		o.Counts.Selected, o.Counts.Done, o.Counts.Skipped, o.Counts.Failed, string(o.Result), o.Took.Milliseconds())
	if err != nil {
		return fmt.Errorf("complete chunk %d of run %d: %w", c.Chunk, c.RunID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("complete chunk %d of run %d: %w", c.Chunk, c.RunID, ErrLeaseLost)
	}
	return nil
}

// ChunkResult is a done chunk's outcome as recorded.
type ChunkResult struct {
	Chunk  int             `json:"chunk"`
	Owner  string          `json:"owner"`
	Counts Counts          `json:"counts"`
	Result json.RawMessage `json:"result"`
	WorkMS int64           `json:"work_ms"`
}

// ChunkResults returns the outcomes of a run's done chunks in chunk order.
func (s *Store) ChunkResults(ctx context.Context, runID int64) ([]ChunkResult, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT chunk, owner, items_selected, items_done, items_skipped, items_failed, result, work_ms
		FROM run_chunks WHERE run_id = $1 AND status = 'done' ORDER BY chunk`, runID)
	if err != nil {
		return nil, fmt.Errorf("chunk results of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []ChunkResult
	for rows.Next() {
		var r ChunkResult
		var res string
		if err := rows.Scan(&r.Chunk, &r.Owner, &r.Counts.Selected, &r.Counts.Done, &r.Counts.Skipped, &r.Counts.Failed, &res, &r.WorkMS); err != nil {
			return nil, err
		}
		r.Result = json.RawMessage(res)
		out = append(out, r)
	}
	return out, rows.Err()
}

// DoneChunkCounts returns the item counts of a run's done chunks by chunk
// number, and how many chunks the run has: a progress report adds to them
// the chunks this process is still working.
func (s *Store) DoneChunkCounts(ctx context.Context, runID int64) (map[int]Counts, int, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT chunk, status, COALESCE(items_selected, 0), COALESCE(items_done, 0),
			COALESCE(items_skipped, 0), COALESCE(items_failed, 0)
		FROM run_chunks WHERE run_id = $1`, runID)
	if err != nil {
		return nil, 0, fmt.Errorf("chunk counts of run %d: %w", runID, err)
	}
	defer rows.Close()
	done := map[int]Counts{}
	n := 0
	for rows.Next() {
		var chunk int
		var status string
		var c Counts
		if err := rows.Scan(&chunk, &status, &c.Selected, &c.Done, &c.Skipped, &c.Failed); err != nil {
			return nil, 0, fmt.Errorf("chunk counts of run %d: %w", runID, err)
		}
		n++
		if status == "done" {
			done[chunk] = c
		}
	}
	return done, n, rows.Err()
}

// ChunkCounts sums the item counts of a run's done chunks.
func (s *Store) ChunkCounts(ctx context.Context, runID int64) (Counts, error) {
	var c Counts
	err := s.q.QueryRowContext(ctx, `SELECT COALESCE(SUM(items_selected), 0), COALESCE(SUM(items_done), 0),
			COALESCE(SUM(items_skipped), 0), COALESCE(SUM(items_failed), 0)
		FROM run_chunks WHERE run_id = $1 AND status = 'done'`, runID).Scan(&c.Selected, &c.Done, &c.Skipped, &c.Failed)
	if err != nil {
		return c, fmt.Errorf("chunk counts of run %d: %w", runID, err)
	}
	return c, nil
}

// ExpireChunkLeases ends the leases of a run's claimed chunks, so that any
// worker may claim them now: a restart's way of taking over the chunks of a
// process that died. A live worker that still holds one loses it
// (ErrLeaseLost) and its chunk is redone, idempotently. It returns how many
// leases it ended.
func (s *Store) ExpireChunkLeases(ctx context.Context, runID int64) (int, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE run_chunks SET lease_until = $2 WHERE run_id = $1 AND status = 'claimed'`,
		runID, now().Add(-time.Second))
	if err != nil {
		return 0, fmt.Errorf("expire chunk leases of run %d: %w", runID, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// RunHeartbeat records that a worker of a running run is alive, with the
// run's counts so far; a run that is not running any more is left alone
// (its final counts are written once, by FinishRun). ok is false then.
func (s *Store) RunHeartbeat(ctx context.Context, id int64, c Counts) (ok bool, err error) {
	res, err := s.q.ExecContext(ctx, `UPDATE runs SET heartbeat_at = $2, selected = $3, done = $4, skipped = $5, failed = $6
		WHERE id = $1 AND status = 'running'`, id, now(), c.Selected, c.Done, c.Skipped, c.Failed)
	if err != nil {
		return false, fmt.Errorf("heartbeat of run %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RunStatus returns a run's status.
func (s *Store) RunStatus(ctx context.Context, id int64) (string, error) {
	var st string
	err := s.q.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = $1`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return st, err
}

// ClaimableRuns returns the running runs (dry runs apart) that have
// chunks left to claim (pending, or claimed under a lease that ran out),
// oldest first: the work a chunk worker looks for.
func (s *Store) ClaimableRuns(ctx context.Context) ([]Run, error) {
	runs, err := queryAll(ctx, s.q, scanRun, runSelect+` WHERE status = 'running' AND dry_run = $1
		AND EXISTS (SELECT 1 FROM run_chunks c WHERE c.run_id = runs.id
			AND (c.status = 'pending' OR (c.status = 'claimed' AND c.lease_until < $2)))
		ORDER BY id`, false, now())
	if err != nil {
		return nil, fmt.Errorf("runs with chunks to claim: %w", err)
	}
	return runs, nil
}

// ChunkStat is one running run's chunks by status, for the metrics.
type ChunkStat struct {
	RunID  int64
	Job    string
	Status string
	Owner  string
	Chunks int
	// Retaken: of these, chunks claimed more than once (taken over).
	Retaken int
}

// RunningChunkStats counts the chunks of running runs by run, status and
// owner.
func (s *Store) RunningChunkStats(ctx context.Context) ([]ChunkStat, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT c.run_id, r.job, c.status, c.owner, COUNT(*), COALESCE(SUM(CASE WHEN c.claims > 1 THEN 1 ELSE 0 END), 0)
		FROM run_chunks c JOIN runs r ON r.id = c.run_id WHERE r.status = 'running'
		GROUP BY c.run_id, r.job, c.status, c.owner`)
	if err != nil {
		return nil, fmt.Errorf("chunk stats: %w", err)
	}
	defer rows.Close()
	var out []ChunkStat
	for rows.Next() {
		var st ChunkStat
		if err := rows.Scan(&st.RunID, &st.Job, &st.Status, &st.Owner, &st.Chunks, &st.Retaken); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// ActiveAutopayIn returns active enrollments of active accounts in the
// span, after the keyset cursor afterAccount (which starts at sp.After), in
// account order, at most limit of them.
func (s *Store) ActiveAutopayIn(ctx context.Context, sp ChunkSpan, afterAccount string, limit int) ([]AutopayEnrollment, error) {
	if afterAccount < sp.After {
		afterAccount = sp.After
	}
	rows, err := s.q.QueryContext(ctx, `SELECT e.id, e.account_id, e.bank_account_id, e.starts_on, e.days_before_due, e.amount,
			a.monthly_payment, a.monthly_tax, a.first_due_on, a.due_day, a.maturity_on
		FROM autopay_enrollments e JOIN accounts a ON a.id = e.account_id
		WHERE e.status = 'active' AND a.status = 'active' AND e.account_id > $1 AND ($2 = '' OR e.account_id <= $2)
		ORDER BY e.account_id, e.id LIMIT $3`, afterAccount, sp.Through, limit)
	if err != nil {
		return nil, fmt.Errorf("select autopay: %w", err)
	}
	defer rows.Close()
	var out []AutopayEnrollment
	for rows.Next() {
		var e AutopayEnrollment
		if err := rows.Scan(&e.ID, &e.AccountID, &e.BankAccountID, &e.StartsOn, &e.DaysBeforeDue, &e.Amount,
			&e.MonthlyPayment, &e.MonthlyTax, &e.FirstDueOn, &e.DueDay, &e.MaturityOn); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
