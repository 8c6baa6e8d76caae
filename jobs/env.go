// Package jobs holds drafter's nightly jobs (originate, returns, statements,
// lease-end, deliver) and the run semantics around them: every job runs for a
// business date, records itself in the run ledger, commits in small steps and
// can be killed at any point and run again without repeating any of its work.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/mail"
	"github.com/drafterhq/drafter/storage"
)

// Env is what every job works with.
type Env struct {
	Store    *ledger.Store
	Docs     storage.Store
	Config   *config.Config
	Log      zerolog.Logger
	Calendar *CachedCalendar
	// Owner names this process in the run ledger (host:pid).
	Owner string
	// Crash, when set, ends the process at a numbered write: the crash
	// tests' way to kill a job between any two writes.
	Crash *Crashpoints
	// Heartbeat is how often a running job records that it is alive.
	Heartbeat time.Duration
	// Mail sends customer email; nil: the deliver job opens DRAFTER_MAIL_URL
	// for its run.
	Mail mail.Sender
	// Progress, when set, is told how far each run is, every
	// ProgressEvery while it runs and once when it ends (a progress bar,
	// or progress log lines).
	Progress func(Progress)
}

// NewEnv returns an Env with the defaults filled in.
func NewEnv(store *ledger.Store, docs storage.Store, cfg *config.Config, log zerolog.Logger) *Env {
	host, _ := os.Hostname()
	return &Env{Store: store, Docs: docs, Config: cfg, Log: log, Calendar: NewCachedCalendar(),
		Owner: host + ":" + strconv.Itoa(os.Getpid()), Heartbeat: 10 * time.Second, Crash: CrashpointsFromEnv()}
}

// Job is one of drafter's jobs.
type Job interface {
	// Name is the job's name in the run ledger and on the command line.
	Name() string
	// Run does the job's work for r.Date and returns its summary. It must
	// be safe to run again after a crash at any point.
	Run(ctx context.Context, r *Run) (any, error)
}

// Run is a job's view of its run: the date, the counters and the hooks.
type Run struct {
	ledger.Run
	Env   *Env
	Store *ledger.Store // the dry run's store in a dry run
	Date  civil.Date
	Log   zerolog.Logger

	selected, done, skipped, failed atomic.Int64
	expected                        atomic.Int64
	mu                              sync.Mutex
	failures                        map[string]string
	streaks                         map[string]int   // failures in a row, by dependency
	lastFailed                      map[string]int64 // the latest-begun failed call, by dependency (CallBegins)
	calls                           int64            // calls to dependencies begun (CallBegins)
	stopped                         error            // the dependency that stopped the run
	dryDocs                         *dryDocuments    // what the dry run's steps rendered
	stopProgress                    func(Progress)   // ends the run's progress report (nil: none)
	cancelled                       *CancelError     // the cancel the run saw
	cancelChecked                   time.Time        // when it last looked for one
	// The deliver job's database work before its probe: files whose
	// payment rows it settled, "payment scheduled" emails it queued.
	filesSettled, paymentEmailsQueued int
}

// Counts returns the run's counts so far.
func (r *Run) Counts() ledger.Counts {
	return ledger.Counts{Selected: int(r.selected.Load()), Done: int(r.done.Load()), Skipped: int(r.skipped.Load()), Failed: int(r.failed.Load())}
}

// Selected, Done and Skipped add to the run's counts.
func (r *Run) Selected(n int) { r.selected.Add(int64(n)) }

// Done adds n finished items.
func (r *Run) Done(n int) { r.done.Add(int64(n)) }

// Skipped adds n items left alone.
func (r *Run) Skipped(n int) { r.skipped.Add(int64(n)) }

// ItemFailed records a failed item; the run goes on and ends partial. An
// item left untried because a dependency stopped the run is not recorded:
// the run fails with the dependency's error instead.
func (r *Run) ItemFailed(item string, err error) {
	if errors.Is(err, ErrDependencyDown) {
		return
	}
	r.failed.Add(1)
	r.mu.Lock()
	if r.failures == nil {
		r.failures = map[string]string{}
	}
	r.failures[item] = err.Error()
	r.mu.Unlock()
	r.Log.Warn().Str("item", item).Err(err).Msg("item failed")
}

// Checkpoint is called after each committed write; under a crash test it
// may end the process there.
func (r *Run) Checkpoint(what string) {
	if r.Env.Crash != nil {
		r.Env.Crash.Hit(what)
	}
}

