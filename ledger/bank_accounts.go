package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/drafterhq/drafter/civil"
)

// BankAccount is a customer's account at their bank, decrypted for
// origination. AccountNumber is plain: never log it; show Masked.
type BankAccount struct {
	ID               string
	AccountID        string
	Routing          string
	AccountNumber    string
	Last4            string
	Type             string // checking | savings
	HolderName       string
	Prenote          string // required | sent | verified
	PrenoteSettlesOn civil.Date
	Status           string // active | invalid
	StatusReason     string
}

// Masked returns the account number as ****6789.
func (b BankAccount) Masked() string { return Mask(b.Last4) }

const bankAccountSelect = `SELECT id, account_id, routing, number_enc, last4, type, holder_name, prenote, prenote_settles_on, status, status_reason FROM bank_accounts`

func (s *Store) scanBankAccount(row rowScanner) (BankAccount, error) {
	var b BankAccount
	var enc []byte
	if err := row.Scan(&b.ID, &b.AccountID, &b.Routing, &enc, &b.Last4, &b.Type, &b.HolderName, &b.Prenote, &b.PrenoteSettlesOn, &b.Status, &b.StatusReason); err != nil {
		return b, err
	}
	n, err := s.cipher.openRow(enc, bankAccountRow(b.ID))
	if err != nil {
		return b, err
	}
	b.AccountNumber = n
	return b, nil
}

// BankAccount returns one bank account, decrypted.
func (s *Store) BankAccount(ctx context.Context, id string) (BankAccount, error) {
	b, err := s.scanBankAccount(s.q.QueryRowContext(ctx, bankAccountSelect+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return b, fmt.Errorf("bank account %s: %w", id, ErrNotFound)
	}
	return b, err
}
