package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestNumbersBoundToTheirRows: a sealed account number copied to another
// row (another bank account, another payment) does not open there, and
// says so.
func TestNumbersBoundToTheirRows(t *testing.T) {
	ctx := context.Background()
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		rotationFixture(t, s, 3)
		if err := s.CheckKey(ctx); err != nil {
			t.Fatal(err)
		}
		db := s.DB()
		if _, err := db.Exec(`UPDATE bank_accounts SET number_enc = (SELECT number_enc FROM bank_accounts WHERE id = 'B-R000') WHERE id = 'B-R001'`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BankAccount(ctx, "B-R000"); err != nil {
			t.Fatalf("the original row: %v", err)
		}
		_, err := s.BankAccount(ctx, "B-R001")
		if !errors.Is(err, ledger.ErrNotThisRow) || !strings.Contains(err.Error(), "bank_accounts B-R001") || !strings.Contains(err.Error(), "copied from another row") {
			t.Fatalf("a number copied to another bank account: %v", err)
		}
		var ids []int64
		rows, err := db.Query(`SELECT id FROM payments WHERE number_enc IS NOT NULL ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) < 2 {
			t.Fatalf("%d entry snapshots", len(ids))
		}
		// A payment's snapshot in another payment, and a bank account's
		// number in a payment.
		if _, err := db.Exec(`UPDATE payments SET number_enc = (SELECT number_enc FROM payments WHERE id = $1) WHERE id = $2`, ids[0], ids[1]); err != nil {
			t.Fatal(err)
		}
		var enc []byte
		db.QueryRow(`SELECT number_enc FROM payments WHERE id = $1`, ids[1]).Scan(&enc)
		if _, err := s.OpenNumber("payments", fmt.Sprint(ids[1]), enc); !errors.Is(err, ledger.ErrNotThisRow) ||
			!strings.Contains(err.Error(), fmt.Sprintf("payments %d", ids[1])) {
			t.Fatalf("a snapshot copied to another payment: %v", err)
		}
		db.QueryRow(`SELECT number_enc FROM bank_accounts WHERE id = 'B-R002'`).Scan(&enc)
		if _, err := s.OpenNumber("payments", fmt.Sprint(ids[0]), enc); !errors.Is(err, ledger.ErrNotThisRow) {
			t.Fatalf("a bank account's number in a payment: %v", err)
		}
	})
}

// TestBindOldLedger: a ledger from before migration 0029 (numbers bound to
// no row) is bound by the first CheckKey that finds no run working; a
// binding stopped midway is refused by every other process and finished
// by the next CheckKey; the numbers, MACs and key check value stay; a
// process that opened the ledger before the binding begins no run after
// it; rotate-key works before and after.
func TestBindOldLedger(t *testing.T) {
	ctx := context.Background()
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) {
			url := ledgertest.URL(t, d)
			s := ledgertest.OpenURL(t, url)
			on := rotationFixture(t, s, 23)
			if err := s.CheckKey(ctx); err != nil {
				t.Fatal(err)
			}
			before, macs := ledgertest.SealedNumbers(t, s)
			var check []byte
			s.DB().QueryRow(`SELECT check_value FROM ledger_keys`).Scan(&check)
			ledgertest.Unbind(t, url)

			// An old process at work: the binding waits.
			c, _ := ledger.NewCipher(ledgertest.Key)
			old, err := ledger.Open(ctx, url, c.Unbound())
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			run, err := old.BeginRun(ctx, ledger.RunSpec{Job: "originate", BusinessDate: on, Trigger: "operator", Owner: "old-process"})
			if err != nil {
				t.Fatal(err)
			}
			waiting := openWithKey(t, url, ledgertest.Key)
			if err := waiting.CheckKey(ctx); err != nil || !waiting.NumbersUnbound() {
				t.Fatalf("CheckKey beside a running run: %v, unbound %v; want the old format kept", err, waiting.NumbersUnbound())
			}
			if got, _ := ledgertest.SealedNumbers(t, waiting); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Fatal("the old format does not read the same numbers")
			}
			if err := old.FinishRun(ctx, run.ID, ledger.RunSucceeded, ledger.Counts{}, nil, ""); err != nil {
				t.Fatal(err)
			}

			// Stopped after its second batch, as a kill would.
			stopped := openWithKey(t, url, ledgertest.Key)
			cctx, cancel := context.WithCancel(ctx)
			batches := 0
			stopped.OnBinding(ledger.RotateOptions{Batch: 5, After: func(p ledger.KeyRotation) {
				if p.Step != "begin" {
					if batches++; batches == 2 {
						cancel()
					}
				}
			}})
			if err := stopped.CheckKey(cctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted binding: %v", err)
			}
			if err := openWithKey(t, url, otherKey).CheckKey(ctx); !errors.Is(err, ledger.ErrWrongKey) {
				t.Fatalf("another key during the binding: %v, want ErrWrongKey", err)
			}
			if _, err := old.BeginRun(ctx, ledger.RunSpec{Job: "returns", BusinessDate: on, Trigger: "operator"}); !errors.Is(err, ledger.ErrRotationUnfinished) {
				t.Fatalf("a run begun by an old process during the binding: %v", err)
			}
			other, _ := ledger.NewCipher(otherKey)
			if _, err := openWithKey(t, url, ledgertest.Key).RotateKey(ctx, other, ledger.RotateOptions{}); err == nil || !strings.Contains(err.Error(), "binding") {
				t.Fatalf("rotate-key during the binding: %v", err)
			}

			var p ledger.KeyRotation
			done := openWithKey(t, url, ledgertest.Key)
			done.OnBinding(ledger.RotateOptions{Batch: 5, After: func(r ledger.KeyRotation) { p = r }})
			if err := done.CheckKey(ctx); err != nil || done.NumbersUnbound() {
				t.Fatalf("resumed binding: %v, unbound %v", err, done.NumbersUnbound())
			}
			if !p.Finished || p.Done != int64(len(before)) || p.Version != 2 {
				t.Fatalf("binding: %+v, want finished, %d done, version 2", p, len(before))
			}
			got, gotMACs := ledgertest.SealedNumbers(t, done)
			if fmt.Sprint(got) != fmt.Sprint(before) || fmt.Sprint(gotMACs) != fmt.Sprint(macs) {
				t.Fatal("numbers or MACs changed in the binding")
			}
			if got := ledgertest.Dump(t, done.DB(), `SELECT version, state, binds_rows, check_value = (SELECT check_value FROM ledger_keys WHERE version = 1) FROM ledger_keys ORDER BY version`); !strings.Contains(got, "retired") || strings.Count(got, "|") != 8 {
				t.Fatalf("ledger_keys after the binding:\n%s", got)
			}
			// Every number is bound now: none opens the old way.
			oc := c.Unbound()
			var id string
			var enc []byte
			done.DB().QueryRow(`SELECT id, number_enc FROM bank_accounts ORDER BY id LIMIT 1`).Scan(&id, &enc)
			if _, err := oc.Open(enc, "bank_accounts", id); err == nil {
				t.Fatal("a number still opens unbound after the binding")
			}
			// The old process and the one that waited begin nothing now.
			for name, st := range map[string]*ledger.Store{"old": old, "waiting": waiting} {
				if _, err := st.BeginRun(ctx, ledger.RunSpec{Job: "returns", BusinessDate: on, Trigger: "operator"}); !errors.Is(err, ledger.ErrKeyChanged) {
					t.Fatalf("a run begun by the %s process after the binding: %v, want ErrKeyChanged", name, err)
				}
			}
			var checkAfter []byte
			done.DB().QueryRow(`SELECT check_value FROM ledger_keys WHERE state = 'current'`).Scan(&checkAfter)
			if string(checkAfter) != string(check) {
				t.Fatal("the key check value changed in the binding")
			}
			// rotate-key after the binding.
			if _, err := done.RotateKey(ctx, other, ledger.RotateOptions{Batch: 7}); err != nil {
				t.Fatal(err)
			}
			rotated := openWithKey(t, url, otherKey)
			if err := rotated.CheckKey(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := ledgertest.SealedNumbers(t, rotated); fmt.Sprint(got) != fmt.Sprint(before) {
				t.Fatal("numbers changed in the rotation after the binding")
			}
		})
	}
}

// TestRotateOldLedger: rotate-key on a ledger from before migration 0029
// seals every number bound to its row under the new key.
func TestRotateOldLedger(t *testing.T) {
	for _, d := range ledgertest.Dialects {
		t.Run(d, func(t *testing.T) { rotateOldLedger(t, d) })
	}
}

func rotateOldLedger(t *testing.T, d string) {
	ctx := context.Background()
	url := ledgertest.URL(t, d)
	{
		s := ledgertest.OpenURL(t, url)
		rotationFixture(t, s, 7)
		if err := s.CheckKey(ctx); err != nil {
			t.Fatal(err)
		}
		before, _ := ledgertest.SealedNumbers(t, s)
		ledgertest.Unbind(t, url)
		other, _ := ledger.NewCipher(otherKey)
		if _, err := openWithKey(t, url, ledgertest.Key).RotateKey(ctx, other, ledger.RotateOptions{Batch: 3}); err != nil {
			t.Fatal(err)
		}
		rotated := openWithKey(t, url, otherKey)
		if err := rotated.CheckKey(ctx); err != nil || rotated.NumbersUnbound() {
			t.Fatalf("after rotating an old ledger: %v, unbound %v", err, rotated.NumbersUnbound())
		}
		if got, _ := ledgertest.SealedNumbers(t, rotated); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Fatal("numbers changed")
		}
	}
}
