package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A setting the NACHA build would refuse, or a storage or mail URL that
// would not open, stops every command that may use it at start: exit code 2
// (usage), a message naming the setting, and nothing touched (the data dir,
// and so the SQLite database, is never created).
func TestBadSettingStopsAtStart(t *testing.T) {
	bin := drafterBin(t)
	portfolio := filepath.Join(t.TempDir(), "p.jsonl")
	if err := os.WriteFile(portfolio, []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := []struct{ env, value string }{
		{"DRAFTER_COMPANY_NAME", "DRÄFTER"},
		{"DRAFTER_ORIGIN_NAME", strings.Repeat("DRAFTER ", 5)},
		{"DRAFTER_ODFI_NAME", "DEMO\nBANK"},
		{"DRAFTER_OFFSET_ROUTING", "021000021"}, // without DRAFTER_OFFSET_ACCOUNT
		{"DRAFTER_STORAGE_URL", "s3://bucket?regoin=us-east-1"},
		{"DRAFTER_MAIL_URL", "smtp://drafter:s3cret@smtp.internal:587?starttls=maybe"},
	}
	commands := [][]string{
		{"run", "originate", "--date", "2026-12-01"},
		{"import", portfolio},
		{"serve"},
		{"demo", "--accounts", "5"},
		{"restart", "1"},
	}
	for _, s := range settings {
		for _, args := range commands {
			t.Run(s.env+"/"+args[0], func(t *testing.T) {
				dataDir := filepath.Join(t.TempDir(), "data")
				cmd := exec.Command(bin, args...)
				cmd.Env = append(os.Environ(), "DRAFTER_DATA_DIR="+dataDir, "DRAFTER_DATABASE_URL=", "DRAFTER_ENCRYPTION_KEY="+testKeyHex,
					"DRAFTER_LOG_FORMAT=json", "DRAFTER_CRASH_AT=", s.env+"="+s.value)
				out, err := cmd.CombinedOutput()
				ee, ok := err.(*exec.ExitError)
				if !ok || ee.ExitCode() != 2 {
					t.Fatalf("drafter %s with %s=%q: %v, want exit code 2\n%s", strings.Join(args, " "), s.env, s.value, err, out)
				}
				want := "setting " + s.env
				if s.env == "DRAFTER_OFFSET_ROUTING" {
					want = "setting DRAFTER_OFFSET_ACCOUNT"
				}
				if !strings.Contains(string(out), want) || strings.Contains(string(out), "s3cret") {
					t.Fatalf("output does not name the setting (%s), or shows the password:\n%s", want, out)
				}
				if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
					t.Fatalf("the data dir was created before the setting was checked (stat: %v)", err)
				}
			})
		}
	}
}
