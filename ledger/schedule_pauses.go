package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SchedulePause is a job the schedule does not fire: who paused it, when
// and why.
type SchedulePause struct {
	Job    string    `json:"job"`
	At     time.Time `json:"paused_at"`
	By     string    `json:"paused_by"`
	Reason string    `json:"reason"`
}

// PauseSchedule pauses the schedule of each job, recording who and why
// (a job paused already takes the new who and why), each in the audit log,
// all in one transaction. Every replica's scheduler reads the pauses
// before each fire.
func (s *Store) PauseSchedule(ctx context.Context, jobs []string, by, reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New("a pause needs a reason")
	}
	return s.InTx(ctx, func(tx *sql.Tx) error {
		t := now()
		for _, job := range jobs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO schedule_pauses (job, paused_at, paused_by, reason) VALUES ($1, $2, $3, $4)
				ON CONFLICT (job) DO UPDATE SET paused_at = excluded.paused_at, paused_by = excluded.paused_by, reason = excluded.reason`,
				job, t, by, reason); err != nil {
				return fmt.Errorf("pause %s: %w", job, err)
			}
			if err := audit(ctx, tx, by, "schedule pause", "job "+job, reason); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResumeSchedule ends the pause of each job, recording who and why in the
// audit log, and returns the jobs that were paused.
func (s *Store) ResumeSchedule(ctx context.Context, jobs []string, by, reason string) ([]string, error) {
	var resumed []string
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		for _, job := range jobs {
			res, err := tx.ExecContext(ctx, `DELETE FROM schedule_pauses WHERE job = $1`, job)
			if err != nil {
				return fmt.Errorf("resume %s: %w", job, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			resumed = append(resumed, job)
			if err := audit(ctx, tx, by, "schedule resume", "job "+job, reason); err != nil {
				return err
			}
		}
		return nil
	})
	return resumed, err
}

// SchedulePauses returns the paused jobs, by job.
func (s *Store) SchedulePauses(ctx context.Context) (map[string]SchedulePause, error) {
	ps, err := queryAll(ctx, s.q, func(row rowScanner) (SchedulePause, error) {
		var p SchedulePause
		err := row.Scan(&p.Job, &p.At, &p.By, &p.Reason)
		p.At = p.At.UTC()
		return p, err
	}, `SELECT job, paused_at, paused_by, reason FROM schedule_pauses ORDER BY job`)
	if err != nil {
		return nil, fmt.Errorf("read the schedule's pauses: %w", err)
	}
	out := make(map[string]SchedulePause, len(ps))
	for _, p := range ps {
		out[p.Job] = p
	}
	return out, nil
}

// AuditEntry is one recorded operator action.
type AuditEntry struct {
	ID     int64     `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Reason string    `json:"reason,omitempty"`
}

// AuditLog returns the newest recorded operator actions, newest first,
// only those of action when it is not empty.
func (s *Store) AuditLog(ctx context.Context, action string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	return queryAll(ctx, s.q, func(row rowScanner) (AuditEntry, error) {
		var e AuditEntry
		err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Reason)
		e.At = e.At.UTC()
		return e, err
	}, fmt.Sprintf(`SELECT id, at, actor, action, target, reason FROM audit WHERE ($1 = '' OR action = $1) ORDER BY id DESC LIMIT %d`, limit), action)
}
