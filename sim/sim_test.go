package sim_test

import (
	"context"
	"errors"
	"testing"

	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/sim"
)

func TestSimulateQuiet(t *testing.T) {
	env := jobstest.Env(t, ledgertest.URL(t, "sqlite"), nil)
	rep, err := sim.Run(context.Background(), env, sim.Options{Accounts: 300, Days: 20, Seed: 7,
		Night: func(n sim.NightReport) { t.Logf("%+v", n) }})
	if err != nil {
		var v *sim.Violation
		if errors.As(err, &v) {
			t.Fatal(v)
		}
		t.Fatal(err)
	}
	t.Logf("%+v", rep)
}
