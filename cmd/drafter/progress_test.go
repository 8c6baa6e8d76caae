package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/jobs"
	"github.com/drafterhq/drafter/ledger"
	"github.com/drafterhq/drafter/logs"
)

// TestBarLine: what the bar says at each stage of a run.
func TestBarLine(t *testing.T) {
	d := civil.MustParse("2026-12-05")
	base := jobs.Progress{RunID: 7, Job: "statements", Date: d, Elapsed: 4 * time.Second}
	for _, tc := range []struct {
		name string
		p    func(p jobs.Progress) jobs.Progress
		want []string
		not  []string
	}{
		{"estimated total over chunks", func(p jobs.Progress) jobs.Progress {
			p.Counts = ledger.Counts{Selected: 1600, Done: 1580}
			p.Expected, p.Chunks, p.ChunksDone = 2920, 20, 11
			return p
		}, []string{"statements 2026-12-05 run 7 [", " 54% 1,580/~2,920 items", "395/s", "ETA 3s", "chunks 11/20"}, nil},
		{"known total", func(p jobs.Progress) jobs.Progress {
			p.Counts = ledger.Counts{Selected: 100, Done: 50}
			p.Expected = 8988
			return p
		}, []string{"  0% 50/~8,988 items"}, []string{"100%"}},
		{"finished", func(p jobs.Progress) jobs.Progress {
			p.Counts = ledger.Counts{Selected: 2920, Done: 2900, Failed: 20}
			p.Expected, p.Finished, p.Status = 2920, true, "partial"
			return p
		}, []string{"100% 2,900/2,920 items", "partial in 4s", "20 failed"}, []string{"ETA", "~"}},
		{"failed part way", func(p jobs.Progress) jobs.Progress {
			p.Counts = ledger.Counts{Selected: 900, Done: 50}
			p.Expected, p.Finished, p.Status = 900, true, "failed"
			return p
		}, []string{"  5% 50/900 items", "failed in 4s"}, []string{"100%"}},
		{"total unknown", func(p jobs.Progress) jobs.Progress {
			p.Counts = ledger.Counts{Selected: 20, Done: 20}
			return p
		}, []string{"statements 2026-12-05 run 7  20/20 items selected so far", "5.0/s"}, []string{"%", "ETA", "["}},
		{"nothing selected yet", func(p jobs.Progress) jobs.Progress { return p }, []string{"0/0 items selected so far"}, []string{"ETA", "/s", "%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := barLine(tc.p(base), 160)
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("%q lacks %q", line, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(line, n) {
					t.Errorf("%q has %q", line, n)
				}
			}
			if len(line) >= 160 {
				t.Errorf("%q is wider than the terminal", line)
			}
		})
	}
	if line := barLine(jobs.Progress{RunID: 1, Job: "deliver", Date: d, Counts: ledger.Counts{Selected: 10, Done: 5}}, 30); len(line) >= 30 {
		t.Errorf("narrow terminal: %q", line)
	}
}

// TestTerminalWritesAboveTheBar: a log line clears the bar's line, is
// written whole, and the bar is drawn again below it; a finished run's bar
// stays, and the next run's bar starts on a line of its own.
func TestTerminalWritesAboveTheBar(t *testing.T) {
	var out bytes.Buffer
	term := newTerminal(&out, func() int { return 120 })
	term.Write([]byte("before any bar\n"))
	d := civil.MustParse("2026-12-05")
	term.progress(jobs.Progress{RunID: 1, Job: "deliver", Date: d, Counts: ledger.Counts{Selected: 100, Done: 10}, Expected: 200})
	term.Write([]byte("a log line\n"))
	term.progress(jobs.Progress{RunID: 1, Job: "deliver", Date: d, Counts: ledger.Counts{Selected: 200, Done: 200}, Finished: true, Status: "succeeded"})
	term.Write([]byte("after the run\n"))
	screen := emulate(out.Bytes())
	want := []string{"before any bar", "a log line", "deliver 2026-12-05 run 1", "after the run"}
	if len(screen) != len(want) {
		t.Fatalf("screen:\n%s", strings.Join(screen, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(screen[i], w) {
			t.Errorf("line %d = %q, want %q", i, screen[i], w)
		}
	}
	if !strings.Contains(screen[2], "200/200 items") || !strings.Contains(screen[2], "succeeded") {
		t.Errorf("final bar %q", screen[2])
	}
}

// TestProgressLog: off a terminal a long run logs its progress as JSON an
// SRE can parse, at most once per interval, and not for a finished run.
func TestProgressLog(t *testing.T) {
	var buf bytes.Buffer
	log := logs.New(&buf, logs.Options{Format: "json"})
	report := progressLog(log, 50*time.Millisecond)
	d := civil.MustParse("2026-12-05")
	p := jobs.Progress{RunID: 3, Job: "deliver", Date: d, Expected: 900, Counts: ledger.Counts{Selected: 100, Done: 70}, Elapsed: time.Second}
	report(p) // the run's first report: its start, not worth a line
	time.Sleep(60 * time.Millisecond)
	p.Counts, p.Elapsed = ledger.Counts{Selected: 200, Done: 140}, 2*time.Second
	report(p)
	report(p) // within the interval: no line
	p.Finished = true
	report(p) // finished: the run's own line says it
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("%d progress lines, want 1:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if err := checkLogLine(l); err != nil {
			t.Errorf("%v\n%s", err, l)
		}
		for _, k := range []string{`"run":3`, `"job":"deliver"`, `"done":`, `"selected":`, `"items_per_s":70`, `"eta_s":11`, `"expected":900`, `"elapsed_ms":2000`, `"message":"progress"`} {
			if !strings.Contains(l, k) {
				t.Errorf("progress line lacks %s: %s", k, l)
			}
		}
	}
}
