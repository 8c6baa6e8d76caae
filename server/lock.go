package server

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

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

// LostWatcher is a Locker whose locks can be lost while held, and that
// says so: a PostgreSQL session lock goes with its connection, and a
// replica that went on as if it held the lock would fire the schedule
// beside the one that took it next.
type LostWatcher interface {
	// TryLockWatched is TryLock, with a channel closed when the lock is
	// found lost while held (not when unlock releases it).
	TryLockWatched(ctx context.Context, name string) (unlock func(), lost <-chan struct{}, ok bool, err error)
}

// PGLocker takes PostgreSQL session advisory locks, each on a dedicated
// connection held while the lock is: if the process dies, the server
// closes the connection and the lock is released with it.
type PGLocker struct {
	DB *sql.DB
	// CheckEvery is how often a watched lock's connection is checked
	// (default 5 s).
	CheckEvery time.Duration
}

// lockKey maps a lock name to the 64-bit key of an advisory lock.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("drafter:" + name))
	return int64(h.Sum64())
}

// TryLock implements Locker with pg_try_advisory_lock.
func (l *PGLocker) TryLock(ctx context.Context, name string) (func(), bool, error) {
	unlock, _, ok, err := l.tryLock(ctx, name, false)
	return unlock, ok, err
}

// TryLockWatched implements LostWatcher: while the lock is held, its
// connection is checked every CheckEvery; a failed check (the connection
// dropped, so the server released the lock) closes lost, and the
// connection is discarded.
func (l *PGLocker) TryLockWatched(ctx context.Context, name string) (func(), <-chan struct{}, bool, error) {
	return l.tryLock(ctx, name, true)
}

func (l *PGLocker) tryLock(ctx context.Context, name string, watch bool) (func(), <-chan struct{}, bool, error) {
	conn, err := l.DB.Conn(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := lockKey(name)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		conn.Close()
		return nil, nil, false, nil
	}
	lost, stop, watched := make(chan struct{}), make(chan struct{}), make(chan struct{})
	if watch {
		every := l.CheckEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		go func() {
			defer close(watched)
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					// A ping slower than this counts as a lost connection (the
					// safe side: another replica may take the lock); never
					// shorter than 2 s, so a busy host does not hand the
					// lock over for nothing when checks are frequent.
					cctx, cancel := context.WithTimeout(context.Background(), max(every, 2*time.Second))
					err := conn.PingContext(cctx)
					cancel()
					if err != nil {
						close(lost)
						return
					}
				}
			}
		}()
	} else {
		close(watched)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-watched
			var released bool
			err := conn.QueryRowContext(context.Background(), `SELECT pg_advisory_unlock($1)`, key).Scan(&released)
			if err != nil || !released {
				// The session may still hold the lock: never hand it back
				// to the pool, close it so the server releases the lock.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, lost, true, nil
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
