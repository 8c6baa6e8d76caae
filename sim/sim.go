// Package sim runs drafter through a lender's year, night by night, the
// way FoundationDB and TigerBeetle test themselves: a simulated servicing
// system, bank and customers driven by one seeded random source and a
// simulated calendar, the real jobs on the real store, injected faults
// answered by the runbook's commands, and invariants checked after every
// night. The same seed gives the same history, ledger and documents.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bankpkg "github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/sftpd"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// Faults the simulation can inject.
const (
	FaultKill    = "kill"    // SIGKILL of a job at a random write (a child process)
	FaultStorage = "storage" // document storage fails for a stretch of nights
	FaultMail    = "mail"    // the mail relay is down for a stretch of nights
	FaultBank    = "bank"    // the bank sends a night's files twice, or a day late
	FaultDB      = "db"      // the database connections drop at a random write (PostgreSQL)
)

// AllFaults lists every fault.
var AllFaults = []string{FaultKill, FaultStorage, FaultMail, FaultBank, FaultDB}

// Options say what history to simulate.
type Options struct {
	Accounts int
	Days     int
	Seed     int64
	// Start is the first night (default 2027-01-04).
	Start  civil.Date
	Faults []string
	// Child runs `drafter run JOB --date D` as a separate process with
	// DRAFTER_CRASH_AT=crashAt against the same ledger and storage, and
	// returns its exit code: the kill fault's way to SIGKILL a real process
	// at a write. The kill fault needs it.
	Child func(ctx context.Context, job string, d civil.Date, crashAt int) (int, error)
	// Night, when set, is told what each night did.
	Night func(NightReport)
	// Prune deletes, after each night whose invariants held, the mail
	// already delivered into a pickup folder and the PDFs of documents
	// long sent (see prune): a long history's disk stays bounded.
	// PruneAfter is how many nights a document is kept (default 40).
	Prune      bool
	PruneAfter int
}

// NightReport is what one night did.
type NightReport struct {
	Night     int               `json:"night"`
	Date      civil.Date        `json:"date"`
	Imported  int               `json:"imported"`
	Runs      map[string]string `json:"runs"` // job -> status of the scheduled run
	Faults    []string          `json:"faults,omitempty"`
	Responses []string          `json:"responses,omitempty"` // the runbook's commands
	BankFiles int               `json:"bank_files"`
	Seconds   float64           `json:"seconds"`
}

// Report is the whole history.
type Report struct {
	Seed      int64          `json:"seed"`
	Accounts  int            `json:"accounts"`
	Days      int            `json:"days"`
	Nights    int            `json:"nights_run"`
	First     civil.Date     `json:"first"`
	Last      civil.Date     `json:"last"`
	Faults    []string       `json:"faults"`
	Injected  map[string]int `json:"faults_injected"`
	Responses int            `json:"runbook_responses"`
	Checks    int            `json:"invariant_checks"`
	Payments  int            `json:"payments"`
	Returns   int            `json:"returns"`
	Documents int            `json:"documents"`
	Emails    int            `json:"emails_sent"`
	// Reactions are the customers' answers to what they were told
	// (a one-time payment after a past-due statement, autopay stopped
	// after a return).
	Reactions int `json:"customer_reactions"`
	// Extensions are the leases the servicing system extended.
	Extensions int `json:"lease_extensions"`
	// Transmitted are the NACHA files the bank took from its SFTP outbox
	// by their cutoffs; Reoriginated the files held at a missed cutoff
	// and voided (`drafter bank reoriginate`), their payments debited by
	// a later originate run.
	Transmitted  int `json:"files_transmitted"`
	Reoriginated int `json:"files_reoriginated"`
	// Dishonored are the dishonored and contested returns the bank sent
	// about earlier returns; DishonorsChecked those held to the ledger
	// (recorded once for a person, nothing else changed).
	Dishonored       int `json:"dishonored_returns_sent"`
	DishonorsChecked int `json:"dishonored_returns_checked"`
	// NoticeEmails are the lease-end emails whose wording was checked.
	NoticeEmails int `json:"lease_end_emails_checked"`
	// PrunedEmails and PrunedDocuments are the delivered messages and the
	// stored PDFs --prune deleted once checked.
	PrunedEmails    int        `json:"pruned_emails,omitempty"`
	PrunedDocuments int        `json:"pruned_documents,omitempty"`
	Seconds         float64    `json:"seconds"`
	NightsPerSecond float64    `json:"nights_per_second"`
	Violation       *Violation `json:"violation,omitempty"`
}

