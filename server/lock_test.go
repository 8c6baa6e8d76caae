package server_test

import (
	"bytes"
	"context"
	"hash/fnv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/server"
)

// lockHolders returns the backends of this database holding the advisory
// lock of name (the key as PGLocker makes it: fnv-64a of "drafter:" + name,
// which pg_locks shows as its high and low 32 bits).
func lockHolders(t *testing.T, ctx context.Context, locker *server.PGLocker, name string) []int {
	t.Helper()
	h := fnv.New64a()
	h.Write([]byte("drafter:" + name))
	key := h.Sum64()
	rows, err := locker.DB.QueryContext(ctx, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1`, int64(key>>32), int64(key&0xffffffff))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

// terminate ends the backends, as a database restart or a dropped
// connection would.
func terminate(t *testing.T, ctx context.Context, locker *server.PGLocker, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if _, err := locker.DB.ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPGLockLost: a watched lock whose connection drops says so, and the
// lock is free for the next taker.
func TestPGLockLost(t *testing.T) {
	env := testEnv(t, "postgres", nil)
	ctx := context.Background()
	locker := &server.PGLocker{DB: env.Store.DB(), CheckEvery: 20 * time.Millisecond}
	unlock, lost, ok, err := locker.TryLockWatched(ctx, "lost-test")
	if err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	defer unlock()
	select {
	case <-lost:
		t.Fatal("lost while held")
	case <-time.After(100 * time.Millisecond):
	}
	holders := lockHolders(t, ctx, locker, "lost-test")
	if len(holders) != 1 {
		t.Fatalf("%d holders of the lock just taken", len(holders))
	}
	terminate(t, ctx, locker, holders)
	select {
	case <-lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the lock's connection was terminated, and lost was not closed")
	}
	other, ok, err := locker.TryLock(ctx, "lost-test")
	if err != nil || !ok {
		t.Fatalf("take after the loss: %v %v", ok, err)
	}
	other()
	unlock() // after the loss: discards the dead connection, no panic
}

// syncBuffer is a bytes.Buffer safe for the schedulers' loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSchedulerLockLostHandsOver: two replicas; the one firing the schedule
// loses its lock's connection. It notices, stops firing and takes its turn
// for the lock again: afterwards exactly one replica holds the lock and
// believes it does (whichever took it first), never both.
func TestSchedulerLockLostHandsOver(t *testing.T) {
	env := testEnv(t, "postgres", nil)
	rec := &recorder{clock: server.RealClock}
	entries := lenderEntries(t)
	replica := func(name string, logs *syncBuffer) (*server.Scheduler, *server.PGLocker) {
		s := server.NewScheduler(env, rec.registry(entryJobs(entries)...), entries)
		locker := &server.PGLocker{DB: env.Store.DB(), CheckEvery: 20 * time.Millisecond}
		s.Locker, s.LockRetry, s.Zone = locker, 50*time.Millisecond, newYork
		s.Log = zerolog.New(logs).With().Str("replica", name).Logger()
		return s, locker
	}
	var logsA, logsB syncBuffer
	a, locker := replica("a", &logsA)
	b, _ := replica("b", &logsB)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen; replica a:\n%s\nreplica b:\n%s", what, logsA.String(), logsB.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	taken := func(logs *syncBuffer) int { return strings.Count(logs.String(), "scheduler lock taken") }
	go func() { done <- a.Run(ctx) }()
	waitFor("a takes the lock", func() bool { return taken(&logsA) == 1 })
	go func() { done <- b.Run(ctx) }()
	waitFor("b waits", func() bool { return strings.Contains(logsB.String(), "another replica holds the scheduler lock") })

	terminate(t, ctx, locker, lockHolders(t, ctx, locker, "scheduler"))
	waitFor("a notices the loss", func() bool { return strings.Contains(logsA.String(), "scheduler lock lost") })
	waitFor("one replica holds the lock again", func() bool { return len(lockHolders(t, ctx, locker, "scheduler")) == 1 })
	time.Sleep(300 * time.Millisecond) // several retries of the one waiting
	if n := len(lockHolders(t, ctx, locker, "scheduler")); n != 1 {
		t.Fatalf("%d lock holders after the handover", n)
	}
	if ta, tb := taken(&logsA), taken(&logsB); ta+tb != 2 || tb > 1 {
		t.Fatalf("lock taken %d times by a and %d by b: want once more in all, after the loss", ta, tb)
	}
	cancel()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
