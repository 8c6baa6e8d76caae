package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// Run statuses. A run that is not succeeded never looks like success: the
// command that ran it exits non-zero (1 failed, 3 partial) and
// `drafter runs --needs-attention` lists it until it is finished.
const (
	// RunRunning: being worked. A running run whose owner died is crashed:
	// `drafter resume` detects that and finishes it.
	RunRunning = "running"
	// RunSucceeded: every selected item was done (or skipped as done before).
	RunSucceeded = "succeeded"
	// RunPartial: the run went to the end; some items failed, the rest are
	// done. `drafter resume` retries the failed items.
	RunPartial = "partial"
	// RunFailed: the run stopped before the end (an error, a dependency that
	// kept failing, a crash), or it went to the end and no selected item
	// could be done. `drafter resume` finishes it.
	RunFailed = "failed"
	// RunCancelled: an operator stopped the run; what was done stays done
	// and `drafter resume` finishes it.
	RunCancelled = "cancelled"
)

// RunStatuses are the statuses a run may have, in the order of its life.
var RunStatuses = []string{RunRunning, RunSucceeded, RunPartial, RunFailed, RunCancelled}

// NeedsAttention reports whether a finished run needs a person: it is not
// succeeded.
func (r Run) NeedsAttention() bool {
	return r.Status == RunFailed || r.Status == RunPartial || r.Status == RunCancelled
}

