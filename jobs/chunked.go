package jobs

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/ledger"
)

// ChunkedJob is a job whose per-account work is split into chunks of
// accounts (ledger.PlanChunks) that any number of workers claim under a
// lease: the goroutines of one process on SQLite, every drafter process on
// PostgreSQL. When the last chunk is done, whichever worker completed it
// runs the job's single step (Finish) under the run's lock and writes the
// run's outcome once.
//
// Its Run (the Job method) works every account in one span and then
// finishes, in the caller's process: dry runs and runs scoped to one
// account take that path, with the same WorkChunk and Finish.
type ChunkedJob interface {
	Job
	// WorkChunk does the per-account work for the accounts in span,
	// counting items on r, and returns the chunk's result (marshalled to
	// JSON and handed to Finish). It is idempotent: a chunk whose worker
	// died is done again by another.
	WorkChunk(ctx context.Context, r *Run, span ledger.ChunkSpan) (any, error)
	// Finish runs once, after every chunk is done: the single step (the
	// day's NACHA files), and the run's summary from the chunks' results.
	// It is idempotent too: a finisher that died is followed by another.
	Finish(ctx context.Context, r *Run, results []json.RawMessage) (any, error)
	// DecodeSummary reads a summary Finish returned, as the run ledger
	// recorded it.
	DecodeSummary(b []byte) (any, error)
}

// RunLocal is a chunked job's Run: the whole run as one span, worked and
// finished by the caller.
func RunLocal(ctx context.Context, r *Run, j ChunkedJob) (any, error) {
	res, err := j.WorkChunk(ctx, r, ledger.ChunkSpan{})
	if err != nil {
		return res, err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return res, fmt.Errorf("chunk result: %w", err)
	}
	return j.Finish(ctx, r, []json.RawMessage{b})
}

// distributed reports whether a run is worked chunk by chunk: every run but
// dry runs (one rolled-back transaction cannot be shared) and runs scoped
// to one account.
func distributed(lr ledger.Run) bool { return !lr.DryRun && lr.Scope == "" }

// chunkSettings returns the chunk size, lease and workers per process,
// with defaults for an Env built without them.
func (e *Env) chunkSettings() (size int, lease time.Duration, workers int) {
	size, lease, workers = 1000, 60*time.Second, 2
	if c := e.Config; c != nil {
		if c.ChunkSize > 0 {
			size = c.ChunkSize
		}
		if c.ChunkLease > 0 {
			lease = c.ChunkLease
		}
		if c.ChunkWorkers > 0 {
			workers = c.ChunkWorkers
		}
	}
	return size, lease, workers
}

