package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

func TestOperators(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		o, token, err := s.AddOperator(ctx, "alice", ledger.RoleOperator, "root")
		if err != nil {
			t.Fatal(err)
		}
		if len(token) < 32 || o.Role != ledger.RoleOperator || o.Status != ledger.OperatorActive {
			t.Fatalf("added %+v with token %q", o, token)
		}
		// Only the digest is kept: the token is nowhere in the table.
		dump := ledgertest.Dump(t, s.DB(), `SELECT * FROM operators`)
		if strings.Contains(dump, token) || !strings.Contains(dump, ledger.TokenDigest(token)) {
			t.Errorf("operators table holds the token or not its digest:\n%s", dump)
		}
		if _, _, err := s.AddOperator(ctx, "alice", ledger.RoleAdmin, "root"); !errors.Is(err, ledger.ErrOperatorExists) {
			t.Errorf("second alice: %v, want ErrOperatorExists", err)
		}
		for _, bad := range [][2]string{{"bob smith", ledger.RoleViewer}, {"", ledger.RoleViewer}, {"bob", "root"}} {
			if _, _, err := s.AddOperator(ctx, bad[0], bad[1], "root"); err == nil {
				t.Errorf("AddOperator(%q, %q) accepted", bad[0], bad[1])
			}
		}
		got, err := s.OperatorByToken(ctx, token)
		if err != nil || got.Name != "alice" || !got.Can(ledger.RoleViewer) || !got.Can(ledger.RoleOperator) || got.Can(ledger.RoleAdmin) {
			t.Fatalf("by token: %+v, %v", got, err)
		}
		if _, err := s.OperatorByToken(ctx, token+"x"); !errors.Is(err, ledger.ErrBadToken) {
			t.Errorf("wrong token: %v", err)
		}

		// A session lives until signed out, idle or expired.
		id, sess, err := s.BeginSession(ctx, got, time.Hour)
		if err != nil || sess.CSRF == "" {
			t.Fatal(err)
		}
		if back, err := s.SessionByID(ctx, id, time.Minute); err != nil || back.Operator.Name != "alice" || back.CSRF != sess.CSRF {
			t.Fatalf("session: %+v %v", back, err)
		}
		if _, err := s.SessionByID(ctx, id, 0); !errors.Is(err, ledger.ErrNoSession) {
			t.Errorf("idle session: %v, want ErrNoSession", err)
		}
		if _, err := s.SessionByID(ctx, id, time.Hour); !errors.Is(err, ledger.ErrNoSession) {
			t.Errorf("an idle session ended stays ended: %v", err)
		}
		id, _, _ = s.BeginSession(ctx, got, -time.Second)
		if _, err := s.SessionByID(ctx, id, time.Hour); !errors.Is(err, ledger.ErrNoSession) {
			t.Errorf("expired session: %v", err)
		}
		id, _, _ = s.BeginSession(ctx, got, time.Hour)
		if err := s.EndSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByID(ctx, id, time.Hour); !errors.Is(err, ledger.ErrNoSession) {
			t.Errorf("signed out: %v", err)
		}

		// Rotation: the old token and sessions are worthless, the new works.
		id, _, _ = s.BeginSession(ctx, got, time.Hour)
		fresh, err := s.RotateOperator(ctx, "alice", "root")
		if err != nil || fresh == token {
			t.Fatalf("rotate: %v", err)
		}
		if _, err := s.OperatorByToken(ctx, token); !errors.Is(err, ledger.ErrBadToken) {
			t.Errorf("old token after rotation: %v", err)
		}
		if _, err := s.SessionByID(ctx, id, time.Hour); !errors.Is(err, ledger.ErrNoSession) {
			t.Errorf("session after rotation: %v", err)
		}
		if _, err := s.OperatorByToken(ctx, fresh); err != nil {
			t.Errorf("new token: %v", err)
		}

		// Disabled: its token signs nothing in.
		if err := s.SetOperatorStatus(ctx, "alice", ledger.OperatorDisabled, "root"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OperatorByToken(ctx, fresh); !errors.Is(err, ledger.ErrBadToken) {
			t.Errorf("disabled operator's token: %v", err)
		}
		if err := s.SetOperatorStatus(ctx, "nobody", ledger.OperatorDisabled, "root"); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("disable nobody: %v", err)
		}
		ops, err := s.Operators(ctx)
		if err != nil || len(ops) != 1 || ops[0].Status != ledger.OperatorDisabled || ops[0].RotatedAt == nil {
			t.Errorf("list: %+v %v", ops, err)
		}
		audit := ledgertest.Dump(t, s.DB(), `SELECT actor, action, target FROM audit ORDER BY id`)
		for _, want := range []string{"root operator add operator alice", "alice sign in console", "root operator rotate operator alice", "root operator disable operator alice"} {
			if !strings.Contains(strings.ReplaceAll(audit, "|", " "), want) {
				t.Errorf("audit lacks %q:\n%s", want, audit)
			}
		}
	})
}
