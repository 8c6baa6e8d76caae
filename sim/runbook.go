package sim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// dropConnections ends every other connection to the database, as a
// failover or a network cut would: the pool's connections in use break.
func (s *sim) dropConnections(ctx context.Context) {
	_, _ = s.env.Store.DB().ExecContext(context.WithoutCancel(ctx),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
}

// runbook is the operator's morning, as docs/operations.md says: every run
// that needs attention is resumed once what broke it is back (storage,
// the mail relay); a crashed run (its process gone) is resumed at once.
// Every few nights a completed run is rerun with a reason, which must
// change nothing.
func (s *sim) runbook(ctx context.Context, d civil.Date, nr *NightReport) error {
	outage := s.active(FaultStorage) || s.active(FaultMail)
	// The morning's answers come after the bank's cutoff of d: a file
	// transmit sends now would be late, so it is held.
	late := s.at(d, runbookHour)
	for attempt := 0; attempt < 3; attempt++ {
		// Files held at a missed cutoff first: the ledger alone is
		// enough to void them, storage or not.
		if err := s.answerCutoffMissed(ctx, d, late, nr); err != nil {
			return err
		}
		runs, err := s.unfinished(ctx)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			break
		}
		if s.active(FaultStorage) {
			// Waiting for storage, which every job writes to: the runs
			// stay listed as needing attention.
			return nil
		}
		if s.active(FaultMail) {
			// Waiting for the relay: deliver waits; the rest is resumed.
			runs = slices.DeleteFunc(runs, func(r ledger.Run) bool { return r.Job == "deliver" })
			if len(runs) == 0 {
				break
			}
		}
		if attempt == 2 {
			r := runs[0]
			return s.violation(d, "runbook-finishes", fmt.Sprintf("run %d (%s %s) is %s after resuming it twice: %s%s", r.ID, r.Job, r.BusinessDate, r.Status, r.Error, s.firstFailedItem(ctx, r.ID)))
		}
		// Held statements: the documented response (docs/operations.md,
		// Held statements) is to import the servicing system's corrected
		// extract of those accounts, then resume; the servicing system's
		// books now have what drafter posted since (a return or a debit
		// applied late, after an outage).
		if err := s.reimportHeld(ctx, d, runs, nr); err != nil {
			return err
		}
		for _, r := range runs {
			s.bankClock = late
			res, err := s.env.Resume(ctx, s.job(r.Job), r.ID, "simulation", 0) // --stale-after 0s: nothing else runs
			nr.Responses = append(nr.Responses, fmt.Sprintf("resume %d (%s %s, was %s)", r.ID, r.Job, r.BusinessDate, r.Status))
			s.rep.Responses++
			if res.Run.ID != 0 {
				s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: fmt.Sprintf("resume %d", r.ID)})
			} else if err != nil {
				return fmt.Errorf("resume run %d: %w", r.ID, err)
			}
			if r.Job != "originate" || !s.env.Calendar.IsBankingDay(r.BusinessDate) {
				continue
			}
			// A resumed originate run stored files its day's transmit
			// run never saw: transmit them at once. After the cutoff they
			// are held, and re-originated before anything else is
			// resumed: a statement resumed after them would otherwise
			// state their debits, effective on a day already past, and
			// the file that carried them is never sent.
			st, err := s.transmit(ctx, r.BusinessDate, late, "operator", "originate resumed: send its files", "run transmit after a resumed originate")
			if err != nil {
				return err
			}
			nr.Responses = append(nr.Responses, fmt.Sprintf("transmit %s after its originate run was resumed: %s", r.BusinessDate, st))
			s.rep.Responses++
			if err := s.answerCutoffMissed(ctx, d, late, nr); err != nil {
				return err
			}
		}
	}
	// The resumed runs queued email: the schedule's next deliver fire
	// (every few minutes) sends it.
	if len(nr.Responses) > 0 && !outage {
		spec := jobs.StartSpec{Date: d, Scope: "at:" + s.clock.Add(time.Hour).Format("15:04:05-0700"), Trigger: "schedule", TriggeredBy: "simulation"}
		res, err := s.env.Start(ctx, s.job("deliver"), spec)
		if res.Run.ID == 0 {
			return fmt.Errorf("deliver after the runbook: %w", err)
		}
		s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: "deliver after the runbook"})
	}
	// A rerun with a reason of last night's statements (or originate):
	// it repeats nothing, so the ledger must be the same after it.
	if s.night%7 == 0 && !outage && len(nr.Responses) == 0 {
		job := "statements"
		if s.night%14 == 0 && s.env.Calendar.IsBankingDay(d) {
			job = "originate"
		}
		runs, err := s.env.Store.ListRuns(ctx, ledger.RunFilter{Job: job, Date: d, Status: ledger.RunSucceeded, Limit: 1})
		if err != nil {
			return err
		}
		if len(runs) == 1 {
			// The whole ledger about once a month (the first rerun after
			// a full check), otherwise the accounts the job's night is
			// about: the dump of the whole history grows with it.
			var scope []string
			if s.night%fullCheckEvery >= 7 {
				if scope, err = s.rerunScope(ctx, job, d); err != nil {
					return err
				}
			}
			snapshot := func() ([]string, error) {
				if scope == nil {
					return Dump(ctx, s.env.Store, false)
				}
				return dumpAccounts(ctx, s.env.Store, scope)
			}
			before, err := snapshot()
			if err != nil {
				return err
			}
			res, err := s.env.Rerun(ctx, s.job(job), runs[0], "simulation", "simulated rerun: the runbook's answer to a doubted night", "")
			nr.Responses = append(nr.Responses, fmt.Sprintf("rerun %d --reason (%s %s)", runs[0].ID, job, runs[0].BusinessDate))
			s.rep.Responses++
			if err != nil || res.Run.Status != ledger.RunSucceeded {
				return s.violation(d, "rerun-changes-nothing", fmt.Sprintf("rerun of run %d (%s %s) is %s: %v", runs[0].ID, job, runs[0].BusinessDate, res.Run.Status, err))
			}
			after, err := snapshot()
			if err != nil {
				return err
			}
			if diff := removed(before, after); diff != "" {
				return s.violation(d, "rerun-changes-nothing", fmt.Sprintf("rerun of run %d (%s %s) changed the ledger: %s", runs[0].ID, job, runs[0].BusinessDate, diff))
			}
		}
	}
	return nil
}

