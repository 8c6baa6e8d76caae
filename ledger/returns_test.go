package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
)

// TestInboundFileOnce records an inbound file at most once: a rejected file
// twice records one rejection and one exception; an applied file applied
// again is ErrAlreadyProcessed and changes nothing; an unmatched return and
// an exception are kept; a file rejected before applies once it parses.
func TestInboundFileOnce(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		d := civil.MustParse("2026-12-02")
		f := ledger.InboundFile{SHA256: "ab12", Name: "r.ach", StorageKey: "ach/received/ab12.ach", Error: "r.ach:3: entry amount: \"x\" is not digits"}
		ex := ledger.Exception{Kind: "inbound_rejected", Reference: "ab12", Detail: f.Error, Raw: "6..."}
		for i, want := range []bool{true, false} {
			got, err := s.RejectInbound(ctx, f, ex)
			if err != nil || got != want {
				t.Fatalf("reject %d: %v %v", i, got, err)
			}
		}
		if got, err := s.InboundFileBySHA(ctx, "ab12"); err != nil || got.Status != ledger.InboundRejected || got.Error != f.Error {
			t.Fatalf("recorded %+v %v", got, err)
		}
		plan := ledger.InboundPlan{File: f,
			Returns: []ledger.ReturnApply{{EntryKey: "trace 021000020000009 100 ****1234 R01", OriginalTrace: "021000020000009", Code: "R01", Amount: 100, ReturnedOn: d, Action: "unmatched",
				Exception: &ledger.Exception{Kind: "return_unmatched", Reference: "021000020000009", Detail: "no payment", Raw: "626..."}}}}
		decide := func(targets map[string][]ledger.ReturnTarget) (ledger.InboundPlan, error) {
			if len(targets) != 0 {
				t.Fatalf("targets %v", targets)
			}
			return plan, nil
		}
		res, err := s.ApplyInbound(ctx, []string{"021000020000009"}, decide)
		if err != nil || len(res.Returns) != 1 || res.Exceptions != 1 {
			t.Fatalf("apply: %+v %v", res, err)
		}
		if _, err := s.ApplyInbound(ctx, []string{"021000020000009"}, decide); !errors.Is(err, ledger.ErrAlreadyProcessed) {
			t.Fatalf("apply again: %v", err)
		}
		exs, err := s.Exceptions(ctx, false)
		if err != nil || len(exs) != 2 || exs[0].Kind != "inbound_rejected" || exs[1].Raw != "626..." {
			t.Fatalf("exceptions %+v %v", exs, err)
		}
		debits, byCode, err := s.ReturnCounts(ctx, d.AddDays(-59), d)
		if err != nil || debits != 0 || len(byCode) != 0 {
			t.Fatalf("an unmatched return counts in the rates: %d %v %v", debits, byCode, err)
		}
	})
}

// TestResolveException: an open exception is resolved once, with who and
// what was done, and leaves the open list; resolving it again or one that
// does not exist says so and changes nothing.
func TestResolveException(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		f := ledger.InboundFile{SHA256: "cd34", Name: "r.ach", StorageKey: "ach/received/cd34.ach", Error: "r.ach:1: record length"}
		if _, err := s.RejectInbound(ctx, f, ledger.Exception{Kind: "inbound_rejected", Reference: "cd34", Detail: f.Error}); err != nil {
			t.Fatal(err)
		}
		exs, err := s.Exceptions(ctx, false)
		if err != nil || len(exs) != 1 {
			t.Fatalf("open exceptions %+v %v", exs, err)
		}
		id := exs[0].ID
		e, err := s.ResolveException(ctx, id, "ana", "bank resent the file; applied as r2.ach")
		if err != nil || e.Resolved == nil || e.ResolvedBy != "ana" || e.Resolution != "bank resent the file; applied as r2.ach" {
			t.Fatalf("resolve: %+v %v", e, err)
		}
		if open, _ := s.Exceptions(ctx, false); len(open) != 0 {
			t.Fatalf("still open: %+v", open)
		}
		var actor, action, reason string
		if err := s.DB().QueryRowContext(ctx, `SELECT actor, action, reason FROM audit ORDER BY id DESC LIMIT 1`).Scan(&actor, &action, &reason); err != nil ||
			actor != "ana" || action != "resolve exception" || reason != "bank resent the file; applied as r2.ach" {
			t.Fatalf("audit row: %q %q %q %v", actor, action, reason, err)
		}
		again, err := s.ResolveException(ctx, id, "bob", "again")
		if !errors.Is(err, ledger.ErrAlreadyResolved) || again.ResolvedBy != "ana" {
			t.Fatalf("resolve again: %+v %v; want ErrAlreadyResolved with the first resolution", again, err)
		}
		if _, err := s.ResolveException(ctx, id+100, "ana", "x"); !errors.Is(err, ledger.ErrNotFound) {
			t.Fatalf("resolve a missing exception: %v", err)
		}
		all, err := s.Exceptions(ctx, true)
		if err != nil || len(all) != 1 || all[0].ResolvedBy != "ana" || all[0].Resolved == nil {
			t.Fatalf("all exceptions %+v %v", all, err)
		}
	})
}

