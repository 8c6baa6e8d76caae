package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Chunk is a range of accounts of a run, [FirstKey, LastKey] by account id,
// that one worker at a time works under a lease.
type Chunk struct {
	RunID      int64      `json:"run_id"`
	Chunk      int        `json:"chunk"`
	FirstKey   string     `json:"first_key"`
	LastKey    string     `json:"last_key"`
	Status     string     `json:"status"`
	Owner      string     `json:"owner,omitempty"`
	LeaseUntil *time.Time `json:"lease_until,omitempty"`
	// Claims counts how often the chunk was claimed: more than one means a
	// worker's lease ran out and another took the chunk over.
	Claims int `json:"claims"`
}

// ErrLeaseLost is returned when a worker renews or completes a chunk it no
// longer holds: its lease ran out and another worker took it.
var ErrLeaseLost = errors.New("chunk lease lost to another worker")

// PlanChunks splits the run over all accounts, in account-id order, into
// chunks of at most size accounts. Planning twice plans once.
func (s *Store) PlanChunks(ctx context.Context, runID int64, size int) (int, error) {
	if size < 1 {
		return 0, fmt.Errorf("plan chunks: size %d, want at least 1", size)
	}
	var n int
	if err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM run_chunks WHERE run_id = $1`, runID).Scan(&n); err != nil {
		return 0, fmt.Errorf("plan chunks: %w", err)
	}
	if n > 0 {
		return n, nil
	}
	rows, err := s.q.QueryContext(ctx, `SELECT id FROM accounts ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("plan chunks: %w", err)
	}
	var bounds [][2]string
	i := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		if i%size == 0 {
			bounds = append(bounds, [2]string{id, id})
		}
		bounds[len(bounds)-1][1] = id
		i++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		for c, b := range bounds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO run_chunks (run_id, chunk, first_key, last_key, status) VALUES ($1, $2, $3, $4, 'pending')
				ON CONFLICT (run_id, chunk) DO NOTHING`, runID, c, b[0], b[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("plan chunks: %w", err)
	}
	return len(bounds), nil
}

const chunkCols = `run_id, chunk, first_key, last_key, status, owner, lease_until, claims`

func scanChunk(row rowScanner) (Chunk, error) {
	var c Chunk
	var lease sql.NullTime
	err := row.Scan(&c.RunID, &c.Chunk, &c.FirstKey, &c.LastKey, &c.Status, &c.Owner, &lease, &c.Claims)
	if lease.Valid {
		t := lease.Time.UTC()
		c.LeaseUntil = &t
	}
	return c, err
}

// ClaimChunk gives owner the run's next chunk that is pending or whose lease
// ran out, leased for lease. ok is false when no chunk is left to claim. On
// PostgreSQL the claim skips rows other workers are claiming at the same
// moment (FOR UPDATE SKIP LOCKED); SQLite has a single writer.
func (s *Store) ClaimChunk(ctx context.Context, runID int64, owner string, lease time.Duration) (c Chunk, ok bool, err error) {
	if err := s.verifyKey(ctx, s.q, false); err != nil {
		return Chunk{}, false, fmt.Errorf("claim chunk of run %d: %w", runID, err)
	}
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		// A claim and a cancel request exclude each other on the run's
		// row: a chunk claimed before a cancel is asked is a live claim
		// the cancel waits for; after it, nothing is claimed. Without
		// this a worker that saw no cancel could claim a chunk just after
		// the run was recorded cancelled, and a resume would work that
		// chunk a second time.
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = $1`+s.dialect.forShare, runID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil || status != RunRunning {
			return err
		}
		if _, cancelled, err := cancelRequested(ctx, tx, runID); err != nil || cancelled {
			return err
		}
		t := now()
		row := tx.QueryRowContext(ctx, `UPDATE run_chunks SET status = 'claimed', owner = $2, lease_until = $3, claims = claims + 1
			WHERE run_id = $1 AND chunk = (
				SELECT chunk FROM run_chunks
				WHERE run_id = $1 AND (status = 'pending' OR (status = 'claimed' AND lease_until < $4))
				ORDER BY chunk LIMIT 1`+s.dialect.skipLocked+`)
			RETURNING `+chunkCols, runID, owner, t.Add(lease), t)
		c, err = scanChunk(row)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	if err != nil {
		return Chunk{}, false, fmt.Errorf("claim chunk of run %d: %w", runID, err)
	}
	return c, ok, nil
}

