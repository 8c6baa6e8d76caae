package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/internal/testenv"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/storage"
)

// TestScaleOutPostgres is the multi-process test of chunked runs: one
// scheduler replica and three `drafter serve --worker-only` replicas share
// one PostgreSQL database and one S3 bucket; the statements and originate
// runs are triggered through the scheduler's admin API; one worker is
// killed with SIGKILL while it holds a chunk (and a second one during
// originate, when it holds one). The runs complete, every statement is
// stored and recorded once with its email queued once, every payment is
// originated once, and the statements and NACHA files are byte-identical
// to a single-process run on another fresh database.
//
// DRAFTER_SCALE_ACCOUNTS sets the portfolio size (default 5,000, which
// keeps make test short; BENCHMARKS.md records a 50,000-account run).
func TestScaleOutPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test: builds the binary and runs four replicas")
	}
	accounts := 5000
	if v := os.Getenv("DRAFTER_SCALE_ACCOUNTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("DRAFTER_SCALE_ACCOUNTS=%q: want a whole number of accounts, at least 100", v)
		}
		accounts = n
	}
	stmtDate, origDate := "2026-11-30", "2026-12-01"
	bucket := testenv.S3(t)
	testenv.UseS3Credentials()
	file := writePortfolio(t, accounts, 21, civil.MustParse(stmtDate))
	// Chunks small enough that each replica works many of them.
	chunk := max(accounts/200, 10)

	// The single-process run: one process, one chunk per run.
	single := scaleSide{db: testenv.Postgres(t), docs: prefixed(bucket, "single")}
	singleEnv := single.env("DRAFTER_CHUNK_SIZE=1000000", "DRAFTER_CHUNK_WORKERS=1")
	dir := t.TempDir()
	start := time.Now()
	mustDrafter(t, dir, singleEnv, "migrate")
	mustDrafter(t, dir, singleEnv, "import", file)
	t.Logf("single: imported %d accounts in %s", accounts, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	mustDrafter(t, dir, singleEnv, "run", "statements", "--date", stmtDate)
	mustDrafter(t, dir, singleEnv, "run", "originate", "--date", origDate)
	t.Logf("single: statements and originate in %s", time.Since(start).Round(time.Millisecond))

	// The replicas.
	multi := scaleSide{db: testenv.Postgres(t), docs: prefixed(bucket, "multi")}
	multiEnv := multi.env(fmt.Sprintf("DRAFTER_CHUNK_SIZE=%d", chunk), "DRAFTER_CHUNK_LEASE=3s", "DRAFTER_CHUNK_WORKERS=2")
	mdir := t.TempDir()
	mustDrafter(t, mdir, multiEnv, "migrate")
	mustDrafter(t, mdir, multiEnv, "import", file)
	adminAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	sched := startReplica(t, mdir, multiEnv, "scheduler", "serve", "--admin-addr", adminAddr, "--chunk-poll", "100ms")
	var workers []*replica
	for i := 1; i <= 3; i++ {
		workers = append(workers, startReplica(t, mdir, multiEnv, fmt.Sprintf("worker%d", i),
			"serve", "--worker-only", "--admin-addr", "127.0.0.1:0", "--chunk-poll", "100ms"))
	}
	api := "http://" + adminAddr
	waitHealthy(t, api, sched)
	db := openSQL(t, multi.db)

	start = time.Now()
	stmtRun := triggerRun(t, api, "statements", stmtDate)
	killed := killWhenHolding(t, db, stmtRun, workers[0], 2*time.Minute)
	stmt := waitRun(t, api, stmtRun, 3*time.Minute)
	t.Logf("multi: statements run %d %s in %s (worker %d killed holding a chunk: %v)", stmtRun, stmt.Status,
		time.Since(start).Round(time.Millisecond), workers[0].cmd.Process.Pid, killed)
	if stmt.Status != ledger.RunSucceeded {
		t.Fatalf("statements run %d: %s %s\n%s", stmtRun, stmt.Status, stmt.Error, sched.logTail())
	}
	if !killed {
		t.Fatalf("worker 1 never held a chunk of the statements run: the kill did not land mid-run")
	}

	start = time.Now()
	origRun := triggerRun(t, api, "originate", origDate)
	killed2 := killWhenHolding(t, db, origRun, workers[1], 20*time.Second)
	orig := waitRun(t, api, origRun, 3*time.Minute)
	t.Logf("multi: originate run %d %s in %s (worker %d killed holding a chunk: %v)", origRun, orig.Status,
		time.Since(start).Round(time.Millisecond), workers[1].cmd.Process.Pid, killed2)
	if orig.Status != ledger.RunSucceeded {
		t.Fatalf("originate run %d: %s %s\n%s", origRun, orig.Status, orig.Error, sched.logTail())
	}

	// Per-worker progress: the killed worker's chunk was taken over.
	show := mustDrafter(t, mdir, multiEnv, "runs", "show", strconv.FormatInt(stmtRun, 10), "--json")
	var detail struct {
		Chunks *ledger.ChunkProgress `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(show), &detail); err != nil || detail.Chunks == nil {
		t.Fatalf("runs show --json: %v\n%s", err, show)
	}
	p := detail.Chunks
	if !p.Finished() || p.Retaken < 1 || len(p.ByWorker) < 3 {
		t.Fatalf("statements chunks %+v: want all done, the killed worker's chunk retaken, several workers", p)
	}
	text := mustDrafter(t, mdir, multiEnv, "runs", "show", strconv.FormatInt(stmtRun, 10))
	if !strings.Contains(text, "retaken") || !strings.Contains(text, "worker ") {
		t.Fatalf("runs show prints no per-worker progress:\n%s", text)
	}
	t.Logf("statements chunks: %d done, %d retaken, by worker %+v", p.Done, p.Retaken, p.ByWorker)

	// What must come out: the same as the single process, exactly once.
	ctx := context.Background()
	want, got := single.read(t, ctx), multi.read(t, ctx)
	if len(want.statements) < 10 || len(want.files) == 0 || want.originated == 0 {
		t.Fatalf("single run made %d statements, %d files, %d originated payments: want some of each", len(want.statements), len(want.files), want.originated)
	}
	compareScale(t, want, got)
	t.Logf("%d statements and %d NACHA files (%d payments originated) identical to the single-process run",
		len(got.statements), len(got.files), got.originated)
	for _, w := range workers[2:] {
		w.stop(t)
	}
	sched.stop(t)
}

// scaleSide is one database and storage prefix the runs write to.
type scaleSide struct {
	db, docs string
}

// env is the environment of every drafter process of the side: nothing
// scheduled (the test triggers the runs), and the given settings.
func (s scaleSide) env(extra ...string) []string {
	env := []string{"DRAFTER_DATABASE_URL=" + s.db, "DRAFTER_STORAGE_URL=" + s.docs}
	for _, job := range []string{"RETURNS", "ORIGINATE", "STATEMENTS", "LEASE_END", "DELIVER"} {
		env = append(env, "DRAFTER_SCHEDULE_"+job+"=off")
	}
	return append(env, extra...)
}

// scaleState is what the runs left: statements by storage key (the stored
// bytes' sha256), NACHA files by key, payments and their origination.
type scaleState struct {
	statements map[string]string
	files      map[string][]byte
	payments   []string
	originated int
}

func (s scaleSide) read(t *testing.T, ctx context.Context) scaleState {
	t.Helper()
	st := scaleState{statements: map[string]string{}, files: map[string][]byte{}}
	docs, err := storage.Open(ctx, s.docs)
	if err != nil {
		t.Fatal(err)
	}
	defer docs.Close()
	db := openSQL(t, s.db)
	recorded := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT d.storage_key, d.sha256, (SELECT COUNT(*) FROM outbox o WHERE o.topic = 'document:' || CAST(d.id AS TEXT))
		FROM documents d WHERE d.kind = 'statement'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key, sha string
		var mails int
		if err := rows.Scan(&key, &sha, &mails); err != nil {
			t.Fatal(err)
		}
		if _, dup := recorded[key]; dup {
			t.Fatalf("%s recorded twice", key)
		}
		if mails != 1 {
			t.Fatalf("%s has %d emails queued, want 1", key, mails)
		}
		recorded[key] = sha
	}
	rows.Close()
	objs, err := docs.List(ctx, "statements/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if _, dup := st.statements[o.Key]; dup {
			t.Fatalf("%s listed twice in storage", o.Key)
		}
		b, _, err := docs.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		st.statements[o.Key] = sha256Hex(b)
		if recorded[o.Key] != st.statements[o.Key] {
			t.Fatalf("%s stored with sha256 %s, recorded %q", o.Key, st.statements[o.Key], recorded[o.Key])
		}
	}
	if len(st.statements) != len(recorded) {
		t.Fatalf("%d statements in storage, %d recorded", len(st.statements), len(recorded))
	}
	files, err := docs.List(ctx, "ach/outbound/")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range files {
		b, _, err := docs.Get(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		st.files[o.Key] = b
	}
	// A payment's origination is its originations record: the payment rows
	// are settled from the records later, by the deliver job, which this
	// test does not run.
	rows, err = db.QueryContext(ctx, `SELECT p.source || ':' || p.source_key,
			CASE WHEN p.state = 'scheduled' AND o.payment_id IS NOT NULL THEN 'originated' ELSE p.state END,
			COALESCE(o.trace_number, ''), COALESCE(f.id_modifier, '')
		FROM payments p LEFT JOIN originations o ON o.payment_id = p.id LEFT JOIN ach_files f ON f.id = o.ach_file_id
		ORDER BY p.source, p.source_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	traces := map[string]bool{}
	for rows.Next() {
		var id, state, trace, mod string
		if err := rows.Scan(&id, &state, &trace, &mod); err != nil {
			t.Fatal(err)
		}
		if trace != "" {
			if traces[trace] {
				t.Fatalf("trace %s on two payments", trace)
			}
			traces[trace] = true
			st.originated++
		}
		st.payments = append(st.payments, id+" "+state+" "+trace+" "+mod)
	}
	var entries int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(entries), 0) FROM ach_files`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if entries != st.originated {
		t.Fatalf("%d entries in the day's files, %d payments originated", entries, st.originated)
	}
	return st
}

func compareScale(t *testing.T, want, got scaleState) {
	t.Helper()
	if len(got.statements) != len(want.statements) {
		t.Fatalf("%d statements, the single process stored %d", len(got.statements), len(want.statements))
	}
	for k, sha := range want.statements {
		if got.statements[k] != sha {
			t.Fatalf("statement %s differs from the single-process run", k)
		}
	}
	if len(got.files) != len(want.files) {
		t.Fatalf("%d NACHA files, the single process made %d", len(got.files), len(want.files))
	}
	for k, b := range want.files {
		if !bytes.Equal(got.files[k], b) {
			t.Fatalf("NACHA file %s differs from the single-process run", k)
		}
	}
	if strings.Join(got.payments, "\n") != strings.Join(want.payments, "\n") {
		for i := range want.payments {
			if i >= len(got.payments) || got.payments[i] != want.payments[i] {
				t.Fatalf("payments differ from the single-process run at row %d (%d vs %d rows): %q", i, len(got.payments), len(want.payments), want.payments[i])
			}
		}
		t.Fatalf("%d payments, the single process has %d", len(got.payments), len(want.payments))
	}
}

// prefixed puts an s3:// URL under a prefix of its bucket.
func prefixed(bucketURL, prefix string) string {
	return strings.Replace(bucketURL, "?", "/"+prefix+"?", 1)
}

func openSQL(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// replica is a drafter serve process.
type replica struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func startReplica(t *testing.T, dataDir string, env []string, name string, args ...string) *replica {
	t.Helper()
	log := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(drafterBin(t), args...)
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dataDir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=",
		"DRAFTER_ADMIN_TOKEN="+replicaToken)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(r.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-r.done
		if t.Failed() {
			t.Logf("%s log tail:\n%s", name, r.logTail())
		}
	})
	return r
}

// stop ends the replica with SIGTERM, as an orchestrator would.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(60 * time.Second):
		t.Errorf("%s did not stop within 60s of SIGTERM", r.name)
		r.cmd.Process.Kill()
		<-r.done
	}
}

func (r *replica) logTail() string {
	b, _ := os.ReadFile(r.log)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

func waitHealthy(t *testing.T, api string, r *replica) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(api + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-r.done:
			t.Fatalf("%s exited:\n%s", r.name, r.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s admin API did not answer:\n%s", r.name, r.logTail())
}

func triggerRun(t *testing.T, api, job, date string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"job":%q,"date":%q}`, job, date)
	req, err := http.NewRequest("POST", api+"/api/v1/runs", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct {
		Run ledger.Run `json:"run"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &out) != nil || out.Run.ID == 0 {
		t.Fatalf("start %s: %d %s", job, resp.StatusCode, b)
	}
	return out.Run.ID
}

// replicaToken is the admin token of the replicas: the write API is off
// without one.
const replicaToken = "replica-admin-token-0123456789abcdef"

func waitRun(t *testing.T, api string, id int64, limit time.Duration) ledger.Run {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/runs/%d", api, id), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+replicaToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var r ledger.Run
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != ledger.RunRunning {
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("run %d still running after %s", id, limit)
	return ledger.Run{}
}

// killWhenHolding SIGKILLs the replica as soon as it holds a chunk of the
// run, and reports whether it did before the run ended.
func killWhenHolding(t *testing.T, db *sql.DB, run int64, r *replica, limit time.Duration) bool {
	t.Helper()
	owner := fmt.Sprintf("%%:%d/%%", r.cmd.Process.Pid)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var held int
		var status string
		err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM run_chunks WHERE run_id = $1 AND status = 'claimed' AND owner LIKE $2),
			(SELECT status FROM runs WHERE id = $1)`, run, owner).Scan(&held, &status)
		if err != nil {
			t.Fatal(err)
		}
		if held > 0 {
			// Freeze the worker, then look again: between the first look
			// and a kill it could finish its chunk, and the kill would not
			// land mid-chunk. Frozen, it cannot.
			r.cmd.Process.Signal(syscall.SIGSTOP)
			if err := db.QueryRow(`SELECT COUNT(*) FROM run_chunks WHERE run_id = $1 AND status = 'claimed' AND owner LIKE $2`,
				run, owner).Scan(&held); err != nil {
				t.Fatal(err)
			}
			if held > 0 {
				r.cmd.Process.Signal(syscall.SIGKILL)
				<-r.done
				return true
			}
			r.cmd.Process.Signal(syscall.SIGCONT)
		}
		if status != ledger.RunRunning {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestScaleOutBenchmark measures the statements job over one PostgreSQL
// database and S3 with 1, 2 and 4 drafter processes (one scheduler replica
// that the run is triggered on, the others --worker-only), each on a fresh
// import of the same portfolio. It runs only when DRAFTER_SCALE_BENCH
// lists the process counts ("1,2,4"); DRAFTER_SCALE_ACCOUNTS sets the
// portfolio (default 50,000). BENCHMARKS.md records its output.
func TestScaleOutBenchmark(t *testing.T) {
	counts := os.Getenv("DRAFTER_SCALE_BENCH")
	if counts == "" || testing.Short() {
		t.Skip("set DRAFTER_SCALE_BENCH=1,2,4 to measure statements over 1, 2 and 4 processes")
	}
	accounts := 50000
	if v := os.Getenv("DRAFTER_SCALE_ACCOUNTS"); v != "" {
		accounts, _ = strconv.Atoi(v)
	}
	date := "2026-11-30"
	file := writePortfolio(t, accounts, 21, civil.MustParse(date))
	bucket := testenv.S3(t)
	testenv.UseS3Credentials()
	for _, c := range strings.Split(counts, ",") {
		procs, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || procs < 1 {
			t.Fatalf("DRAFTER_SCALE_BENCH=%q: want process counts such as 1,2,4", counts)
		}
		side := scaleSide{db: testenv.Postgres(t), docs: prefixed(bucket, fmt.Sprintf("bench%d", procs))}
		env := side.env("DRAFTER_CHUNK_SIZE=1000")
		dir := t.TempDir()
		mustDrafter(t, dir, env, "migrate")
		mustDrafter(t, dir, env, "import", file)
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		sched := startReplica(t, dir, env, "scheduler", "serve", "--admin-addr", addr, "--chunk-poll", "200ms")
		var workers []*replica
		for i := 1; i < procs; i++ {
			workers = append(workers, startReplica(t, dir, env, fmt.Sprintf("worker%d", i), "serve", "--worker-only", "--admin-addr", "127.0.0.1:0", "--chunk-poll", "200ms"))
		}
		api := "http://" + addr
		waitHealthy(t, api, sched)
		time.Sleep(500 * time.Millisecond) // every worker polling
		start := time.Now()
		id := triggerRun(t, api, "statements", date)
		r := waitRun(t, api, id, 30*time.Minute)
		wall := time.Since(start)
		if r.Status != ledger.RunSucceeded {
			t.Fatalf("run %d: %s %s", id, r.Status, r.Error)
		}
		db := openSQL(t, side.db)
		var chunks int
		var workMS, maxMS float64
		if err := db.QueryRow(`SELECT COUNT(*), COALESCE(SUM(work_ms), 0), COALESCE(MAX(work_ms), 0) FROM run_chunks WHERE run_id = $1`, id).Scan(&chunks, &workMS, &maxMS); err != nil {
			t.Fatal(err)
		}
		t.Logf("BENCH processes=%d accounts=%d statements=%d wall=%.1fs docs/s=%.0f chunks=%d chunk_work_mean=%.0fms chunk_work_max=%.0fms chunk_work_sum=%.1fs",
			procs, accounts, r.Done, wall.Seconds(), float64(r.Done)/wall.Seconds(), chunks, workMS/float64(chunks), maxMS, workMS/1000)
		for _, w := range workers {
			w.stop(t)
		}
		sched.stop(t)
	}
}
