package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSimulateCommand runs a short history through the binary: a report
// as JSON and exit 0; a bad fault is a usage error (exit 2) naming the faults.
func TestSimulateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; not in -short")
	}
	profile := filepath.Join(t.TempDir(), "sim.prof")
	r := drafter(t, t.TempDir(), nil, "simulate", "--accounts", "150", "--days", "4", "--seed", "9", "--faults", "kill,bank", "--json",
		"--cpuprofile", profile)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// A CPU profile is gzipped protocol buffers.
	if b, err := os.ReadFile(profile); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Fatalf("--cpuprofile wrote %d bytes (%v), want a gzipped profile", len(b), err)
	}
	var rep struct {
		Nights   int    `json:"nights_run"`
		Seed     int64  `json:"seed"`
		Payments int    `json:"payments"`
		Checks   int    `json:"invariant_checks"`
		Last     string `json:"last"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, r.stdout)
	}
	if rep.Nights != 4 || rep.Seed != 9 || rep.Payments == 0 || rep.Checks == 0 || rep.Last != "2027-01-07" {
		t.Fatalf("report %+v", rep)
	}
	r = drafter(t, t.TempDir(), nil, "simulate", "--accounts", "10", "--days", "1", "--faults", "meteor")
	if r.code != 2 || !strings.Contains(r.stderr, "kill,storage,mail,bank,db") {
		t.Fatalf("unknown fault: exit %d, %s", r.code, r.stderr)
	}
}
