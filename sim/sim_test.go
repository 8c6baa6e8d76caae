package sim_test

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/jobs/jobstest"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/sim"
)

var (
	shortAccounts = flag.Int("sim.accounts", 1000, "accounts in TestSimulateShortHistory (2,000 takes about a minute a database on a quiet 2-core machine, several under load)")
	shortDays     = flag.Int("sim.days", 45, "nights in TestSimulateShortHistory")
	shortSeed     = flag.Int64("sim.seed", 20261202, "seed of TestSimulateShortHistory")
	logNights     = flag.Bool("sim.log", false, "log each night's report")
	keepDir       = flag.String("sim.keep", "", "on a broken invariant, copy the SQLite ledger into this folder to look at")
	shortFaults   = flag.String("sim.faults", "all", "faults of TestSimulateShortHistory, comma-separated, or all")
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// drafterBin builds the drafter binary once: the kill fault SIGKILLs a
// real child process at a write.
func drafterBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drafter-sim-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "drafter")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/drafter").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build drafter: %v", binErr)
	}
	return binPath
}

// simEnv is a job environment on a fresh database of the dialect and a
// child runner on the same ledger, storage and mail folder.
func simEnv(t *testing.T, dialect string) (*jobs.Env, func(context.Context, string, civil.Date, int) (int, error)) {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// The ledger, the documents and the mail folder on a memory file
		// system: the same SQLite and files, without waiting on the disk
		// for each fsync.
		t.Setenv("TMPDIR", "/dev/shm")
	}
	url := ledgertest.URL(t, dialect)
	env := jobstest.Env(t, url, map[string]string{"DRAFTER_DATABASE_URL": url})
	bin := drafterBin(t)
	child := func(ctx context.Context, job string, d civil.Date, crashAt int) (int, error) {
		cmd := exec.CommandContext(ctx, bin, "run", job, "--date", d.String())
		cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+env.Config.DataDir, "DRAFTER_DATABASE_URL="+url,
			"DRAFTER_ENCRYPTION_KEY="+hex.EncodeToString(ledgertest.Key), "DRAFTER_CRASH_AT="+strconv.Itoa(crashAt), "DRAFTER_LOG_LEVEL=error")
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), nil
		}
		return 0, err
	}
	return env, child
}

func runSim(t *testing.T, env *jobs.Env, opt sim.Options) *sim.Report {
	t.Helper()
	if *logNights {
		opt.Night = func(n sim.NightReport) { t.Logf("%+v", n) }
	}
	rep, err := sim.Run(context.Background(), env, opt)
	if err != nil {
		var v *sim.Violation
		if errors.As(err, &v) {
			if *keepDir != "" && env.Store.Dialect() == "sqlite" {
				kept := filepath.Join(*keepDir, fmt.Sprintf("sim-%d-night-%d.db", v.Seed, v.Night))
				if _, err := env.Store.DB().ExecContext(context.Background(), `VACUUM INTO $1`, kept); err != nil {
					t.Errorf("keep the ledger: %v", err)
				} else {
					t.Logf("the ledger is kept in %s", kept)
				}
			}
			t.Fatalf("%v\nreproduce: drafter simulate --accounts %d --days %d --seed %d --faults %v", v, opt.Accounts, v.Night, v.Seed, opt.Faults)
		}
		t.Fatal(err)
	}
	return rep
}

// TestSimulateShortHistory runs the short history of make test, every
// fault injected, on both databases: every invariant holds after every
// night, and the faults did strike and were answered by the runbook.
func TestSimulateShortHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("a 45-night history; not in -short")
	}
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			env, child := simEnv(t, dialect)
			began := time.Now()
			faults := sim.AllFaults
			if *shortFaults != "all" {
				faults = strings.Split(*shortFaults, ",")
			}
			rep := runSim(t, env, sim.Options{Accounts: *shortAccounts, Days: *shortDays, Seed: *shortSeed, Faults: faults, Child: child})
			t.Logf("%s: %d nights, %d accounts, seed %d: faults %v, %d runbook responses, %d customer reactions, %d lease extensions, %d invariant checks, %d payments, %d returns, %d documents, %d emails, %d files transmitted, %d re-originated after a missed cutoff, %d dishonored or contested returns (%d checked); %s (%.2f nights/s)",
				dialect, rep.Nights, rep.Accounts, rep.Seed, rep.Injected, rep.Responses, rep.Reactions, rep.Extensions, rep.Checks, rep.Payments, rep.Returns, rep.Documents, rep.Emails,
				rep.Transmitted, rep.Reoriginated, rep.Dishonored, rep.DishonorsChecked, time.Since(began).Round(time.Second), rep.NightsPerSecond)
			if rep.DishonorsChecked != rep.Dishonored {
				t.Errorf("%d dishonored or contested returns sent, %d held to the ledger", rep.Dishonored, rep.DishonorsChecked)
			}
			if rep.Nights != *shortDays || rep.Returns == 0 || rep.Reactions == 0 || rep.Transmitted == 0 || rep.Dishonored == 0 ||
				*shortFaults == "all" && (rep.Responses == 0 || rep.Injected[sim.FaultKill] == 0 || rep.Injected[sim.FaultStorage] == 0 || rep.Reoriginated == 0) {
				t.Errorf("the history did not exercise the faults and the runbook: %+v", rep)
			}
		})
	}
}

