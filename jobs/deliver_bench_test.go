package jobs_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/storage"
)

// BenchmarkDeliver50KB measures the deliver job end to end (claim, read the
// document, compose, send to a local mailpit, mark sent) for statement
// emails with a 50 KB PDF attached, over 1 and 4 SMTP connections, in
// messages per second. Run with a fixed count: -benchtime=300x.
func BenchmarkDeliver50KB(b *testing.B) {
	for _, dialect := range ledgertest.Dialects {
		for _, conns := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/conns=%d", dialect, conns), func(b *testing.B) {
				ctx := context.Background()
				mp := testenv.Mailpit(b)
				env := benchEnv(b, dialect, map[string]string{"DRAFTER_MAIL_URL": mp.SMTPURL(), "DRAFTER_MAIL_CONNECTIONS": fmt.Sprint(conns)})
				var buf bytes.Buffer
				for _, a := range holidayWeek() {
					line, _ := jsonLine(a)
					buf.Write(line)
				}
				if _, err := jobs.ImportFile(ctx, env.Store, &buf, "bench.jsonl", jobs.ImportOptions{}); err != nil {
					b.Fatal(err)
				}
				pdf := make([]byte, 50<<10)
				r := rand.New(rand.NewPCG(1, 2))
				for i := range pdf {
					pdf[i] = byte(r.IntN(256))
				}
				copy(pdf, "%PDF-1.4\n")
				key := "statements/LN-1/2026-11.pdf"
				if _, err := env.Docs.Put(ctx, key, pdf, storage.PutOptions{ContentType: "application/pdf"}); err != nil {
					b.Fatal(err)
				}
				sum := sha256.Sum256(pdf)
				var docID int64
				if err := env.Store.DB().QueryRowContext(ctx, `INSERT INTO documents (account_id, kind, period, document_date, storage_key, sha256, size, created_at)
					VALUES ('LN-1', 'statement', '2026-11', $1, $2, $3, $4, $5) RETURNING id`, deliverDate, key, hex.EncodeToString(sum[:]), len(pdf), time.Now().UTC()).Scan(&docID); err != nil {
					b.Fatal(err)
				}
				due := money.Cents(41275)
				msgs := make([]ledger.NewOutboxMessage, b.N)
				for i := range msgs {
					msgs[i] = ledger.NewOutboxMessage{Topic: fmt.Sprintf("document:%d:copy%d", docID, i), Recipient: "ln-1@example.com", Kind: "statement_ready",
						AccountID: "LN-1", Payload: ledger.OutboxDocumentPayload{DocumentID: docID, AmountDue: &due, DueDate: civil.MustParse("2026-12-27")}}
				}
				if _, err := env.Store.QueueOutbox(ctx, msgs); err != nil {
					b.Fatal(err)
				}
				clk := newClock()
				b.ResetTimer()
				start := time.Now()
				res, err := env.Start(ctx, jobs.Deliver{Now: clk.Now}, jobs.StartSpec{Date: deliverDate, Trigger: "operator"})
				took := time.Since(start)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if s := res.Summary.(*jobs.DeliverSummary); s.Sent != b.N {
					b.Fatalf("sent %d of %d: %+v", s.Sent, b.N, s)
				}
				b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
			})
		}
	}
}
