package server_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves: it jumps to the earliest wake-up
// once every goroutine of the scheduler sleeps, so a month of nights
// passes in a moment and in a fixed order.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
	changed chan struct{}
}

type waiter struct {
	at   time.Time
	wake chan struct{}
}

func newFakeClock(t time.Time) *fakeClock {
	return &fakeClock{now: t, changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return ctx.Err()
	}
	w := &waiter{at: t, wake: make(chan struct{})}
	c.waiters = append(c.waiters, w)
	c.mu.Unlock()
	c.signal()
	select {
	case <-w.wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		for i, x := range c.waiters {
			if x == w {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *fakeClock) signal() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// runUntil moves the clock from wake-up to wake-up while sleepers
// goroutines sleep, until the next wake-up is after end; the clock is then
// set to end.
func (c *fakeClock) runUntil(t *testing.T, sleepers int, end time.Time) {
	t.Helper()
	for {
		deadline := time.After(30 * time.Second)
		for {
			c.mu.Lock()
			n := len(c.waiters)
			c.mu.Unlock()
			if n >= sleepers {
				break
			}
			select {
			case <-c.changed:
			case <-time.After(5 * time.Millisecond):
			case <-deadline:
				t.Fatalf("fake clock at %s: %d of %d goroutines asleep after 30s", c.Now(), n, sleepers)
			}
		}
		c.mu.Lock()
		earliest := c.waiters[0].at
		for _, w := range c.waiters {
			if w.at.Before(earliest) {
				earliest = w.at
			}
		}
		if earliest.After(end) {
			c.now = end
			c.mu.Unlock()
			return
		}
		c.now = earliest
		kept := c.waiters[:0]
		for _, w := range c.waiters {
			if w.at.After(c.now) {
				kept = append(kept, w)
			} else {
				close(w.wake)
			}
		}
		c.waiters = kept
		c.mu.Unlock()
	}
}