// unfinished lists the runs that need attention: failed, partial,
// cancelled, or running without a live owner (nothing else runs now).
func (s *sim) unfinished(ctx context.Context) ([]ledger.Run, error) {
	runs, err := s.env.Store.ListRuns(ctx, ledger.RunFilter{NeedsAttention: true, StaleAfter: -time.Hour, Limit: 1000})
	// Oldest night first, each night in the schedule's order: the order
	// the nights would have run in.
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if a.BusinessDate != b.BusinessDate {
			return a.BusinessDate.Before(b.BusinessDate)
		}
		return slices.Index(schedule, a.Job) < slices.Index(schedule, b.Job)
	})
	return runs, err
}

func (s *sim) violation(d civil.Date, name, detail string) error {
	return &Violation{Seed: s.opt.Seed, Night: s.night, Date: d, Invariant: name, Detail: detail}
}

// backfill is the runbook's answer to nights the schedule missed:
// `drafter run nightly --from FROM --to TO`, each job on the dates its
// calendar has (env.BusinessDates), oldest first.
func (s *sim) backfill(ctx context.Context, from, to civil.Date, nr *NightReport) error {
	nr.Responses = append(nr.Responses, fmt.Sprintf("run nightly --from %s --to %s", from, to))
	s.rep.Responses++
	for d := from; !d.After(to); d = d.AddDays(1) {
		for _, name := range schedule {
			if name == "transmit" {
				// The schedule's catch-up runs transmit for the missed
				// dates too, after their cutoffs: their files are held.
				if slices.Contains(s.env.BusinessDates("originate", from, to), d) {
					if _, err := s.transmit(ctx, d, s.bankClock, "operator", "backfill after downtime", fmt.Sprintf("backfill transmit %s", d)); err != nil {
						return err
					}
					// Held: re-originated at once, before the next
					// date's statements could state their debits.
					if err := s.answerCutoffMissed(ctx, to.AddDays(1), s.bankClock, nr); err != nil {
						return err
					}
				}
				continue
			}
			if !slices.Contains(s.env.BusinessDates(name, from, to), d) {
				continue
			}
			res, err := s.env.Start(ctx, s.job(name), jobs.StartSpec{Date: d, Trigger: "operator", TriggeredBy: "simulation", Reason: "backfill after downtime"})
			if errors.Is(err, ledger.ErrRunCompleted) {
				continue
			}
			if res.Run.ID == 0 {
				return fmt.Errorf("backfill %s %s: %w", name, d, err)
			}
			s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: fmt.Sprintf("backfill %s %s", name, d)})
		}
	}
	// The backfill's table lists statements held (the nights' returns
	// were applied after their extracts): the operator imports the
	// corrected extract and resumes them at once, before the day's
	// changes.
	runs, err := s.unfinished(ctx)
	if err != nil {
		return err
	}
	runs = slices.DeleteFunc(runs, func(r ledger.Run) bool { return r.Job != "statements" || r.Status != ledger.RunPartial })
	if len(runs) == 0 {
		return nil
	}
	if err := s.reimportHeld(ctx, to, runs, nr); err != nil {
		return err
	}
	for _, r := range runs {
		res, err := s.env.Resume(ctx, s.job(r.Job), r.ID, "simulation", 0)
		nr.Responses = append(nr.Responses, fmt.Sprintf("resume %d (%s %s, was %s)", r.ID, r.Job, r.BusinessDate, r.Status))
		s.rep.Responses++
		if res.Run.ID == 0 {
			return fmt.Errorf("resume run %d: %w", r.ID, err)
		}
		s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: fmt.Sprintf("resume %d after the backfill", r.ID)})
	}
	return nil
}

