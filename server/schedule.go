// Package server runs drafter as a service: the schedule that fires each
// job for its business dates, the locks that keep a job from overlapping
// itself across processes, and the admin HTTP API with its Prometheus
// metrics.
package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// Clock is the scheduler's time: the wall clock in production, a fake one
// in tests.
type Clock interface {
	Now() time.Time
	// SleepUntil waits until t, or returns ctx's error if ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the wall clock.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Entry is one job on the schedule.
type Entry struct {
	Job string
	// Spec is the cron spec, in the scheduler's zone.
	Spec string
	// BankingDays: fire only on business dates that are banking days.
	BankingDays bool
	// Intraday entries fire several times a business date (deliver every
	// five minutes): each fire is its own run, scoped "at:HH:MM:SS-0700",
	// and missed fires are not made up. Daily entries run once per
	// business date, catch up missed dates and restart failed ones.
	Intraday bool

	sched cron.Schedule // the spec in the zone: the fire instants
	wall  cron.Schedule // the spec on a clock without DST: the wall-clock times
}

// ParseEntry reads a cron spec (five fields; with seconds set, also six
// with a leading seconds field; descriptors such as @hourly work too) for
// job in zone.
func ParseEntry(job, spec string, seconds bool, zone *time.Location, bankingDays bool) (Entry, error) {
	spec = strings.TrimSpace(spec)
	if strings.HasPrefix(spec, "CRON_TZ=") || strings.HasPrefix(spec, "TZ=") {
		return Entry{}, errors.New("a spec takes no zone: the schedule is in DRAFTER_ZONE")
	}
	opts := cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor
	if seconds {
		opts |= cron.SecondOptional
	}
	p := cron.NewParser(opts)
	sched, err := p.Parse("CRON_TZ=" + zone.String() + " " + spec)
	if err != nil {
		return Entry{}, err
	}
	wall, err := p.Parse("CRON_TZ=UTC " + spec)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Job: job, Spec: spec, BankingDays: bankingDays, sched: sched, wall: wall}
	// Intraday when the spec fires twice on some day of a fortnight.
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 14 && !e.Intraday; i++ {
		day := t.AddDate(0, 0, i)
		first := wall.Next(day.Add(-time.Second))
		e.Intraday = civil.Of(wall.Next(first)) == civil.Of(first)
	}
	return e, nil
}

