package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

func chunkRun(t *testing.T, s *ledger.Store, accounts int) ledger.Run {
	t.Helper()
	var accts []portfolio.Account
	for i := 0; i < accounts; i++ {
		accts = append(accts, testAccount(fmt.Sprintf("L%03d", i), fmt.Sprintf("%09d", 100000+i)))
	}
	importAll(t, s, accts)
	run, err := s.BeginRun(context.Background(), ledger.RunSpec{Job: "statements", BusinessDate: civil.MustParse("2026-11-30"), Trigger: "test", Owner: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestChunksClaimLeaseAndTakeOver(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		run := chunkRun(t, s, 10)
		n, err := s.PlanChunks(ctx, run.ID, 3)
		if err != nil || n != 4 {
			t.Fatalf("PlanChunks = %d, %v; want 4 chunks", n, err)
		}
		if again, _ := s.PlanChunks(ctx, run.ID, 3); again != 4 {
			t.Fatalf("planning twice made %d chunks", again)
		}
		c0, ok, err := s.ClaimChunk(ctx, run.ID, "w1", time.Hour)
		if err != nil || !ok || c0.Chunk != 0 || c0.FirstKey != "L000" || c0.LastKey != "L002" {
			t.Fatalf("first claim = %+v %v %v", c0, ok, err)
		}
		c2, _, _ := s.ClaimChunk(ctx, run.ID, "w3", time.Hour)
		c3, _, _ := s.ClaimChunk(ctx, run.ID, "w3", time.Hour)
		// w2's lease is already over when it starts: it hung.
		c1, _, _ := s.ClaimChunk(ctx, run.ID, "w2", -time.Second)
		if c2.Chunk != 1 || c3.Chunk != 2 || c1.Chunk != 3 || c1.LastKey != "L009" {
			t.Fatalf("claims %d %d %d last %s", c2.Chunk, c3.Chunk, c1.Chunk, c1.LastKey)
		}
		// The hung worker's chunk is taken over; its late completion is refused.
		taken, ok, _ := s.ClaimChunk(ctx, run.ID, "w4", time.Hour)
		if !ok || taken.Chunk != 3 || taken.Claims != 2 {
			t.Fatalf("take-over = %+v %v", taken, ok)
		}
		if err := s.CompleteChunk(ctx, c1, "w2"); !errors.Is(err, ledger.ErrLeaseLost) {
			t.Fatalf("late completion: %v", err)
		}
		if err := s.RenewChunk(ctx, c1, "w2", time.Hour); !errors.Is(err, ledger.ErrLeaseLost) {
			t.Fatalf("late renewal: %v", err)
		}
		if _, ok, _ := s.ClaimChunk(ctx, run.ID, "w5", time.Hour); ok {
			t.Fatal("claimed a chunk while all are leased")
		}
		for _, c := range []struct {
			ch    ledger.Chunk
			owner string
		}{{c0, "w1"}, {taken, "w4"}, {c2, "w3"}, {c3, "w3"}} {
			if err := s.RenewChunk(ctx, c.ch, c.owner, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := s.CompleteChunk(ctx, c.ch, c.owner); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.RunChunkProgress(ctx, run.ID)
		if err != nil || !p.Finished() || p.Done != 4 || p.Retaken != 1 || p.ByWorker["w3"].Done != 2 {
			t.Fatalf("progress %+v %v", p, err)
		}
	})
}

// Many workers claiming at once never get the same chunk.
func TestChunksConcurrentClaimsAreExclusive(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		run := chunkRun(t, s, 60)
		if _, err := s.PlanChunks(ctx, run.ID, 2); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[int]string{}
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			owner := fmt.Sprintf("w%d", w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					c, ok, err := s.ClaimChunk(ctx, run.ID, owner, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					if prev, dup := seen[c.Chunk]; dup {
						t.Errorf("chunk %d claimed by %s and %s", c.Chunk, prev, owner)
					}
					seen[c.Chunk] = owner
					mu.Unlock()
					if err := s.CompleteChunk(ctx, c, owner); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if len(seen) != 30 {
			t.Fatalf("%d chunks claimed, want 30", len(seen))
		}
	})
}
