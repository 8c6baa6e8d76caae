package jobs

import (
	"errors"
	"fmt"

	"github.com/drafterhq/drafter/ledger"
)

// ErrNothingDone: a run went to the end and every selected item failed. It
// is failed, not partial: nothing of the night's work was done.
var ErrNothingDone = errors.New("no selected item could be done")

// outcome is the status a run ends with, from its counts and the error
// that stopped it (nil when it went to the end), and the error the run
// records: succeeded when every selected item was done, partial when some
// items failed and others were done, failed when the run stopped or when
// items failed and none was done, cancelled when it stopped on a cancel.
func outcome(id int64, c ledger.Counts, runErr error) (string, error) {
	switch {
	case errors.Is(runErr, ErrCancelled):
		return ledger.RunCancelled, runErr
	case runErr != nil:
		return ledger.RunFailed, runErr
	case c.Failed > 0 && c.Done == 0:
		return ledger.RunFailed, fmt.Errorf("%w: all %d failed (the first errors: `drafter runs show %d`)", ErrNothingDone, c.Failed, id)
	case c.Failed > 0:
		return ledger.RunPartial, nil
	}
	return ledger.RunSucceeded, nil
}