// Registry maps job names to jobs.
type Registry map[string]Job

// Names returns the job names in order.
func (reg Registry) Names() []string {
	names := make([]string, 0, len(reg))
	for n := range reg {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// StartSpec says how a run is begun.
type StartSpec struct {
	Date        civil.Date
	Scope       string
	DryRun      bool
	Trigger     string
	TriggeredBy string
	Reason      string
	Params      any
}

// Result is a finished run and its summary.
type Result struct {
	Run     ledger.Run `json:"run"`
	Summary any        `json:"summary"`
}

// Start begins a new run of job for the date and runs it to the end.
func (e *Env) Start(ctx context.Context, job Job, spec StartSpec) (Result, error) {
	run, err := e.Store.BeginRun(ctx, ledger.RunSpec{Job: job.Name(), BusinessDate: spec.Date, Scope: spec.Scope, DryRun: spec.DryRun,
		Trigger: spec.Trigger, TriggeredBy: spec.TriggeredBy, Reason: spec.Reason, Params: spec.Params, Owner: e.Owner})
	if err != nil {
		return Result{}, err
	}
	return e.execute(ctx, job, run)
}

// Rerun begins another attempt of a completed run, recorded with its reason.
func (e *Env) Rerun(ctx context.Context, job Job, prev ledger.Run, by, reason, scope string) (Result, error) {
	return e.RerunWith(ctx, job, prev, by, reason, scope, nil)
}

// RerunWith is Rerun with parameters for the job beside rerun_of (such as
// transmit's resend).
func (e *Env) RerunWith(ctx context.Context, job Job, prev ledger.Run, by, reason, scope string, params map[string]any) (Result, error) {
	run, err := e.BeginRerunWith(ctx, prev, by, reason, scope, params)
	if err != nil {
		return Result{}, err
	}
	return e.execute(ctx, job, run)
}

// BeginRerun is Rerun up to executing the run: it begins the new attempt
// (or a scope's first), audits it under by with the reason, and returns it
// to Execute. The admin API and the console call it.
func (e *Env) BeginRerun(ctx context.Context, prev ledger.Run, by, reason, scope string) (ledger.Run, error) {
	return e.BeginRerunWith(ctx, prev, by, reason, scope, nil)
}

// BeginRerunWith is BeginRerun with RerunWith's parameters.
func (e *Env) BeginRerunWith(ctx context.Context, prev ledger.Run, by, reason, scope string, params map[string]any) (ledger.Run, error) {
	if scope == "" {
		scope = prev.Scope
	}
	p := map[string]any{"rerun_of": prev.ID}
	for k, v := range params {
		p[k] = v
	}
	spec := ledger.RunSpec{Job: prev.Job, BusinessDate: prev.BusinessDate, Scope: scope, Trigger: "operator",
		TriggeredBy: by, Reason: reason, Owner: e.Owner, Rerun: true, Params: p}
	run, err := e.Store.BeginRun(ctx, spec)
	if scope != prev.Scope && errors.Is(err, ledger.ErrNotFound) {
		// The first rerun for one account: nothing of that scope ran yet,
		// so this is the scope's first attempt, recorded with the reason.
		spec.Rerun = false
		run, err = e.Store.BeginRun(ctx, spec)
	}
	if err != nil {
		return ledger.Run{}, err
	}
	target := fmt.Sprintf("run %d: %s %s", run.ID, run.Job, run.BusinessDate)
	if run.Scope != "" {
		target += " [" + run.Scope + "]"
	}
	_ = e.Store.Audit(ctx, by, "rerun", fmt.Sprintf("%s (rerun of run %d)", target, prev.ID), reason)
	return run, nil
}

// Execute runs a run already begun with Store.BeginRun, as Start would:
// for callers that must know the run before it executes (the admin API
// answers with the run id and runs it in the background).
func (e *Env) Execute(ctx context.Context, job Job, run ledger.Run) (Result, error) {
	return e.execute(ctx, job, run)
}

// execute runs job under run: heartbeats, panics recovered and recorded,
// the outcome written to the run ledger.
func (e *Env) execute(ctx context.Context, job Job, lr ledger.Run) (res Result, err error) {
	if cj, ok := job.(ChunkedJob); ok && distributed(lr) {
		return e.executeChunked(ctx, cj, lr)
	}
	if lr.DryRun {
		res, errs := e.simulate(ctx, []Job{job}, []ledger.Run{lr})
		return res[0], errs[0]
	}
	r := e.newRun(lr)
	r.Log.Info().Int("attempt", lr.Attempt).Str("trigger", lr.Trigger).Msg("run started")
	start := time.Now()
	r.stopProgress = e.reportProgress(runProgress(r, start))
	// Whatever way the run ends, its bar ends; a normal end reports the
	// ledger's counts first (stop reports once).
	defer func() { r.stopProgress(finalProgress(lr, start)) }()
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
				if err := e.Store.Heartbeat(context.WithoutCancel(hbCtx), r.ID, r.Counts()); err != nil {
					r.Log.Warn().Err(err).Msg("heartbeat")
				}
			}
		}
	}()
	var summary any
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			}
		}()
		if p, ok := job.(beforeProbe); ok {
			// Its summary stands for the run if the probe then fails.
			if summary, err = p.beforeProbe(ctx, r); err != nil {
				return
			}
		}
		if err = e.probe(ctx, lr); err != nil {
			return
		}
		summary, err = job.Run(ctx, r)
	}()
	stopHB()
	hbDone.Wait()
	return e.finishLocal(ctx, r, summary, err, start)
}

