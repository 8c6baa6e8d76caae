package sim

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/money"
)

// reaction is a customer's answer to what drafter told them, and what the
// ledger must show for it.
type reaction struct {
	account string
	on      civil.Date // the night the servicing system has it
	kind    string     // "pay" (a one-time payment) or "stop" (autopay)
	// pay: the one-time payment's id in the extract and its debit date
	payment string
	debit   civil.Date
	// stop: the enrollment stopped
	enrollment string
}

// react draws the customers' answers to tonight's statements and returns:
// a customer whose statement shows an amount past due pays it with a
// one-time payment in the portal (half of them); a customer whose debit
// came back for want of funds (R01, R09) stops autopay (a third of them).
// The servicing system has each change the next night.
func (s *sim) react(ctx context.Context, d civil.Date) error {
	db := s.env.Store.DB()
	next, err := s.maxID(ctx, "documents")
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT x.account_id, r.past_due FROM documents x
		JOIN record_balances r ON r.account_id = x.account_id AND r.on_date = x.document_date
		WHERE x.id > $1 AND x.kind = 'statement' AND r.past_due > 0 ORDER BY x.account_id`, s.reactDocMark)
	if err != nil {
		return err
	}
	type due struct {
		id  string
		amt money.Cents
	}
	var pastDue []due
	for rows.Next() {
		var x due
		if err := rows.Scan(&x.id, &x.amt); err != nil {
			rows.Close()
			return err
		}
		pastDue = append(pastDue, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	draft := func(due civil.Date, before int) civil.Date {
		if before == 0 {
			before = s.env.Config.DraftLeadDays
		}
		return jobs.DraftDate(due, before, s.env.Calendar)
	}
	for _, x := range pastDue {
		if s.r.IntN(2) != 0 {
			continue
		}
		a := s.sys.current(x.id, d.AddDays(1))
		if a.Status != "active" || activeBank(&a) == "" {
			continue
		}
		c := change{kind: "onetime", amount: x.amt, debit: d.AddDays(3 + s.r.IntN(5))}
		if !portalAllows(&a, d.AddDays(1), c.debit, draft) {
			continue
		}
		s.sys.react(x.id, d, c)
		id := x.id + "-S" + strconv.Itoa(len(s.sys.changes[x.id]))
		s.reactions = append(s.reactions, reaction{account: x.id, on: d.AddDays(1), kind: "pay", payment: id, debit: c.debit})
		s.rep.Reactions++
	}
	s.reactDocMark = next

	nextRet, err := s.maxID(ctx, "returns")
	if err != nil {
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT DISTINCT p.account_id FROM returns r JOIN payments p ON p.id = r.payment_id
		WHERE r.id > $1 AND r.code IN ('R01', 'R09') AND p.source = 'autopay' ORDER BY p.account_id`, s.reactRetMark)
	if err != nil {
		return err
	}
	var returned []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		returned = append(returned, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range returned {
		if s.r.IntN(3) != 0 {
			continue
		}
		a := s.sys.current(id, d.AddDays(1))
		if a.Status != "active" || a.Autopay == nil || a.Autopay.Status != "active" || s.sys.reactedOn(id, d.AddDays(1)) {
			continue
		}
		s.sys.react(id, d, change{kind: "stop"})
		s.reactions = append(s.reactions, reaction{account: id, on: d.AddDays(1), kind: "stop", enrollment: a.Autopay.ID})
		s.rep.Reactions++
	}
	s.reactRetMark = nextRet
	return nil
}

// checkReactions: what a customer did in answer is in the ledger. A
// one-time payment made after a past-due statement is originated (or held
// with a reason) by the night after its debit date; an autopay the
// customer stopped after a return is never debited again from the night
// the servicing system has the stop (its import comes before that night's
// originate). A stop is watched for 60 nights.
func (s *sim) checkReactions(ctx context.Context, d civil.Date) (string, error) {
	db := s.env.Store.DB()
	keep := s.reactions[:0]
	for _, x := range s.reactions {
		if x.on.After(d) {
			keep = append(keep, x)
			continue
		}
		switch x.kind {
		case "pay":
			if !d.After(x.debit) {
				keep = append(keep, x)
				continue
			}
			// Its state as its originations record says: the row reads
			// scheduled until its file is settled.
			var state, reason string
			err := db.QueryRowContext(ctx, `SELECT CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END,
				p.state_reason FROM payments p LEFT JOIN originations o ON o.payment_id = p.id
				WHERE p.source = 'scheduled' AND p.source_key = $1`, x.payment).Scan(&state, &reason)
			if err != nil {
				return fmt.Sprintf("%s: the customer paid the past-due amount with one-time payment %s for %s (servicing system on %s); drafter has no payment for it on %s (%v)",
					x.account, x.payment, x.debit, x.on, d, err), nil
			}
			// Still scheduled (waiting for a prenote, say): checkDue
			// holds it to its draft date; watch it a while longer.
			if state == "scheduled" && reason == "" && d.DaysSince(x.debit) < 60 {
				keep = append(keep, x)
			}
		case "stop":
			// Originated is its originations record, settled or not.
			var id int64
			var on string
			err := db.QueryRowContext(ctx, `SELECT p.id, CAST(o.business_date AS TEXT) FROM payments p JOIN originations o ON o.payment_id = p.id
				WHERE p.account_id = $1 AND p.source = 'autopay' AND p.source_key LIKE $2 AND o.business_date >= $3 ORDER BY p.id LIMIT 1`,
				x.account, x.enrollment+":%", x.on).Scan(&id, &on)
			if err == nil {
				return fmt.Sprintf("%s: the customer stopped autopay %s (servicing system on %s); autopay payment %d was originated on %s", x.account, x.enrollment, x.on, id, on[:10]), nil
			}
			if d.DaysSince(x.on) < 60 {
				keep = append(keep, x)
			}
		}
	}
	s.reactions = slices.Clip(keep)
	return "", nil
}

// reactedOn reports whether the account has a customer's change for night
// d already.
func (s *servicing) reactedOn(id string, d civil.Date) bool { return s.reacted[d][id] }
