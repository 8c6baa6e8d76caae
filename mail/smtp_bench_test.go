package mail

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drafterhq/drafter/internal/testenv"
)

// BenchmarkSMTPSend50KB sends statement emails with a 50 KB PDF-like
// attachment to a local mailpit over 1 and 4 pooled connections and
// reports messages per second.
func BenchmarkSMTPSend50KB(b *testing.B) {
	m := Message{
		ID:      "bench@drafter.example",
		From:    testComposer.From,
		ReplyTo: testComposer.ReplyTo,
		To:      Address{Name: "Nguyễn Thị Ánh", Email: "customer@example.com"},
		Subject: "Drafter Auto Finance: your statement for account ****4321 is ready",
		Text:    "Your statement is attached.\n",
		HTML:    "<p>Your statement is attached.</p>\n",
		Attachments: []Attachment{{
			Filename: "statement-2026-11.pdf", ContentType: "application/pdf", Data: testPDF(50 << 10),
		}},
		Date: time.Date(2026, 11, 24, 6, 30, 0, 0, time.UTC),
	}
	for _, conns := range []int{1, 4} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			mp := testenv.Mailpit(b)
			s, err := Open(mp.SMTPURL(), Options{Connections: conns})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			var next atomic.Int64
			b.SetBytes(int64(len(m.Attachments[0].Data)))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for range conns {
				wg.Go(func() {
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						m := m
						m.ID = fmt.Sprintf("bench-%d@drafter.example", i)
						if err := s.Send(ctx, m); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
