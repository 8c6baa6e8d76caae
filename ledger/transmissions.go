package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// Transmission states.
const (
	TransmissionRenaming = "renaming" // uploaded under its temporary name, verified; the rename may have happened
	TransmissionSent     = "sent"
)

// Transmission is a NACHA file on its way to, or at, the bank.
type Transmission struct {
	FileID     int64      `json:"file_id"`
	RemoteName string     `json:"remote_name"`
	Bytes      int64      `json:"bytes"`
	SHA256     string     `json:"sha256"`
	State      string     `json:"state"`
	How        string     `json:"how,omitempty"`
	RunID      int64      `json:"run_id"`
	StartedAt  time.Time  `json:"started_at"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
}

// DayTransmissions returns the transmissions of a business date's files,
// keyed by file id.
func (s *Store) DayTransmissions(ctx context.Context, d civil.Date) (map[int64]Transmission, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT t.ach_file_id, t.remote_name, t.bytes, t.sha256, t.state, t.how, t.run_id, t.started_at, t.sent_at
		FROM transmissions t JOIN ach_files f ON f.id = t.ach_file_id WHERE f.business_date = $1`, d)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]Transmission{}
	for rows.Next() {
		var t Transmission
		var sent sql.NullTime
		if err := rows.Scan(&t.FileID, &t.RemoteName, &t.Bytes, &t.SHA256, &t.State, &t.How, &t.RunID, &t.StartedAt, &sent); err != nil {
			return nil, err
		}
		if sent.Valid {
			st := sent.Time
			t.SentAt = &st
		}
		out[t.FileID] = t
	}
	return out, rows.Err()
}

// BeginTransmission records that a file's bytes are on the bank's server
// under their temporary name, verified, and about to be renamed to their
// final name. It fails if the file has a transmission already.
//
// A released file (re-originated after a missed cutoff, VoidHeldFile) is
// refused with ErrFileReleased: its payments are in another file.
func (s *Store) BeginTransmission(ctx context.Context, t Transmission) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		// The file row locked: a void under way finishes first.
		var released sql.NullTime
		if err := tx.QueryRowContext(ctx, `SELECT released_at FROM ach_files WHERE id = $1`+s.forUpdate(), t.FileID).Scan(&released); err != nil {
			return fmt.Errorf("record transmission of file %d: %w", t.FileID, err)
		}
		if released.Valid {
			return fmt.Errorf("file %d as %s: %w", t.FileID, t.RemoteName, ErrFileReleased)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO transmissions (ach_file_id, remote_name, bytes, sha256, state, run_id, started_at)
			VALUES ($1, $2, $3, $4, 'renaming', $5, $6)`, t.FileID, t.RemoteName, t.Bytes, t.SHA256, t.RunID, now())
		if err != nil {
			return fmt.Errorf("record transmission of file %d as %s: %w", t.FileID, t.RemoteName, err)
		}
		return nil
	})
}

// RecordResend records that a file already sent was sent again, on an
// operator's explicit request (drafter rerun RUN --resend KEY --reason):
// the transmission becomes how "resent" by the run, and the audit log and
// the run's timeline say who asked and why, in one transaction.
func (s *Store) RecordResend(ctx context.Context, t Transmission, by, reason string) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE transmissions SET how = 'resent', run_id = $2, sent_at = $3, bytes = $4, sha256 = $5
			WHERE ach_file_id = $1 AND state = 'sent'`, t.FileID, t.RunID, now(), t.Bytes, t.SHA256)
		if err != nil {
			return fmt.Errorf("record resend of file %d: %w", t.FileID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("record resend of file %d: no sent transmission", t.FileID)
		}
		detail := fmt.Sprintf("file %d sent again as %s (%d bytes, sha256 %s): %s", t.FileID, t.RemoteName, t.Bytes, t.SHA256, reason)
		if err := audit(ctx, tx, by, "transmit-resend", t.RemoteName, detail); err != nil {
			return err
		}
		return runEvent(ctx, tx, t.RunID, RunEventResent, by, detail)
	})
}

// ErrFileReleased is returned when a transmission is begun for a released
// file: it must never reach the bank.
var ErrFileReleased = errors.New("the file was released (re-originated): it is never sent")

// ErrTransmitted is returned when a file's transmission is recorded sent
// already.
var ErrTransmitted = errors.New("file already transmitted")

// MarkTransmitted records a file sent: its renaming transmission becomes
// sent, or, for a file found on the server without one (how "found"), t
// is recorded sent; the file's status becomes transmitted in the same
// transaction.
func (s *Store) MarkTransmitted(ctx context.Context, t Transmission, how string) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		at := now()
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM transmissions WHERE ach_file_id = $1`, t.FileID).Scan(&state)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO transmissions (ach_file_id, remote_name, bytes, sha256, state, how, run_id, started_at, sent_at)
				VALUES ($1, $2, $3, $4, 'sent', $5, $6, $7, $7)`, t.FileID, t.RemoteName, t.Bytes, t.SHA256, how, t.RunID, at)
		case err != nil:
		case state == TransmissionSent:
			return fmt.Errorf("file %d: %w", t.FileID, ErrTransmitted)
		default:
			_, err = tx.ExecContext(ctx, `UPDATE transmissions SET state = 'sent', how = $2, sent_at = $3 WHERE ach_file_id = $1`, t.FileID, how, at)
		}
		if err != nil {
			return fmt.Errorf("record file %d sent as %s: %w", t.FileID, t.RemoteName, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ach_files SET status = 'transmitted' WHERE id = $1`, t.FileID); err != nil {
			return fmt.Errorf("record file %d transmitted: %w", t.FileID, err)
		}
		return nil
	})
}

// RaiseException records an exception for a person, once per kind and
// reference; it reports whether it was new.
func (s *Store) RaiseException(ctx context.Context, ex Exception) (bool, error) {
	n, err := s.insertExceptions(ctx, s.q, []Exception{ex}, now())
	return n > 0, err
}
