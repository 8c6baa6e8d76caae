package main

import (
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressFor returns the jobs' progress hook: a progress bar with counts
// and rate when stderr is a terminal, structured progress log lines
// otherwise.
func progressFor(log zerolog.Logger) func(job string, done, selected int) {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return progressBar()
	}
	return progressLog(log, 5*time.Second)
}

// progressBar draws one bar per job on stderr; the total follows the
// job's selected count as it grows.
func progressBar() func(job string, done, selected int) {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	current := ""
	return func(job string, done, selected int) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil || job != current {
			if bar != nil {
				_ = bar.Finish()
			}
			current = job
			bar = progressbar.NewOptions64(int64(max(selected, done)),
				progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(job),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("items"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionOnCompletion(func() { os.Stderr.WriteString("\n") }),
			)
		}
		if total := int64(max(selected, done)); total != bar.GetMax64() {
			bar.ChangeMax64(total)
		}
		_ = bar.Set64(int64(done))
	}
}

// progressLog logs a job's progress at most once per every.
func progressLog(log zerolog.Logger, every time.Duration) func(job string, done, selected int) {
	var mu sync.Mutex
	type state struct {
		start, last time.Time
	}
	jobs := map[string]*state{}
	return func(job string, done, selected int) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		s := jobs[job]
		if s == nil {
			s = &state{start: now, last: now}
			jobs[job] = s
		}
		if now.Sub(s.last) < every && done < selected {
			return
		}
		s.last = now
		ev := log.Info().Str("job", job).Int("done", done).Int("selected", selected)
		if secs := now.Sub(s.start).Seconds(); secs > 0 {
			ev = ev.Float64("per_second", float64(done)/secs)
		}
		ev.Msg("progress")
		if done >= selected {
			delete(jobs, job)
		}
	}
}
