package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/money"
)

// Document kinds and the email each queues.
const (
	DocStatement       = "statement"
	DocLeaseEndPrefix  = "lease_end_" // + the threshold in days: lease_end_90
	MailStatementReady = "statement_ready"
	MailLeaseEndNotice = "lease_end_notice"
)

// DocumentKey identifies a document: (account, kind, period) is unique.
type DocumentKey struct {
	AccountID string
	Kind      string // statement, lease_end_90, ...
	Period    string // YYYY-MM for a statement, the maturity date for a notice
}

// Document is a rendered document as recorded.
type Document struct {
	ID int64
	DocumentKey
	DocumentDate civil.Date
	StorageKey   string
	SHA256       string
	Size         int64
}

// NewDocument is a stored document to record, and the email it queues.
type NewDocument struct {
	DocumentKey
	DocumentDate civil.Date
	StorageKey   string
	SHA256       string
	Size         int64
	// Recipient and MailKind are the outbox row queued with the document.
	Recipient string
	MailKind  string
	// NewBalance is a statement's new balance, which the account's next
	// statement opens with; nil for other documents.
	NewBalance *money.Cents
}

// Documents returns the recorded documents among keys, by key.
func (s *Store) Documents(ctx context.Context, keys []DocumentKey) (map[DocumentKey]Document, error) {
	out := map[DocumentKey]Document{}
	if len(keys) == 0 {
		return out, nil
	}
	want := make(map[DocumentKey]bool, len(keys))
	var ids, kinds, periods []string
	seen := map[string]bool{}
	add := func(list *[]string, prefix, v string) {
		if !seen[prefix+v] {
			seen[prefix+v] = true
			*list = append(*list, v)
		}
	}
	for _, k := range keys {
		want[k] = true
		add(&ids, "a:", k.AccountID)
		add(&kinds, "k:", k.Kind)
		add(&periods, "p:", k.Period)
	}
	inIDs, args := s.inList(ids, 0)
	inKinds, kargs := s.inList(kinds, len(args))
	args = append(args, kargs...)
	inPeriods, pargs := s.inList(periods, len(args))
	args = append(args, pargs...)
	err := s.each(ctx, `SELECT id, account_id, kind, period, document_date, storage_key, sha256, size FROM documents
		WHERE account_id IN (`+inIDs+`) AND kind IN (`+inKinds+`) AND period IN (`+inPeriods+`)`, args,
		func(scan func(...any) error) error {
			var d Document
			if err := scan(&d.ID, &d.AccountID, &d.Kind, &d.Period, &d.DocumentDate, &d.StorageKey, &d.SHA256, &d.Size); err != nil {
				return err
			}
			if want[d.DocumentKey] {
				out[d.DocumentKey] = d
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select documents: %w", err)
	}
	return out, nil
}

// StorageKeyHolders returns, among the recorded documents of the accounts
// whose kind starts with kindPrefix, which document holds each storage key.
// A job that stores a new document under a fixed key asks it whether an
// earlier document (another period) holds that key already.
func (s *Store) StorageKeyHolders(ctx context.Context, accountIDs []string, kindPrefix string) (map[string]DocumentKey, error) {
	out := map[string]DocumentKey{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	in, args := s.inList(accountIDs, 0)
	// A prefix compared as it is: LIKE would take its '_' for any
	// character (and SQLite's LIKE ignores case).
	args = append(args, kindPrefix)
	err := s.each(ctx, `SELECT account_id, kind, period, storage_key FROM documents
		WHERE account_id IN (`+in+`) AND SUBSTR(kind, 1, `+strconv.Itoa(utf8.RuneCountInString(kindPrefix))+`) = $`+strconv.Itoa(len(args)), args,
		func(scan func(...any) error) error {
			var k DocumentKey
			var key string
			if err := scan(&k.AccountID, &k.Kind, &k.Period, &key); err != nil {
				return err
			}
			out[key] = k
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("select documents' storage keys: %w", err)
	}
	return out, nil
}

// RecordDocuments records stored documents and queues each one's email in
// the same transaction: a document is recorded and its email queued
// together or not at all. A document already recorded under its key is left
// as it is and queues nothing. It returns the documents it recorded.
func (s *Store) RecordDocuments(ctx context.Context, docs []NewDocument) ([]Document, error) {
	var recorded []Document
	if len(docs) == 0 {
		return nil, nil
	}
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		recorded = recorded[:0]
		t := now()
		insDoc, err := tx.PrepareContext(ctx, `INSERT INTO documents (account_id, kind, period, document_date, storage_key, sha256, size, created_at, new_balance)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (account_id, kind, period) DO NOTHING RETURNING id`)
		if err != nil {
			return fmt.Errorf("prepare document insert: %w", err)
		}
		defer insDoc.Close()
		insMail, err := tx.PrepareContext(ctx, `INSERT INTO outbox (topic, recipient, kind, account_id, payload, status, next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) ON CONFLICT (topic, recipient) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("prepare outbox insert: %w", err)
		}
		defer insMail.Close()
		for _, d := range docs {
			var id int64
			err := insDoc.QueryRowContext(ctx, d.AccountID, d.Kind, d.Period, d.DocumentDate, d.StorageKey, d.SHA256, d.Size, t, newBalance(d.NewBalance)).Scan(&id)
			if err == sql.ErrNoRows {
				continue // recorded before: its email was queued then
			}
			if err != nil {
				return fmt.Errorf("record document %s %s %s: %w", d.AccountID, d.Kind, d.Period, err)
			}
			ids := strconv.FormatInt(id, 10)
			if _, err := insMail.ExecContext(ctx, "document:"+ids, d.Recipient, d.MailKind, d.AccountID, `{"document_id":`+ids+`}`, t); err != nil {
				return fmt.Errorf("queue email for document %d: %w", id, err)
			}
			recorded = append(recorded, Document{ID: id, DocumentKey: d.DocumentKey, DocumentDate: d.DocumentDate,
				StorageKey: d.StorageKey, SHA256: d.SHA256, Size: d.Size})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// Document returns one recorded document by id.
func (s *Store) Document(ctx context.Context, id int64) (Document, error) {
	var d Document
	err := s.q.QueryRowContext(ctx, `SELECT id, account_id, kind, period, document_date, storage_key, sha256, size FROM documents WHERE id = $1`, id).
		Scan(&d.ID, &d.AccountID, &d.Kind, &d.Period, &d.DocumentDate, &d.StorageKey, &d.SHA256, &d.Size)
	if err == sql.ErrNoRows {
		return d, fmt.Errorf("document %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return d, fmt.Errorf("select document %d: %w", id, err)
	}
	return d, nil
}

// FirstDocument returns the first recorded document whose kind starts
// with kindPrefix (a statement, a lease-end notice), or ErrNotFound.
func (s *Store) FirstDocument(ctx context.Context, kindPrefix string) (Document, error) {
	var id int64
	err := s.q.QueryRowContext(ctx, `SELECT id FROM documents WHERE kind LIKE $1 ORDER BY id LIMIT 1`, kindPrefix+"%").Scan(&id)
	if err == sql.ErrNoRows {
		return Document{}, fmt.Errorf("document of kind %s: %w", kindPrefix, ErrNotFound)
	}
	if err != nil {
		return Document{}, fmt.Errorf("select document of kind %s: %w", kindPrefix, err)
	}
	return s.Document(ctx, id)
}

func newBalance(c *money.Cents) any {
	if c == nil {
		return nil
	}
	return int64(*c)
}