// EntriesFromConfig builds the schedule of every job in reg that has a
// spec in cfg (jobs without a setting, or set to "off", are not
// scheduled). An invalid spec is an error naming its setting.
func EntriesFromConfig(cfg *config.Config, reg jobs.Registry) ([]Entry, error) {
	banking := map[string]bool{}
	for _, j := range cfg.BankingDayJobs {
		banking[j] = true
	}
	var out []Entry
	for _, job := range reg.Names() {
		spec := cfg.Schedule[job]
		if spec == "" || spec == "off" {
			continue
		}
		e, err := ParseEntry(job, spec, cfg.ScheduleSeconds, cfg.Zone, banking[job])
		if err != nil {
			want := "a cron spec such as \"0 6 * * *\" (minute hour day month weekday), or off"
			if cfg.ScheduleSeconds {
				want = "a cron spec, optionally with a leading seconds field such as \"0 0 6 * * *\" (DRAFTER_SCHEDULE_SECONDS is true), or off"
			}
			return nil, &config.Error{Setting: config.ScheduleSettings[job], Value: spec, Want: want + ": " + err.Error()}
		}
		out = append(out, e)
	}
	if err := checkTransmitWindow(cfg, out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkTransmitWindow refuses a transmit schedule that never fires between
// originate and the bank's last cutoff of the day (DRAFTER_BANK_CUTOFF):
// every night's files would be held for a missed cutoff, or sent by a run
// that found nothing stored yet. It looks at a week of wall-clock fires.
func checkTransmitWindow(cfg *config.Config, entries []Entry) error {
	if cfg.Bank == nil || len(cfg.Bank.Cutoffs) == 0 {
		return nil
	}
	var transmit, originate *Entry
	for i := range entries {
		switch entries[i].Job {
		case "transmit":
			transmit = &entries[i]
		case "originate":
			originate = &entries[i]
		}
	}
	if transmit == nil {
		return nil
	}
	last := cfg.Bank.Cutoffs[len(cfg.Bank.Cutoffs)-1]
	cutoff := last.Hour*60 + last.Minute
	minute := func(t time.Time) int { return t.Hour()*60 + t.Minute() }
	start := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC) // a Monday, on the wall clock
	end := start.AddDate(0, 0, 7)
	var first time.Time
	for t := transmit.wall.Next(start.Add(-time.Second)); !t.IsZero() && t.Before(end); t = transmit.wall.Next(t) {
		if first.IsZero() {
			first = t
		}
		after := true
		if originate != nil {
			day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			if o := originate.wall.Next(day.Add(-time.Second)); civil.Of(o) == civil.Of(t) {
				after = o.Before(t)
			}
		}
		if after && minute(t) < cutoff {
			return nil
		}
	}
	fires := "does not fire in a week"
	if !first.IsZero() {
		fires = "fires first at " + first.Format("15:04")
	}
	orig := ""
	if originate != nil {
		orig = " and after originate (DRAFTER_SCHEDULE_ORIGINATE=" + originate.Spec + ")"
	}
	return &config.Error{Setting: config.ScheduleSettings["transmit"], Value: transmit.Spec,
		Want: fmt.Sprintf("a spec that fires before the bank's last cutoff %s (DRAFTER_BANK_CUTOFF)%s; it %s, so every night's files would be held for a missed cutoff",
			last, orig, fires)}
}

// Scheduler fires the jobs of its entries for their business dates. The
// business date of a fire is the civil date of its time in Zone; a daily
// entry runs a job at most once per business date (the run ledger refuses
// a second start), so neither a DST change nor a restart can double or skip
// a date.
type Scheduler struct {
	Env     *jobs.Env
	Jobs    jobs.Registry
	Entries []Entry
	Zone    *time.Location
	// CatchUpDays: after downtime, missed business dates up to this many
	// days back run once each, oldest first, before today's.
	CatchUpDays int
	// StaleAfter: a running run whose heartbeat is older is marked failed
	// before each fire, so that the fire restarts it.
	StaleAfter time.Duration
	// Grace: once Run's context ends, a running job may go on this long
	// (to finish its chunk) before its context is cancelled.
	Grace time.Duration
	// LockRetry is how often a replica without the scheduler lock tries to
	// take it.
	LockRetry time.Duration
	// PauseRecheck is how often a daily entry whose job is paused (drafter
	// schedule pause) looks again, so that the dates it held back run soon
	// after the pause ends; default 30s.
	PauseRecheck time.Duration
	Clock        Clock
	Locker       Locker
	Log          zerolog.Logger
	// Observe, when set, is told every run the scheduler finished.
	Observe func(jobs.Result)
}

// NewScheduler returns a scheduler for the environment's settings.
func NewScheduler(env *jobs.Env, reg jobs.Registry, entries []Entry) *Scheduler {
	return &Scheduler{Env: env, Jobs: reg, Entries: entries, Zone: env.Config.Zone, CatchUpDays: env.Config.CatchUpDays,
		StaleAfter: env.Config.StaleAfter, Grace: env.Config.ShutdownGrace, LockRetry: 5 * time.Second,
		Clock: RealClock, Locker: LockerFor(env.Store), Log: env.Log}
}

// schedulerLock is the lock of the one replica that runs the schedule.
const schedulerLock = "scheduler"

// Run takes the scheduler lock (waiting while another replica holds it)
// and fires the entries until ctx ends. Then it fires nothing more and
// waits for the running jobs, which are cancelled Grace after ctx ends.
// If the lock is lost while held (its database connection dropped, and
// with it the lock: another replica may hold it now), Run fires nothing
// more once the jobs running finish, and waits for the lock again.
func (s *Scheduler) Run(ctx context.Context) error {
	for _, e := range s.Entries {
		if _, ok := s.Jobs[e.Job]; !ok {
			return fmt.Errorf("schedule: no job %q", e.Job)
		}
	}
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	stop := context.AfterFunc(ctx, func() {
		s.Log.Info().Dur("grace_ms", s.Grace).Msg("stopping: no more fires; the running job may finish its chunk")
		time.AfterFunc(s.Grace, cancelJobs)
	})
	defer stop()
	for ctx.Err() == nil {
		unlock, lost, ok := s.waitForLock(ctx)
		if !ok {
			return nil
		}
		s.fire(ctx, jobCtx, lost)
		unlock()
		if ctx.Err() == nil {
			s.Log.Error().Msg("scheduler lock lost (its database connection dropped): firing nothing more until the lock is taken again")
		}
	}
	return nil
}

// waitForLock takes the scheduler lock, waiting while another replica
// holds it; false when ctx ends first. lost is closed if the lock is lost.
func (s *Scheduler) waitForLock(ctx context.Context) (unlock func(), lost <-chan struct{}, ok bool) {
	waiting := false
	for {
		var err error
		if w, watched := s.Locker.(LostWatcher); watched {
			unlock, lost, ok, err = w.TryLockWatched(ctx, schedulerLock)
		} else {
			unlock, ok, err = s.Locker.TryLock(ctx, schedulerLock)
		}
		if err != nil {
			s.Log.Error().Err(err).Msg("scheduler lock")
		}
		if ok {
			s.Log.Info().Int("entries", len(s.Entries)).Str("zone", s.Zone.String()).Msg("scheduler lock taken: firing the schedule")
			if ps, err := s.Env.Store.SchedulePauses(ctx); err == nil {
				for _, p := range ps {
					s.Log.Warn().Str("job", p.Job).Str("paused_by", p.By).Time("paused_at", p.At).Str("reason", p.Reason).
						Msg("schedule paused: the job is not fired until `drafter schedule resume`")
				}
			}
			return unlock, lost, true
		}
		if !waiting && err == nil {
			s.Log.Info().Msg("another replica holds the scheduler lock: waiting for it")
			waiting = true
		}
		if err := s.Clock.SleepUntil(ctx, s.Clock.Now().Add(s.LockRetry)); err != nil {
			return nil, nil, false
		}
	}
}

// fire runs every entry until ctx ends or lost is closed, then waits for
// the jobs they run.
func (s *Scheduler) fire(ctx, jobCtx context.Context, lost <-chan struct{}) {
	fireCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-fireCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i := range s.Entries {
		e := &s.Entries[i]
		wg.Go(func() {
			if e.Intraday {
				s.intraday(fireCtx, jobCtx, e)
			} else {
				s.daily(fireCtx, jobCtx, e)
			}
		})
	}
	wg.Wait()
}

// businessDate is the business date of an instant: its civil date in Zone.
func (s *Scheduler) businessDate(t time.Time) civil.Date { return civil.Of(t.In(s.Zone)) }

// fireOn returns when a daily entry fires for business date d, and false
// when it does not fire for d. The time is the spec's wall-clock time on d
// in Zone: a time DST skips (02:30 on a spring-forward night) is moved
// forward by the gap, a time DST repeats (01:30 on a fall-back night) is
// taken once.
func (s *Scheduler) fireOn(e *Entry, d civil.Date) (time.Time, bool) {
	if e.BankingDays && !s.Env.Calendar.IsBankingDay(d) {
		return time.Time{}, false
	}
	day := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	w := e.wall.Next(day.Add(-time.Second))
	if civil.Of(w) != d {
		return time.Time{}, false
	}
	t := time.Date(d.Year, d.Month, d.Day, w.Hour(), w.Minute(), w.Second(), 0, s.Zone)
	if t.Hour() != w.Hour() || t.Minute() != w.Minute() {
		// The wall time falls in a DST gap, and time.Date may have put it
		// before the gap: move it to the same time after the gap.
		_, before := t.Zone()
		_, after := t.Add(6 * time.Hour).Zone()
		if after > before {
			t = t.Add(time.Duration(after-before) * time.Second)
		}
	}
	return t, true
}

// NextFire returns the first time e fires after now, by the calendar the
// scheduler fires it with (a daily entry on its business dates, banking
// days only where set; an intraday entry's next fire on such a date).
func (s *Scheduler) NextFire(e *Entry, now time.Time) time.Time {
	if !e.Intraday {
		return s.nextDailyFire(e, now)
	}
	f := now
	for i := 0; i < 100000; i++ {
		f = e.sched.Next(f)
		if f.IsZero() || !e.BankingDays || s.Env.Calendar.IsBankingDay(s.businessDate(f)) {
			return f
		}
	}
	return time.Time{}
}

// nextDailyFire returns the first fire of e after now.
func (s *Scheduler) nextDailyFire(e *Entry, now time.Time) time.Time {
	d := s.businessDate(now).AddDays(-1)
	for i := 0; i < 5*366; i++ {
		if f, ok := s.fireOn(e, d.AddDays(i)); ok && f.After(now) {
			return f
		}
	}
	return now.Add(24 * time.Hour)
}

// floor is the first business date a daily entry may catch up: the latest
// date the run ledger has a run of the job for, or on a first start the
// first date whose fire is still to come (a new install makes up nothing).
func (s *Scheduler) floor(ctx context.Context, e *Entry, now time.Time) civil.Date {
	today := s.businessDate(now)
	runs, err := s.Env.Store.ListRuns(ctx, ledger.RunFilter{Job: e.Job, Limit: 200})
	if err != nil {
		s.Log.Error().Err(err).Str("job", e.Job).Msg("read the run ledger")
	}
	var latest civil.Date
	for _, r := range runs {
		if !r.DryRun && r.Scope == "" && !r.BusinessDate.After(today) && r.BusinessDate.After(latest) {
			latest = r.BusinessDate
		}
	}
	if !latest.IsZero() {
		return latest
	}
	if f, ok := s.fireOn(e, today); ok && f.Before(now) {
		return today.AddDays(1)
	}
	return today
}

// daily fires a daily entry: at each wake, every business date from the
// catch-up window (and not before the floor) whose fire time has come and
// that is not done runs, oldest first; a failed one is restarted.
func (s *Scheduler) daily(ctx, jobCtx context.Context, e *Entry) {
	floor := s.floor(ctx, e, s.Clock.Now())
	done := map[civil.Date]bool{}
	for ctx.Err() == nil {
		now := s.Clock.Now()
		today := s.businessDate(now)
		from := today.AddDays(-s.CatchUpDays)
		if floor.After(from) {
			from = floor
		}
		for d := range done {
			if d.Before(from) {
				delete(done, d)
			}
		}
		busy, paused := false, false
		for d := from; !d.After(today) && ctx.Err() == nil; d = d.AddDays(1) {
			if f, ok := s.fireOn(e, d); !ok || f.After(now) || done[d] {
				continue
			}
			switch s.runDate(jobCtx, e, d, "") {
			case outcomeDone:
				done[d] = true
			case outcomeBusy:
				busy = true
			case outcomePaused:
				paused = true
			}
		}
		wake := s.nextDailyFire(e, now)
		if recheck := now.Add(s.pauseRecheck()); paused && recheck.Before(wake) {
			// The dates held back by a pause run soon after it ends.
			wake = recheck
		}
		if busy && s.StaleAfter > 0 && now.Add(s.StaleAfter).Before(wake) {
			// Another process has the date: look again once its run
			// would be stale, so a dead process's run is taken over
			// without waiting for the next fire.
			wake = now.Add(s.StaleAfter)
		}
		if err := s.Clock.SleepUntil(ctx, wake); err != nil {
			return
		}
	}
}

// intraday fires an intraday entry at each of its fire times; fires missed
// while the job ran or the process was down are not made up (the next run
// does their work).
func (s *Scheduler) intraday(ctx, jobCtx context.Context, e *Entry) {
	last := s.Clock.Now()
	for ctx.Err() == nil {
		next := e.sched.Next(last)
		if err := s.Clock.SleepUntil(ctx, next); err != nil {
			return
		}
		now := s.Clock.Now()
		f := next
		for i := 0; i < 100000; i++ {
			n := e.sched.Next(f)
			if n.After(now) {
				break
			}
			f = n
		}
		last = f
		d := s.businessDate(f)
		if e.BankingDays && !s.Env.Calendar.IsBankingDay(d) {
			continue
		}
		s.runDate(jobCtx, e, d, "at:"+f.In(s.Zone).Format("15:04:05-0700"))
	}
}

// outcome is what a fire did for a business date.
type outcome int

const (
	outcomeDone   outcome = iota // a run of the date completed, now or before
	outcomeFailed                // the run failed (recorded); the next fire restarts it
	outcomeBusy                  // another run of the job or date is in progress
	outcomePaused                // the job's schedule is paused: not fired
)

func (s *Scheduler) pauseRecheck() time.Duration {
	if s.PauseRecheck > 0 {
		return s.PauseRecheck
	}
	return 30 * time.Second
}

// paused reports whether the job's schedule is paused, as the ledger says
// at this fire: a pause made by any replica or by `drafter schedule pause`
// holds on every replica. A ledger that cannot be read holds the fire too
// (nothing could run on it anyway); the entry looks again soon.
func (s *Scheduler) paused(ctx context.Context, job string, log zerolog.Logger) bool {
	ps, err := s.Env.Store.SchedulePauses(ctx)
	if err != nil {
		log.Error().Err(err).Msg("read the schedule's pauses: not firing now")
		return true
	}
	p, ok := ps[job]
	if !ok {
		return false
	}
	log.Info().Str("paused_by", p.By).Time("paused_at", p.At).Str("reason", p.Reason).
		Msg("schedule paused: not firing (`drafter schedule resume` ends it; `drafter run` by hand still runs the job)")
	return true
}

// runDate runs e's job for business date d (and scope) under the job's
// lock, or restarts its failed run.
func (s *Scheduler) runDate(ctx context.Context, e *Entry, d civil.Date, scope string) outcome {
	log := s.Log.With().Str("job", e.Job).Str("date", d.String()).Str("scope", scope).Logger()
	job := s.Jobs[e.Job]
	if s.paused(ctx, e.Job, log) {
		return outcomePaused
	}
	unlock, ok, err := s.Locker.TryLock(ctx, "job:"+e.Job)
	if err != nil {
		log.Error().Err(err).Msg("job lock")
		return outcomeFailed
	}
	if !ok {
		log.Info().Msg("the job is running elsewhere: leaving this date for later")
		return outcomeBusy
	}
	defer unlock()
	if ids, err := s.Env.Store.FailStaleRuns(ctx, s.StaleAfter); err != nil {
		log.Error().Err(err).Msg("mark stale runs failed")
	} else if len(ids) > 0 {
		log.Warn().Ints64("runs", ids).Msg("runs without a heartbeat marked failed")
	}
	res, err := s.Env.Start(ctx, job, jobs.StartSpec{Date: d, Scope: scope, Trigger: "schedule", TriggeredBy: s.Env.Owner})
	if errors.Is(err, ledger.ErrRunCancelled) {
		// An operator stopped it: the schedule does not undo that. It
		// stays listed as needing attention until resumed.
		log.Warn().Err(err).Msg("the run of this date was cancelled by an operator: left for `drafter resume`")
		return outcomeDone
	}
	if errors.Is(err, ledger.ErrRunFailedExists) {
		id, ferr := s.failedRun(ctx, e.Job, d, scope)
		if ferr != nil {
			log.Error().Err(ferr).Msg("find the failed run to restart")
			return outcomeFailed
		}
		log.Info().Int64("run", id).Msg("restarting the failed run")
		res, err = s.Env.Restart(ctx, job, id, "schedule", s.StaleAfter)
	}
	if res.Run.ID != 0 && s.Observe != nil {
		s.Observe(res)
	}
	switch {
	case err == nil && res.Run.Completed(), errors.Is(err, ledger.ErrRunCompleted):
		return outcomeDone
	case errors.Is(err, ledger.ErrRunActive):
		log.Info().Err(err).Msg("a run of this date is in progress")
		return outcomeBusy
	case res.Run.Status == ledger.RunCancelled:
		// Cancelled while it ran: left for an operator's resume.
		return outcomeDone
	case res.Run.ID != 0:
		// The run failed and is recorded; the next fire restarts it.
		return outcomeFailed
	default:
		log.Error().Err(err).Msg("could not start the run")
		return outcomeFailed
	}
}

// failedRun finds the failed run of job, date and scope.
func (s *Scheduler) failedRun(ctx context.Context, job string, d civil.Date, scope string) (int64, error) {
	runs, err := s.Env.Store.ListRuns(ctx, ledger.RunFilter{Job: job, Status: ledger.RunFailed, Date: d, Limit: 50})
	if err != nil {
		return 0, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Attempt > runs[j].Attempt })
	for _, r := range runs {
		if r.Scope == scope && !r.DryRun {
			return r.ID, nil
		}
	}
	return 0, fmt.Errorf("%s %s: no failed run: %w", job, d, ledger.ErrNotFound)
}
