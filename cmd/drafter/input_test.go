package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
)

// TestEndlessInputIsRefused: import and returns ingest of /dev/zero end
// promptly with an error naming the limit, not after eating the machine's
// memory.
func TestEndlessInputIsRefused(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	dir := t.TempDir()
	tests := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"import", nil, []string{"import", "/dev/zero"},
			"/dev/zero:1: (line): the line is longer than 1048576 bytes (DRAFTER_IMPORT_MAX_LINE_BYTES)"},
		{"import with a file cap", []string{"DRAFTER_IMPORT_MAX_LINE_BYTES=1024", "DRAFTER_IMPORT_MAX_FILE_BYTES=1024"}, []string{"import", "/dev/zero"},
			"the file is larger than 1024 bytes (DRAFTER_IMPORT_MAX_FILE_BYTES)"},
		{"returns ingest", []string{"DRAFTER_MAX_INBOUND_FILE_BYTES=4194304"}, []string{"returns", "ingest", "/dev/zero"},
			"/dev/zero: file: the file is larger than DRAFTER_MAX_INBOUND_FILE_BYTES (4194304 bytes)"},
		{"returns ingest of a large regular file", []string{"DRAFTER_MAX_INBOUND_FILE_BYTES=1024"}, []string{"returns", "ingest", bigFile(t, 2048)},
			"big.ach: file: the file is larger than DRAFTER_MAX_INBOUND_FILE_BYTES (1024 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := drafter(t, dir, tt.env, tt.args...)
			took := time.Since(start)
			if r.code != 1 || !strings.Contains(r.stderr, tt.want) || strings.Contains(r.stderr, "fatal error") {
				t.Fatalf("exit %d, stderr %.2000s\nwant exit 1 and %q", r.code, r.stderr, tt.want)
			}
			if took > 30*time.Second {
				t.Errorf("took %s to refuse an endless input", took)
			}
		})
	}
}

func bigFile(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.ach")
	if err := os.WriteFile(path, []byte(strings.Repeat("9", n)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportSIGTERM sends SIGTERM to drafter import reading an input that
// never ends (a pipe that sent one account and then waits): the process
// exits at once, and the account it had read was not imported.
func TestImportSIGTERM(t *testing.T) {
	dir := t.TempDir()
	file := writePortfolio(t, 1, 5, civil.MustParse("2026-03-02"))
	line, _, _ := strings.Cut(readFile(t, file), "\n")
	cmd := exec.Command(drafterBin(t), "import", "/dev/stdin")
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if _, err := io.WriteString(stdin, line+"\n"); err != nil {
		t.Fatal(err)
	}
	// Let it open the ledger and read the line; the pipe then stays open.
	time.Sleep(3 * time.Second)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("import exited 0 after SIGTERM\n%s", stderr.String())
		}
		if took := time.Since(sent); took > 5*time.Second {
			t.Errorf("exited %s after SIGTERM", took)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("import still running 20s after SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "nothing was imported") {
		t.Errorf("stderr does not say nothing was imported:\n%s", stderr.String())
	}
	// Nothing of it was committed: importing the account now creates it.
	one := filepath.Join(t.TempDir(), "one.jsonl")
	if err := os.WriteFile(one, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Counts struct {
			Accounts int `json:"accounts"`
		} `json:"counts"`
	}
	if err := json.Unmarshal([]byte(mustDrafter(t, dir, nil, "import", one, "--json")), &rep); err != nil || rep.Counts.Accounts != 1 {
		t.Fatalf("import after SIGTERM: %+v %v (the killed import must have written nothing)", rep, err)
	}
}

// TestReturnsIngestSIGTERM: `returns ingest` of a pipe that sends part of a
// file and then nothing stops at once on SIGTERM, says nothing was
// ingested, and leaves a ledger the next command opens.
func TestReturnsIngestSIGTERM(t *testing.T) {
	dir := t.TempDir()
	mustDrafter(t, dir, nil, "migrate")
	cmd := exec.Command(drafterBin(t), "returns", "ingest", "/dev/stdin")
	cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dir, "DRAFTER_ENCRYPTION_KEY="+testKeyHex, "DRAFTER_LOG_FORMAT=json",
		"DRAFTER_CRASH_AT=", "DRAFTER_OPERATOR=night-shift")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	// A file header record, then the bank's side goes quiet.
	if _, err := io.WriteString(stdin, "101 091000019 0910000192612020600A094101BANK                   DRAFTER                        \n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("returns ingest exited 0 after SIGTERM\n%s", stderr.String())
		}
		if took := time.Since(sent); took > 5*time.Second {
			t.Errorf("exited %s after SIGTERM", took)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("returns ingest still running 20s after SIGTERM\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "nothing was ingested") {
		t.Errorf("stderr does not say nothing was ingested:\n%s", stderr.String())
	}
	if r := drafter(t, dir, nil, "runs", "--json"); r.code != 0 {
		t.Fatalf("runs after the signal: exit %d\n%s", r.code, r.stderr)
	}
}