// executeChunked runs a chunked run as its coordinator: it plans the
// chunks, works them with this process's pool alongside any other worker,
// and waits until the run is finished, by itself or by whichever worker
// completed the last chunk. The run ledger row is written once at the end,
// by the finisher.
func (e *Env) executeChunked(ctx context.Context, job ChunkedJob, lr ledger.Run) (Result, error) {
	log := e.Log.With().Str("job", lr.Job).Str("date", lr.BusinessDate.String()).Int64("run", lr.ID).Logger()
	size, lease, _ := e.chunkSettings()
	start := time.Now()
	sample, untrack := e.chunkedProgress(context.WithoutCancel(ctx), lr, start)
	defer untrack()
	stopProgress := e.reportProgress(sample)
	defer func() { stopProgress(finalProgress(lr, start)) }()
	ended := func(fin ledger.Run) (Result, error) {
		return e.chunkedEnded(job, fin, log, start, stopProgress)
	}
	fail := func(err error) (Result, error) {
		e.failRun(context.WithoutCancel(ctx), lr, err)
		fin, gerr := e.Store.GetRun(context.WithoutCancel(ctx), lr.ID)
		if gerr != nil {
			fin = lr
		}
		if gerr == nil && fin.Status != ledger.RunRunning && fin.Status != ledger.RunFailed {
			// A worker finished the run before this error (a dropped
			// connection after the last chunk): the run's record is
			// its outcome, and the exit code must say the same.
			log.Warn().Err(err).Str("status", fin.Status).Msg("error after the run was finished; its outcome stands")
			return ended(fin)
		}
		stopProgress(finalProgress(fin, start))
		log.Error().Err(err).Str("status", fin.Status).Int("selected", fin.Selected).Int("done", fin.Done).
			Int("failed", fin.Failed).Dur("took_ms", time.Since(start)).Msg("run finished")
		return Result{Run: fin}, err
	}
	if err := e.probe(ctx, lr); err != nil {
		return fail(err)
	}
	n, err := e.Store.PlanChunks(ctx, lr.ID, size)
	if err != nil {
		return fail(err)
	}
	// A restart takes over the chunks the dead process held without
	// waiting for their leases.
	if k, err := e.Store.ExpireChunkLeases(ctx, lr.ID); err != nil {
		return fail(err)
	} else if k > 0 {
		log.Warn().Int("chunks", k).Msg("took over chunks whose worker stopped")
	}
	log.Info().Int("attempt", lr.Attempt).Str("trigger", lr.Trigger).Int("chunks", n).Int("chunk_size", size).Msg("run started")

	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	go e.heartbeatRun(hbCtx, lr.ID, e.Heartbeat)

	poll := min(time.Second, lease/4)
	for {
		if err := e.WorkChunks(ctx, job, lr); err != nil {
			return fail(err)
		}
		status, err := e.Store.RunStatus(ctx, lr.ID)
		if err != nil {
			return fail(err)
		}
		if status != ledger.RunRunning {
			break
		}
		p, err := e.Store.RunChunkProgress(ctx, lr.ID)
		if err != nil {
			return fail(err)
		}
		if n == 0 || p.Finished() {
			if _, err := e.finishRun(ctx, job, lr); err != nil {
				return fail(err)
			}
			continue
		}
		// A cancel stops the workers at their chunk boundaries; once no
		// chunk is worked any more, the run ends cancelled.
		if stopped, err := e.cancelChunked(ctx, lr); err != nil {
			return fail(err)
		} else if stopped {
			continue
		}
		select {
		case <-ctx.Done():
			return fail(context.Cause(ctx))
		case <-time.After(poll):
		}
	}
	stopHB()
	fin, err := e.Store.GetRun(context.WithoutCancel(ctx), lr.ID)
	if err != nil {
		stopProgress(finalProgress(lr, start))
		return Result{Run: lr}, err
	}
	return ended(fin)
}

// chunkedEnded is how a chunked run that is no longer running ends its
// process: its summary, the final progress line and the run finished log
// line, and an error for any outcome but succeeded.
func (e *Env) chunkedEnded(job ChunkedJob, fin ledger.Run, log zerolog.Logger, start time.Time, stopProgress func(Progress)) (Result, error) {
	stopProgress(finalProgress(fin, start))
	var summary any = fin.Summary
	if s, ok := finishedSummaries.LoadAndDelete(runLockKey{e.Store.DB(), fin.ID}); ok {
		summary = s
	} else if s, err := job.DecodeSummary(fin.Summary); err == nil {
		summary = s
	}
	ev := log.Info()
	var runErr error
	switch fin.Status {
	case ledger.RunSucceeded:
	case ledger.RunFailed:
		runErr = errors.New(fin.Error)
		ev = log.Error().Err(runErr)
	case ledger.RunCancelled:
		runErr = fmt.Errorf("%s: %w", fin.Error, ErrCancelled)
		ev = log.Error().Err(runErr)
	default:
		// Not succeeded ends at ERROR, whatever the reason.
		ev = log.Error()
	}
	ev.Str("status", fin.Status).Int("selected", fin.Selected).Int("done", fin.Done).Int("skipped", fin.Skipped).
		Int("failed", fin.Failed).Dur("took_ms", time.Since(start)).Msg("run finished")
	return Result{Run: fin, Summary: summary}, runErr
}

