package jobs

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// DryStep is one run of a dry-run plan: a job and how it would be started.
type DryStep struct {
	Job  Job
	Spec StartSpec
}

// DryRun simulates steps in order, as a backfill (or a nightly cycle) would
// run them, and reports what each would do: every step works inside one
// database transaction that is rolled back at the end, so each sees what
// the steps before it would have written (the payments, prenotes and files
// of the days before) and nothing is kept. Nothing is put to storage, sent
// to the bank or mailed. What persists is one run record per step, marked
// dry_run, with its summary: it is kept apart from the real runs (it never
// blocks or satisfies one, and `drafter runs` lists it only when asked).
//
// It returns each step's result and error; a step that could not be begun
// has a zero Run.
func (e *Env) DryRun(ctx context.Context, steps []DryStep) ([]Result, []error) {
	results := make([]Result, len(steps))
	errs := make([]error, len(steps))
	var js []Job
	var lrs []ledger.Run
	var idx []int
	for i, st := range steps {
		spec := st.Spec
		lr, err := e.Store.BeginRun(ctx, ledger.RunSpec{Job: st.Job.Name(), BusinessDate: spec.Date, Scope: spec.Scope, DryRun: true,
			Trigger: spec.Trigger, TriggeredBy: spec.TriggeredBy, Reason: spec.Reason, Params: spec.Params, Owner: e.Owner})
		if err != nil {
			errs[i] = err
			continue
		}
		js, lrs, idx = append(js, st.Job), append(lrs, lr), append(idx, i)
	}
	if len(lrs) == 0 {
		return results, errs
	}
	res, rerrs := e.simulate(ctx, js, lrs)
	for k, i := range idx {
		results[i], errs[i] = res[k], rerrs[k]
	}
	return results, errs
}

// simulate works the begun dry runs lrs (of jobs js) in order in one
// rolled-back transaction, each step under its own savepoint (a step that
// fails leaves nothing for the next to see, as a failed real run's last
// transaction would), then records each run's outcome.
func (e *Env) simulate(ctx context.Context, js []Job, lrs []ledger.Run) ([]Result, []error) {
	runs := make([]*Run, len(lrs))
	summaries := make([]any, len(lrs))
	errs := make([]error, len(lrs))
	starts := make([]time.Time, len(lrs))
	ends := make([]time.Time, len(lrs))
	rendered := &dryDocuments{}
	for i, lr := range lrs {
		runs[i] = e.newRun(lr)
		runs[i].dryDocs = rendered
	}
	// Heartbeats of the runs still to finish. On SQLite the transaction
	// holds the one connection, so they wait for its end; on PostgreSQL
	// they keep a long plan's records fresh.
	hbCtx, stopHB := context.WithCancel(ctx)
	var hbDone sync.WaitGroup
	hbDone.Add(1)
	go func() {
		defer hbDone.Done()
		t := time.NewTicker(e.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-t.C:
				for _, r := range runs {
					if hbCtx.Err() != nil {
						return
					}
					if err := e.Store.Heartbeat(context.WithoutCancel(hbCtx), r.ID, r.Counts()); err != nil {
						r.Log.Warn().Err(err).Msg("heartbeat")
					}
				}
			}
		}
	}()
	txErr := e.Store.DryRun(ctx, func(s *ledger.Store) error {
		for i, r := range runs {
			starts[i] = time.Now()
			if err := ctx.Err(); err != nil {
				errs[i] = fmt.Errorf("dry run not simulated: %w", err)
				continue
			}
			r.Store = s
			r.Log.Info().Int("attempt", r.Attempt).Str("trigger", r.Trigger).Int("step", i+1).Int("steps", len(runs)).Msg("run started")
			errs[i] = s.DrySavepoint(ctx, func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
					}
				}()
				summaries[i], err = js[i].Run(ctx, r)
				return err
			})
			ends[i] = time.Now()
		}
		return nil
	})
	stopHB()
	hbDone.Wait()
	results := make([]Result, len(runs))
	for i, r := range runs {
		if starts[i].IsZero() {
			starts[i] = time.Now()
		}
		err := errs[i]
		if txErr != nil && err == nil {
			err = txErr
		}
		results[i], errs[i] = e.finishLocal(ctx, r, summaries[i], err, starts[i])
		if errs[i] == nil && results[i].Run.ID == 0 {
			errs[i] = errors.New("dry run not recorded")
		}
		if len(runs) > 1 && !ends[i].IsZero() && results[i].Run.ID != 0 {
			if terr := e.Store.SetDryRunTimes(context.WithoutCancel(ctx), r.ID, starts[i], ends[i]); terr != nil {
				r.Log.Warn().Err(terr).Msg("record the dry run's times")
			} else if fin, gerr := e.Store.GetRun(context.WithoutCancel(ctx), r.ID); gerr == nil {
				results[i].Run = fin
			}
		}
	}
	return results, errs
}

// dryDocuments are the documents the steps of a dry run rendered and
// recorded in its transaction but did not store: a later step (deliver)
// treats them as stored, as it would find them after real runs.
type dryDocuments struct {
	mu   sync.Mutex
	keys map[string]string // storage key: sha256
}

func (d *dryDocuments) add(key, sha string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.keys == nil {
		d.keys = map[string]string{}
	}
	d.keys[key] = sha
}

// has reports whether the dry run rendered the document at key with sha.
func (d *dryDocuments) has(key, sha string) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	got, ok := d.keys[key]
	return ok && got == sha
}