// Violation is the first broken invariant: the seed and night reproduce it.
type Violation struct {
	Seed      int64      `json:"seed"`
	Night     int        `json:"night"`
	Date      civil.Date `json:"date"`
	Invariant string     `json:"invariant"`
	Detail    string     `json:"detail"`
}

func (v *Violation) Error() string {
	return fmt.Sprintf("seed %d, night %d (%s): invariant %q broken: %s", v.Seed, v.Night, v.Date, v.Invariant, v.Detail)
}

// ErrViolation is wrapped by the error Run returns when an invariant broke.
var ErrViolation = errors.New("invariant broken")

// sim is one history in progress.
type sim struct {
	opt   Options
	env   *jobs.Env
	r     *rand.Rand
	sys   *servicing
	bank  *bank
	docs  *faultyStorage
	mail  *faultyMail
	clock time.Time // the deliver job's clock: the night's evening
	// pruneFrom is the first document date prune has not looked at;
	// pruneKept the documents it kept back for an email still to send.
	pruneFrom civil.Date
	pruneKept []prunable
	// bankClock is the transmit job's clock, on the simulated calendar
	// in DRAFTER_ZONE: the night's transmit before the bank's cutoff, a
	// backfill's in the morning, the runbook's late in the evening.
	bankClock time.Time
	// voided are the payments of files voided after a missed cutoff,
	// until the bank has their entry from a later file.
	voided          map[int64]voidedPayment
	wall0           time.Time
	faults          map[string]bool
	plan            map[int][]string // night -> faults injected that night
	stretch         map[string]int   // fault -> last night of its stretch
	rep             *Report
	night           int
	storageDown     map[civil.Date]bool // nights storage (or drafter) was down
	serverDownUntil civil.Date          // drafter serve is down before this night
	missedFrom      civil.Date          // the first night it missed
	checkedThrough  civil.Date          // statement cycles checked through
	// results of the night's runs as the commands would exit
	observed  []observed
	firstSeen map[string]civil.Date
	// activeSince is the night each autopay enrollment was last seen
	// turning active in drafter's ledger (new, or back after a suspension
	// or a stop), by the installment check.
	activeSince map[string]civil.Date
	// seen are the incremental checks' marks; paymentMarks the highest
	// payment id after each night's check (index night-1).
	seen           marks
	paymentMarks   []int64
	returnsChecked bool // tonight's checkReturns ran
	reactions      []reaction
	owed           []extension // notices owed to extended leases
	reactDocMark   int64       // the highest document id customers reacted to
	reactRetMark   int64       // the highest return id customers reacted to
	stmtMark       int64       // the highest document id when statements were last checked
	noticeMark     int64       // the highest document id when notices were last checked
}

type observed struct {
	run  ledger.Run
	exit int
	how  string
}