// resumeNow is the runbook's answer to a run that died (killed, or its
// database connection dropped): `drafter resume RUN` at once, before the
// night goes on.
func (s *sim) resumeNow(ctx context.Context, job string, d civil.Date, nr *NightReport) error {
	runs, err := s.env.Store.ListRuns(ctx, ledger.RunFilter{Job: job, Date: d, Limit: 10})
	if err != nil {
		return err
	}
	for _, r := range runs {
		if r.Scope != "" || r.DryRun || r.Status == ledger.RunSucceeded {
			continue
		}
		res, err := s.env.Resume(ctx, s.job(job), r.ID, "simulation", 0) // --stale-after 0s: nothing else runs
		nr.Responses = append(nr.Responses, fmt.Sprintf("resume %d (%s %s, was %s)", r.ID, job, d, r.Status))
		s.rep.Responses++
		if res.Run.ID == 0 {
			return fmt.Errorf("resume run %d: %w", r.ID, err)
		}
		s.observed = append(s.observed, observed{run: res.Run, exit: exitCode(res.Run.Status, err), how: fmt.Sprintf("resume %d", r.ID)})
		nr.Runs[job] = res.Run.Status
	}
	return nil
}

// firstFailedItem names a run's first failed item and its error, for a
// violation's detail.
func (s *sim) firstFailedItem(ctx context.Context, id int64) string {
	items, err := s.env.Store.RunItems(ctx, id)
	if err != nil {
		return ""
	}
	for _, it := range items {
		if it.Status == "failed" {
			return fmt.Sprintf(" (first failed item %s: %s)", it.Item, it.Error)
		}
	}
	return ""
}

// reimportHeld imports the servicing system's extract, as of d, of the
// accounts whose statements the unfinished statements runs held.
func (s *sim) reimportHeld(ctx context.Context, d civil.Date, runs []ledger.Run, nr *NightReport) error {
	held := map[string]bool{}
	for _, r := range runs {
		if r.Job != "statements" {
			continue
		}
		items, err := s.env.Store.RunItems(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Status == "failed" && strings.Contains(it.Error, "statement held") {
				if acct, _, ok := strings.Cut(it.Item, " "); ok {
					held[acct] = true
				}
			}
		}
	}
	if len(held) == 0 {
		return nil
	}
	if _, err := s.sys.importAccounts(ctx, s.env.Store, d, held); err != nil {
		return err
	}
	nr.Responses = append(nr.Responses, fmt.Sprintf("import the corrected extract of %d accounts with held statements", len(held)))
	s.rep.Responses++
	return nil
}

