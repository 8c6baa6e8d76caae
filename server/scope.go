package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger"
)

// Scope is what part of a job's work a run covers: everything (the zero
// Scope) or one account. Runs are keyed by job, date and scope, so a scope
// is parsed, never taken as free text: text that is no scope would key a
// run of the whole job apart from the completed one.
type Scope struct {
	Account string // one account's id; empty: every account
}

// accountScoped are the jobs that can run for one account.
var accountScoped = map[string]bool{"statements": true, "lease-end": true}

// ParseScope reads a run scope: empty, or account:ACCOUNT_ID.
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return Scope{}, nil
	}
	id, ok := strings.CutPrefix(s, "account:")
	if !ok {
		return Scope{}, fmt.Errorf("%q: want empty (every account) or account:ACCOUNT_ID", s)
	}
	if err := checkAccountID(id); err != nil {
		return Scope{}, fmt.Errorf("%q: %w", s, err)
	}
	return Scope{Account: id}, nil
}

// checkAccountID accepts an account id of the portfolio format: 1 to 64
// letters, digits, '.', '_', ':' or '-', not starting with '.'.
func checkAccountID(id string) error {
	if id == "" || len(id) > 64 {
		return errors.New("want an account id of 1 to 64 characters")
	}
	if id[0] == '.' {
		return errors.New("an account id does not start with '.'")
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-') {
			return fmt.Errorf("account id holds %q: want letters, digits, '.', '_', ':' or '-'", r)
		}
	}
	return nil
}

// String is the scope as the run ledger keys it.
func (s Scope) String() string {
	if s.Account == "" {
		return ""
	}
	return "account:" + s.Account
}

// completed returns the id of the completed run of job for d over every
// account, or 0.
func (a *Admin) completed(ctx context.Context, job string, d civil.Date, dryRun bool) (int64, error) {
	runs, err := a.Env.Store.ListRuns(ctx, ledger.RunFilter{Job: job, Date: d, Limit: 1000})
	if err != nil {
		return 0, err
	}
	for _, r := range runs {
		if r.Scope == "" && r.DryRun == dryRun && r.Completed() {
			return r.ID, nil
		}
	}
	return 0, nil
}