// Run simulates the history on env (a migrated, empty ledger) and returns
// its report. An invariant that breaks stops it: the report's Violation
// says where, and the error wraps ErrViolation.
func Run(ctx context.Context, env *jobs.Env, opt Options) (*Report, error) {
	if opt.Start.IsZero() {
		opt.Start = civil.MustParse("2027-01-04")
	}
	if opt.Accounts < 1 || opt.Days < 1 {
		return nil, fmt.Errorf("simulate: want at least 1 account and 1 night, have %d and %d", opt.Accounts, opt.Days)
	}
	s := &sim{opt: opt, env: env, r: rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed)), faults: map[string]bool{},
		plan: map[int][]string{}, stretch: map[string]int{}, wall0: time.Now().UTC().Truncate(time.Hour), firstSeen: map[string]civil.Date{}, activeSince: map[string]civil.Date{}, storageDown: map[civil.Date]bool{},
		rep: &Report{Seed: opt.Seed, Accounts: opt.Accounts, Days: opt.Days, First: opt.Start, Faults: opt.Faults, Injected: map[string]int{}}}
	for _, f := range opt.Faults {
		if !slices.Contains(AllFaults, f) {
			return nil, fmt.Errorf("simulate: unknown fault %q: want some of %s", f, strings.Join(AllFaults, ","))
		}
		s.faults[f] = true
	}
	if s.faults[FaultKill] && opt.Child == nil {
		return nil, errors.New("simulate: the kill fault needs the drafter binary to run a job as a child process")
	}
	if s.faults[FaultDB] && env.Store.Dialect() != "postgres" {
		delete(s.faults, FaultDB) // SQLite is a file in this process: no connection to drop
	}
	if env.Calendar == nil {
		env.Calendar = jobs.NewCachedCalendar()
	}
	s.docs = &faultyStorage{Store: env.Docs}
	env.Docs = s.docs
	inner := env.Mail
	if inner == nil {
		m, err := jobs.OpenMail(env.Config)
		if err != nil {
			return nil, err
		}
		defer m.Close()
		inner = m
	}
	s.mail = &faultyMail{inner: inner, sent: map[string]int{}}
	env.Mail = s.mail
	env.Crash = nil
	// The bank's SFTP server and the cutoff transmit must hand files over
	// by: the transmit job runs against it as against a real bank, and
	// the simulated bank takes what arrives in its outbox.
	bankDir, err := os.MkdirTemp(env.Config.DataDir, "sim-bank-")
	if err != nil {
		return nil, fmt.Errorf("simulate: the bank's folder: %w", err)
	}
	if env.Config.DataDir == "" {
		defer os.RemoveAll(bankDir)
	}
	outbox, taken := filepath.Join(bankDir, "outbox"), filepath.Join(bankDir, "taken")
	for _, dir := range []string{outbox, taken} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return nil, fmt.Errorf("simulate: the bank's folder: %w", err)
		}
	}
	srv, err := sftpd.Start(filepath.Join(bankDir, "keys"))
	if err != nil {
		return nil, fmt.Errorf("simulate: the bank's SFTP server: %w", err)
	}
	defer srv.Close()
	cfg := *env.Config
	cfg.Bank = &bankpkg.Settings{User: srv.User, Host: srv.Host, Port: srv.Port, Outbox: outbox, Inbox: filepath.Join(bankDir, "inbox"),
		KeyFile: srv.KeyFile, KnownHostsFile: srv.KnownHostsFile, Cutoffs: []bankpkg.Cutoff{{Hour: bankCutoffHour}}, NamePattern: bankpkg.DefaultNamePattern}
	env.Config = &cfg
	s.voided = map[int64]voidedPayment{}
	s.bank = newBank(env.Calendar, outbox, taken, opt.Seed)
	// Accounts that open during the history: a fixed reserve, so that a
	// shorter run of the same seed is the same history as far as it goes.
	const extra = 800
	s.sys = newServicing(opt.Accounts, opt.Seed, opt.Start, extra)
	s.planFaults()
	s.checkedThrough = opt.Start.AddDays(-1)
	if s.opt.PruneAfter <= 0 {
		s.opt.PruneAfter = DefaultPruneAfter
	}
	s.pruneFrom = opt.Start.AddDays(-s.opt.PruneAfter)
	began := time.Now()
	d := opt.Start
	for s.night = 1; s.night <= opt.Days; s.night++ {
		if err := ctx.Err(); err != nil {
			return s.rep, err
		}
		t0 := time.Now()
		nr, err := s.runNight(ctx, d)
		nr.Seconds = time.Since(t0).Seconds()
		s.rep.Nights, s.rep.Last = s.night, d
		if opt.Night != nil {
			opt.Night(nr)
		}
		if err != nil {
			var v *Violation
			if errors.As(err, &v) {
				s.rep.Violation = v
				s.finish(ctx, began)
				return s.rep, fmt.Errorf("%w: %w", ErrViolation, v)
			}
			return s.rep, fmt.Errorf("night %d (%s): %w", s.night, d, err)
		}
		if opt.Prune {
			if err := s.prune(ctx, d); err != nil {
				return s.rep, fmt.Errorf("night %d (%s): %w", s.night, d, err)
			}
		}
		d = d.AddDays(1)
	}
	s.finish(ctx, began)
	return s.rep, nil
}

