package ledger_test

import (
	"context"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestRecordDocuments records a document and its email together, once.
func TestRecordDocuments(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		importAll(t, s, []portfolio.Account{testAccount("D-1", "11112222"), testAccount("D-2", "11113333")})
		d := civil.MustParse("2026-11-20")
		doc := func(acct, kind, period string) ledger.NewDocument {
			return ledger.NewDocument{DocumentKey: ledger.DocumentKey{AccountID: acct, Kind: kind, Period: period}, DocumentDate: d,
				StorageKey: "statements/" + acct + "/" + period + ".pdf", SHA256: "ab" + acct, Size: 1234,
				Recipient: "zoe@example.com", MailKind: ledger.MailStatementReady}
		}
		docs := []ledger.NewDocument{doc("D-1", "statement", "2026-11"), doc("D-2", "statement", "2026-11"), doc("D-1", "lease_end_90", "2027-01-10")}
		got, err := s.RecordDocuments(ctx, docs)
		if err != nil || len(got) != 3 {
			t.Fatalf("recorded %d (%v), want 3", len(got), err)
		}
		again, err := s.RecordDocuments(ctx, append(docs, doc("D-2", "lease_end_90", "2027-01-10")))
		if err != nil || len(again) != 1 || again[0].AccountID != "D-2" {
			t.Fatalf("again: recorded %+v (%v), want only the new one", again, err)
		}
		var outbox, topics int
		s.DB().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&outbox)
		s.DB().QueryRow(`SELECT COUNT(*) FROM outbox o JOIN documents d ON o.topic = 'document:' || CAST(d.id AS TEXT)
			AND o.payload = '{"document_id":' || CAST(d.id AS TEXT) || '}' AND o.account_id = d.account_id`).Scan(&topics)
		if outbox != 4 || topics != 4 {
			t.Errorf("outbox has %d rows, %d matching their documents; want 4 and 4", outbox, topics)
		}
		have, err := s.Documents(ctx, []ledger.DocumentKey{docs[0].DocumentKey, docs[2].DocumentKey, {AccountID: "D-2", Kind: "statement", Period: "2026-10"}})
		if err != nil || len(have) != 2 {
			t.Fatalf("documents: %+v %v", have, err)
		}
		if h := have[docs[0].DocumentKey]; h.SHA256 != "abD-1" || h.DocumentDate != d || h.Size != 1234 || h.StorageKey != "statements/D-1/2026-11.pdf" {
			t.Errorf("document: %+v", h)
		}
		one, err := s.Document(ctx, got[1].ID)
		if err != nil || one.DocumentKey != docs[1].DocumentKey {
			t.Errorf("by id: %+v %v", one, err)
		}
	})
}

// TestStorageKeyHolders: the kind prefix is matched as written, its '_'
// not a wildcard and its case kept.
func TestStorageKeyHolders(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		importAll(t, s, []portfolio.Account{testAccount("D-1", "11112222")})
		d := civil.MustParse("2026-11-20")
		var docs []ledger.NewDocument
		for _, kind := range []string{"lease_end_90", "leaseXendX90", "LEASE_END_30", "statement"} {
			docs = append(docs, ledger.NewDocument{DocumentKey: ledger.DocumentKey{AccountID: "D-1", Kind: kind, Period: "2027-01-10"},
				DocumentDate: d, StorageKey: "docs/" + kind + ".pdf", SHA256: "ab", Size: 1, Recipient: "zoe@example.com", MailKind: ledger.MailStatementReady})
		}
		if _, err := s.RecordDocuments(ctx, docs); err != nil {
			t.Fatal(err)
		}
		got, err := s.StorageKeyHolders(ctx, []string{"D-1"}, ledger.DocLeaseEndPrefix)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got["docs/lease_end_90.pdf"].Kind != "lease_end_90" {
			t.Fatalf("holders %+v, want only lease_end_90's key", got)
		}
	})
}