// TestApplyInboundPartsWhole: a file applied in parts is recorded once
// with the parts' counts; an error after a part was written rolls back
// every part and the file's record.
func TestApplyInboundPartsWhole(t *testing.T) {
	ledgertest.Each(t, func(t *testing.T, s *ledger.Store) {
		ctx := context.Background()
		d := civil.MustParse("2026-12-02")
		unmatched := func(trace string) func(map[string][]ledger.ReturnTarget) (ledger.InboundPlan, error) {
			return func(map[string][]ledger.ReturnTarget) (ledger.InboundPlan, error) {
				return ledger.InboundPlan{Returns: []ledger.ReturnApply{{EntryKey: "trace " + trace, OriginalTrace: trace, Code: "R01", Amount: 100,
					ReturnedOn: d, Action: "unmatched", Exception: &ledger.Exception{Kind: "return_unmatched", Reference: trace, Detail: "no payment"}}}}, nil
			}
		}
		count := func(q string) int {
			var n int
			if err := s.DB().QueryRowContext(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		broken := errors.New("part 3 failed")
		f := ledger.InboundFile{SHA256: "ef56", Name: "r.ach", StorageKey: "ach/received/ef56.ach"}
		_, err := s.ApplyInboundParts(ctx, f, func(apply ledger.InboundPart) error {
			for _, tr := range []string{"021000020000001", "021000020000002"} {
				if _, err := apply([]string{tr}, unmatched(tr)); err != nil {
					return err
				}
			}
			return broken
		})
		if !errors.Is(err, broken) {
			t.Fatalf("apply: %v", err)
		}
		if n := count(`SELECT COUNT(*) FROM returns`) + count(`SELECT COUNT(*) FROM exceptions`) + count(`SELECT COUNT(*) FROM inbound_files`); n != 0 {
			t.Fatalf("a failed file left %d rows", n)
		}
		res, err := s.ApplyInboundParts(ctx, f, func(apply ledger.InboundPart) error {
			for _, tr := range []string{"021000020000001", "021000020000002", "021000020000003"} {
				part, err := apply([]string{tr}, unmatched(tr))
				if err != nil || len(part.Returns) != 1 {
					return fmt.Errorf("part %s: %+v %v", tr, part, err)
				}
			}
			return nil
		})
		if err != nil || res.Exceptions != 3 || len(res.Returns) != 0 {
			t.Fatalf("apply: %+v %v", res, err)
		}
		if got, err := s.InboundFileBySHA(ctx, "ef56"); err != nil || got.Returns != 3 || got.Status != ledger.InboundApplied {
			t.Fatalf("recorded %+v %v", got, err)
		}
		if _, err := s.ApplyInboundParts(ctx, f, func(ledger.InboundPart) error { return nil }); !errors.Is(err, ledger.ErrAlreadyProcessed) {
			t.Fatalf("apply again: %v", err)
		}
	})
}
