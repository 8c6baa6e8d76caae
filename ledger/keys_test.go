package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// otherKey is a key that is not ledgertest.Key.
var otherKey = bytes.Repeat([]byte{7}, 32)

// openWithKey opens the migrated database at url with key, closed when t
// ends.
func openWithKey(t *testing.T, url string, key []byte) *ledger.Store {
	t.Helper()
	c, err := ledger.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.Open(context.Background(), url, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countKeys(t *testing.T, s *ledger.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM ledger_keys`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCheckKey(t *testing.T) {
	ctx := context.Background()
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Run("new ledger takes the first key", func(t *testing.T) {
				url := ledgertest.URL(t, d)
				ledgertest.OpenURL(t, url)
				if err := openWithKey(t, url, otherKey).CheckKey(ctx); err != nil {
					t.Fatalf("first key: %v", err)
				}
				if err := openWithKey(t, url, ledgertest.Key).CheckKey(ctx); !errors.Is(err, ledger.ErrWrongKey) {
					t.Fatalf("second key: %v, want ErrWrongKey", err)
				}
				if err := openWithKey(t, url, otherKey).CheckKey(ctx); err != nil {
					t.Fatalf("first key again: %v", err)
				}
			})
			t.Run("ledger with numbers and no check value", func(t *testing.T) {
				url := ledgertest.URL(t, d)
				s := ledgertest.OpenURL(t, url)
				// Imported before drafter kept a check value: the store
				// itself never calls CheckKey.
				importAll(t, s, []portfolio.Account{testAccount("K1", "80417733926105")})
				wrong := openWithKey(t, url, otherKey)
				if err := wrong.CheckKey(ctx); !errors.Is(err, ledger.ErrWrongKey) {
					t.Fatalf("wrong key: %v, want ErrWrongKey", err)
				}
				if n := countKeys(t, s); n != 0 {
					t.Fatalf("a refused key recorded %d rows", n)
				}
				if err := s.CheckKey(ctx); err != nil {
					t.Fatalf("the ledger's key: %v", err)
				}
				if n := countKeys(t, s); n != 1 {
					t.Fatalf("%d ledger_keys rows, want 1", n)
				}
				if err := wrong.CheckKey(ctx); !errors.Is(err, ledger.ErrWrongKey) {
					t.Fatalf("wrong key after recording: %v, want ErrWrongKey", err)
				}
				// The check value reveals neither key nor a key derived
				// the way the cipher derives its own.
				var check, wrapped []byte
				if err := s.DB().QueryRow(`SELECT check_value, mac_key_enc FROM ledger_keys`).Scan(&check, &wrapped); err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(check, ledgertest.Key) || bytes.Contains(wrapped, ledgertest.Key) || len(check) != 32 {
					t.Fatalf("ledger_keys holds the key or a malformed check value")
				}
			})
		})
	}
}

// rotationFixture is a ledger with bank accounts, payments whose entry
// snapshots hold sealed numbers, and prenotes already scheduled.
func rotationFixture(t *testing.T, s *ledger.Store, accounts int) civil.Date {
	t.Helper()
	ctx := context.Background()
	var accts []portfolio.Account
	var ps []ledger.NewPayment
	on := civil.MustParse("2026-12-01")
	for i := 0; i < accounts; i++ {
		id := fmt.Sprintf("R%03d", i)
		a := testAccount(id, fmt.Sprintf("9%08d%03d", i*7919, i))
		if i%3 == 0 {
			a.BankAccounts[0].Prenote = "required"
		}
		accts = append(accts, a)
		ps = append(ps, ledger.NewPayment{Source: ledger.SourceScheduled, SourceKey: id, AccountID: id, BankAccountID: "B-" + id,
			Kind: "debit", SEC: "WEB", Description: "PAYMENT", Amount: 10000, DueOn: on, DraftOn: on})
	}
	importAll(t, s, accts)
	if _, err := s.InsertPayments(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if n, err := s.SchedulePrenotes(ctx, on); err != nil || n == 0 {
		t.Fatalf("scheduled %d prenotes: %v", n, err)
	}
	// Entry snapshots as allocation writes them: the bank account's
	// number, sealed for the payment's row.
	sealSnapshots(t, s)
	return on
}

func TestRotateKey(t *testing.T) {
	ctx := context.Background()
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := ledgertest.URL(t, d)
			old := ledgertest.OpenURL(t, url)
			on := rotationFixture(t, old, 23)
			if err := old.CheckKey(ctx); err != nil {
				t.Fatal(err)
			}
			before, macs := ledgertest.SealedNumbers(t, old)
			if len(before) != 46 {
				t.Fatalf("%d sealed numbers in the fixture, want 46", len(before))
			}
			newCipher, _ := ledger.NewCipher(otherKey)
			spec := func(job string) ledger.RunSpec {
				return ledger.RunSpec{Job: job, BusinessDate: on, Trigger: "operator", Owner: "old-key-process"}
			}

			// A run at work holds the old key: no rotation beside it.
			run, err := old.BeginRun(ctx, spec("originate"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := old.RotateKey(ctx, newCipher, ledger.RotateOptions{Batch: 5, StaleAfter: time.Minute}); err == nil || !strings.Contains(err.Error(), "is running") {
				t.Fatalf("rotation beside a running run: %v", err)
			}
			if err := old.FinishRun(ctx, run.ID, ledger.RunSucceeded, ledger.Counts{}, nil, ""); err != nil {
				t.Fatal(err)
			}

			// Stop after the second batch, as a kill would.
			cctx, cancel := context.WithCancel(ctx)
			batches := 0
			_, err = old.RotateKey(cctx, newCipher, ledger.RotateOptions{Batch: 5, After: func(p ledger.KeyRotation) {
				if p.Step != "begin" {
					if batches++; batches == 2 {
						cancel()
					}
				}
			}})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted rotation: %v", err)
			}
			for name, key := range map[string][]byte{"old": ledgertest.Key, "new": otherKey} {
				if err := openWithKey(t, url, key).CheckKey(ctx); !errors.Is(err, ledger.ErrRotationUnfinished) {
					t.Fatalf("%s key during the rotation: %v, want ErrRotationUnfinished", name, err)
				}
			}
			// A process that opened the ledger before the rotation began
			// begins no run while it is unfinished.
			if _, err := old.BeginRun(ctx, spec("returns")); !errors.Is(err, ledger.ErrRotationUnfinished) {
				t.Fatalf("a run begun with the old key during the rotation: %v, want ErrRotationUnfinished", err)
			}
			if _, err := old.NewImporter(ctx); !errors.Is(err, ledger.ErrRotationUnfinished) {
				t.Fatalf("an import with the old key during the rotation: %v, want ErrRotationUnfinished", err)
			}
			third, _ := ledger.NewCipher(bytes.Repeat([]byte{9}, 32))
			if _, err := openWithKey(t, url, ledgertest.Key).RotateKey(ctx, third, ledger.RotateOptions{Batch: 5}); err == nil {
				t.Fatal("a rotation to a third key began while one was unfinished")
			}

			resumed := openWithKey(t, url, ledgertest.Key)
			p, err := resumed.RotateKey(ctx, newCipher, ledger.RotateOptions{Batch: 5})
			if err != nil {
				t.Fatal(err)
			}
			if !p.Resumed || !p.Finished || p.Done != int64(len(before)) || p.Version != 2 {
				t.Fatalf("resumed rotation: %+v, want resumed, finished, %d done, version 2", p, len(before))
			}

			if err := openWithKey(t, url, ledgertest.Key).CheckKey(ctx); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("old key after the rotation: %v, want ErrWrongKey", err)
			}
			// nor after it.
			if _, err := old.BeginRun(ctx, spec("returns")); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("a run begun with the old key after the rotation: %v, want ErrWrongKey", err)
			}
			if _, _, err := old.ClaimChunk(ctx, run.ID, "old-key-process", time.Minute); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("a chunk claimed with the old key after the rotation: %v, want ErrWrongKey", err)
			}
			if _, err := old.NewImporter(ctx); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("an import with the old key after the rotation: %v, want ErrWrongKey", err)
			}
			stale := openWithKey(t, url, ledgertest.Key)
			for _, table := range []string{"bank_accounts", "payments"} {
				var id string
				var enc []byte
				if err := stale.DB().QueryRow(`SELECT id, number_enc FROM `+table+` WHERE number_enc IS NOT NULL ORDER BY id LIMIT 1`).Scan(&id, &enc); err != nil {
					t.Fatal(err)
				}
				if _, err := stale.OpenNumber(table, id, enc); err == nil {
					t.Fatalf("%s %s: the old key still opens a rotated number", table, id)
				}
			}
			s := openWithKey(t, url, otherKey)
			if err := s.CheckKey(ctx); err != nil {
				t.Fatalf("new key after the rotation: %v", err)
			}
			after, aftermacs := ledgertest.SealedNumbers(t, s)
			if fmt.Sprint(after) != fmt.Sprint(before) || fmt.Sprint(aftermacs) != fmt.Sprint(macs) {
				t.Fatal("numbers or MACs changed in the rotation")
			}
			for id, n := range after {
				if strings.HasPrefix(id, "bank_accounts ") {
					if got := s.MAC(n); got != macs[id] {
						t.Fatalf("%s: MAC under the rotated key %s, stored %s", id, got, macs[id])
					}
				}
			}
			// Prenote keys carry a MAC prefix: none is scheduled again.
			if n, err := s.SchedulePrenotes(ctx, on); err != nil || n != 0 {
				t.Fatalf("after the rotation %d prenotes scheduled again (%v), want 0", n, err)
			}
			// Imports compare MACs: the same number is no change, and the
			// stored number is kept.
			var encBefore, encAfter []byte
			s.DB().QueryRow(`SELECT number_enc FROM bank_accounts WHERE id = 'B-R001'`).Scan(&encBefore)
			importAll(t, s, []portfolio.Account{testAccount("R001", "900007919001")})
			s.DB().QueryRow(`SELECT number_enc FROM bank_accounts WHERE id = 'B-R001'`).Scan(&encAfter)
			if len(encBefore) == 0 || !bytes.Equal(encBefore, encAfter) {
				t.Fatal("reimporting the same number after the rotation replaced it: its MAC no longer matched")
			}
			// Run again after it finished, with either key as the current
			// one: nothing to do.
			for name, key := range map[string][]byte{"old": ledgertest.Key, "new": otherKey} {
				if p, err := openWithKey(t, url, key).RotateKey(ctx, newCipher, ledger.RotateOptions{Batch: 5}); err != nil || !p.AlreadyCurrent {
					t.Fatalf("rotate-key again with the %s key as the current one: %+v %v, want already current", name, p, err)
				}
			}
			if _, err := openWithKey(t, url, ledgertest.Key).RotateKey(ctx, third, ledger.RotateOptions{Batch: 5}); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("rotating from the retired key: %v, want ErrWrongKey", err)
			}
		})
	}
}

// TestRotationWaitsForImport: an import under way when a rotation begins
// holds it back until it commits, and its numbers are then re-encrypted
// with the rest; none is left under the old key.
func TestRotationWaitsForImport(t *testing.T) {
	ctx := context.Background()
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := ledgertest.URL(t, d)
			s := ledgertest.OpenURL(t, url)
			rotationFixture(t, s, 4)
			if err := s.CheckKey(ctx); err != nil {
				t.Fatal(err)
			}
			im, err := s.NewImporter(ctx)
			if err != nil {
				t.Fatal(err)
			}
			newCipher, _ := ledger.NewCipher(otherKey)
			done := make(chan error, 1)
			go func() {
				_, err := openWithKey(t, url, ledgertest.Key).RotateKey(ctx, newCipher, ledger.RotateOptions{Batch: 2})
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("the rotation did not wait for the import: %v", err)
			case <-time.After(500 * time.Millisecond):
			}
			if _, err := im.Import(ctx, []portfolio.Account{testAccount("LATE", "55501234567")}); err != nil {
				im.Rollback()
				t.Fatal(err)
			}
			if err := im.Commit(); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			after := openWithKey(t, url, otherKey)
			if err := after.CheckKey(ctx); err != nil {
				t.Fatal(err)
			}
			ba, err := after.BankAccount(ctx, "B-LATE")
			if err != nil || ba.AccountNumber != "55501234567" {
				t.Fatalf("the number imported during the rotation: %q %v", ba.AccountNumber, err)
			}
		})
	}
}

// sealSnapshots gives every debit payment an entry snapshot: its bank
// account's number sealed for the payment's row, as allocation writes it.
func sealSnapshots(t *testing.T, s *ledger.Store) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.DB().Query(`SELECT id, bank_account_id FROM payments WHERE kind = 'debit' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type snap struct {
		id   int64
		bank string
	}
	var snaps []snap
	for rows.Next() {
		var p snap
		if err := rows.Scan(&p.id, &p.bank); err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, p)
	}
	rows.Close()
	for _, p := range snaps {
		b, err := s.BankAccount(ctx, p.bank)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().Exec(`UPDATE payments SET number_enc = $1 WHERE id = $2`, s.SealNumber("payments", fmt.Sprint(p.id), b.AccountNumber), p.id); err != nil {
			t.Fatal(err)
		}
	}
}
