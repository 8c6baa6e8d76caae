package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// Dependencies a run writes to. Each job probes its own before it selects
// any work, and stops once one fails DRAFTER_MAX_CONSECUTIVE_FAILURES
// times in a row.
const (
	DepDatabase = "database"
	DepStorage  = "document storage"
	DepMail     = "mail server"
)

// jobDependencies are what each job writes to, besides the database:
// deliver sends mail (and only reads documents), transmit writes to the
// bank (it dials the bank before sending anything, its probe, and only
// reads storage), every other job stores files or documents (receive the
// bank's files, before it deletes them on the bank's side).
var jobDependencies = map[string][]string{
	"originate":  {DepDatabase, DepStorage},
	"returns":    {DepDatabase, DepStorage},
	"statements": {DepDatabase, DepStorage},
	"lease-end":  {DepDatabase, DepStorage},
	"deliver":    {DepDatabase, DepMail},
	"transmit":   {DepDatabase},
	"receive":    {DepDatabase, DepStorage},
}

// ErrDependencyDown: a run stopped because something it writes to failed
// its probe or kept failing. The run is failed with the cause; resume it
// once the dependency is back.
var ErrDependencyDown = errors.New("dependency down")

// DependencyError says which dependency stopped a run and its last error.
type DependencyError struct {
	Dependency string
	// Failures in a row; 0 when the probe before any work failed.
	Failures int
	Err      error
}

func (e *DependencyError) Error() string {
	if e.Failures == 0 {
		return fmt.Sprintf("%s is not usable, so the run stopped before selecting any work: %v", e.Dependency, e.Err)
	}
	return fmt.Sprintf("%s failed %d times in a row, so the run stopped instead of trying every item: the last error: %v",
		e.Dependency, e.Failures, e.Err)
}

// Unwrap returns ErrDependencyDown and the dependency's error.
func (e *DependencyError) Unwrap() []error { return []error{ErrDependencyDown, e.Err} }

// maxConsecutiveFailures is DRAFTER_MAX_CONSECUTIVE_FAILURES, 5 for an Env
// built without it.
func (e *Env) maxConsecutiveFailures() int {
	if e.Config != nil && e.Config.MaxConsecutiveFailures > 0 {
		return e.Config.MaxConsecutiveFailures
	}
	return 5
}

// Depend records the outcome of one call to a dependency: a failure adds
// to its failures in a row, a success ends them. Once a dependency has
// failed DRAFTER_MAX_CONSECUTIVE_FAILURES times in a row, Depend returns
// the error that stops the run (and Stopped returns it from then on); the
// job stops taking new items and returns it. The call is taken as begun
// now; DependSince takes one begun earlier.
func (r *Run) Depend(dep string, err error) error {
	return r.DependSince(dep, r.CallBegins(), err)
}

// CallBegins numbers a call to a dependency as it begins, for
// DependSince.
func (r *Run) CallBegins() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return r.calls
}

// DependSince is Depend for the call numbered call (CallBegins) when it
// began. Calls run side by side finish out of order: "in a row" is in the
// order they began, so a success ends the failures in a row only if it
// began after the last of them did. A success that began before storage
// broke, and took longer than the failures after it, says nothing about
// storage now.
func (r *Run) DependSince(dep string, call int64, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped != nil {
		return r.stopped
	}
	if r.streaks == nil {
		r.streaks, r.lastFailed = map[string]int{}, map[string]int64{}
	}
	if err == nil {
		if call > r.lastFailed[dep] {
			r.streaks[dep] = 0
		}
		return nil
	}
	r.streaks[dep]++
	r.lastFailed[dep] = max(r.lastFailed[dep], call)
	if n := r.streaks[dep]; n >= r.Env.maxConsecutiveFailures() {
		r.stopped = &DependencyError{Dependency: dep, Failures: n, Err: err}
		r.Log.Error().Str("dependency", dep).Int("failures", n).Err(err).Msg("dependency keeps failing: stopping the run")
	}
	return r.stopped
}

// Stopped returns the error that stopped the run on a dependency, or nil.
func (r *Run) Stopped() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// isDependencyFailure reports whether a storage error says storage is
// failing, rather than that one item is wrong (a conflict, a bad key, a
// missing object).
func isDependencyFailure(err error) bool {
	return err != nil && !errors.Is(err, storage.ErrConflict) && !errors.Is(err, storage.ErrInvalidKey) &&
		!errors.Is(err, storage.ErrNotFound) && !errors.Is(err, context.Canceled)
}

