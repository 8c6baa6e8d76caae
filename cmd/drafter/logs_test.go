package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestJSONLogsParse runs a whole small demo night with JSON logs, then a
// backfill, a dry run and the look-ups, and decodes every line each wrote
// on stderr: one JSON object a line, no key twice, every duration a number
// whose name says its unit, every time RFC 3339 with its zone, and no Go
// formatting of a map, nil or slice anywhere an operator reads (stderr or
// stdout).
func TestJSONLogsParse(t *testing.T) {
	dir := t.TempDir()
	env := []string{"DRAFTER_CHUNK_SIZE=50"}
	var outputs []result
	run := func(args ...string) {
		t.Helper()
		r := drafter(t, dir, env, args...)
		if r.code != 0 && r.code != exitPartial {
			t.Fatalf("drafter %v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
		}
		outputs = append(outputs, r)
	}
	run("demo", "--accounts", "300", "--date", "2026-12-04")
	checkDemoTour(t, outputs[0].stdout)
	run("run", "originate", "--from", "2026-12-07", "--to", "2026-12-08")
	run("run", "statements", "--date", "2026-12-04", "--dry-run")
	run("runs")
	run("runs", "show", "3")
	run("outbox")
	run("exceptions")
	run("report", "return-rates")
	run("migrate")
	outputs = append(outputs, serveBriefly(t, dir, env))

	lines := 0
	for _, r := range outputs {
		for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
			if line == "" {
				continue
			}
			lines++
			if err := checkLogLine(line); err != nil {
				t.Errorf("log line: %v\n%s", err, line)
			}
		}
		if m := goFormatting.FindString(r.stdout); m != "" {
			t.Errorf("stdout shows Go formatting %q:\n%s", m, r.stdout)
		}
	}
	if lines < 20 {
		t.Fatalf("only %d log lines: the demo did not log", lines)
	}
	t.Logf("%d log lines decoded", lines)
}

// goFormatting matches what Go's %v makes of a map, nil, an empty slice or
// a bad verb.
var goFormatting = regexp.MustCompile(`map\[|<nil>|%!|: \[\]|^\[\]$`)

// durationName matches field names that hold a duration.
var durationName = regexp.MustCompile(`(^|_)(took|grace|elapsed|duration|wait|waited|lease|timeout|delay|backoff|interval|poll|age|eta|latency|after)($|_)`)

// rfc3339 matches an RFC 3339 time with its zone.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)

// checkLogLine decodes one JSON log line token by token, so that a key
// given twice is seen (encoding/json keeps the last), and checks each
// field.
func checkLogLine(line string) error {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if err := checkObject(dec, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("more than one JSON value on the line")
	}
	return nil
}

func checkObject(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("%s: want an object, got %v", path, tok)
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return err
		}
		key := kt.(string)
		if seen[key] {
			return fmt.Errorf("key %q twice", path+key)
		}
		seen[key] = true
		if err := checkValue(dec, path+key); err != nil {
			return err
		}
	}
	_, err = dec.Token() // }
	return err
}

func checkValue(dec *json.Decoder, key string) error {
	name := key[strings.LastIndex(key, ".")+1:]
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	raw = bytes.TrimSpace(raw)
	switch raw[0] {
	case '{':
		return checkObject(json.NewDecoder(bytes.NewReader(raw)), key+".")
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return err
		}
		for i, it := range items {
			if err := checkValue(json.NewDecoder(bytes.NewReader(it)), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
		return nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		if m := goFormatting.FindString(s); m != "" {
			return fmt.Errorf("%s: Go formatting %q in %q", key, m, s)
		}
		if name == "time" || strings.HasSuffix(name, "_at") {
			if !rfc3339.MatchString(s) {
				return fmt.Errorf("%s: time %q is not RFC 3339 with a zone", key, s)
			}
		}
		if durationName.MatchString(name) && !strings.HasSuffix(name, "_at") {
			return fmt.Errorf("%s: a duration as text %q: want a number in %s_ms or %s_s", key, s, name, name)
		}
		return nil
	}
	if raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9' {
		if durationName.MatchString(name) && !strings.HasSuffix(name, "_ms") && !strings.HasSuffix(name, "_s") {
			return fmt.Errorf("%s: duration %s without its unit in the name (want %s_ms or %s_s)", key, raw, name, name)
		}
		if _, frac, ok := strings.Cut(string(raw), "."); ok && len(frac) > 3 {
			return fmt.Errorf("%s: %s: a number an operator reads has at most 3 decimals", key, raw)
		}
	}
	return nil
}

// TestCheckLogLine shows the checker refusing what it is for.
func TestCheckLogLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		ok         bool
	}{
		{"clean", `{"level":"info","run":3,"job":"statements","chunk":0,"took_ms":12,"time":"2026-12-02T21:43:07.091Z","message":"run finished"}`, true},
		{"duplicate key", `{"chunk":0,"documents":16,"chunk":16}`, false},
		{"duplicate nested key", `{"a":{"b":1,"b":2}}`, false},
		{"duration without unit", `{"took":3542.51927}`, false},
		{"grace without unit", `{"grace":30000}`, false},
		{"go map", `{"message":"returns map[R01:6 R02:1]"}`, false},
		{"go nil", `{"files":"<nil>"}`, false},
		{"go empty slice", `{"applied":"[]"}`, false},
		{"long float", `{"per_second":45.43280349792606}`, false},
		{"time without zone", `{"time":"2026-12-02T21:43:07"}`, false},
		{"not json", `21:43:07 INF run finished`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkLogLine(tc.line)
			if (err == nil) != tc.ok {
				t.Fatalf("checkLogLine = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

// checkDemoTour checks that the demo ends by naming a statement PDF, a
// notice and an email that exist, and how to run the binary on its folder.
func checkDemoTour(t *testing.T, stdout string) {
	t.Helper()
	for _, label := range []string{"a statement:", "a lease-end notice:", "an email:"} {
		_, rest, ok := strings.Cut(stdout, label)
		if !ok {
			t.Errorf("the demo does not end with %q:\n%s", label, stdout)
			continue
		}
		path := strings.TrimSpace(strings.SplitN(rest, "\n", 2)[0])
		if _, err := os.Stat(path); err != nil {
			t.Errorf("the demo's %s %q: %v", label, path, err)
		}
	}
	if !regexp.MustCompile(`(?m)^  \S*drafter runs --data-dir \S+$`).MatchString(stdout) {
		t.Errorf("the demo does not say how to run `drafter runs`:\n%s", stdout)
	}
}

// serveBriefly starts drafter serve on the data dir, waits until its admin
// API listens, stops it with SIGTERM and returns what it wrote.
func serveBriefly(t *testing.T, dir string, env []string) result {
	t.Helper()
	cmd := exec.Command(drafterBin(t), "serve", "--admin-addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json",
		"DRAFTER_CRASH_AT="), env...)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sc := bufio.NewScanner(pipe)
	listening := false
	for sc.Scan() {
		stderr.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), `"message":"admin API listening"`) && !listening {
			listening = true
			cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	if err := cmd.Wait(); err != nil || !listening {
		t.Fatalf("serve: %v (listening %v)\n%s", err, listening, stderr.String())
	}
	return result{stdout.String(), stderr.String(), 0}
}
