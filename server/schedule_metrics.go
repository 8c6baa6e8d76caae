package server

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	descNextFire = prometheus.NewDesc("drafter_job_next_fire_timestamp_seconds",
		"When the schedule fires the job next (Unix time), by its calendar: banking days, DST and the zone as the scheduler reckons them.", []string{"job"}, nil)
	descLastFire = prometheus.NewDesc("drafter_job_last_fire_timestamp_seconds",
		"When the schedule last fired (or should have fired) a daily job (Unix time): a run of it should have succeeded since.", []string{"job"}, nil)
)

// RegisterScheduleMetrics adds to m each scheduled job's next fire time and,
// for daily jobs, its latest one, from s's entries and calendar.
func RegisterScheduleMetrics(m *Metrics, s *Scheduler) {
	m.Registry.MustRegister(&scheduleCollector{s: s})
}

type scheduleCollector struct{ s *Scheduler }

// Describe implements prometheus.Collector.
func (c *scheduleCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descNextFire
	ch <- descLastFire
}

// Collect implements prometheus.Collector.
func (c *scheduleCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	now := s.Clock.Now()
	for i := range s.Entries {
		e := &s.Entries[i]
		if e.Intraday {
			// Fires many times a business date; its latest fire says
			// nothing about a deadline.
			ch <- prometheus.MustNewConstMetric(descNextFire, prometheus.GaugeValue, unixSeconds(e.sched.Next(now)), e.Job)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descNextFire, prometheus.GaugeValue, unixSeconds(s.nextDailyFire(e, now)), e.Job)
		d := s.businessDate(now)
		for i := 0; i < 400; i++ {
			if f, ok := s.fireOn(e, d.AddDays(-i)); ok && !f.After(now) {
				ch <- prometheus.MustNewConstMetric(descLastFire, prometheus.GaugeValue, unixSeconds(f), e.Job)
				break
			}
		}
	}
}