// heartbeatRun records every interval that the run is worked, with the
// counts of its done chunks, until ctx ends or the run is finished.
func (e *Env) heartbeatRun(ctx context.Context, id int64, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c, err := e.Store.ChunkCounts(ctx, id)
			if err == nil {
				var ok bool
				ok, err = e.Store.RunHeartbeat(ctx, id, c)
				if err == nil && !ok {
					return
				}
			}
			if err != nil && ctx.Err() == nil {
				e.Log.Warn().Err(err).Int64("run", id).Msg("heartbeat")
			}
		}
	}
}

// FailRun records a running chunked run failed with cause, as its
// coordinator does when one of its own chunks fails. A worker-only replica
// whose chunk failed calls it: otherwise the chunk would wait out its
// lease, be taken again and fail again, and the run would never end. A
// restart resumes from the chunks done.
func (e *Env) FailRun(ctx context.Context, lr ledger.Run, cause error) { e.failRun(ctx, lr, cause) }

// failRun records a run failed, unless it is finished already, under the
// run's lock so that it never overwrites a finisher's outcome.
func (e *Env) failRun(ctx context.Context, lr ledger.Run, cause error) {
	unlock, err := lockRunWait(ctx, e.Store, lr.ID)
	if err != nil {
		e.Log.Error().Err(err).Int64("run", lr.ID).Msg("lock the run to record its failure")
		return
	}
	defer unlock()
	if st, err := e.Store.RunStatus(ctx, lr.ID); err != nil || st != ledger.RunRunning {
		return
	}
	if ce, ok := errors.AsType[*CancelError](cause); ok {
		// A cancel seen at a safe point is no failure.
		if _, err := e.recordCancelled(ctx, lr, ce.Request, nil, nil); err != nil {
			e.Log.Error().Err(err).Int64("run", lr.ID).Msg("record the run cancelled")
		}
		return
	}
	c, _ := e.Store.ChunkCounts(ctx, lr.ID)
	if err := e.Store.FinishRun(ctx, lr.ID, ledger.RunFailed, c, map[string]any{}, cause.Error()); err != nil {
		e.Log.Error().Err(err).Int64("run", lr.ID).Msg("record the run failed")
	}
}

