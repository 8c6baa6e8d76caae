package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/drafterhq/drafter/civil"
)

// TestProgressBarOnTerminal runs the real binary's statements job over 20
// chunks with stderr on a terminal (a pty) and reads the screen it leaves:
// one bar for the run, whose final count is the items the run ledger
// records done of selected, and every other line a whole log line, none
// written through the bar.
func TestProgressBarOnTerminal(t *testing.T) {
	dir := t.TempDir()
	d := civil.MustParse("2026-12-04")
	file := writePortfolio(t, 1000, 1, d)
	mustDrafter(t, dir, nil, "import", file)

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty on this machine: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 50, Cols: 220}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(drafterBin(t), "run", "statements", "--date", d.String())
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=auto",
		"DRAFTER_LOG_LEVEL=debug", "DRAFTER_CHUNK_SIZE=50", "DRAFTER_CHUNK_WORKERS=2", "DRAFTER_CRASH_AT=")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var raw bytes.Buffer
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(&raw, ptmx)
		copied <- err
	}()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("drafter run statements: %v\n%s\n%s", err, stdout.String(), raw.String())
	}
	select {
	case err := <-copied:
		if err != nil && !errors.Is(err, syscall.EIO) {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pty was not closed")
	}

	var runs []struct {
		ID       int64  `json:"id"`
		Job      string `json:"job"`
		Status   string `json:"status"`
		Selected int    `json:"selected"`
		Done     int    `json:"done"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "runs", "--job", "statements", "--json")), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %+v", err, runs)
	}
	lr := runs[0]
	if lr.Status != "succeeded" || lr.Done < 20 {
		t.Fatalf("run %+v: want a succeeded run of some items", lr)
	}

	screen := emulate(raw.Bytes())
	bar := regexp.MustCompile(`^statements 2026-12-04 run (\d+) (\[[=> ]*\] )?100% ([\d,]+)/([\d,]+) items  succeeded in \S+(  .*)?$`)
	logLine := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d) (DBG|INF|WRN|ERR) \S.*$`)
	bars, logs := 0, 0
	for _, line := range screen {
		switch {
		case line == "":
		case logLine.MatchString(line):
			logs++
			if strings.Contains(line, "statements 2026-12-04 run") || strings.Contains(line, "items") {
				t.Errorf("log line with the bar in it: %q", line)
			}
		case bar.MatchString(line):
			bars++
			m := bar.FindStringSubmatch(line)
			done, _ := strconv.Atoi(strings.ReplaceAll(m[3], ",", ""))
			total, _ := strconv.Atoi(strings.ReplaceAll(m[4], ",", ""))
			if m[1] != strconv.FormatInt(lr.ID, 10) || done != lr.Done || total != lr.Selected {
				t.Errorf("final bar %q: want run %d, %d/%d items as the ledger has them", line, lr.ID, lr.Done, lr.Selected)
			}
		default:
			t.Errorf("garbled line on the screen: %q", line)
		}
	}
	if bars != 1 {
		t.Errorf("%d final bars on the screen, want 1:\n%s", bars, strings.Join(screen, "\n"))
	}
	if logs < 20 {
		t.Errorf("%d log lines on the screen, want a log line per chunk at least", logs)
	}
	draws := strings.Count(raw.String(), clearLine+"statements 2026-12-04 run")
	t.Logf("%d items done of %d selected; %d log lines; the bar drawn %d times", lr.Done, lr.Selected, logs, draws)
}

// emulate plays a terminal's output onto a screen of lines: carriage
// return, erase to the end of the line, newline and overwriting, the colors
// left out. It returns what a person sees once the output ends.
func emulate(out []byte) []string {
	sgr := regexp.MustCompile("\x1b\\[[0-9;]*m")
	out = sgr.ReplaceAll(out, nil)
	var lines []string
	var cur []rune
	col := 0
	s := string(out)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "\x1b[K"):
			cur = cur[:min(col, len(cur))]
			i += 3
			continue
		case s[i] == '\r':
			col = 0
		case s[i] == '\n':
			lines = append(lines, string(cur))
			cur, col = nil, 0
		default:
			r := []rune(s[i:])[0]
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += len(string(r))
			continue
		}
		i++
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
