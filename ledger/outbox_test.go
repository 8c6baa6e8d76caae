package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

func queueTestMessages(t *testing.T, s *ledger.Store, n int) {
	t.Helper()
	importAll(t, s, []portfolio.Account{testAccount("LS-1", "123456789")})
	var msgs []ledger.NewOutboxMessage
	for i := range n {
		msgs = append(msgs, ledger.NewOutboxMessage{Topic: fmt.Sprintf("payment:%d:scheduled", i+1), Recipient: "zoe@example.com",
			Kind: "payment_scheduled", AccountID: "LS-1", Payload: ledger.OutboxPaymentPayload{PaymentID: int64(i + 1)}})
	}
	got, err := s.QueueOutbox(context.Background(), msgs)
	if err != nil || got != n {
		t.Fatalf("QueueOutbox = %d, %v; want %d", got, err, n)
	}
	// Queuing again queues nothing: (topic, recipient) is unique.
	if again, err := s.QueueOutbox(context.Background(), msgs); err != nil || again != 0 {
		t.Fatalf("QueueOutbox again = %d, %v; want 0", again, err)
	}
}

func claim(t *testing.T, s *ledger.Store, now time.Time, lease time.Duration, limit int) []ledger.OutboxMessage {
	t.Helper()
	ms, err := s.ClaimOutbox(context.Background(), ledger.OutboxClaim{Now: now, Lease: lease, Limit: limit, IDDomain: "drafter.example", IDToken: "t0k3n"})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// TestOutboxStateMachine walks messages through every transition: claim
// (an attempt, a Message-ID fixed once), sent, requeued with a later
// attempt, failed, retried by an operator, and a lease that runs out.
func TestOutboxStateMachine(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		queueTestMessages(t, s, 4)
		now := time.Now().UTC().Add(time.Minute).Truncate(time.Second)
		lease := 5 * time.Minute

		ms := claim(t, s, now, lease, 3)
		if len(ms) != 3 || ms[0].ID >= ms[1].ID || ms[1].ID >= ms[2].ID {
			t.Fatalf("claimed %+v, want 3 in id order", ms)
		}
		for _, m := range ms {
			want := fmt.Sprintf("outbox-%d.t0k3n@drafter.example", m.ID)
			if m.Status != ledger.OutboxSending || m.Attempts != 1 || m.MessageID != want || !m.NextAttemptAt.Equal(now.Add(lease)) {
				t.Fatalf("claimed %+v, want sending, attempt 1, Message-ID %s, leased until %s", m, want, now.Add(lease))
			}
			if !strings.Contains(string(m.Payload), `"payment_id"`) {
				t.Fatalf("payload %s", m.Payload)
			}
		}
		// Held messages are not claimed again before their lease runs out.
		if more := claim(t, s, now, lease, 10); len(more) != 1 || more[0].ID == ms[0].ID {
			t.Fatalf("second claim took %+v, want only the fourth message", more)
		}

		if err := s.MarkOutboxSent(ctx, ms[0].ID, now); err != nil {
			t.Fatal(err)
		}
		next := now.Add(2 * time.Minute)
		if err := s.RequeueOutbox(ctx, ms[1].ID, next, "connect: connection refused"); err != nil {
			t.Fatal(err)
		}
		if err := s.FailOutbox(ctx, ms[2].ID, "550 5.1.1 no such user"); err != nil {
			t.Fatal(err)
		}
		// A late mark of a message no longer sending changes nothing.
		if err := s.MarkOutboxSent(ctx, ms[2].ID, now); err != nil {
			t.Fatal(err)
		}
		sent, _ := s.GetOutbox(ctx, ms[0].ID)
		if sent.Status != ledger.OutboxSent || sent.SentAt == nil || !sent.SentAt.Equal(now) {
			t.Fatalf("sent = %+v", sent)
		}
		rq, _ := s.GetOutbox(ctx, ms[1].ID)
		if rq.Status != ledger.OutboxQueued || rq.Attempts != 1 || !rq.NextAttemptAt.Equal(next) || rq.LastError == "" {
			t.Fatalf("requeued = %+v", rq)
		}
		failed, _ := s.GetOutbox(ctx, ms[2].ID)
		if failed.Status != ledger.OutboxFailed || failed.LastError != "550 5.1.1 no such user" {
			t.Fatalf("failed = %+v", failed)
		}

		// Not due yet; due after the backoff, with the same Message-ID.
		if got := claim(t, s, now.Add(time.Minute), lease, 10); len(got) != 0 {
			t.Fatalf("claimed %+v before its next attempt", got)
		}
		again := claim(t, s, next, lease, 10)
		if len(again) != 1 || again[0].ID != ms[1].ID || again[0].Attempts != 2 || again[0].MessageID != ms[1].MessageID {
			t.Fatalf("claim after backoff = %+v", again)
		}
		// The deliverer dies holding it: after the lease it is taken over,
		// still with the same Message-ID.
		over := claim(t, s, next.Add(lease), lease, 10)
		found := false
		for _, m := range over {
			if m.ID == ms[1].ID {
				found = true
				if m.MessageID != ms[1].MessageID || m.Attempts != 3 {
					t.Fatalf("taken over = %+v", m)
				}
			}
		}
		if !found {
			t.Fatalf("expired lease not taken over: %+v", over)
		}

		// Only a failed message can be retried, and it is due at once.
		if _, err := s.RetryOutbox(ctx, ms[0].ID, now); !errors.Is(err, ledger.ErrOutboxState) {
			t.Fatalf("retry of a sent message: %v", err)
		}
		if _, err := s.RetryOutbox(ctx, 999999, now); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("retry of an unknown message: %v", err)
		}
		r, err := s.RetryOutbox(ctx, ms[2].ID, now)
		if err != nil || r.Status != ledger.OutboxQueued || r.Attempts != 0 {
			t.Fatalf("retry = %+v, %v", r, err)
		}
		counts, err := s.OutboxCounts(ctx)
		if err != nil || counts["sent"] != 1 || counts["queued"] != 1 || counts["sending"] != 2 {
			t.Fatalf("counts = %v, %v", counts, err)
		}
		list, err := s.ListOutbox(ctx, ledger.OutboxFilter{Status: "sending"})
		if err != nil || len(list) != 2 {
			t.Fatalf("ListOutbox(sending) = %d, %v", len(list), err)
		}
	})
}

// TestOutboxClaimsAreDisjoint has deliverers claim at once: no message is
// taken twice (FOR UPDATE SKIP LOCKED on PostgreSQL, one writer on SQLite).
func TestOutboxClaimsAreDisjoint(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		const n = 200
		queueTestMessages(t, s, n)
		now := time.Now().UTC().Add(time.Minute)
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					ms, err := s.ClaimOutbox(context.Background(), ledger.OutboxClaim{Now: now, Lease: time.Hour, Limit: 7, IDDomain: "d", IDToken: "x"})
					if err != nil {
						t.Error(err)
						return
					}
					if len(ms) == 0 {
						return
					}
					mu.Lock()
					for _, m := range ms {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d messages, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("message %d claimed %d times", id, c)
			}
		}
	})
}