// RenewChunk extends owner's lease on a chunk, or returns ErrLeaseLost.
func (s *Store) RenewChunk(ctx context.Context, c Chunk, owner string, lease time.Duration) error {
	res, err := s.q.ExecContext(ctx, `UPDATE run_chunks SET lease_until = $4 WHERE run_id = $1 AND chunk = $2 AND owner = $3 AND status = 'claimed'`,
		c.RunID, c.Chunk, owner, now().Add(lease))
	if err != nil {
		return fmt.Errorf("renew chunk %d of run %d: %w", c.Chunk, c.RunID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("renew chunk %d of run %d: %w", c.Chunk, c.RunID, ErrLeaseLost)
	}
	return nil
}

// CompleteChunk marks owner's chunk done, or returns ErrLeaseLost when
// another worker took it over (its work is then redone, idempotently).
func (s *Store) CompleteChunk(ctx context.Context, c Chunk, owner string) error {
	res, err := s.q.ExecContext(ctx, `UPDATE run_chunks SET status = 'done', done_at = $4, lease_until = NULL
		WHERE run_id = $1 AND chunk = $2 AND owner = $3 AND status = 'claimed'`, c.RunID, c.Chunk, owner, now())
	if err != nil {
		return fmt.Errorf("complete chunk %d of run %d: %w", c.Chunk, c.RunID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("complete chunk %d of run %d: %w", c.Chunk, c.RunID, ErrLeaseLost)
	}
	return nil
}

// ChunkProgress is how far a run's chunks are, in all and per worker.
type ChunkProgress struct {
	Pending  int                    `json:"pending"`
	Claimed  int                    `json:"claimed"`
	Done     int                    `json:"done"`
	Retaken  int                    `json:"retaken"`
	ByWorker map[string]WorkerChunk `json:"by_worker,omitempty"`
}

// WorkerChunk is one worker's share of a run.
type WorkerChunk struct {
	Claimed int `json:"claimed"`
	Done    int `json:"done"`
	// Retaken counts the worker's chunks that another worker held before
	// (it took them over when their lease ran out).
	Retaken int `json:"retaken"`
}

// Finished reports whether every chunk is done.
func (p ChunkProgress) Finished() bool { return p.Pending == 0 && p.Claimed == 0 && p.Done > 0 }

// RunChunkProgress counts a run's chunks by status and by worker.
func (s *Store) RunChunkProgress(ctx context.Context, runID int64) (ChunkProgress, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT status, owner, claims FROM run_chunks WHERE run_id = $1`, runID)
	if err != nil {
		return ChunkProgress{}, err
	}
	defer rows.Close()
	p := ChunkProgress{ByWorker: map[string]WorkerChunk{}}
	for rows.Next() {
		var status, owner string
		var claims int
		if err := rows.Scan(&status, &owner, &claims); err != nil {
			return p, err
		}
		switch status {
		case "pending":
			p.Pending++
		case "claimed":
			p.Claimed++
		case "done":
			p.Done++
		}
		if claims > 1 {
			p.Retaken++
		}
		if owner != "" {
			w := p.ByWorker[owner]
			if status == "done" {
				w.Done++
			} else {
				w.Claimed++
			}
			if claims > 1 {
				w.Retaken++
			}
			p.ByWorker[owner] = w
		}
	}
	return p, rows.Err()
}