// Run is one execution of a job for a business date (and scope), as the run
// ledger records it.
type Run struct {
	ID           int64           `json:"id"`
	Job          string          `json:"job"`
	BusinessDate civil.Date      `json:"business_date"`
	Scope        string          `json:"scope,omitempty"`
	Attempt      int             `json:"attempt"`
	DryRun       bool            `json:"dry_run"`
	Status       string          `json:"status"`
	Trigger      string          `json:"trigger"`
	TriggeredBy  string          `json:"triggered_by,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Params       json.RawMessage `json:"params"`
	Selected     int             `json:"selected"`
	Done         int             `json:"done"`
	Skipped      int             `json:"skipped"`
	Failed       int             `json:"failed"`
	Summary      json.RawMessage `json:"summary"`
	Error        string          `json:"error,omitempty"`
	Owner        string          `json:"owner"`
	StartedAt    time.Time       `json:"started_at"`
	HeartbeatAt  time.Time       `json:"heartbeat_at"`
	FinishedAt   *time.Time      `json:"finished_at,omitempty"`
}

// Completed reports whether the run finished (succeeded or partial).
func (r Run) Completed() bool { return r.Status == RunSucceeded || r.Status == RunPartial }

// RunItem is a failed item of a run.
type RunItem struct {
	Item   string `json:"item"`
	Status string `json:"status"`
	Error  string `json:"error"`
}

// Counts are a run's item counts.
type Counts struct {
	Selected, Done, Skipped, Failed int
}

// Errors of the run ledger that callers branch on.
var (
	// ErrRunCompleted: a completed run exists for the identity; use rerun.
	ErrRunCompleted = errors.New("a completed run exists")
	// ErrRunActive: a run of the identity is in progress.
	ErrRunActive = errors.New("a run is in progress")
	// ErrRunFailedExists: a failed run exists; restart it.
	ErrRunFailedExists = errors.New("a failed run exists")
)

// RunSpec says what run to begin.
type RunSpec struct {
	Job          string
	BusinessDate civil.Date
	Scope        string
	DryRun       bool
	Trigger      string // schedule | operator | demo
	TriggeredBy  string
	Reason       string
	Params       any
	Owner        string
	// Rerun begins another attempt of a completed identity.
	Rerun bool
}

const runSelect = `SELECT id, job, business_date, scope, attempt, dry_run, status, trigger, triggered_by, reason, params,
	selected, done, skipped, failed, summary, error, owner, started_at, heartbeat_at, finished_at FROM runs`

func scanRun(row rowScanner) (Run, error) {
	var r Run
	var params, summary string
	var finished sql.NullTime
	err := row.Scan(&r.ID, &r.Job, &r.BusinessDate, &r.Scope, &r.Attempt, &r.DryRun, &r.Status, &r.Trigger, &r.TriggeredBy,
		&r.Reason, &params, &r.Selected, &r.Done, &r.Skipped, &r.Failed, &summary, &r.Error, &r.Owner,
		&r.StartedAt, &r.HeartbeatAt, &finished)
	r.Params, r.Summary = json.RawMessage(params), json.RawMessage(summary)
	if finished.Valid {
		t := finished.Time.UTC()
		r.FinishedAt = &t
	}
	r.StartedAt, r.HeartbeatAt = r.StartedAt.UTC(), r.HeartbeatAt.UTC()
	return r, err
}

// BeginRun records a new run. A plain start is refused when a completed
// (ErrRunCompleted), running (ErrRunActive) or failed (ErrRunFailedExists)
// run of the same identity exists; a rerun needs a completed run and a
// reason; dry runs are always allowed and recorded apart.
func (s *Store) BeginRun(ctx context.Context, spec RunSpec) (Run, error) {
	params, err := json.Marshal(spec.Params)
	if err != nil {
		return Run{}, err
	}
	var run Run
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.verifyKey(ctx, tx, false); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, runSelect+` WHERE job = $1 AND business_date = $2 AND scope = $3 AND dry_run = $4 ORDER BY attempt`,
			spec.Job, spec.BusinessDate, spec.Scope, spec.DryRun)
		if err != nil {
			return err
		}
		var prior []Run
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				rows.Close()
				return err
			}
			prior = append(prior, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		attempt := len(prior) + 1
		if !spec.DryRun && len(prior) > 0 {
			last := prior[len(prior)-1]
			switch {
			case last.Status == RunRunning:
				return fmt.Errorf("%s %s: run %d is in progress (owner %s): %w", spec.Job, spec.BusinessDate, last.ID, last.Owner, ErrRunActive)
			case last.Status == RunFailed:
				return fmt.Errorf("%s %s: run %d failed; finish it with `drafter resume %d`: %w", spec.Job, spec.BusinessDate, last.ID, last.ID, ErrRunFailedExists)
			case last.Status == RunCancelled:
				return fmt.Errorf("%s %s: run %d was cancelled (%s); finish it with `drafter resume %d`: %w",
					spec.Job, spec.BusinessDate, last.ID, last.Error, last.ID, ErrRunCancelled)
			case last.Status == RunPartial && !spec.Rerun:
				return fmt.Errorf("%s %s: run %d ended partial; retry its failed items with `drafter resume %d`: %w",
					spec.Job, spec.BusinessDate, last.ID, last.ID, ErrRunCompleted)
			case !spec.Rerun:
				return fmt.Errorf("%s %s: run %d already %s; to run it again use `drafter rerun %d --reason TEXT`: %w",
					spec.Job, spec.BusinessDate, last.ID, last.Status, last.ID, ErrRunCompleted)
			}
		}
		if spec.Rerun && len(prior) == 0 {
			return fmt.Errorf("%s %s: nothing to rerun: %w", spec.Job, spec.BusinessDate, ErrNotFound)
		}
		if spec.Rerun && strings.TrimSpace(spec.Reason) == "" {
			return errors.New("a rerun needs a reason")
		}
		t := now()
		row := tx.QueryRowContext(ctx, `INSERT INTO runs (job, business_date, scope, attempt, dry_run, status, trigger, triggered_by, reason, params, owner, started_at, heartbeat_at)
			VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			spec.Job, spec.BusinessDate, spec.Scope, attempt, spec.DryRun, spec.Trigger, spec.TriggeredBy, spec.Reason, string(params), spec.Owner, t)
		var id int64
		if err := row.Scan(&id); err != nil {
			if isUniqueViolation(err) {
				return fmt.Errorf("%s %s: another process began this run: %w", spec.Job, spec.BusinessDate, ErrRunActive)
			}
			return err
		}
		detail := spec.Trigger
		if spec.DryRun {
			detail += ", dry run"
		}
		if spec.Rerun || spec.Reason != "" {
			detail += fmt.Sprintf(", attempt %d", attempt)
			if len(prior) > 0 {
				detail += fmt.Sprintf(", rerun of run %d", prior[len(prior)-1].ID)
			}
			detail += ", reason: " + spec.Reason
		}
		if err := runEvent(ctx, tx, id, RunEventStarted, spec.TriggeredBy, detail+", owner "+spec.Owner); err != nil {
			return err
		}
		run = Run{ID: id, Job: spec.Job, BusinessDate: spec.BusinessDate, Scope: spec.Scope, Attempt: attempt, DryRun: spec.DryRun,
			Status: RunRunning, Trigger: spec.Trigger, TriggeredBy: spec.TriggeredBy, Reason: spec.Reason, Params: params,
			Owner: spec.Owner, StartedAt: t, HeartbeatAt: t, Summary: json.RawMessage("{}")}
		return nil
	})
	return run, err
}

// ResumeRun takes a run that is not succeeded (failed, partial or
// cancelled) back to running for owner, to finish it. The chunks that had
// failed items are worked again (their done items are found done, not
// redone), the run's failed items are forgotten until they fail again, and
// a cancel asked for it is forgotten.
// A succeeded, running or dry run is refused with the command that would
// work.
func (s *Store) ResumeRun(ctx context.Context, id int64, owner string) (Run, error) {
	return s.ResumeRunBy(ctx, id, owner, "")
}

