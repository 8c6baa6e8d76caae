package ledger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drafterhq/drafter/civil"
	"github.com/drafterhq/drafter/ledger/ledgertest"
	"github.com/drafterhq/drafter/portfolio"
)

// TestShortAccountNumbersMasked: a bank account number of 4 or 5 digits is
// stored and shown with its last 2 only, never whole.
func TestShortAccountNumbersMasked(t *testing.T) {
	s := ledgertest.Open(t, "sqlite")
	importAll(t, s, []portfolio.Account{testAccount("L1", "94659"), testAccount("L2", "4659"), testAccount("L3", "80417733926105")})
	for id, want := range map[string]string{"B-L1": "****59", "B-L2": "****59", "B-L3": "****6105"} {
		ba, err := s.BankAccount(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ba.Masked() != want {
			t.Errorf("%s: %q, want %q", id, ba.Masked(), want)
		}
	}
}

// TestMigrationMasksNOCAccounts: migration 0025 masks the account number
// field of C01, C03, C06 and C07 corrections and NOC exception records
// stored whole (a number that passed the routing check was kept by the
// old shape rule), by change code, and leaves other codes alone.
func TestMigrationMasksNOCAccounts(t *testing.T) {
	for _, dialect := range ledgertest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := ledgertest.Open(t, dialect)
			db := s.DB()
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			var fileID int64
			if err := db.QueryRow(`INSERT INTO inbound_files (sha256, name, status, received_at) VALUES ('x', 'noc.ach', 'applied', $1) RETURNING id`, now).Scan(&fileID); err != nil {
				t.Fatal(err)
			}
			corrections := []struct{ code, stored, want string }{
				{"C01", "026009593", "*****9593"},
				{"C01", "94659", "***59"},
				{"C01", "******1614", "******1614"},
				{"C06", "021000021        27", "*****0021        27"},
				{"C03", "011000015   021000021", "011000015   *****0021"},
				{"C07", "091000019021000021        27", "091000019*****0021        27"},
				{"C02", "026009593", "026009593"},
				{"C05", "37", "37"},
			}
			for i, c := range corrections {
				if _, err := db.Exec(`INSERT INTO corrections (inbound_file_id, entry_key, original_trace, change_code, corrected_data, action, received_on)
					VALUES ($1, $2, $3, $4, $5, 'none', $6)`, fileID, c.code+string(rune('a'+i)), "02100002000000"+string(rune('0'+i)), c.code, c.stored, civil.MustParse("2026-12-01")); err != nil {
					t.Fatal(err)
				}
			}
			entry := "626091000019" + "*************4567" + strings.Repeat("0", 94-29)
			addenda := func(code, data string) string {
				return "798" + code + strings.Repeat("0", 29) + data + strings.Repeat(" ", 94-64)
			}
			exceptions := []struct{ code, data, want string }{
				{"C01", "026009593                    ", "*****9593                    "},
				{"C03", "011000015   021000021        ", "011000015   *****0021        "},
				{"C02", "026009593                    ", "026009593                    "},
			}
			for i, e := range exceptions {
				if _, err := db.Exec(`INSERT INTO exceptions (kind, reference, detail, raw, created_at) VALUES ('noc_unmatched', $1, 'd', $2, $3)`,
					"r"+string(rune('a'+i)), entry+"\n"+addenda(e.code, e.data), now); err != nil {
					t.Fatal(err)
				}
			}

			if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 25`); err != nil {
				t.Fatal(err)
			}
			if applied, err := s.Migrate(ctx); err != nil || len(applied) != 1 || applied[0] != 25 {
				t.Fatalf("migrate: %v %v", applied, err)
			}

			for i, c := range corrections {
				var got string
				if err := db.QueryRow(`SELECT corrected_data FROM corrections WHERE entry_key = $1`, c.code+string(rune('a'+i))).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("%s %q: %q, want %q", c.code, c.stored, got, c.want)
				}
			}
			for i, e := range exceptions {
				var raw string
				if err := db.QueryRow(`SELECT raw FROM exceptions WHERE reference = $1`, "r"+string(rune('a'+i))).Scan(&raw); err != nil {
					t.Fatal(err)
				}
				if want := entry + "\n" + addenda(e.code, e.want); raw != want {
					t.Errorf("%s exception raw:\n%q\nwant\n%q", e.code, raw, want)
				}
			}
		})
	}
}
