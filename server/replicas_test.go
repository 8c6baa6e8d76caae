package server_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/server"
)

// slowJob takes a while and writes when it starts and ends to a journal
// shared by the processes: the ground truth of who ran what when.
type slowJob struct {
	name    string
	took    time.Duration
	journal string
}

func (j slowJob) Name() string { return j.name }

func (j slowJob) Run(ctx context.Context, r *jobs.Run) (any, error) {
	j.write("start", r.ID)
	select {
	case <-time.After(j.took):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	j.write("end", r.ID)
	r.Selected(1)
	r.Done(1)
	return nil, nil
}

func (j slowJob) write(what string, run int64) {
	f, err := os.OpenFile(j.journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %d %d %d\n", what, j.name, os.Getpid(), run, time.Now().UnixNano())
}

// TestHelperServe is the scheduler process of TestTwoSchedulersOnePostgres:
// the same Scheduler drafter serve runs, on the database and schedule the
// parent gives, until SIGTERM.
func TestHelperServe(t *testing.T) {
	url := os.Getenv("DRAFTER_HELPER_DATABASE")
	if url == "" {
		t.Skip("the scheduler process of TestTwoSchedulersOnePostgres")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	journal := os.Getenv("DRAFTER_HELPER_JOURNAL")
	env := testEnvURL(t, url, nil)
	env.Heartbeat = 100 * time.Millisecond
	env.Log = zerolog.New(os.Stderr).With().Timestamp().Int("pid", os.Getpid()).Logger()
	reg := jobs.Registry{
		"slow-daily": slowJob{name: "slow-daily", took: 3 * time.Second, journal: journal},
		"slow-tick":  slowJob{name: "slow-tick", took: 1500 * time.Millisecond, journal: journal},
	}
	daily, err := server.ParseEntry("slow-daily", os.Getenv("DRAFTER_HELPER_DAILY"), true, newYork, false)
	if err != nil {
		t.Fatal(err)
	}
	tick, err := server.ParseEntry("slow-tick", "* * * * * *", true, newYork, false)
	if err != nil {
		t.Fatal(err)
	}
	s := server.NewScheduler(env, reg, []server.Entry{daily, tick})
	s.Log = env.Log
	s.Zone, s.StaleAfter, s.Grace, s.LockRetry = newYork, time.Second, 5*time.Second, 200*time.Millisecond
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

type execution struct {
	job        string
	pid        int
	run        int64
	start, end time.Time
	ended      bool
}

func readJournal(t *testing.T, path string) []*execution {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*execution
	open := map[string]*execution{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var what, job string
		var pid int
		var run, ns int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %s %d %d %d", &what, &job, &pid, &run, &ns); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		key := fmt.Sprint(job, pid, run)
		if what == "start" {
			e := &execution{job: job, pid: pid, run: run, start: time.Unix(0, ns)}
			open[key] = e
			out = append(out, e)
		} else if e := open[key]; e != nil {
			e.end, e.ended = time.Unix(0, ns), true
		}
	}
	return out
}

// TestTwoSchedulersOnePostgres runs two scheduler processes on one
// PostgreSQL database with a job every second that takes 1.5 s and a daily
// job that takes 3 s. One process holds the scheduler lock; it is killed
// (SIGKILL) in the middle of the daily run; the other takes over, marks the
// dead run failed once its heartbeat is stale and restarts it. No two
// executions of a job ever overlap, and every run identity runs once.
func TestTwoSchedulersOnePostgres(t *testing.T) {
	url := ledgertest.URL(t, "postgres")
	st := ledgertest.OpenURL(t, url) // migrated once, before the processes start
	journal := filepath.Join(t.TempDir(), "journal")
	fire := time.Now().In(newYork).Add(2 * time.Second)
	dailySpec := fmt.Sprintf("%d %d %d * * *", fire.Second(), fire.Minute(), fire.Hour())

	procs := map[int]*exec.Cmd{}
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DRAFTER_HELPER_DATABASE="+url, "DRAFTER_HELPER_JOURNAL="+journal, "DRAFTER_HELPER_DAILY="+dailySpec)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs[cmd.Process.Pid] = cmd
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() || os.Getenv("DRAFTER_HELPER_SHOW") != "" {
				t.Logf("process %d:\n%s", cmd.Process.Pid, out.String())
			}
		})
	}
	waitFor := func(what string, timeout time.Duration, cond func([]*execution) bool) []*execution {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			ex := readJournal(t, journal)
			if cond(ex) {
				return ex
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited %s for %s", timeout, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ex := waitFor("the daily run to start", 20*time.Second, func(ex []*execution) bool {
		for _, e := range ex {
			if e.job == "slow-daily" {
				return true
			}
		}
		return false
	})
	var leader int
	for _, e := range ex {
		if e.job == "slow-daily" {
			leader = e.pid
		}
	}
	time.Sleep(500 * time.Millisecond)
	procs[leader].Process.Kill()
	procs[leader].Wait()
	killedAt := time.Now()
	waitFor("the other process to finish the daily run", 30*time.Second, func(ex []*execution) bool {
		for _, e := range ex {
			if e.job == "slow-daily" && e.pid != leader && e.ended {
				return true
			}
		}
		return false
	})
	time.Sleep(2 * time.Second) // a few more ticks by the new leader
	for pid, cmd := range procs {
		if pid != leader {
			cmd.Process.Signal(syscall.SIGTERM)
			if err := cmd.Wait(); err != nil {
				t.Errorf("the follower did not stop cleanly on SIGTERM: %v", err)
			}
		}
	}

	// No two executions of a job overlap, in real time.
	ex = readJournal(t, journal)
	byJob := map[string][]*execution{}
	pids := map[string]map[int]int{}
	for _, e := range ex {
		if !e.ended {
			if e.pid != leader {
				t.Errorf("%s run %d by %d never ended", e.job, e.run, e.pid)
			}
			e.end = killedAt
		}
		byJob[e.job] = append(byJob[e.job], e)
		if pids[e.job] == nil {
			pids[e.job] = map[int]int{}
		}
		pids[e.job][e.pid]++
	}
	for job, es := range byJob {
		sort.Slice(es, func(i, j int) bool { return es[i].start.Before(es[j].start) })
		for i := 1; i < len(es); i++ {
			if es[i].start.Before(es[i-1].end) {
				t.Errorf("%s: run %d (process %d) started at %s, before run %d (process %d) ended at %s",
					job, es[i].run, es[i].pid, es[i].start.Format(time.StampMilli), es[i-1].run, es[i-1].pid, es[i-1].end.Format(time.StampMilli))
			}
		}
		t.Logf("%s: %d executions by process %v", job, len(es), pids[job])
	}
	if len(pids["slow-tick"]) != 2 {
		t.Errorf("slow-tick ran in processes %v, want both (before and after the kill)", pids["slow-tick"])
	}

	// The run ledger: the daily date once (the dead run restarted, not
	// begun again), every tick identity once.
	runs, err := st.ListRuns(context.Background(), ledger.RunFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	var daily []ledger.Run
	for _, r := range runs {
		seen[r.Job+" "+r.BusinessDate.String()+" "+r.Scope]++
		if r.Job == "slow-daily" {
			daily = append(daily, r)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s: %d runs, want 1", id, n)
		}
	}
	today := civil.Of(fire)
	if len(daily) != 1 || daily[0].BusinessDate != today || daily[0].Status != ledger.RunSucceeded || daily[0].Attempt != 1 ||
		daily[0].Owner == "" || !strings.HasSuffix(daily[0].Owner, ":"+strconv.Itoa(otherPid(procs, leader))) {
		t.Errorf("daily runs: %+v", daily)
	}
}

func otherPid(procs map[int]*exec.Cmd, leader int) int {
	for pid := range procs {
		if pid != leader {
			return pid
		}
	}
	return 0
}
