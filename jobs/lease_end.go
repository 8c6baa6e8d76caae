package jobs

import (
	"context"
	"fmt"
	"strconv"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/statements"
)

// LeaseEnd sends the lease-end notice of every active lease that has
// reached a threshold (90, 60 and 30 days before maturity by default):
// rendered, stored under notices/ACCOUNT/lease-end-Nd.pdf, recorded with its
// email queued in the same transaction. Each threshold is sent once per
// lease and maturity date; a threshold whose day had no run is sent on the
// next run (statements.DueThreshold), and the documents' unique key keeps
// it once. When a lease is extended after a threshold's notice, the new
// maturity date's notice of that threshold is sent too, stored beside the
// first (ReissuedNoticeKey).
type LeaseEnd struct {
	// Thresholds are the days before maturity (default the setting
	// DRAFTER_LEASE_END_DAYS, else statements.LeaseEndThresholds).
	Thresholds []int
	// Workers is how many goroutines render (default GOMAXPROCS).
	Workers int
}

// Name implements Job.
func (LeaseEnd) Name() string { return "lease-end" }

// Run implements Job.
func (j LeaseEnd) Run(ctx context.Context, r *Run) (any, error) {
	d := r.Date
	ts := j.Thresholds
	if len(ts) == 0 {
		ts = leaseEndDays(r.Env.Config)
	}
	horizon := 0
	for _, t := range ts {
		horizon = max(horizon, t)
	}
	lender := LenderFromConfig(r.Env.Config)
	account := scopeAccount(r.Scope)
	next := func(ctx context.Context, after string) ([]*docItem, string, error) {
		for {
			accts, err := r.Store.LeasesMaturing(ctx, d, d.AddDays(horizon), account, after, documentChunk)
			if err != nil || len(accts) == 0 {
				return nil, "", err
			}
			after = accts[len(accts)-1].ID
			var due []ledger.DocumentAccount
			var thresholds []int
			for _, a := range accts {
				if t, ok := statements.DueThreshold(a.MaturityOn, d, ts); ok {
					due = append(due, a)
					thresholds = append(thresholds, t)
				}
			}
			if len(due) == 0 {
				continue
			}
			acts, err := r.Store.AccountActivity(ctx, ids(due), d, d)
			if err != nil {
				return nil, "", err
			}
			holders, err := r.Store.StorageKeyHolders(ctx, ids(due), ledger.DocLeaseEndPrefix)
			if err != nil {
				return nil, "", err
			}
			items := make([]*docItem, len(due))
			for i, a := range due {
				in := LeaseEndInput(a, acts[a.ID], d, thresholds[i])
				key := ledger.DocumentKey{AccountID: a.ID, Kind: LeaseEndKind(thresholds[i]), Period: a.MaturityOn.String()}
				items[i] = &docItem{account: a.ID, recipient: a.Email, date: d, mailKind: ledger.MailLeaseEndNotice,
					key: key, storageKey: noticeKeyFor(key, thresholds[i], holders),
					render: func() ([]byte, error) { return renderLeaseEnd(in, lender) },
				}
			}
			return items, after, nil
		}
	}
	return runDocuments(ctx, r, j.Workers, next)
}

// leaseEndDays are the configured thresholds, or the defaults.
func leaseEndDays(cfg *config.Config) []int {
	if cfg != nil && len(cfg.LeaseEndDays) > 0 {
		return cfg.LeaseEndDays
	}
	return statements.LeaseEndThresholds
}

// LeaseEndKind is the document kind of the notice sent days before
// maturity: lease_end_90.
func LeaseEndKind(days int) string { return ledger.DocLeaseEndPrefix + strconv.Itoa(days) }

// NoticeKey is where an account's lease-end notice of a threshold is stored.
func NoticeKey(account string, days int) string {
	return fmt.Sprintf("notices/%s/lease-end-%dd.pdf", account, days)
}

// ReissuedNoticeKey is where the notice of a threshold is stored when the
// lease's maturity date changed after the threshold's notice was sent (an
// extension): the new notice names the maturity date it is for, and the
// one sent before stays where it was.
func ReissuedNoticeKey(account string, days int, maturity string) string {
	return fmt.Sprintf("notices/%s/lease-end-%dd-%s.pdf", account, days, maturity)
}

// noticeKeyFor is the storage key of the notice key: NoticeKey, unless a
// notice recorded for another maturity date holds it. The choice depends
// only on what is recorded, so a rerun makes the same one.
func noticeKeyFor(key ledger.DocumentKey, days int, holders map[string]ledger.DocumentKey) string {
	k := NoticeKey(key.AccountID, days)
	if h, ok := holders[k]; ok && h != key {
		return ReissuedNoticeKey(key.AccountID, days, key.Period)
	}
	return k
}

func ids(accts []ledger.DocumentAccount) []string {
	out := make([]string, len(accts))
	for i, a := range accts {
		out[i] = a.ID
	}
	return out
}

// LeaseEndInput maps a lease and its odometer readings to the notice of
// the threshold sent on d.
func LeaseEndInput(a ledger.DocumentAccount, act *ledger.Activity, d civil.Date, threshold int) statements.LeaseEndInput {
	if act == nil {
		act = &ledger.Activity{}
	}
	return statements.LeaseEndInput{
		AccountID: a.ID, Customer: customerOf(a), Vehicle: vehicleOf(a), VIN: a.VehicleVIN,
		NoticeDate: d, Threshold: threshold,
		OpenedOn: a.OpenedOn, TermMonths: a.TermMonths, MaturityDate: a.MaturityOn,
		ResidualValue: a.ResidualValue, PurchaseOptionFee: a.PurchaseOptionFee, DispositionFee: a.DispositionFee,
		ExcessMileageRate: a.ExcessMileageRate, MileageAllowancePerYear: a.MileageAllowancePerYear,
		StartOdometer: a.StartOdometer, Odometer: odometerUpTo(act.Odometer, d),
	}
}

func renderLeaseEnd(in statements.LeaseEndInput, l statements.Lender) ([]byte, error) {
	n, err := statements.ComputeLeaseEnd(in)
	if err != nil {
		return nil, fmt.Errorf("compute lease-end notice: %w", err)
	}
	return statements.RenderLeaseEnd(n, l)
}

// RenderLeaseEndFor renders one lease's notice as of d for the threshold
// days (0: the threshold due on d, or the days left when none is), as the
// lease-end job would, without storing or recording it.
func RenderLeaseEndFor(ctx context.Context, st *ledger.Store, cfg *config.Config, account string, d civil.Date, days int) ([]byte, error) {
	a, err := st.DocumentAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	if a.Kind != statements.KindLease {
		return nil, fmt.Errorf("account %s is a %s: lease-end notices are for leases", account, a.Kind)
	}
	if days == 0 {
		t, ok := statements.DueThreshold(a.MaturityOn, d, leaseEndDays(cfg))
		if !ok {
			t = a.MaturityOn.DaysSince(d)
		}
		days = t
	}
	acts, err := st.AccountActivity(ctx, []string{a.ID}, d, d)
	if err != nil {
		return nil, err
	}
	return renderLeaseEnd(LeaseEndInput(a, acts[a.ID], d, days), LenderFromConfig(cfg))
}
