package logs

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestConsoleLine: a console line shows its time in RFC 3339 with the
// zone, then the level and message, then run and job before the other
// fields (which follow sorted), and a duration as whole milliseconds.
func TestConsoleLine(t *testing.T) {
	var b bytes.Buffer
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no zone database: %v", err)
	}
	log := New(&b, Options{Format: "console", Zone: ny, NoColor: true})
	log.Info().Str("accounts", "7").Dur("took_ms", 1500*time.Millisecond).Str("job", "statements").Int64("run", 42).Msg("run finished")
	line := strings.TrimSpace(b.String())
	fields := strings.Fields(line)
	if len(fields) < 7 {
		t.Fatalf("console line %q", line)
	}
	if _, err := time.Parse(time.RFC3339, fields[0]); err != nil || !strings.HasSuffix(fields[0], time.Now().In(ny).Format("-07:00")) {
		t.Errorf("time %q: %v; want RFC 3339 in New York's zone", fields[0], err)
	}
	rest := strings.Join(fields[1:], " ")
	if want := "INF run finished run=42 job=statements accounts=7 took_ms=1500"; rest != want {
		t.Errorf("console line %q, want %q", rest, want)
	}
}
