package jobs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ledger"
)

// Resume finishes a run that is not succeeded: a failed or cancelled run
// from where it stopped, a partial run by working its failed items again,
// and a running run whose process died (a crash). A run owned by a process
// of this host that no longer exists is crashed at once; any other running
// run is crashed when its heartbeat is older than staleAfter. Every refusal
// says which command would work.
func (e *Env) Resume(ctx context.Context, job Job, id int64, by string, staleAfter time.Duration) (Result, error) {
	run, err := e.BeginResume(ctx, id, by, staleAfter)
	if err != nil {
		return Result{}, err
	}
	return e.execute(ctx, job, run)
}

// BeginResume is Resume up to executing the run: it detects a crashed
// owner, records the resume (audited under by) and returns the run to
// Execute. The admin API and the console call it and execute the run in
// the background.
func (e *Env) BeginResume(ctx context.Context, id int64, by string, staleAfter time.Duration) (ledger.Run, error) {
	lr, err := e.Store.GetRun(ctx, id)
	if err != nil {
		return ledger.Run{}, err
	}
	if lr.Status == ledger.RunRunning && !lr.DryRun {
		cause, err := e.crashed(lr, by, staleAfter)
		if err != nil {
			return ledger.Run{}, err
		}
		if _, err := e.Store.MarkCrashed(ctx, id, lr.Owner, by, cause); err != nil {
			return ledger.Run{}, err
		}
		e.Log.Warn().Int64("run", id).Str("job", lr.Job).Str("owner", lr.Owner).Str("detected_by", by).Msg(cause)
		_ = e.Store.Audit(ctx, by, "crash detected", fmt.Sprintf("run %d", id), cause)
	}
	run, err := e.Store.ResumeRunBy(ctx, id, e.Owner, by)
	if err != nil {
		return ledger.Run{}, err
	}
	_ = e.Store.Audit(ctx, by, "resume", fmt.Sprintf("run %d", id), "was "+lr.Status)
	return run, nil
}

// Restart is Resume under its former name.
func (e *Env) Restart(ctx context.Context, job Job, id int64, by string, staleAfter time.Duration) (Result, error) {
	return e.Resume(ctx, job, id, by, staleAfter)
}

// ErrRunAlive: a running run's owner looks alive; Resume leaves it alone.
var ErrRunAlive = errors.New("the run looks alive")

// crashed decides whether a running run's owner died and returns the cause
// to record, or the refusal when the owner may still be working.
func (e *Env) crashed(lr ledger.Run, by string, staleAfter time.Duration) (string, error) {
	age := time.Since(lr.HeartbeatAt).Round(time.Second)
	host, _ := os.Hostname()
	ownerHost, pid, local := ownerProcess(lr.Owner)
	if local && ownerHost == host && pid != os.Getpid() {
		if processGone(pid) {
			return fmt.Sprintf("crashed: its process %s is gone (last heartbeat %s ago); detected by %s", lr.Owner, age, by), nil
		}
		return "", fmt.Errorf("run %d is running in process %d on this host (last heartbeat %s ago): wait for it, or stop that process and `drafter resume %d` again: %w",
			lr.ID, pid, age, lr.ID, ErrRunAlive)
	}
	if age >= staleAfter {
		return fmt.Sprintf("crashed: no heartbeat from %s for %s (more than %s); detected by %s", lr.Owner, age, staleAfter, by), nil
	}
	return "", fmt.Errorf("run %d is running on %s, last heartbeat %s ago (a run is taken as crashed after %s without one); if that process is gone, `drafter resume %d --stale-after %s`: %w",
		lr.ID, lr.Owner, age, staleAfter, lr.ID, max(age-time.Second, 0), ErrRunAlive)
}

// ownerProcess splits an owner "host:pid" (as NewEnv names a process).
func ownerProcess(owner string) (host string, pid int, ok bool) {
	i := strings.LastIndex(owner, ":")
	if i < 0 {
		return "", 0, false
	}
	pid, err := strconv.Atoi(owner[i+1:])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return owner[:i], pid, true
}