// ResumeRunBy is ResumeRun recording who resumed the run in its timeline.
func (s *Store) ResumeRunBy(ctx context.Context, id int64, owner, by string) (Run, error) {
	if err := s.verifyKey(ctx, s.q, false); err != nil {
		return Run{}, fmt.Errorf("resume run %d: %w", id, err)
	}
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		r, err := scanRun(tx.QueryRowContext(ctx, runSelect+` WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("resume run %d: %w (list them with `drafter runs`)", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		switch {
		case r.DryRun:
			return fmt.Errorf("resume run %d: it is a dry run, which writes nothing and has nothing to finish; dry-run again with `drafter run %s --date %s --dry-run`", id, r.Job, r.BusinessDate)
		case r.Status == RunSucceeded:
			return fmt.Errorf("resume run %d: it succeeded, nothing is left to finish; to run it again use `drafter rerun %d --reason TEXT`: %w", id, id, ErrRunCompleted)
		case r.Status == RunRunning:
			return fmt.Errorf("resume run %d: it is running (owner %s): %w", id, r.Owner, ErrRunActive)
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'running', owner = $2, heartbeat_at = $3, finished_at = NULL, error = ''
			WHERE id = $1 AND status = $4`, id, owner, now(), r.Status)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("resume run %d: another process resumed it first: %w", id, ErrRunActive)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE run_chunks SET status = 'pending', owner = '', lease_until = NULL, done_at = NULL,
				items_selected = 0, items_done = 0, items_skipped = 0, items_failed = 0, result = ''
			WHERE run_id = $1 AND status = 'done' AND items_failed > 0`, id); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM run_items WHERE run_id = $1`, id); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM run_cancels WHERE run_id = $1`, id); err != nil {
			return err
		}
		return runEvent(ctx, tx, id, RunEventResumed, by, fmt.Sprintf("was %s, owner %s", r.Status, owner))
	})
	if err != nil {
		return Run{}, err
	}
	return s.GetRun(ctx, id)
}

// MarkCrashed records a running run failed because its owner died, as
// detected by who; it does nothing if the run is no longer running or
// another owner took it since (seen is the owner the caller saw).
func (s *Store) MarkCrashed(ctx context.Context, id int64, seen, by, cause string) (bool, error) {
	marked := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET status = 'failed', error = $3, finished_at = $4
			WHERE id = $1 AND status = 'running' AND owner = $2`, id, seen, cause, now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		marked = true
		return runEvent(ctx, tx, id, RunEventCrashed, by, cause)
	})
	if err != nil {
		return false, fmt.Errorf("mark run %d crashed: %w", id, err)
	}
	return marked, nil
}

// Heartbeat records that the run's owner is alive, with its counts so far.
func (s *Store) Heartbeat(ctx context.Context, id int64, c Counts) error {
	_, err := s.q.ExecContext(ctx, `UPDATE runs SET heartbeat_at = $2, selected = $3, done = $4, skipped = $5, failed = $6 WHERE id = $1`,
		id, now(), c.Selected, c.Done, c.Skipped, c.Failed)
	return err
}