func (s *sim) finish(ctx context.Context, began time.Time) {
	s.rep.Seconds = time.Since(began).Seconds()
	if s.rep.Seconds > 0 {
		s.rep.NightsPerSecond = float64(s.rep.Nights) / s.rep.Seconds
	}
	db := s.env.Store.DB()
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM payments`).Scan(&s.rep.Payments)
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM returns`).Scan(&s.rep.Returns)
	_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM documents`).Scan(&s.rep.Documents)
	s.rep.Emails = s.mail.total
	s.rep.Transmitted = len(s.bank.taken)
	s.rep.Dishonored = len(s.bank.dishonored)
}

// planFaults draws, up front, the nights each fault strikes: a kill or a
// dropped connection every few nights, a storage or mail outage of one to
// three nights, a bank file twice or late now and then. The first night
// and the last three are quiet, so the history ends with every run
// finished.
func (s *sim) planFaults() {
	// Its own source: the plan of a night does not depend on how many
	// nights follow it, nor the history on the plan's draws.
	r := rand.New(rand.NewPCG(uint64(s.opt.Seed), 0xfa17))
	for n := 2; n <= s.opt.Days-3; n++ {
		for _, f := range AllFaults {
			if !s.faults[f] {
				continue
			}
			every := map[string]int{FaultKill: 4, FaultStorage: 12, FaultMail: 10, FaultBank: 5, FaultDB: 7}[f]
			if r.IntN(every) == 0 {
				s.plan[n] = append(s.plan[n], f)
			}
		}
	}
}

// active reports whether fault f is down tonight (outages last a stretch).
func (s *sim) active(f string) bool { return s.stretch[f] >= s.night }

// registry is the jobs by name, deliver on the simulated clock.
func (s *sim) job(name string) jobs.Job {
	switch name {
	case "returns":
		return jobs.Returns{}
	case "originate":
		return jobs.Originate{}
	case "statements":
		return jobs.Statements{}
	case "lease-end":
		return jobs.LeaseEnd{}
	case "deliver":
		return jobs.Deliver{Now: func() time.Time { return s.clock }}
	case "transmit":
		return jobs.Transmit{Now: func() time.Time { return s.bankClock }}
	}
	panic("sim: no job " + name)
}

// Nightly is the order of the nightly jobs, as the schedule runs them
// (`drafter run nightly`).
var Nightly = []string{"returns", "originate", "statements", "lease-end", "deliver"}

// schedule is the night's jobs with transmit, which the schedule fires
// after originate and before the bank's cutoff (DRAFTER_SCHEDULE_TRANSMIT);
// the simulation runs it on banking days, the days originate makes files.
var schedule = []string{"returns", "originate", "transmit", "statements", "lease-end", "deliver"}

// The bank's one cutoff (DRAFTER_BANK_CUTOFF=18:00) and the hours of the
// simulated day transmit runs at: the schedule's run after originate, a
// backfill in the morning, the runbook's answers late in the evening
// (after the cutoff: a file sent then would be late).
const (
	bankCutoffHour = 18
	transmitHour   = 17
	backfillHour   = 7
	runbookHour    = 23
)

// at is hour o'clock of day d in DRAFTER_ZONE.
func (s *sim) at(d civil.Date, hour int) time.Time {
	zone := s.env.Config.Zone
	if zone == nil {
		zone = time.UTC
	}
	return time.Date(d.Year, d.Month, d.Day, hour, 0, 0, 0, zone)
}

func (s *sim) runNight(ctx context.Context, d civil.Date) (NightReport, error) {
	nr := NightReport{Night: s.night, Date: d, Runs: map[string]string{}}
	s.observed = s.observed[:0]
	s.clock = s.wall0.Add(time.Duration(d.DaysSince(s.opt.Start))*24*time.Hour + 22*time.Hour)
	tonight := s.plan[s.night]
	nr.Faults = tonight
	for _, f := range tonight {
		s.rep.Injected[f]++
		switch f {
		case FaultStorage, FaultMail:
			s.stretch[f] = s.night + s.r.IntN(3)
		}
	}
	// A kill now and then takes the scheduler's process (drafter serve)
	// down until the next banking day: the nights between run nothing, and
	// the operator backfills them when it is back.
	if slices.Contains(tonight, FaultKill) && s.r.IntN(3) == 0 && s.night+4 < s.opt.Days {
		s.serverDownUntil = s.env.Calendar.NextBankingDay(d)
		nr.Faults = append(slices.Clone(tonight), "serve-down")
	}
	serverDown := d.Before(s.serverDownUntil)
	if serverDown && s.missedFrom.IsZero() {
		s.missedFrom = d
	}
	s.docs.down = s.active(FaultStorage)
	s.storageDown[d] = s.docs.down || serverDown
	s.mail.down = s.active(FaultMail)
	banking := s.env.Calendar.IsBankingDay(d)

	// drafter is back: the morning's backfill of the nights it missed,
	// before the day's files and extract arrive.
	if !serverDown && !s.missedFrom.IsZero() {
		s.bankClock = s.at(d, backfillHour)
		if err := s.backfill(ctx, s.missedFrom, d.AddDays(-1), &nr); err != nil {
			return nr, err
		}
		s.missedFrom = civil.Date{}
	}

	// The bank sends what it owes for today (returns, NOCs), perhaps late
	// or twice.
	if banking {
		twice := false
		if slices.Contains(tonight, FaultBank) {
			if s.r.IntN(2) == 0 {
				s.bank.delay(d)
			} else {
				twice = true
			}
		}
		n, err := s.bank.send(ctx, s.env.Store, s.docs.Store, d, twice)
		if err != nil {
			return nr, err
		}
		nr.BankFiles = n
	}

	// Tonight's faults: the job killed and the write it dies at, the job
	// whose connections drop.
	killJob, killAt := "", 0
	if slices.Contains(tonight, FaultKill) && !s.docs.down {
		// The child opens storage itself: no kill while storage is down.
		cands := []string{"statements", "lease-end"}
		if banking {
			cands = append(cands, "returns", "originate")
		}
		killJob, killAt = cands[s.r.IntN(len(cands))], 1+s.r.IntN(40)
	}
	dbJob, dbAt := "", 0
	if slices.Contains(tonight, FaultDB) && s.faults[FaultDB] {
		cands := []string{"statements", "lease-end", "deliver"}
		if banking {
			cands = append(cands, "returns", "originate")
		}
		dbJob, dbAt = cands[s.r.IntN(len(cands))], 1+s.r.IntN(20)
	}
	// The schedule's jobs for the business date, in its order and on its
	// calendar: returns first; the servicing system, told of the night's
	// returns and fees, closes its books and its extract is imported; then
	// the rest.
	for _, name := range schedule {
		if name == "originate" {
			// The servicing system posts its day and its extract is imported.
			touched := s.sys.customers(s.r, d, s.night == 1, func(due civil.Date, before int) civil.Date {
				if before == 0 {
					before = s.env.Config.DraftLeadDays
				}
				return jobs.DraftDate(due, before, s.env.Calendar)
			})
			s.noteExtensions(d, touched)
			imp, err := s.sys.importNight(ctx, s.env.Store, d, s.night == 1, touched)
			if err != nil {
				return nr, err
			}
			nr.Imported = imp.Imported
			for id, on := range s.sys.opened {
				if _, ok := s.firstSeen[id]; !ok {
					s.firstSeen[id] = on
				}
			}

			if serverDown {
				return nr, s.check(ctx, d)
			}
		}
		if serverDown || (s.env.BankingDaysOnly(name) && !banking) || (name == "transmit" && !banking) {
			continue
		}
		if name == "transmit" {
			if err := s.transmitTonight(ctx, d, &nr); err != nil {
				return nr, err
			}
			continue
		}
		if name == killJob {
			st, err := s.kill(ctx, name, d, killAt, &nr)
			if err != nil {
				return nr, err
			}
			nr.Runs[name] = st
			if err := s.resumeNow(ctx, name, d, &nr); err != nil {
				return nr, err
			}
			continue
		}
		if name == dbJob {
			s.env.Crash = jobs.NewFaultpoint(int64(dbAt), func(string) { s.dropConnections(ctx) })
		}
		res, err := s.env.Start(ctx, s.job(name), jobs.StartSpec{Date: d, Trigger: "schedule", TriggeredBy: "simulation"})
		s.env.Crash = nil
		if errors.Is(err, ledger.ErrRunCompleted) {
			continue
		}
		if res.Run.ID == 0 {
			if err != nil && s.faultyNight() {
				nr.Runs[name] = "not started: " + err.Error()
				continue
			}
			return nr, fmt.Errorf("%s: %w", name, err)
		}
		s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: "run " + name})
		nr.Runs[name] = res.Run.Status
		if name == dbJob && res.Run.Status != ledger.RunSucceeded && !s.docs.down && !(name == "deliver" && s.mail.down) {
			if err := s.resumeNow(ctx, name, d, &nr); err != nil {
				return nr, err
			}
		}
	}

	// Tonight's statements are held to the books as they are sent, before
	// the runbook applies anything late.
	s.rep.Checks++
	if detail, err := s.checkStatements(ctx, d); err != nil {
		return nr, fmt.Errorf("check statement-reconciles: %w", err)
	} else if detail != "" {
		return nr, s.violation(d, "statement-reconciles", detail)
	}

	// The operator's morning: what is not succeeded is resumed, once the
	// outage it met is over; now and then a completed run is rerun with a
	// reason, and must change nothing.
	if err := s.runbook(ctx, d, &nr); err != nil {
		return nr, err
	}
	// Nothing reaches the bank after its cutoff: what the runbook sent
	// tonight would be late.
	if l, err := s.bank.take(ctx, s.env.Store, s.r, d, false); err != nil {
		return nr, err
	} else if l != nil {
		return nr, s.violation(d, l.invariant, l.detail)
	}
	// The customers read their statements and the returns' emails.
	if err := s.react(ctx, d); err != nil {
		return nr, err
	}
	return nr, s.check(ctx, d)
}

// transmitTonight is the schedule's transmit run of d, before the bank's
// cutoff, and the bank's pickup at the cutoff.
func (s *sim) transmitTonight(ctx context.Context, d civil.Date, nr *NightReport) error {
	st, err := s.transmit(ctx, d, s.at(d, transmitHour), "schedule", "", "run transmit")
	if err != nil {
		return err
	}
	if st != "" {
		nr.Runs["transmit"] = st
	}
	l, err := s.bank.take(ctx, s.env.Store, s.r, d, true)
	if err != nil {
		return err
	}
	if l != nil {
		return s.violation(d, l.invariant, l.detail)
	}
	return nil
}

// transmit runs transmit for business date d at the clock: `drafter run
// transmit --date D`; when that date's run completed before (its
// originate run was resumed since), `drafter rerun RUN --reason`; when it
// needs attention, `drafter resume RUN`. It returns the run's status.
func (s *sim) transmit(ctx context.Context, d civil.Date, clock time.Time, trigger, reason, how string) (string, error) {
	s.bankClock = clock
	job := s.job("transmit")
	res, err := s.env.Start(ctx, job, jobs.StartSpec{Date: d, Trigger: trigger, TriggeredBy: "simulation", Reason: reason})
	if errors.Is(err, ledger.ErrRunCompleted) || errors.Is(err, ledger.ErrRunFailedExists) {
		last, lerr := s.lastRun(ctx, "transmit", d)
		if lerr != nil {
			return "", lerr
		}
		if last.ID == 0 {
			return "", fmt.Errorf("transmit %s: %w, but no run of it is listed", d, err)
		}
		if last.Status == ledger.RunSucceeded {
			if reason == "" {
				reason = "send the files of an originate run finished since"
			}
			res, err = s.env.Rerun(ctx, job, last, "simulation", reason, "")
			how = fmt.Sprintf("rerun %d --reason (transmit %s)", last.ID, d)
		} else {
			res, err = s.env.Resume(ctx, job, last.ID, "simulation", 0)
			how = fmt.Sprintf("resume %d (transmit %s, was %s)", last.ID, d, last.Status)
		}
	}
	if res.Run.ID == 0 {
		if err != nil && s.faultyNight() {
			return "not started: " + err.Error(), nil
		}
		return "", fmt.Errorf("transmit %s: %w", d, err)
	}
	s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: how})
	return res.Run.Status, nil
}