// TestSimulateDeterministic runs one seed twice: the same ledger, files
// and documents (their sha256) both times, faults and all.
func TestSimulateDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("two histories; not in -short")
	}
	var dumps [2][]string
	for i := range dumps {
		env, child := simEnv(t, "sqlite")
		runSim(t, env, sim.Options{Accounts: 300, Days: 21, Seed: 99, Faults: sim.AllFaults, Child: child})
		d, err := sim.Dump(context.Background(), env.Store, true)
		if err != nil {
			t.Fatal(err)
		}
		dumps[i] = d
	}
	if diff := sim.Diff(dumps[0], dumps[1]); diff != "" {
		t.Fatalf("two runs of seed 99 differ: %s", diff)
	}
	if len(dumps[0]) < 500 {
		t.Fatalf("the dump has %d lines: the history did little", len(dumps[0]))
	}
	t.Logf("seed 99 twice: %d ledger lines, sha256 %s both times", len(dumps[0]), sim.DumpHash(dumps[0]))
}

// TestSimulateStopsAtBrokenInvariant breaks the ledger after night 5 (a
// Friday): a file goes back to allocated, as if its bytes were never
// stored. Saturday runs no originate to store it, and the night's checks
// stop the history there, naming the seed, the night and the invariant.
func TestSimulateStopsAtBrokenInvariant(t *testing.T) {
	if testing.Short() {
		t.Skip("six nights; not in -short")
	}
	env, _ := simEnv(t, "sqlite")
	ctx := context.Background()
	_, err := sim.Run(ctx, env, sim.Options{Accounts: 200, Days: 10, Seed: 5, Night: func(n sim.NightReport) {
		if n.Night == 5 {
			if _, err := env.Store.DB().ExecContext(ctx, `UPDATE ach_files SET status = 'allocated' WHERE id = (SELECT MIN(id) FROM ach_files)`); err != nil {
				t.Error(err)
			}
		}
	}})
	var v *sim.Violation
	if !errors.As(err, &v) || !errors.Is(err, sim.ErrViolation) {
		t.Fatalf("err = %v, want a violation", err)
	}
	if v.Seed != 5 || v.Night != 6 || v.Date != civil.MustParse("2027-01-09") || v.Invariant != "allocated-has-stored-file" {
		t.Fatalf("violation %+v, want seed 5, night 6 (2027-01-09), allocated-has-stored-file", v)
	}
}

// TestSimulatePrunes runs a history with --prune and documents kept five
// nights: every invariant still holds, the pickup folder holds no
// delivered message, each document older than five nights is gone from
// storage while its record stays, and the newer ones are all stored.
func TestSimulatePrunes(t *testing.T) {
	if testing.Short() {
		t.Skip("a 15-night history; not in -short")
	}
	env, child := simEnv(t, "sqlite")
	ctx := context.Background()
	rep := runSim(t, env, sim.Options{Accounts: 300, Days: 15, Seed: 3, Faults: sim.AllFaults, Child: child, Prune: true, PruneAfter: 5})
	if rep.PrunedEmails == 0 || rep.PrunedDocuments == 0 {
		t.Fatalf("pruned %d emails and %d documents: want some of each", rep.PrunedEmails, rep.PrunedDocuments)
	}
	pickup := strings.TrimPrefix(env.Config.MailURL, "pickup://")
	left, err := filepath.Glob(filepath.Join(pickup, "*.eml"))
	if err != nil || len(left) != 0 {
		t.Fatalf("the pickup folder %s still holds %d messages (%v)", pickup, len(left), err)
	}
	rows, err := env.Store.DB().QueryContext(ctx, `SELECT storage_key, CAST(document_date AS TEXT) FROM documents ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cut := rep.Last.AddDays(-5)
	var gone, kept, records int
	for rows.Next() {
		var key, date string
		if err := rows.Scan(&key, &date); err != nil {
			t.Fatal(err)
		}
		records++
		_, err := env.Docs.Stat(ctx, key)
		switch old := civil.MustParse(date).Before(cut); {
		case old && err == nil:
			kept++ // held back for an email still to send
		case old:
			gone++
		case err != nil:
			t.Errorf("%s, dated %s, within five nights of %s: %v", key, date, rep.Last, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if gone != rep.PrunedDocuments || gone == 0 {
		t.Errorf("%d old documents are gone from storage, the report says %d pruned", gone, rep.PrunedDocuments)
	}
	if records != rep.Documents {
		t.Errorf("%d document records, the report says %d documents", records, rep.Documents)
	}
	t.Logf("%d documents recorded: %d pruned, %d old ones kept for an email to send; %d emails pruned", records, gone, kept, rep.PrunedEmails)
}
