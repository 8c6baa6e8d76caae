package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// ErrCancelled: an operator cancelled the run; it stopped at a safe point
// (a chunk or an item boundary) and ends cancelled. What it did stays
// done; `drafter resume` finishes it.
var ErrCancelled = errors.New("cancelled")

// CancelError is the cancel a run stopped on: who asked and why.
type CancelError struct{ Request ledger.CancelRequest }

func (e *CancelError) Error() string { return e.Request.CancelMessage() }

// Is reports ErrCancelled.
func (e *CancelError) Is(target error) bool { return target == ErrCancelled }

// cancelPoll is how often a run looks in the ledger for a cancel at its
// item boundaries (a chunk boundary always looks).
const cancelPoll = time.Second

// CheckCancel returns a *CancelError once a cancel was asked for the run
// (by this or any other process: the ledger says), and nil until then. A
// job calls it at each safe point: between items, between files, never
// inside a transaction; on an error it stops taking work and returns it,
// and the run ends cancelled. It looks at most once a cancelPoll. Dry runs
// are not cancelled this way (they write nothing; interrupt them).
func (r *Run) CheckCancel(ctx context.Context) error {
	if r.DryRun || r.ID == 0 || r.Env == nil || r.Env.Store == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancelled != nil {
		return r.cancelled
	}
	if !r.cancelChecked.IsZero() && time.Since(r.cancelChecked) < cancelPoll {
		return nil
	}
	r.cancelChecked = time.Now()
	c, ok, err := r.Env.Store.CancelRequested(ctx, r.ID)
	if err != nil {
		// Not knowing is no cancel: the next safe point looks again.
		r.Log.Warn().Err(err).Msg("look for a cancel")
		return nil
	}
	if !ok {
		return nil
	}
	r.cancelled = &CancelError{c}
	r.Log.Warn().Str("by", c.By).Str("reason", c.Reason).Msg("cancel requested: stopping at this safe point")
	return r.cancelled
}

// Cancel asks the running run id to stop at its next safe point, as by
// and for reason (recorded in its timeline and the audit log). A run whose
// process is gone (a process of this host that no longer exists, or no
// heartbeat for staleAfter) has nobody to see the request: it is recorded
// cancelled at once. Cancel does not wait; the run's status says when it
// stopped.
func (e *Env) Cancel(ctx context.Context, id int64, by, reason string, staleAfter time.Duration) (ledger.Run, error) {
	lr, err := e.Store.RequestCancel(ctx, id, by, reason)
	if err != nil {
		return lr, err
	}
	e.Log.Info().Int64("run", id).Str("job", lr.Job).Str("by", by).Str("reason", reason).Msg("cancel requested")
	if cause, err := e.crashed(lr, by, staleAfter); err == nil {
		if _, err := e.Store.CancelDeadRun(ctx, id, lr.Owner, "stopped where its process died ("+cause+")"); err != nil {
			return lr, err
		}
	}
	return e.Store.GetRun(ctx, id)
}

// cancelChunked records a chunked run cancelled once a cancel was asked
// and no chunk is being worked any more (the workers stop claiming at
// their next chunk boundary; a dead worker's chunk counts until its lease
// runs out). It reports whether the run is cancelled now.
func (e *Env) cancelChunked(ctx context.Context, lr ledger.Run) (bool, error) {
	c, ok, err := e.Store.CancelRequested(ctx, lr.ID)
	if err != nil || !ok {
		return false, err
	}
	if n, err := e.Store.LiveChunkClaims(ctx, lr.ID); err != nil || n > 0 {
		return false, err
	}
	unlock, ok, err := lockRun(ctx, e.Store, lr.ID)
	if err != nil || !ok {
		return false, err
	}
	defer unlock()
	return e.recordCancelled(ctx, lr, c, nil, nil)
}

// recordCancelled writes a chunked run's end as cancelled, under the run's
// lock (held by the caller), unless it is no longer running. counts nil:
// the done chunks' counts.
func (e *Env) recordCancelled(ctx context.Context, lr ledger.Run, c ledger.CancelRequest, counts *ledger.Counts, summary any) (bool, error) {
	st, err := e.Store.RunStatus(ctx, lr.ID)
	if err != nil || st != ledger.RunRunning {
		return st == ledger.RunCancelled, err
	}
	if counts == nil {
		cc, err := e.Store.ChunkCounts(ctx, lr.ID)
		if err != nil {
			return false, err
		}
		counts = &cc
	}
	if summary == nil {
		summary = map[string]any{}
	}
	if err := e.Store.FinishRun(context.WithoutCancel(ctx), lr.ID, ledger.RunCancelled, *counts, summary, c.CancelMessage()); err != nil {
		return false, fmt.Errorf("record run %d cancelled: %w", lr.ID, err)
	}
	e.Log.Warn().Int64("run", lr.ID).Str("job", lr.Job).Str("by", c.By).Str("reason", c.Reason).Msg("run cancelled at a safe point")
	return true, nil
}
