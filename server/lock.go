package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/drafterhq/drafter/ledger"
)

// Locker keeps a job from overlapping itself, across processes where the
// database allows it, and elects the one process that runs the schedule.
type Locker interface {
	// TryLock takes the lock of name without waiting. ok is false when
	// another holder has it. unlock releases it.
	TryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// LockerFor returns the locker for the store's database: PostgreSQL
// session advisory locks, or for SQLite locks inside this process (SQLite
// is served by one process: drafter serve takes a file lock beside the
// database, see FileLock).
func LockerFor(st *ledger.Store) Locker {
	if st.Dialect() == "postgres" {
		return &PGLocker{DB: st.DB()}
	}
	return &LocalLocker{}
}

// PGLocker takes PostgreSQL session advisory locks, each on a dedicated
// connection held while the lock is: if the process dies, the server
// closes the connection and the lock is released with it.
type PGLocker struct {
	DB *sql.DB
}

// lockKey maps a lock name to the 64-bit key of an advisory lock.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("drafter:" + name))
	return int64(h.Sum64())
}

// TryLock implements Locker with pg_try_advisory_lock.
func (l *PGLocker) TryLock(ctx context.Context, name string) (func(), bool, error) {
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			var released bool
			err := conn.QueryRowContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
			if err != nil || !released {
				// The session may still hold the lock: never hand it back
				// to the pool, close it so the server releases the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, true, nil
}

// LocalLocker holds locks inside one process.
type LocalLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

// TryLock implements Locker.
func (l *LocalLocker) TryLock(_ context.Context, name string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	if l.held == nil {
		l.held = map[string]bool{}
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true, nil
}

// ErrLocked is returned by FileLock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")
