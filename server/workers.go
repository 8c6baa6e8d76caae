package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// ChunkWorker works the chunks of every running chunked run (statements,
// originate), whoever started it: the loop of each drafter serve replica,
// and all that a `drafter serve --worker-only` replica does. It never
// begins a run; the replica holding the scheduler lock (or an operator)
// does, and the worker that completes a run's last chunk finishes it.
type ChunkWorker struct {
	Env  *jobs.Env
	Jobs jobs.Registry
	// Poll is how often the worker looks for runs with chunks to claim.
	Poll time.Duration
	Log  zerolog.Logger
}

// NewChunkWorker returns a chunk worker over env's store.
func NewChunkWorker(env *jobs.Env, reg jobs.Registry) *ChunkWorker {
	return &ChunkWorker{Env: env, Jobs: reg, Poll: 2 * time.Second, Log: env.Log}
}

// Run looks for chunks to claim until stop ends; the chunks it works run
// under work, which serve cancels once the shutdown grace is over (a
// chunk cut short is taken over by another worker when its lease runs
// out).
func (w *ChunkWorker) Run(stop, work context.Context) error {
	w.Log.Info().Dur("poll_ms", w.Poll).Msg("chunk worker: working the chunks of running runs")
	for stop.Err() == nil {
		runs, err := w.Env.Store.ClaimableRuns(stop)
		if err != nil && stop.Err() == nil {
			w.Log.Error().Err(err).Msg("chunk worker: look for runs")
		}
		for _, r := range runs {
			job, ok := w.Jobs[r.Job].(jobs.ChunkedJob)
			if !ok || r.Scope != "" || stop.Err() != nil {
				continue
			}
			if err := w.Env.WorkChunks(work, job, r); err != nil && work.Err() == nil {
				// As when the coordinator's own chunk fails: the run
				// fails now (a restart resumes from the chunks done)
				// rather than its chunk being retaken and failing again
				// at every lease.
				w.Log.Error().Err(err).Int64("run", r.ID).Str("job", r.Job).Msg("chunk worker: chunk failed; failing the run")
				w.Env.FailRun(context.WithoutCancel(work), r, fmt.Errorf("chunk worker: %w", err))
			}
		}
		select {
		case <-stop.Done():
		case <-time.After(w.Poll):
		}
	}
	return nil
}

var (
	descChunks = prometheus.NewDesc("drafter_run_chunks",
		"Chunks of the running runs, by job, run and status (pending, claimed, done).", []string{"job", "run", "status"}, nil)
	descWorkerChunks = prometheus.NewDesc("drafter_run_worker_chunks",
		"Chunks of the running runs by worker (host:pid/slot): claimed now, done, and retaken (done or held after another worker's lease ran out).",
		[]string{"job", "run", "worker", "state"}, nil)
)

// chunkCollector reads the chunks of running runs at each scrape.
type chunkCollector struct {
	st  *ledger.Store
	log zerolog.Logger
}

// RegisterChunkMetrics adds the chunk gauges of running runs to m.
func RegisterChunkMetrics(m *Metrics, st *ledger.Store, log zerolog.Logger) {
	m.Registry.MustRegister(&chunkCollector{st: st, log: log})
}

// Describe implements prometheus.Collector.
func (c *chunkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descChunks
	ch <- descWorkerChunks
}

// Collect implements prometheus.Collector.
func (c *chunkCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stats, err := c.st.RunningChunkStats(ctx)
	if err != nil {
		c.log.Warn().Err(err).Msg("metrics: read chunk stats")
		return
	}
	type runKey struct{ job, run, status string }
	type workerKey struct{ job, run, worker, state string }
	byRun := map[runKey]int{}
	byWorker := map[workerKey]int{}
	for _, s := range stats {
		run := strconv.FormatInt(s.RunID, 10)
		byRun[runKey{s.Job, run, s.Status}] += s.Chunks
		if s.Owner == "" {
			continue
		}
		state := "claimed"
		if s.Status == "done" {
			state = "done"
		}
		byWorker[workerKey{s.Job, run, s.Owner, state}] += s.Chunks
		if s.Retaken > 0 {
			byWorker[workerKey{s.Job, run, s.Owner, "retaken"}] += s.Retaken
		}
	}
	for k, n := range byRun {
		ch <- prometheus.MustNewConstMetric(descChunks, prometheus.GaugeValue, float64(n), k.job, k.run, k.status)
	}
	for k, n := range byWorker {
		ch <- prometheus.MustNewConstMetric(descWorkerChunks, prometheus.GaugeValue, float64(n), k.job, k.run, k.worker, k.state)
	}
}