// DependStorage is Depend for a storage call: an error that is about the
// item (a conflict, a bad key, a missing object) neither counts nor resets.
func (r *Run) DependStorage(err error) error {
	return r.DependStorageSince(r.CallBegins(), err)
}

// DependStorageSince is DependStorage for a call numbered as it began
// (CallBegins).
func (r *Run) DependStorageSince(call int64, err error) error {
	if err != nil && !isDependencyFailure(err) {
		return r.Stopped()
	}
	return r.DependSince(DepStorage, call, err)
}

// probe checks, before a run selects any work, that it can write to what
// its job writes to: a database write (the run's heartbeat), a put and a
// delete of a probe key in document storage, a connection to the mail
// server. Dry runs write nothing and probe nothing.
func (e *Env) probe(ctx context.Context, lr ledger.Run) error {
	if lr.DryRun {
		return nil
	}
	for _, dep := range jobDependencies[lr.Job] {
		var err error
		switch dep {
		case DepDatabase:
			var c ledger.Counts
			if c, err = e.Store.ChunkCounts(ctx, lr.ID); err == nil {
				_, err = e.Store.RunHeartbeat(ctx, lr.ID, c)
			}
		case DepStorage:
			err = probeStorage(ctx, e.Docs, e.Owner, lr.ID)
		case DepMail:
			err = e.probeMail(ctx)
		}
		if err != nil {
			return &DependencyError{Dependency: dep, Err: err}
		}
	}
	if lr.Job == "statements" {
		return e.returnsApplied(ctx, lr)
	}
	return nil
}

// ErrReturnsUnfinished: a statements run stopped before selecting any
// work because a returns run of its date or before failed and was not
// resumed.
var ErrReturnsUnfinished = errors.New("an earlier returns run is unfinished")

// returnsApplied refuses a statements run while a returns run of its
// business date or an earlier one is failed: the statements would be made
// without the returns that run has not applied, and once it is resumed
// those returns are dated inside a cycle already stated, which no later
// statement can carry (the simulation's seed 20261204, night 56).
// Resuming the returns run first, then this one, states them in order.
func (e *Env) returnsApplied(ctx context.Context, lr ledger.Run) error {
	runs, err := e.Store.ListRuns(ctx, ledger.RunFilter{Job: "returns", Status: ledger.RunFailed, NoDryRuns: true, Limit: 100})
	if err != nil {
		return err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Scope != "" || r.BusinessDate.After(lr.BusinessDate) {
			continue
		}
		return fmt.Errorf("%w: returns run %d of %s failed and was not resumed, so the statements of %s would miss the returns it has not applied "+
			"(and, applied later, they would fall in a cycle already stated): resume it first (`drafter resume %d`), then this run (`drafter resume %d`)",
			ErrReturnsUnfinished, r.ID, r.BusinessDate, lr.BusinessDate, r.ID, lr.ID)
	}
	return nil
}

// probeStorage puts a small object under probe/ and deletes it. The key is
// new every time: a put of the same bytes under a key that holds them
// writes nothing, and would prove nothing.
func probeStorage(ctx context.Context, docs storage.Store, owner string, run int64) error {
	if docs == nil {
		return errors.New("no document storage is configured")
	}
	name := strings.NewReplacer(":", "-", "/", "-").Replace(owner)
	key := fmt.Sprintf("probe/run-%d-%s-%d", run, name, time.Now().UnixNano())
	if _, err := docs.Put(ctx, key, []byte("drafter storage probe\n"), storage.PutOptions{ContentType: "text/plain"}); err != nil {
		return fmt.Errorf("probe write: %w", err)
	}
	if err := docs.Delete(ctx, key); err != nil {
		return fmt.Errorf("probe delete: %w", err)
	}
	return nil
}

// pinger is a mail sender that can check its server without sending.
type pinger interface {
	Ping(ctx context.Context) error
}

// probeMail connects to the mail server (or checks the pickup folder).
func (e *Env) probeMail(ctx context.Context) error {
	sender := e.Mail
	if sender == nil {
		var err error
		if sender, err = OpenMail(e.Config); err != nil {
			return err
		}
		defer sender.Close()
	}
	p, ok := sender.(pinger)
	if !ok {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return p.Ping(pctx)
}
