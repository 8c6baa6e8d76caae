package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
)

// progressFor returns the jobs' progress hook: a progress bar when stderr is
// a terminal, progress log lines otherwise.
func progressFor(log zerolog.Logger) func(jobs.Progress) {
	if t := stderrTerminal(); t != nil {
		return t.progress
	}
	return progressLog(log, 5*time.Second)
}

// terminal is stderr on a terminal, shared by the log and the progress bar:
// a log line is written above the bar (the bar's line is cleared, the log
// line written, the bar drawn again below it), never through it.
type terminal struct {
	mu     sync.Mutex
	out    io.Writer
	bar    string // the bar drawn on the last line, "" when none
	run    int64  // the run whose bar it is
	drawn  time.Time
	width  func() int
	redraw time.Duration
}

// stderrTerminal is stderr's terminal, or nil when stderr is not one.
var stderrTerminal = sync.OnceValue(func() *terminal {
	fd := int(os.Stderr.Fd())
	if !term.IsTerminal(fd) {
		return nil
	}
	return newTerminal(os.Stderr, func() int {
		w, _, err := term.GetSize(fd)
		if err != nil || w <= 0 {
			return 80
		}
		return w
	})
})

func newTerminal(out io.Writer, width func() int) *terminal {
	return &terminal{out: out, width: width, redraw: 100 * time.Millisecond}
}

// clearLine returns the cursor to the line's start and erases the line.
const clearLine = "\r\x1b[K"

// Write writes p, whole lines of log, above the bar.
func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bar == "" {
		return t.out.Write(p)
	}
	if _, err := io.WriteString(t.out, clearLine); err != nil {
		return 0, err
	}
	n, err := t.out.Write(p)
	if err == nil && len(p) > 0 && p[len(p)-1] != '\n' {
		_, err = io.WriteString(t.out, "\n")
	}
	if err == nil {
		_, err = io.WriteString(t.out, t.bar)
	}
	return n, err
}

// progress draws a run's bar: one bar per run, redrawn at most every
// t.redraw; a finished run's bar is drawn once more, final, and left on its
// line, and the next run's bar starts below it.
func (t *terminal) progress(p jobs.Progress) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if !p.Finished && p.RunID == t.run && now.Sub(t.drawn) < t.redraw {
		return
	}
	line := barLine(p, t.width())
	if p.Finished {
		io.WriteString(t.out, clearLine+line+"\n")
		t.bar, t.run = "", 0
		return
	}
	if t.bar != "" && p.RunID != t.run {
		// Another run's bar that never finished stays where it is.
		io.WriteString(t.out, "\n")
	}
	io.WriteString(t.out, clearLine+line)
	t.bar, t.run, t.drawn = line, p.RunID, now
}

// barLine renders a run's progress on one line of at most width columns:
//
//	statements 2026-12-05 run 7 [=======>      ]  54% 1,580/~2,920 items  412/s  ETA 3s  chunks 11/20
//
// A total that is an estimate wears a ~. A finished run says done, with
// what the run ledger recorded.
func barLine(p jobs.Progress, width int) string {
	total := max(p.Expected, p.Selected)
	// Without an expected total, a running run's share done is unknown:
	// no bar, no percentage, no ETA, only what it selected so far.
	known := p.Finished || p.Expected > 0
	frac := 0.0
	if total > 0 {
		frac = min(1, float64(p.Done+p.Skipped+p.Failed)/float64(total))
	}
	if p.Finished && total == 0 {
		frac = 1
	}
	head := fmt.Sprintf("%s %s run %d", p.Job, p.Date, p.RunID)
	if p.Date.IsZero() {
		head = p.Job
	}
	count := fmt.Sprintf("%s/%s items", thousands(p.Done), thousands(total))
	switch {
	case !known:
		count = fmt.Sprintf("%s/%s items selected so far", thousands(p.Done), thousands(p.Selected))
	case !p.Finished && total > p.Selected:
		count = fmt.Sprintf("%s/~%s items", thousands(p.Done), thousands(total))
	}
	secs := p.Elapsed.Seconds()
	// The parts in the order they matter, the last dropped first when the
	// terminal is narrow.
	tail := []string{count}
	perSecond := ""
	if secs > 0 && p.Done > 0 {
		perSecond = rate(float64(p.Done) / secs)
	}
	if p.Finished {
		st := p.Status
		if st == "" {
			st = "done"
		}
		tail = append(tail, fmt.Sprintf("%s in %s", st, p.Elapsed.Round(100*time.Millisecond)))
		if p.Failed > 0 {
			tail = append(tail, fmt.Sprintf("%s failed", thousands(p.Failed)))
		}
		if p.Skipped > 0 {
			tail = append(tail, fmt.Sprintf("%s skipped", thousands(p.Skipped)))
		}
		if perSecond != "" {
			tail = append(tail, perSecond)
		}
	} else {
		if eta, ok := etaOf(p, total, secs); ok && known {
			tail = append(tail, "ETA "+eta)
		}
		if perSecond != "" {
			tail = append(tail, perSecond)
		}
		if p.Chunks > 0 {
			tail = append(tail, fmt.Sprintf("chunks %d/%d", p.ChunksDone, p.Chunks))
		}
	}
	percent := fmt.Sprintf("%3.0f%% ", math.Floor(frac*100))
	if !known {
		percent = ""
	}
	rest := percent + strings.Join(tail, "  ")
	// Too wide: the bar goes first, then the least telling parts, last
	// first; a line is never cut, which would leave half a word.
	for len(head)+1+len(rest) >= width && len(tail) > 1 {
		tail = tail[:len(tail)-1]
		rest = percent + strings.Join(tail, "  ")
	}
	barWidth := min(30, width-len(head)-len(rest)-5)
	if barWidth < 5 || !known {
		line := head + "  " + rest
		if len(line) >= width {
			line = line[:max(0, width-1)]
		}
		return line
	}
	filled := int(frac * float64(barWidth))
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	return head + " [" + bar + "] " + rest
}

