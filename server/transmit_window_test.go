package server_test

import (
	"strings"
	"testing"

	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/config"
	"github.com/drafterhq/drafter/server"
)

// TestTransmitScheduleWithinCutoff: drafter serve refuses at start a
// transmit schedule that never fires after originate and before the
// bank's last cutoff (the default 16:30 against a 16:00 cutoff would hold
// every night's files), naming DRAFTER_SCHEDULE_TRANSMIT; one that fires
// in the window, or no cutoff, is fine.
func TestTransmitScheduleWithinCutoff(t *testing.T) {
	cfg, err := config.Load(map[string]string{"DRAFTER_DATA_DIR": t.TempDir()}, func(string) (string, bool) { return "", false }, "")
	if err != nil {
		t.Fatal(err)
	}
	reg := (&recorder{}).registry("originate", "transmit")
	for _, tc := range []struct {
		name, originate, transmit string
		cutoffs                   []bank.Cutoff
		ok                        bool
		says                      string
	}{
		{"default after a 16:00 cutoff", "0 16 * * *", "30 16 * * *", []bank.Cutoff{{Hour: 16}}, false, "fires first at 16:30"},
		{"default before a 17:00 cutoff", "0 16 * * *", "30 16 * * *", []bank.Cutoff{{Hour: 17}}, true, ""},
		{"the last of several windows counts", "0 16 * * *", "30 16 * * *", []bank.Cutoff{{Hour: 10, Minute: 30}, {Hour: 18}}, true, ""},
		{"at the cutoff is late", "0 16 * * *", "0 17 * * *", []bank.Cutoff{{Hour: 17}}, false, "before the bank's last cutoff 17:00"},
		{"before originate", "0 16 * * *", "30 15 * * *", []bank.Cutoff{{Hour: 17}}, false, "after originate"},
		{"every 15 minutes in the afternoon", "0 16 * * *", "*/15 12-18 * * *", []bank.Cutoff{{Hour: 17}}, true, ""},
		{"weekdays only", "0 16 * * 1-5", "30 16 * * 1-5", []bank.Cutoff{{Hour: 17}}, true, ""},
		{"no cutoff", "0 16 * * *", "0 23 * * *", nil, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg.Bank = &bank.Settings{Cutoffs: tc.cutoffs}
			cfg.Schedule["originate"], cfg.Schedule["transmit"] = tc.originate, tc.transmit
			_, err := server.EntriesFromConfig(cfg, reg)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), "DRAFTER_SCHEDULE_TRANSMIT") || !strings.Contains(err.Error(), tc.says)) {
				t.Errorf("err %v, want it to name DRAFTER_SCHEDULE_TRANSMIT and say %q", err, tc.says)
			}
		})
	}
	cfg.Bank = nil
	if _, err := server.EntriesFromConfig(cfg, reg); err != nil {
		t.Errorf("no bank: %v", err)
	}
}