// beforeProbe is a job with work that needs only the database, done
// before its other dependencies are probed: a mail server down stops the
// deliver job's sending, not its settling of the night's files.
type beforeProbe interface {
	// beforeProbe returns what it did as the run's summary would say it.
	beforeProbe(ctx context.Context, r *Run) (any, error)
}

// newRun is a job's view of the run lr, working on the Env's store.
func (e *Env) newRun(lr ledger.Run) *Run {
	return &Run{Run: lr, Env: e, Store: e.Store, Date: lr.BusinessDate,
		Log: e.Log.With().Str("job", lr.Job).Str("date", lr.BusinessDate.String()).Int64("run", lr.ID).Bool("dry_run", lr.DryRun).Logger()}
}

// finishLocal records the outcome of a run worked in this process: its
// failed items, status, counts and summary; it logs the end, at ERROR when
// the run did not succeed.
func (e *Env) finishLocal(ctx context.Context, r *Run, summary any, err error, start time.Time) (Result, error) {
	lr := r.Run
	status, err := outcome(r.ID, r.Counts(), err)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	fctx := context.WithoutCancel(ctx)
	r.mu.Lock()
	for item, ferr := range r.failures {
		if rerr := e.Store.RecordItem(fctx, r.ID, item, "failed", ferr); rerr != nil {
			r.Log.Error().Err(rerr).Msg("record failed item")
		}
	}
	r.mu.Unlock()
	if ferr := e.Store.FinishRun(fctx, r.ID, status, r.Counts(), summary, msg); ferr != nil {
		return Result{}, errors.Join(err, fmt.Errorf("record run %d: %w", r.ID, ferr))
	}
	fin, gerr := e.Store.GetRun(fctx, r.ID)
	if gerr != nil {
		fin = lr
	}
	if r.stopProgress != nil {
		r.stopProgress(finalProgress(fin, start))
	}
	c := r.Counts()
	ev := r.Log.Info()
	if status != ledger.RunSucceeded {
		// A run that is not succeeded ends at ERROR: alerting on the level
		// finds every run a person must look at.
		ev = r.Log.Error().Err(err)
	}
	ev.Str("status", status).Int("selected", c.Selected).Int("done", c.Done).Int("skipped", c.Skipped).Int("failed", c.Failed).
		Dur("took_ms", time.Since(start)).Msg("run finished")
	return Result{Run: fin, Summary: summary}, err
}

// AccountInRun reports whether account had anything in run r: a payment
// in one of its NACHA files (originate), a document of its date
// (statements, lease-end) or a failed item. For other jobs, which keep no
// record per account, it answers true.
func AccountInRun(ctx context.Context, st *ledger.Store, r ledger.Run, account string) (bool, error) {
	items, err := st.RunItems(ctx, r.ID)
	if err != nil {
		return false, err
	}
	for _, it := range items {
		if id, _, _ := strings.Cut(it.Item, " "); id == account {
			return true, nil
		}
	}
	w, err := st.AccountWorkOn(ctx, account, r.BusinessDate)
	if err != nil {
		return false, err
	}
	switch r.Job {
	case "originate":
		return w.Payments > 0, nil
	case "statements", "lease-end":
		return w.Documents > 0, nil
	}
	return true, nil
}
