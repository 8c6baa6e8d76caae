package jobs

import (
	"errors"
	"testing"

	"github.com/rs/zerolog"
)

// TestDependInTheOrderCallsBegan: calls side by side finish out of order.
// Five failures of calls begun after some slower successes stop the run,
// in whatever order the successes finish; a success begun after the last
// failure ends the failures in a row.
func TestDependInTheOrderCallsBegan(t *testing.T) {
	down := errors.New("storage down")
	t.Run("slow successes begun before the failures", func(t *testing.T) {
		r := &Run{Env: &Env{}, Log: zerolog.Nop()}
		var ok []int64
		for range 3 {
			ok = append(ok, r.CallBegins())
		}
		var failing []int64
		for range 5 {
			failing = append(failing, r.CallBegins())
		}
		// Finished: a failure, a success, and so on.
		for i, call := range failing {
			err := r.DependSince(DepStorage, call, down)
			if i < len(ok) {
				r.DependSince(DepStorage, ok[i], nil)
			}
			if stop := r.Stopped(); (stop != nil) != (i == len(failing)-1) {
				t.Fatalf("after failure %d: stopped %v, want stopped at the fifth only (err %v)", i+1, stop, err)
			}
		}
		var dep *DependencyError
		if !errors.As(r.Stopped(), &dep) || dep.Dependency != DepStorage || dep.Failures != 5 {
			t.Fatalf("stopped with %v, want storage after 5 failures", r.Stopped())
		}
	})
	t.Run("a success begun after the failures", func(t *testing.T) {
		r := &Run{Env: &Env{}, Log: zerolog.Nop()}
		for range 4 {
			r.Depend(DepStorage, down)
		}
		r.Depend(DepStorage, nil) // begun now, after all four
		for range 4 {
			if err := r.Depend(DepStorage, down); err != nil {
				t.Fatalf("stopped after 4 failures following a success: %v", err)
			}
		}
		if err := r.Depend(DepStorage, down); err == nil {
			t.Fatal("not stopped after 5 failures in a row")
		}
	})
}