// rerunScope is the accounts a rerun of job for d is about: for
// statements, those whose cycle ends on d; for originate, those with a
// payment in d's files or still scheduled to draft by d's effective date.
func (s *sim) rerunScope(ctx context.Context, job string, d civil.Date) ([]string, error) {
	var q string
	var args []any
	if job == "statements" {
		var days []string
		for _, x := range cycleDays(d) {
			days = append(days, strconv.Itoa(x))
		}
		q = `SELECT id FROM accounts WHERE cycle_day IN (` + strings.Join(days, ", ") + `)`
	} else {
		q = `SELECT p.account_id FROM originations o JOIN payments p ON p.id = o.payment_id WHERE o.business_date = $1
			UNION SELECT account_id FROM payments WHERE state = 'scheduled' AND draft_on <= $2`
		args = []any{d, s.env.Calendar.NextBankingDay(d)}
	}
	rows, err := s.env.Store.DB().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// voidedPayment is a payment of a file voided after a missed cutoff.
type voidedPayment struct {
	file  string     // the voided file's storage key
	date  civil.Date // its business date
	night civil.Date // the night it was voided
}

// answerCutoffMissed is the documented answer to files transmit held at a
// missed cutoff (docs/operations.md, "Missed cutoffs: hold or
// re-originate"): `drafter bank reoriginate KEY --reason` for each (the
// ledger's VoidHeldFile, which the command calls), so that the next
// originate run debits its payments for a current effective date; then
// the transmit runs that held them are resumed and have nothing left to
// send.
func (s *sim) answerCutoffMissed(ctx context.Context, d civil.Date, clock time.Time, nr *NightReport) error {
	exs, err := s.env.Store.ListExceptions(ctx, ledger.ExceptionFilter{Kind: jobs.ExceptionCutoffMissed, Limit: 1000})
	if err != nil {
		return err
	}
	var dates []civil.Date
	for _, ex := range exs {
		f, err := s.env.Store.FileByKey(ctx, ex.Reference)
		if err != nil {
			return fmt.Errorf("cutoff_missed exception %d: %w", ex.ID, err)
		}
		entries, err := s.env.Store.FileEntries(ctx, f.ID)
		if err != nil {
			return err
		}
		// A statement made since the file, for a day on or after its
		// effective date, stated its debits; voided, the bank never has
		// them.
		var acct, on string
		err = s.env.Store.DB().QueryRowContext(ctx, `SELECT d.account_id, CAST(d.document_date AS TEXT) FROM documents d
			WHERE d.kind = 'statement' AND d.document_date >= $1 AND d.created_at > (SELECT created_at FROM ach_files WHERE id = $2)
			AND d.account_id IN (SELECT p.account_id FROM ach_files f JOIN originations o ON f.id = $2 JOIN payments p ON p.id = o.payment_id WHERE o.trace_number BETWEEN f.first_trace AND f.last_trace AND o.ach_file_id = $2 AND p.kind = 'debit')
			ORDER BY d.id LIMIT 1`, f.EffectiveOn, f.ID).Scan(&acct, &on)
		if err == nil {
			return s.violation(d, "statement-states-what-the-bank-had", fmt.Sprintf("the statement of %s for %s, made after %s, states its debit effective %s; the file is held at its missed cutoff and voided, so the bank never has it",
				on[:10], acct, f.StorageKey, f.EffectiveOn))
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		reason := fmt.Sprintf("missed the %02d:00 cutoff of %s: debit for a new effective date (simulation, night %d)", bankCutoffHour, f.BusinessDate, s.night)
		n, err := s.env.Store.VoidHeldFile(ctx, f.ID, "simulation", reason)
		if err != nil {
			return fmt.Errorf("bank reoriginate %s: %w", f.StorageKey, err)
		}
		for _, e := range entries {
			s.voided[e.PaymentID] = voidedPayment{file: f.StorageKey, date: f.BusinessDate, night: d}
		}
		nr.Responses = append(nr.Responses, fmt.Sprintf("bank reoriginate %s --reason ... (%d payments)", f.StorageKey, n))
		s.rep.Responses++
		s.rep.Reoriginated++
		if !slices.Contains(dates, f.BusinessDate) {
			dates = append(dates, f.BusinessDate)
		}
	}
	slices.SortFunc(dates, func(a, b civil.Date) int { return a.Compare(b) })
	for _, fd := range dates {
		last, err := s.lastRun(ctx, "transmit", fd)
		if err != nil {
			return err
		}
		if last.ID == 0 || last.Status == ledger.RunSucceeded {
			continue
		}
		st, err := s.transmit(ctx, fd, clock, "operator", "", "resume transmit after bank reoriginate")
		if err != nil {
			return err
		}
		nr.Responses = append(nr.Responses, fmt.Sprintf("resume %d (transmit %s, was %s): %s", last.ID, fd, last.Status, st))
		s.rep.Responses++
		if st != ledger.RunSucceeded {
			return s.violation(d, "runbook-finishes", fmt.Sprintf("run %d (transmit %s) is %s after its held files were re-originated%s", last.ID, fd, st, s.firstFailedItem(ctx, last.ID)))
		}
	}
	return nil
}