// lastRun is the newest attempt of job's whole-book run for d (not a dry
// run, not one account's); a zero Run when there is none.
func (s *sim) lastRun(ctx context.Context, job string, d civil.Date) (ledger.Run, error) {
	runs, err := s.env.Store.ListRuns(ctx, ledger.RunFilter{Job: job, Date: d})
	if err != nil {
		return ledger.Run{}, err
	}
	var last ledger.Run
	for _, r := range runs {
		if r.Scope == "" && !r.DryRun && r.ID > last.ID {
			last = r
		}
	}
	return last, nil
}

// faultyNight reports whether a fault is in play tonight.
func (s *sim) faultyNight() bool {
	return len(s.plan[s.night]) > 0 || s.active(FaultStorage) || s.active(FaultMail)
}

// exitCode is the exit code `drafter run` gives a run's outcome.
func exitCode(status string, err error) int {
	switch {
	case status == ledger.RunSucceeded && err == nil:
		return 0
	case status == ledger.RunPartial:
		return 3
	}
	return 1
}

// kill runs the job as a child process that ends itself at the crashAt-th
// write (SIGKILL's effect: nothing flushed, no deferred code), then does
// what the runbook says: resume the run.
func (s *sim) kill(ctx context.Context, job string, d civil.Date, at int, nr *NightReport) (string, error) {
	code, err := s.opt.Child(ctx, job, d, at)
	if err != nil {
		return "", fmt.Errorf("kill %s at write %d: %w", job, at, err)
	}
	last, err := s.lastRun(ctx, job, d)
	if err != nil {
		return "", err
	}
	if last.ID == 0 {
		return "", fmt.Errorf("kill %s: the child (exit %d) left no run", job, code)
	}
	s.observed = append(s.observed, observed{run: last, exit: code, how: fmt.Sprintf("child %s killed at write %d", job, at)})
	return last.Status, nil
}
