package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunEventCancelRequested and RunEventCancelled are the timeline's cancel
// events: who asked and why, then where the run stopped.
const (
	RunEventCancelRequested = "cancel requested"
	RunEventCancelled       = "cancelled"
)

// ErrRunNotRunning: a cancel was asked for a run that is not running.
var ErrRunNotRunning = errors.New("the run is not running")

// ErrRunCancelled: the latest run of the identity was cancelled by an
// operator; `drafter resume` finishes it. A plain start, the schedule and a
// backfill leave it alone.
var ErrRunCancelled = errors.New("a cancelled run exists")

// CancelRequest is a cancel asked for a running run.
type CancelRequest struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Reason string    `json:"reason"`
}

// RequestCancel asks the running run id to stop at its next safe point (a
// chunk or an item boundary), recording who asked and why in the run's
// timeline and the audit log. The run's workers, in whatever process,
// see it there and stop; the run then ends cancelled. Asking again
// changes nothing. A run that is not running is refused with
// ErrRunNotRunning and the command that fits it.
func (s *Store) RequestCancel(ctx context.Context, id int64, by, reason string) (Run, error) {
	if strings.TrimSpace(reason) == "" {
		return Run{}, errors.New("a cancel needs a reason")
	}
	var run Run
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		// The run's row locked: a chunk claim in flight commits first
		// (and is waited for as a live claim), or sees this request.
		r, err := scanRun(tx.QueryRowContext(ctx, runSelect+` WHERE id = $1`+s.dialect.forUpdate, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("cancel run %d: %w (list them with `drafter runs`)", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		run = r
		if r.DryRun && r.Status == RunRunning {
			return fmt.Errorf("cancel run %d: it is a dry run, which writes nothing: interrupt its process instead (Ctrl-C, or SIGTERM): %w", id, ErrRunNotRunning)
		}
		if r.Status != RunRunning {
			next := ""
			switch r.Status {
			case RunFailed, RunPartial:
				next = fmt.Sprintf("; it stopped already: `drafter resume %d` finishes it", id)
			case RunCancelled:
				next = fmt.Sprintf("; `drafter resume %d` finishes it", id)
			}
			return fmt.Errorf("cancel run %d: it is %s, there is nothing to stop%s: %w", id, r.Status, next, ErrRunNotRunning)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO run_cancels (run_id, requested_at, requested_by, reason) VALUES ($1, $2, $3, $4)
			ON CONFLICT (run_id) DO NOTHING`, id, now(), by, reason)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // asked before: the first request stands
		}
		if err := runEvent(ctx, tx, id, RunEventCancelRequested, by, "reason: "+reason); err != nil {
			return err
		}
		return audit(ctx, tx, by, "cancel", fmt.Sprintf("run %d: %s %s", id, r.Job, r.BusinessDate), reason)
	})
	return run, err
}

// CancelRequested returns the cancel asked for run id, and false when none
// was asked (or the run was resumed since).
func (s *Store) CancelRequested(ctx context.Context, id int64) (CancelRequest, bool, error) {
	return cancelRequested(ctx, s.q, id)
}

func cancelRequested(ctx context.Context, q querier, id int64) (CancelRequest, bool, error) {
	var c CancelRequest
	err := q.QueryRowContext(ctx, `SELECT requested_at, requested_by, reason FROM run_cancels WHERE run_id = $1`, id).Scan(&c.At, &c.By, &c.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read the cancel of run %d: %w", id, err)
	}
	c.At = c.At.UTC()
	return c, true, nil
}

// CancelMessage is the error a cancelled run records.
func (c CancelRequest) CancelMessage() string {
	return fmt.Sprintf("cancelled by %s: %s", c.By, c.Reason)
}

// CancelDeadRun records cancelled a running run whose owner (seen) is
// gone, so that nothing will ever reach a safe point to stop it: it
// stopped where its process died. A chunked run's counts become those of
// the chunks it finished (its last heartbeat's may be older); a run
// without chunks keeps its last heartbeat's. It does nothing if the run
// is no longer running or another owner took it since.
func (s *Store) CancelDeadRun(ctx context.Context, id int64, seen, cause string) (bool, error) {
	marked := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		c, ok, err := cancelRequested(ctx, tx, id)
		if err != nil || !ok {
			return err
		}
		var chunks int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_chunks WHERE run_id = $1`, id).Scan(&chunks); err != nil {
			return err
		}
		var res sql.Result
		if chunks > 0 {
			const sum = `(SELECT COALESCE(SUM(%s), 0) FROM run_chunks c WHERE c.run_id = $1 AND c.status = 'done')`
			res, err = tx.ExecContext(ctx, `UPDATE runs SET status = 'cancelled', error = $3, finished_at = $4, `+
				`selected = `+fmt.Sprintf(sum, "c.items_selected")+`, done = `+fmt.Sprintf(sum, "c.items_done")+
				`, skipped = `+fmt.Sprintf(sum, "c.items_skipped")+`, failed = `+fmt.Sprintf(sum, "c.items_failed")+
				` WHERE id = $1 AND status = 'running' AND owner = $2`, id, seen, c.CancelMessage(), now())
		} else {
			res, err = tx.ExecContext(ctx, `UPDATE runs SET status = 'cancelled', error = $3, finished_at = $4
				WHERE id = $1 AND status = 'running' AND owner = $2`, id, seen, c.CancelMessage(), now())
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		marked = true
		return runEvent(ctx, tx, id, RunEventCancelled, c.By, cause+"; reason: "+c.Reason)
	})
	if err != nil {
		return false, fmt.Errorf("cancel run %d: %w", id, err)
	}
	return marked, nil
}

// LiveChunkClaims counts the chunks of a run that a worker holds under a
// lease not yet run out: the chunks still being worked. A chunk whose
// worker died stops counting when its lease ends.
func (s *Store) LiveChunkClaims(ctx context.Context, runID int64) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_chunks WHERE run_id = $1 AND status = 'claimed' AND lease_until >= $2`,
		runID, now()).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count the claimed chunks of run %d: %w", runID, err)
	}
	return n, nil
}
