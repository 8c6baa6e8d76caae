package storagetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/drafterhq/drafter/storage"
)

// BenchmarkPut puts b.N distinct objects of size bytes into s from
// concurrency goroutines and reports puts/s and MB/s.
func BenchmarkPut(b *testing.B, s storage.Store, size, concurrency int) {
	body := make([]byte, size)
	rand.Read(body)
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	for w := range concurrency {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				key := fmt.Sprintf("bench/%s/%d/%08d.pdf", b.Name(), w, i)
				if _, err := s.Put(ctx, key, body, storage.PutOptions{ContentType: "application/pdf"}); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatalf("put: %v", err)
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "puts/s")
	b.ReportMetric(float64(b.N)*float64(size)/1e6/sec, "MB/s")
	b.ReportMetric(0, "ns/op")
}

// Concurrencies are the concurrent uploads BenchmarkPut50KB runs with.
var Concurrencies = []int{1, 8, 32}

// BenchmarkPut50KB runs BenchmarkPut with 50 KB objects at each of
// Concurrencies, each on a fresh store from newStore.
func BenchmarkPut50KB(b *testing.B, newStore func(b *testing.B) storage.Store) {
	for _, c := range Concurrencies {
		b.Run(fmt.Sprintf("concurrency=%d", c), func(b *testing.B) {
			s := newStore(b)
			defer s.Close()
			BenchmarkPut(b, s, 50*1024, c)
		})
	}
}
