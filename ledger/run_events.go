package ledger

import (
	"context"
	"fmt"
	"time"
)

// Run events, the timeline of a run's attempts.
const (
	RunEventStarted  = "started"
	RunEventCrashed  = "crash detected"
	RunEventResumed  = "resumed"
	RunEventFinished = "finished"
	// RunEventResent: a transmit run sent a file the bank had already
	// been sent, because an operator asked (--resend).
	RunEventResent = "file resent"
)

// RunEvent is one entry of a run's timeline.
type RunEvent struct {
	At     time.Time `json:"at"`
	Event  string    `json:"event"`
	Actor  string    `json:"actor,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// runEvent records an event of a run with q: the store, or the
// transaction of the change it records.
func runEvent(ctx context.Context, q querier, id int64, event, actor, detail string) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO run_events (run_id, at, event, actor, detail) VALUES ($1, $2, $3, $4, $5)`,
		id, now(), event, actor, detail); err != nil {
		return fmt.Errorf("record %s of run %d: %w", event, id, err)
	}
	return nil
}

// RunEvents returns a run's timeline, oldest first.
func (s *Store) RunEvents(ctx context.Context, id int64) ([]RunEvent, error) {
	return queryAll(ctx, s.q, func(row rowScanner) (RunEvent, error) {
		var e RunEvent
		err := row.Scan(&e.At, &e.Event, &e.Actor, &e.Detail)
		e.At = e.At.UTC()
		return e, err
	}, `SELECT at, event, actor, detail FROM run_events WHERE run_id = $1 ORDER BY id`, id)
}
