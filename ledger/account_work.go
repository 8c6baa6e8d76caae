package ledger

import (
	"context"
	"fmt"

	"github.com/drafterhq/drafter/civil"
)

// AccountWork is what the ledger holds of one account for one business
// date: what the jobs of that date did for it.
type AccountWork struct {
	// Payments in the NACHA files of the date (originate).
	Payments int
	// Documents dated the date (statements, lease-end notices).
	Documents int
}

// AccountWorkOn counts what the ledger holds of account for business date
// d; a scoped rerun asks it whether the account had anything in the run.
func (s *Store) AccountWorkOn(ctx context.Context, account string, d civil.Date) (AccountWork, error) {
	var w AccountWork
	err := s.q.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM payments p JOIN originations o ON o.payment_id = p.id WHERE p.account_id = $1 AND o.business_date = $2),
		(SELECT COUNT(*) FROM documents WHERE account_id = $1 AND document_date = $2)`, account, d).Scan(&w.Payments, &w.Documents)
	if err != nil {
		return w, fmt.Errorf("work of account %s on %s: %w", account, d, err)
	}
	return w, nil
}
