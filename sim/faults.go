package sim

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/drafterhq/drafter/mail"
	"github.com/drafterhq/drafter/storage"
)

// errOutage is what a store or a relay that is down answers.
var errOutage = errors.New("simulated outage")

// faultyStorage is document storage that fails every write and read while
// down, as an S3 endpoint that is unreachable would.
type faultyStorage struct {
	storage.Store
	down bool
}

func (f *faultyStorage) Put(ctx context.Context, key string, body []byte, opts storage.PutOptions) (storage.PutResult, error) {
	if f.down {
		return storage.PutResult{}, fmt.Errorf("put %s: %w", key, errOutage)
	}
	return f.Store.Put(ctx, key, body, opts)
}

func (f *faultyStorage) Get(ctx context.Context, key string) ([]byte, storage.Object, error) {
	if f.down {
		return nil, storage.Object{}, fmt.Errorf("get %s: %w", key, errOutage)
	}
	return f.Store.Get(ctx, key)
}

func (f *faultyStorage) Stat(ctx context.Context, key string) (storage.Object, error) {
	if f.down {
		return storage.Object{}, fmt.Errorf("stat %s: %w", key, errOutage)
	}
	return f.Store.Stat(ctx, key)
}

func (f *faultyStorage) List(ctx context.Context, prefix string) ([]storage.Object, error) {
	if f.down {
		return nil, fmt.Errorf("list %s: %w", prefix, errOutage)
	}
	return f.Store.List(ctx, prefix)
}

func (f *faultyStorage) MarkProcessed(ctx context.Context, key string) (string, error) {
	if f.down {
		return "", fmt.Errorf("move %s: %w", key, errOutage)
	}
	return f.Store.MarkProcessed(ctx, key)
}

func (f *faultyStorage) Delete(ctx context.Context, key string) error {
	if f.down {
		return fmt.Errorf("delete %s: %w", key, errOutage)
	}
	return f.Store.Delete(ctx, key)
}

// faultyMail is the mail relay: down, it refuses every message with a
// temporary error; up, it delivers through the real transport and counts
// each message by its Message-ID, to hold drafter to once per success.
type faultyMail struct {
	inner mail.Sender
	mu    sync.Mutex
	down  bool
	sent  map[string]int
	total int
	// repeat is the first Message-ID delivered twice.
	repeat string
	// subjects of the messages delivered since the last check, by
	// Message-ID.
	subjects map[string]string
}

func (f *faultyMail) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return fmt.Errorf("connect to the relay: %w", errOutage)
	}
	if err := f.inner.Send(ctx, m); err != nil {
		return err
	}
	f.mu.Lock()
	f.sent[m.ID]++
	if f.sent[m.ID] > 1 && f.repeat == "" {
		f.repeat = m.ID
	}
	f.total++
	if f.subjects == nil {
		f.subjects = map[string]string{}
	}
	f.subjects[m.ID] = m.Subject
	f.mu.Unlock()
	return nil
}

func (f *faultyMail) Close() error { return nil }

// Ping answers the deliver job's probe: the relay is down or up.
func (f *faultyMail) Ping(ctx context.Context) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return fmt.Errorf("connect to the relay: %w", errOutage)
	}
	if p, ok := f.inner.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}