// etaOf estimates the time left from the rate so far.
func etaOf(p jobs.Progress, total int, secs float64) (string, bool) {
	worked := p.Done + p.Skipped + p.Failed
	if worked == 0 || secs <= 0 || total <= worked {
		return "", false
	}
	left := time.Duration(float64(total-worked) / (float64(worked) / secs) * float64(time.Second))
	return left.Round(time.Second).String(), true
}

func rate(perSecond float64) string {
	switch {
	case perSecond >= 10:
		return thousands(int(math.Round(perSecond))) + "/s"
	case perSecond >= 1:
		return fmt.Sprintf("%.1f/s", perSecond)
	}
	return fmt.Sprintf("%.1f/min", perSecond*60)
}

// thousands writes n with thousands separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// progressLog logs a run's progress at most once per every, and never for
// a finished run (its "run finished" line says it all).
func progressLog(log zerolog.Logger, every time.Duration) func(jobs.Progress) {
	var mu sync.Mutex
	last := map[int64]time.Time{}
	return func(p jobs.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Finished {
			delete(last, p.RunID)
			return
		}
		now := time.Now()
		l, seen := last[p.RunID]
		if !seen {
			last[p.RunID] = now
			return
		}
		if now.Sub(l) < every {
			return
		}
		last[p.RunID] = now
		ev := log.Info().Int64("run", p.RunID).Str("job", p.Job).Str("date", p.Date.String()).
			Int("done", p.Done).Int("selected", p.Selected).Int("skipped", p.Skipped).Int("failed", p.Failed)
		if p.Expected > p.Selected {
			ev = ev.Int("expected", p.Expected)
		}
		if p.Chunks > 0 {
			ev = ev.Int("chunks", p.Chunks).Int("chunks_done", p.ChunksDone)
		}
		if secs := p.Elapsed.Seconds(); secs > 0 {
			ev = ev.Float64("items_per_s", math.Round(float64(p.Done)/secs*10)/10)
			if eta, ok := etaSeconds(p, secs); ok {
				ev = ev.Int64("eta_s", eta)
			}
		}
		ev.Int64("elapsed_ms", p.Elapsed.Milliseconds()).Msg("progress")
	}
}

func etaSeconds(p jobs.Progress, secs float64) (int64, bool) {
	total := max(p.Expected, p.Selected)
	worked := p.Done + p.Skipped + p.Failed
	if worked == 0 || total <= worked {
		return 0, false
	}
	return int64(math.Ceil(float64(total-worked) / (float64(worked) / secs))), true
}

// importProgress is the import's progress hook: a bar over the extract's
// lines on a terminal (they are counted first), nothing otherwise (the
// import logs its progress and its summary).
func importProgress(file string) (report func(lines int), finish func(lines int), ok bool) {
	t := stderrTerminal()
	if t == nil {
		return nil, nil, false
	}
	total, err := countLines(file)
	if err != nil {
		return nil, nil, false
	}
	start := time.Now()
	p := func(lines int, fin bool) jobs.Progress {
		return jobs.Progress{Job: "import " + filepath.Base(file), Counts: ledger.Counts{Selected: total, Done: lines},
			Expected: total, Elapsed: time.Since(start), Finished: fin, Status: "read"}
	}
	return func(lines int) { t.progress(p(lines, false)) }, func(lines int) { t.progress(p(lines, true)) }, true
}

// countLines counts the lines of a file, a last one without newline too.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	n, last := 0, byte('\n')
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if k > 0 {
			last = buf[k-1]
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}