// FinishRun records the end of a run: its status, counts, summary and error.
func (s *Store) FinishRun(ctx context.Context, id int64, status string, c Counts, summary any, runErr string) error {
	b, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	t := now()
	return s.InTx(ctx, func(tx *sql.Tx) error {
		event, actor, why := RunEventFinished, "", ""
		if status == RunCancelled {
			// Stopped at a safe point on an operator's request: the run
			// records who and why.
			c, ok, err := cancelRequested(ctx, tx, id)
			if err != nil {
				return err
			}
			if ok {
				event, actor, runErr, why = RunEventCancelled, c.By, c.CancelMessage(), c.Reason
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = $2, selected = $3, done = $4, skipped = $5, failed = $6, summary = $7,
			error = $8, heartbeat_at = $9, finished_at = $9 WHERE id = $1`, id, status, c.Selected, c.Done, c.Skipped, c.Failed, string(b), runErr, t); err != nil {
			return err
		}
		detail := fmt.Sprintf("%s: selected %d, done %d, skipped %d, failed %d", status, c.Selected, c.Done, c.Skipped, c.Failed)
		switch {
		case event == RunEventCancelled:
			detail = fmt.Sprintf("stopped at a safe point: selected %d, done %d, skipped %d, failed %d; reason: %s", c.Selected, c.Done, c.Skipped, c.Failed, why)
		case runErr != "":
			l, _, _ := strings.Cut(runErr, "\n")
			detail += "; " + l
		}
		return runEvent(ctx, tx, id, event, actor, detail)
	})
}

// SetDryRunTimes records when one step of a dry run plan was simulated:
// the plan's runs are all begun before its transaction and finished after
// it, so their own start and end would say how long the whole plan took.
// Only dry runs are changed.
func (s *Store) SetDryRunTimes(ctx context.Context, id int64, started, finished time.Time) error {
	_, err := s.q.ExecContext(ctx, `UPDATE runs SET started_at = $2, finished_at = $3, heartbeat_at = $3 WHERE id = $1 AND dry_run`,
		id, started.UTC().Truncate(time.Microsecond), finished.UTC().Truncate(time.Microsecond))
	if err != nil {
		return fmt.Errorf("record the times of dry run %d: %w", id, err)
	}
	return nil
}

// RecordItem records the outcome of one item of a run (a failed item, with
// its error); a later outcome of the same item replaces it.
func (s *Store) RecordItem(ctx context.Context, runID int64, item, status, msg string) error {
	_, err := s.q.ExecContext(ctx, `INSERT INTO run_items (run_id, item, status, error) VALUES ($1, $2, $3, $4)
		ON CONFLICT (run_id, item) DO UPDATE SET status = excluded.status, error = excluded.error`, runID, item, status, msg)
	return err
}

// RunItems returns the recorded items of a run.
func (s *Store) RunItems(ctx context.Context, runID int64) ([]RunItem, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT item, status, error FROM run_items WHERE run_id = $1 ORDER BY item`, runID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RunItem
	for rows.Next() {
		var it RunItem
		if err := rows.Scan(&it.Item, &it.Status, &it.Error); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// GetRun returns one run.
func (s *Store) GetRun(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.q.QueryRowContext(ctx, runSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return r, err
}

// RunFilter narrows ListRuns; zero fields match everything.
type RunFilter struct {
	Job    string
	Status string
	Date   civil.Date
	Limit  int
	// NeedsAttention keeps the runs a person must look at: failed,
	// partial and cancelled runs, and running runs whose heartbeat is
	// older than StaleAfter (their process probably died).
	NeedsAttention bool
	StaleAfter     time.Duration
	// NoDryRuns leaves dry runs out: they are a forecast, not the night's
	// record.
	NoDryRuns bool
}

// ListRuns returns runs, newest first. Dry runs never need attention.
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	q := runSelect + ` WHERE ($1 = '' OR job = $1) AND ($2 = '' OR status = $2)`
	args := []any{f.Job, f.Status}
	if !f.Date.IsZero() {
		args = append(args, f.Date)
		q += fmt.Sprintf(` AND business_date = $%d`, len(args))
	}
	if f.NoDryRuns {
		q += ` AND NOT dry_run`
	}
	if f.NeedsAttention {
		args = append(args, now().Add(-f.StaleAfter))
		q += fmt.Sprintf(` AND NOT dry_run AND (status IN ('failed', 'partial', 'cancelled') OR (status = 'running' AND heartbeat_at < $%d))`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit)
	return queryAll(ctx, s.q, scanRun, q, args...)
}

// FailStaleRuns marks failed every running run whose heartbeat is older than
// maxAge: its process died. It returns the runs it marked. A run an
// operator had asked to cancel ends cancelled instead, so that the
// schedule, which resumes failed runs, leaves it alone.
func (s *Store) FailStaleRuns(ctx context.Context, maxAge time.Duration) ([]int64, error) {
	cutoff := now().Add(-maxAge)
	rows, err := s.q.QueryContext(ctx, `UPDATE runs SET
			status = CASE WHEN EXISTS (SELECT 1 FROM run_cancels c WHERE c.run_id = runs.id) THEN 'cancelled' ELSE 'failed' END,
			error = CASE WHEN EXISTS (SELECT 1 FROM run_cancels c WHERE c.run_id = runs.id)
				THEN 'cancelled: its owner stopped sending heartbeats before it reached a safe point'
				ELSE 'owner stopped sending heartbeats (process died?)' END,
			finished_at = $1
		WHERE status = 'running' AND heartbeat_at < $2 RETURNING id`, now(), cutoff)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return ids, err
	}
	rows.Close()
	for _, id := range ids {
		if err := runEvent(ctx, s.q, id, RunEventCrashed, "", fmt.Sprintf("no heartbeat for more than %s", maxAge)); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// Audit records an operator action.
func (s *Store) Audit(ctx context.Context, actor, action, target, reason string) error {
	return audit(ctx, s.q, actor, action, target, reason)
}

// audit records an operator action with q: the store, or the transaction
// of the change it records.
func audit(ctx context.Context, q querier, actor, action, target, reason string) error {
	_, err := q.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, reason) VALUES ($1, $2, $3, $4, $5)`,
		now(), actor, action, target, reason)
	return err
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "duplicate key")
}
