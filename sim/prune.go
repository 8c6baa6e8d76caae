package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/mail"
)

// DefaultPruneAfter is how many nights a stored statement or notice is kept
// once it is dated: well past any rerun or backfill the runbook makes of
// its night, and past the retries of its email.
const DefaultPruneAfter = 40

// prune deletes, after a night whose invariants held, what no check and
// no job reads again, so that a year of a large portfolio fits on a disk:
// the messages in the mail pickup folder (each was counted by its
// Message-ID as it was delivered), and the PDFs of documents dated more
// than Options.PruneAfter nights ago whose account has no email still to send
// (deliver attaches the PDF when it sends). The ledger keeps every
// document's record and sha256; only the bytes go. Off unless
// Options.Prune: a short history keeps everything to compare.
func (s *sim) prune(ctx context.Context, d civil.Date) error {
	if p, ok := s.mail.inner.(*mail.Pickup); ok {
		names, err := os.ReadDir(p.Dir())
		if err != nil {
			return fmt.Errorf("prune: list the mail pickup folder: %w", err)
		}
		for _, e := range names {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".eml") {
				continue
			}
			if err := os.Remove(filepath.Join(p.Dir(), e.Name())); err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			s.rep.PrunedEmails++
		}
	}
	before := d.AddDays(-s.opt.PruneAfter)
	if !s.pruneFrom.Before(before) {
		return nil
	}
	db := s.env.Store.DB()
	pending := map[string]bool{}
	// Every status but sent, by name: the outbox's status index answers.
	accts, err := strs(ctx, db, `SELECT DISTINCT account_id FROM outbox WHERE status IN ('queued', 'sending', 'failed')`)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	for _, a := range accts {
		pending[a] = true
	}
	rows, err := db.QueryContext(ctx, `SELECT account_id, storage_key FROM documents WHERE document_date >= $1 AND document_date < $2 ORDER BY id`,
		s.pruneFrom, before)
	if err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	candidates := s.pruneKept
	for rows.Next() {
		var x prunable
		if err := rows.Scan(&x.account, &x.key); err != nil {
			rows.Close()
			return fmt.Errorf("prune: %w", err)
		}
		candidates = append(candidates, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("prune: %w", err)
	}
	s.pruneKept = nil
	for _, x := range candidates {
		if pending[x.account] {
			s.pruneKept = append(s.pruneKept, x)
			continue
		}
		// The store itself, not the outage in front of it: this is the
		// simulation's housekeeping, not drafter's.
		if err := s.docs.Store.Delete(ctx, x.key); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		s.rep.PrunedDocuments++
	}
	s.pruneFrom = before
	return nil
}

// prunable is a stored document prune may delete once its account has no
// email left to send.
type prunable struct{ account, key string }