// WorkChunks works a running chunked run with this process's chunk
// workers (DRAFTER_CHUNK_WORKERS, shared by every run the process works)
// until no chunk is left to claim. The worker that completes the last
// chunk finishes the run. Another worker's chunk that is taken over is
// logged, not an error; any other error stops this process's workers and
// is returned (the chunk is left to its lease and taken over).
func (e *Env) WorkChunks(ctx context.Context, job ChunkedJob, lr ledger.Run) error {
	_, lease, workers := e.chunkSettings()
	pool := e.slotPool(workers)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for {
		var slot int
		select {
		case slot = <-pool:
		default:
			slot = 0
		}
		if slot == 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { pool <- slot }()
			owner := e.Owner + "/" + strconv.Itoa(slot)
			for ctx.Err() == nil {
				if st, err := e.Store.RunStatus(ctx, lr.ID); err != nil || st != ledger.RunRunning {
					return
				}
				// A chunk boundary: a cancel asked in any process stops
				// this worker here, before it claims another chunk.
				if _, cancelled, err := e.Store.CancelRequested(ctx, lr.ID); err != nil || cancelled {
					return
				}
				c, ok, err := e.Store.ClaimChunk(ctx, lr.ID, owner, lease)
				if err == nil && ok {
					err = e.workChunk(ctx, job, lr, c, owner, lease)
				}
				if errors.Is(err, ledger.ErrLeaseLost) {
					e.Log.Warn().Int64("run", lr.ID).Int("chunk", c.Chunk).Str("worker", owner).Msg("chunk taken over by another worker; its work is redone there")
					continue
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				if !ok {
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// slotPool returns the process's chunk worker slots (1..n), made on first
// use: every run this Env works shares them.
func (e *Env) slotPool(n int) chan int {
	if v, ok := slotPools.Load(e); ok {
		return v.(chan int)
	}
	pool := make(chan int, n)
	for i := 1; i <= n; i++ {
		pool <- i
	}
	v, _ := slotPools.LoadOrStore(e, pool)
	return v.(chan int)
}

// slotPools holds each Env's chunk worker slots; finishedSummaries hands a
// summary this process finished to the coordinator waiting for it.
var slotPools, finishedSummaries sync.Map

// workChunk works one claimed chunk, renewing its lease meanwhile, and
// completes it with its outcome; the worker that completes the last chunk
// finishes the run.
func (e *Env) workChunk(ctx context.Context, job ChunkedJob, lr ledger.Run, c ledger.Chunk, owner string, lease time.Duration) (err error) {
	start := time.Now()
	span, err := e.Store.SpanOf(ctx, c)
	if err != nil {
		return err
	}
	log := e.Log.With().Str("job", lr.Job).Str("date", lr.BusinessDate.String()).Int64("run", lr.ID).
		Int("chunk", c.Chunk).Str("worker", owner).Logger()
	if c.Claims > 1 {
		log.Warn().Int("claims", c.Claims).Msg("taking over a chunk whose lease ran out")
	}
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(max(lease/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				if err := e.Store.RenewChunk(cctx, c, owner, lease); err != nil {
					if errors.Is(err, ledger.ErrLeaseLost) {
						cancel(err)
						return
					}
					if cctx.Err() == nil {
						log.Warn().Err(err).Msg("renew chunk lease")
					}
				}
				if n, err := e.Store.ChunkCounts(cctx, lr.ID); err == nil {
					_, _ = e.Store.RunHeartbeat(cctx, lr.ID, n)
				}
			}
		}
	}()
	r := &Run{Run: lr, Env: e, Store: e.Store, Date: lr.BusinessDate, Log: log}
	defer trackChunk(e, lr, c.Chunk, r)()
	var res any
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		res, err = job.WorkChunk(cctx, r, span)
	}()
	cancel(nil)
	<-renewDone
	if cause := context.Cause(cctx); errors.Is(cause, ledger.ErrLeaseLost) {
		return fmt.Errorf("chunk %d: %w", c.Chunk, ledger.ErrLeaseLost)
	}
	if err != nil {
		return fmt.Errorf("chunk %d of run %d: %w", c.Chunk, lr.ID, err)
	}
	if err := r.recordFailures(ctx); err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("chunk %d result: %w", c.Chunk, err)
	}
	if err := e.Store.CompleteChunkWith(ctx, c, owner, ledger.ChunkOutcome{Counts: r.Counts(), Result: b, Took: time.Since(start)}); err != nil {
		return err
	}
	r.Checkpoint("chunk done")
	cnt := r.Counts()
	log.Debug().Int("selected", cnt.Selected).Int("done", cnt.Done).Dur("took_ms", time.Since(start)).Msg("chunk done")
	p, err := e.Store.RunChunkProgress(ctx, lr.ID)
	if err != nil {
		return err
	}
	if p.Finished() {
		_, err = e.finishRun(ctx, job, lr)
	}
	return err
}

// recordFailures writes the run's failed items to the run ledger.
func (r *Run) recordFailures(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for item, msg := range r.failures {
		if err := r.Env.Store.RecordItem(ctx, r.ID, item, "failed", msg); err != nil {
			return fmt.Errorf("record failed item: %w", err)
		}
	}
	return nil
}

// finishRun runs the job's single step and writes the run's outcome, once:
// under the run's lock, if the run is still running and every chunk is
// done. done is false when another worker holds the lock (it is finishing)
// or chunks remain.
func (e *Env) finishRun(ctx context.Context, job ChunkedJob, lr ledger.Run) (done bool, err error) {
	unlock, ok, err := lockRun(ctx, e.Store, lr.ID)
	if err != nil || !ok {
		return false, err
	}
	defer unlock()
	status, err := e.Store.RunStatus(ctx, lr.ID)
	if err != nil || status != ledger.RunRunning {
		return status != "", err
	}
	p, err := e.Store.RunChunkProgress(ctx, lr.ID)
	if err != nil {
		return false, err
	}
	if p.Pending > 0 || p.Claimed > 0 {
		return false, nil
	}
	if c, cancelled, err := e.Store.CancelRequested(ctx, lr.ID); err != nil {
		return false, err
	} else if cancelled {
		// Cancelled between the last chunk and the single step: the
		// step runs when the run is resumed.
		return e.recordCancelled(ctx, lr, c, nil, nil)
	}
	results, err := e.Store.ChunkResults(ctx, lr.ID)
	if err != nil {
		return false, err
	}
	log := e.Log.With().Str("job", lr.Job).Str("date", lr.BusinessDate.String()).Int64("run", lr.ID).Logger()
	r := &Run{Run: lr, Env: e, Store: e.Store, Date: lr.BusinessDate, Log: log}
	trackFinish(e, lr, r)
	raw := make([]json.RawMessage, len(results))
	for i, res := range results {
		raw[i] = res.Result
		r.selected.Add(int64(res.Counts.Selected))
		r.done.Add(int64(res.Counts.Done))
		r.skipped.Add(int64(res.Counts.Skipped))
		r.failed.Add(int64(res.Counts.Failed))
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	go e.heartbeatRun(hbCtx, lr.ID, e.Heartbeat)
	var summary any
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		summary, err = job.Finish(ctx, r, raw)
	}()
	stopHB()
	if ce, ok := errors.AsType[*CancelError](err); ok {
		// The single step stopped at a safe point (between two files): a
		// resume runs it again, and it goes on from there.
		if rerr := r.recordFailures(context.WithoutCancel(ctx)); rerr != nil {
			return false, rerr
		}
		c := r.Counts()
		return e.recordCancelled(ctx, lr, ce.Request, &c, summary)
	}
	if err != nil {
		// The chunks are done; a restart runs the single step again.
		return false, fmt.Errorf("finish run %d: %w", lr.ID, err)
	}
	fctx := context.WithoutCancel(ctx)
	if err := r.recordFailures(fctx); err != nil {
		return false, err
	}
	final, ferr := outcome(lr.ID, r.Counts(), nil)
	msg := ""
	if ferr != nil {
		msg = ferr.Error()
	}
	if err := e.Store.FinishRun(fctx, lr.ID, final, r.Counts(), summary, msg); err != nil {
		return false, fmt.Errorf("record run %d: %w", lr.ID, err)
	}
	finishedSummaries.Store(runLockKey{e.Store.DB(), lr.ID}, summary)
	c := r.Counts()
	log.Info().Str("status", final).Int("chunks", len(results)).Int("selected", c.Selected).Int("done", c.Done).
		Int("failed", c.Failed).Msg("last chunk done: run finished")
	return true, nil
}

// lockRun takes the run's lock without waiting: a PostgreSQL session
// advisory lock keyed by the run id, held on its own connection (released
// by the server if the process dies), or a lock inside this process on
// SQLite, which one process serves.
func lockRun(ctx context.Context, st *ledger.Store, id int64) (unlock func(), ok bool, err error) {
	if st.Dialect() != "postgres" {
		v, _ := localRunLocks.LoadOrStore(runLockKey{st.DB(), id}, &sync.Mutex{})
		mu := v.(*sync.Mutex)
		if !mu.TryLock() {
			return nil, false, nil
		}
		return mu.Unlock, true, nil
	}
	conn, err := st.DB().Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock run %d: %w", id, err)
	}
	key := runAdvisoryKey(id)
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil || !ok {
		conn.Close()
		if err != nil {
			return nil, false, fmt.Errorf("lock run %d: %w", id, err)
		}
		return nil, false, nil
	}
	return func() {
		var released bool
		if err := conn.QueryRowContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key).Scan(&released); err != nil || !released {
			// Never hand a connection that may hold the lock back to the
			// pool: closing it releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}

// lockRunWait takes the run's lock, waiting for a finisher that holds it.
func lockRunWait(ctx context.Context, st *ledger.Store, id int64) (func(), error) {
	for {
		unlock, ok, err := lockRun(ctx, st, id)
		if err != nil || ok {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type runLockKey struct {
	db *sql.DB
	id int64
}

var localRunLocks sync.Map

// runAdvisoryKey is the advisory lock key of a run.
func runAdvisoryKey(id int64) int64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "drafter:run:%d", id)
	return int64(h.Sum64())
}
