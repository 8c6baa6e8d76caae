package server

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// Metrics is drafter's Prometheus registry: counters of the runs this
// process finished, and gauges read from the store with a few COUNT
// queries at each scrape (so every replica reports the same totals).
type Metrics struct {
	Registry *prometheus.Registry

	runsFinished *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	items        *prometheus.CounterVec
	achEntries   *prometheus.CounterVec
	achDebits    *prometheus.CounterVec
	cutoffMissed prometheus.Counter
}

// NewMetrics returns the registry for st, with business dates in zone.
func NewMetrics(st *ledger.Store, zone *time.Location, log zerolog.Logger) *Metrics {
	return newMetrics(st, zone, log, time.Now)
}

// newMetrics is NewMetrics on a clock: the return rates' 60 days end on its
// business date.
func newMetrics(st *ledger.Store, zone *time.Location, log zerolog.Logger, now func() time.Time) *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drafter_runs_finished_total",
			Help: "Runs this process finished, by job and status (dry runs apart)."}, []string{"job", "status", "dry_run"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "drafter_run_duration_seconds",
			Help: "Wall time of the runs this process finished, by job.", Buckets: prometheus.ExponentialBuckets(0.1, 4, 10)}, []string{"job"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drafter_run_items_total",
			Help: "Items of the runs this process finished, by job and outcome (selected, done, skipped, failed)."}, []string{"job", "outcome"}),
		achEntries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drafter_ach_entries_total",
			Help: "ACH entries in the files of the originate runs this process finished (from their summaries)."}, []string{"job"}),
		achDebits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "drafter_ach_debit_cents_total",
			Help: "ACH debit amount in cents in the files of the originate runs this process finished."}, []string{"job"}),
		cutoffMissed: prometheus.NewCounter(prometheus.CounterOpts{Name: "drafter_bank_cutoff_missed_total",
			Help: "NACHA files held because the bank's last cutoff of their day passed, counted by each transmit run this process finished (an exception says what to do)."}),
	}
	m.Registry.MustRegister(m.runsFinished, m.runDuration, m.items, m.achEntries, m.achDebits, m.cutoffMissed,
		&storeCollector{st: st, zone: zone, log: log, now: now},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRun counts a finished run.
func (m *Metrics) ObserveRun(res jobs.Result) {
	r := res.Run
	if r.ID == 0 {
		return
	}
	dry := "false"
	if r.DryRun {
		dry = "true"
	}
	m.runsFinished.WithLabelValues(r.Job, r.Status, dry).Inc()
	if r.FinishedAt != nil {
		m.runDuration.WithLabelValues(r.Job).Observe(r.FinishedAt.Sub(r.StartedAt).Seconds())
	}
	if r.DryRun {
		return
	}
	for outcome, n := range map[string]int{"selected": r.Selected, "done": r.Done, "skipped": r.Skipped, "failed": r.Failed} {
		m.items.WithLabelValues(r.Job, outcome).Add(float64(n))
	}
	// Summaries that report entries and a debit total (originate) feed the
	// ACH counters.
	var sum struct {
		Entries      *int   `json:"entries"`
		DebitTotal   *int64 `json:"debit_total_cents"`
		CutoffMissed *int   `json:"cutoff_missed"`
	}
	b := []byte(r.Summary)
	if len(b) == 0 && res.Summary != nil {
		b, _ = json.Marshal(res.Summary)
	}
	if json.Unmarshal(b, &sum) == nil {
		if sum.Entries != nil {
			m.achEntries.WithLabelValues(r.Job).Add(float64(*sum.Entries))
		}
		if sum.DebitTotal != nil {
			m.achDebits.WithLabelValues(r.Job).Add(float64(*sum.DebitTotal))
		}
		if sum.CutoffMissed != nil && r.Job == "transmit" {
			m.cutoffMissed.Add(float64(*sum.CutoffMissed))
		}
	}
}

// storeCollector reads gauges from the store at each scrape.
type storeCollector struct {
	st   *ledger.Store
	zone *time.Location
	log  zerolog.Logger
	now  func() time.Time
}

var (
	descRuns   = prometheus.NewDesc("drafter_runs", "Runs in the run ledger (dry runs excluded), by job and status.", []string{"job", "status"}, nil)
	descOutbox = prometheus.NewDesc("drafter_outbox_messages", "Email in the outbox, by status (queued and failed are the backlog).",
		[]string{"status"}, nil)
	descReturns = prometheus.NewDesc("drafter_returns", "ACH returns received, by return code.", []string{"code"}, nil)
	descRate    = prometheus.NewDesc("drafter_return_rate_ratio",
		"Return rate over the last 60 days against debits originated, by NACHA rate (unauthorized, administrative, overall).", []string{"rate"}, nil)
	descRateThreshold = prometheus.NewDesc("drafter_return_rate_threshold_ratio", "NACHA's threshold of each return rate.", []string{"rate"}, nil)
	descFiles         = prometheus.NewDesc("drafter_ach_files",
		"NACHA files, by status: allocated (not stored yet), stored (not yet confirmed at the bank), transmitted (confirmed sent), released (voided; never sent).", []string{"status"}, nil)
	descFileEntries   = prometheus.NewDesc("drafter_ach_file_entries", "Entries in NACHA files, by file status (as drafter_ach_files).", []string{"status"}, nil)
	descFileDebits    = prometheus.NewDesc("drafter_ach_file_debit_cents", "Debit amount in cents in NACHA files, by file status (as drafter_ach_files).", []string{"status"}, nil)
	descTransmissions = prometheus.NewDesc("drafter_bank_transmissions", "NACHA files handed to the bank, by state (renaming: uploaded, rename not confirmed; sent).", []string{"state"}, nil)
	descUnsettled     = prometheus.NewDesc("drafter_ach_files_unsettled",
		"NACHA files whose origination is not finished: allocated and not stored, or stored and their payments not settled (released files excluded). "+
			"Allocated ones are normal for minutes while originate runs, stored ones until the next deliver run (every 5 minutes) or statements run settles them; "+
			"longer means an originate run stopped and was not restarted, or deliver is not running or fails.", nil, nil)
	descUp = prometheus.NewDesc("drafter_store_up", "1 when the last scrape read every gauge from the store.", nil, nil)

	descAttention = prometheus.NewDesc("drafter_runs_needing_attention",
		"Runs a person must look at, by job and status: failed, partial or cancelled, and not followed by a later attempt of the same run (dry runs excluded).",
		[]string{"job", "status"}, nil)
	descLastSuccess = prometheus.NewDesc("drafter_job_last_success_timestamp_seconds",
		"When the job's latest succeeded run finished (Unix time; dry runs and runs for one account excluded).", []string{"job"}, nil)
	descRunAge = prometheus.NewDesc("drafter_run_age_seconds",
		"How long each running run has been running (dry runs excluded).", []string{"job", "business_date", "run"}, nil)
	descHeartbeatAge = prometheus.NewDesc("drafter_run_heartbeat_age_seconds",
		"How old each running run's last heartbeat is: a run whose process died stops beating (dry runs excluded).", []string{"job", "business_date", "run"}, nil)
	descExceptions = prometheus.NewDesc("drafter_exceptions_open",
		"Exceptions not yet resolved, by kind: each needs a person (`drafter exceptions`).", []string{"kind"}, nil)
	descOldestQueued = prometheus.NewDesc("drafter_outbox_oldest_queued_age_seconds",
		"Age of the oldest email waiting in the outbox (status queued); 0 when none waits.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRuns, descOutbox, descReturns, descRate, descRateThreshold, descFiles, descFileEntries, descFileDebits, descTransmissions, descUnsettled, descUp,
		descAttention, descLastSuccess, descRunAge, descHeartbeatAge, descExceptions, descOldestQueued} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	up := 1.0
	fail := func(what string, err error) {
		c.log.Warn().Err(err).Str("gauge", what).Msg("metrics: read from the store")
		up = 0
	}
	db := c.st.DB()
	gauge := func(desc *prometheus.Desc, q string, args ...any) {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			fail(desc.String(), err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			var labels []string
			var n float64
			var a, b string
			var err error
			if desc == descRuns || desc == descAttention {
				err = rows.Scan(&a, &b, &n)
				labels = []string{a, b}
			} else {
				err = rows.Scan(&a, &n)
				labels = []string{a}
			}
			if err != nil {
				fail(desc.String(), err)
				return
			}
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, n, labels...)
		}
		if err := rows.Err(); err != nil {
			fail(desc.String(), err)
		}
	}
	gauge(descRuns, `SELECT job, status, COUNT(*) FROM runs WHERE dry_run = $1 GROUP BY job, status`, false)
	// Every status, 0 when no message has it: the mail alerts need the
	// series before the first failure.
	if counts, err := c.st.OutboxCounts(ctx); err != nil {
		fail("outbox", err)
	} else {
		for _, status := range []string{"queued", "sending", "sent", "failed"} {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(counts[status]), status)
		}
	}
	gauge(descReturns, `SELECT code, COUNT(*) FROM returns GROUP BY code`)
	// A released file keeps its status; its payments are in another file,
	// so it is counted apart, not as stored and waiting for the bank.
	const fileStatus = `CASE WHEN released_at IS NOT NULL THEN 'released' ELSE status END`
	gauge(descFiles, `SELECT `+fileStatus+`, COUNT(*) FROM ach_files GROUP BY `+fileStatus)
	gauge(descFileEntries, `SELECT `+fileStatus+`, COALESCE(SUM(entries), 0) FROM ach_files GROUP BY `+fileStatus)
	gauge(descFileDebits, `SELECT `+fileStatus+`, COALESCE(SUM(debit_total), 0) FROM ach_files GROUP BY `+fileStatus)
	gauge(descTransmissions, `SELECT state, COUNT(*) FROM transmissions GROUP BY state`)
	var unsettled float64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM ach_files WHERE settled_at IS NULL AND released_at IS NULL`).Scan(&unsettled); err != nil {
		fail("unsettled files", err)
	} else {
		ch <- prometheus.MustNewConstMetric(descUnsettled, prometheus.GaugeValue, unsettled)
	}
	gauge(descAttention, `SELECT job, status, COUNT(*) FROM runs r WHERE NOT dry_run AND status IN ('failed', 'partial', 'cancelled')
		AND NOT EXISTS (SELECT 1 FROM runs l WHERE l.job = r.job AND l.business_date = r.business_date AND l.scope = r.scope
			AND l.dry_run = r.dry_run AND l.attempt > r.attempt)
		GROUP BY job, status`)
	gauge(descExceptions, `SELECT kind, COUNT(*) FROM exceptions WHERE resolved_at IS NULL GROUP BY kind`)
	now := c.now()
	if err := c.collectRunTimes(ctx, ch, now); err != nil {
		fail("run times", err)
	}
	var oldest time.Time
	switch err := db.QueryRowContext(ctx, `SELECT created_at FROM outbox WHERE status = 'queued' ORDER BY created_at LIMIT 1`).Scan(&oldest); {
	case errors.Is(err, sql.ErrNoRows):
		ch <- prometheus.MustNewConstMetric(descOldestQueued, prometheus.GaugeValue, 0)
	case err != nil:
		fail("oldest queued email", err)
	default:
		ch <- prometheus.MustNewConstMetric(descOldestQueued, prometheus.GaugeValue, max(0, now.Sub(oldest).Seconds()))
	}

	// Return rates over NACHA's 60-day window, counted as `drafter report
	// return-rates` counts them: debit entries originated, and the returns
	// of debit entries (a prenote's return is not a debit's).
	today := civil.Of(now.In(c.zone))
	if debits, byCode, err := c.st.ReturnCounts(ctx, today.AddDays(-59), today); err != nil {
		fail("return rates", err)
	} else {
		rates := ach.ReturnRates(debits, byCode)
		for _, r := range []ach.Rate{rates.Unauthorized, rates.Administrative, rates.Overall} {
			ch <- prometheus.MustNewConstMetric(descRate, prometheus.GaugeValue, r.BasisPoints()/10000, r.Name)
			ch <- prometheus.MustNewConstMetric(descRateThreshold, prometheus.GaugeValue, float64(r.ThresholdBP)/10000, r.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up)
}

// collectRunTimes reads each job's last success, and the age and heartbeat
// age of every running run.
func (c *storeCollector) collectRunTimes(ctx context.Context, ch chan<- prometheus.Metric, now time.Time) error {
	db := c.st.DB()
	// The newest succeeded run of each job (by id: the run ledger's
	// order); runs for one account are reruns, not the job's night.
	rows, err := db.QueryContext(ctx, `SELECT job, finished_at FROM runs WHERE id IN (SELECT MAX(id) FROM runs
		WHERE status = 'succeeded' AND NOT dry_run AND scope NOT LIKE 'account:%' GROUP BY job)`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var job string
		var fin sql.NullTime
		if err := rows.Scan(&job, &fin); err != nil {
			rows.Close()
			return err
		}
		if fin.Valid {
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, unixSeconds(fin.Time), job)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = db.QueryContext(ctx, `SELECT id, job, business_date, started_at, heartbeat_at FROM runs WHERE status = 'running' AND NOT dry_run`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var job string
		var d civil.Date
		var started, beat time.Time
		if err := rows.Scan(&id, &job, &d, &started, &beat); err != nil {
			return err
		}
		labels := []string{job, d.String(), strconv.FormatInt(id, 10)}
		ch <- prometheus.MustNewConstMetric(descRunAge, prometheus.GaugeValue, max(0, now.Sub(started).Seconds()), labels...)
		ch <- prometheus.MustNewConstMetric(descHeartbeatAge, prometheus.GaugeValue, max(0, now.Sub(beat).Seconds()), labels...)
	}
	return rows.Err()
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
