package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/drafterhq/drafter/config"
)

// Groups of settings, by what reads them. A name ending in * stands for
// every setting with that prefix.
var (
	// ledgerSettings: every command that opens the ledger and storage.
	ledgerSettings = []string{"DRAFTER_DATA_DIR", "DRAFTER_DATABASE_URL", "DRAFTER_ENCRYPTION_KEY", "DRAFTER_STORAGE_URL", "DRAFTER_ZONE",
		"DRAFTER_LOG_*"}
	// originationSettings: building NACHA files from payments.
	originationSettings = []string{"DRAFTER_ODFI_*", "DRAFTER_COMPANY_*", "DRAFTER_ORIGIN_NAME", "DRAFTER_OFFSET_*", "DRAFTER_FILE_ENTRY_LIMIT",
		"DRAFTER_DRAFT_LEAD_DAYS", "DRAFTER_INSTALLMENT_POLICY", "DRAFTER_PRENOTE_WAIT_DAYS"}
	// returnSettings: applying return and NOC files.
	returnSettings = []string{"DRAFTER_MAX_INBOUND_FILE_BYTES", "DRAFTER_RETURNED_FEE_CAPS"}
	// documentSettings: statements, notices and the email about them.
	documentSettings = []string{"DRAFTER_LENDER_*", "DRAFTER_LEASE_END_DAYS"}
	mailSettings     = []string{"DRAFTER_MAIL_*"}
	bankSettings     = []string{"DRAFTER_BANK_*", "DRAFTER_PGP_*"}
	// runSettings: the run ledger and chunked runs.
	runSettings   = []string{"DRAFTER_STALE_AFTER", "DRAFTER_CHUNK_*", "DRAFTER_MAX_CONSECUTIVE_FAILURES", "DRAFTER_SCHEDULE_BANKING_DAYS"}
	serveSettings = []string{"DRAFTER_ADMIN_*", "DRAFTER_SCHEDULE_*", "DRAFTER_CATCHUP_DAYS", "DRAFTER_SHUTDOWN_GRACE"}
	// scheduleSettings: the schedule `drafter schedule` shows (transmit and
	// receive are scheduled by default only with a bank).
	scheduleSettings = []string{"DRAFTER_SCHEDULE_*", "DRAFTER_BANK_URL"}
)

func settingsOf(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// benchSettings: a benchmark's scratch data folder takes the place of
// DRAFTER_DATA_DIR.
var benchSettings = []string{"DRAFTER_DATABASE_URL", "DRAFTER_ENCRYPTION_KEY", "DRAFTER_STORAGE_URL", "DRAFTER_ZONE", "DRAFTER_LOG_*"}

// jobSettings: what running any job may read.
var jobSettings = settingsOf(ledgerSettings, originationSettings, returnSettings, documentSettings, mailSettings, bankSettings, runSettings)

// commandSettings lists, by command (as newFlagSet names it), the settings
// it reads. A command not listed says that any setting may apply.
var commandSettings = map[string][]string{
	"init":                {"DRAFTER_DATA_DIR", "DRAFTER_ENCRYPTION_KEY"},
	"generate":            {},
	"demo":                jobSettings,
	"import":              settingsOf(ledgerSettings, []string{"DRAFTER_IMPORT_*"}),
	"migrate":             {"DRAFTER_DATA_DIR", "DRAFTER_DATABASE_URL"},
	"rotate-key":          settingsOf(ledgerSettings, []string{"DRAFTER_STALE_AFTER"}),
	"run":                 jobSettings,
	"resume":              jobSettings,
	"restart":             jobSettings,
	"rerun":               jobSettings,
	"cancel":              settingsOf(ledgerSettings, []string{"DRAFTER_STALE_AFTER"}),
	"schedule":            settingsOf(ledgerSettings, scheduleSettings),
	"schedule pause":      settingsOf(ledgerSettings, scheduleSettings),
	"schedule resume":     settingsOf(ledgerSettings, scheduleSettings),
	"audit":               ledgerSettings,
	"bank reoriginate":    ledgerSettings,
	"release-file":        ledgerSettings,
	"runs":                settingsOf(ledgerSettings, []string{"DRAFTER_STALE_AFTER"}),
	"runs show":           ledgerSettings,
	"outbox":              ledgerSettings,
	"outbox retry":        ledgerSettings,
	"outbox resend":       ledgerSettings,
	"operators":           ledgerSettings,
	"returns ingest":      settingsOf(ledgerSettings, returnSettings, documentSettings, mailSettings),
	"bank":                settingsOf(ledgerSettings, bankSettings),
	"exceptions":          ledgerSettings,
	"exceptions resolve":  ledgerSettings,
	"report return-rates": ledgerSettings,
	"serve":               settingsOf(jobSettings, serveSettings),
	"storage":             ledgerSettings,
	"render":              settingsOf(ledgerSettings, originationSettings, documentSettings),
	"bench":               settingsOf(benchSettings, originationSettings, runSettings),
	"bench statements":    settingsOf(benchSettings, documentSettings, mailSettings, runSettings),
	"simulate":            {"DRAFTER_DATA_DIR", "DRAFTER_DATABASE_URL"},
}

// extraSettings are read by one command and are not in config.Settings.
var extraSettings = map[string][]config.Setting{
	"rotate-key": {{Env: "DRAFTER_NEW_ENCRYPTION_KEY", Help: "the key to re-encrypt under (or --new-key-file)"}},
}

// operatorSetting is read by every write command (those with --as).
var operatorSetting = config.Setting{Env: "DRAFTER_OPERATOR", Help: "the operator a write is recorded under when --as is not given (else the OS user)"}

// examples shows a command's common uses in its help.
var examples = map[string][]string{
	"init":     {"drafter init --data-dir /srv/drafter", "drafter init   # ./drafter-data"},
	"demo":     {"drafter demo --data-dir /tmp/demo --accounts 500 --date 2026-12-01"},
	"generate": {"drafter generate --accounts 1000 --seed 7 --as-of 2026-12-01 --out portfolio.jsonl"},
	"import": {"drafter import portfolio.jsonl --data-dir /srv/drafter",
		"drafter import --skip-invalid portfolio.jsonl --rejects bad.txt --json"},
	"migrate":    {"DRAFTER_DATABASE_URL=postgres://drafter@db:5432/drafter drafter migrate"},
	"rotate-key": {"DRAFTER_NEW_ENCRYPTION_KEY=$(openssl rand -hex 32) drafter rotate-key"},
	"run": {"drafter run originate --date 2026-12-01",
		"drafter run --dry-run statements --date 2026-12-01 --json",
		"drafter run nightly --date 2026-12-01",
		"drafter run returns --from 2026-11-01 --to 2026-11-30   # backfill"},
	"resume":              {"drafter resume 42", "drafter resume 42 --stale-after 0s --json"},
	"restart":             {"drafter restart 42"},
	"cancel":              {`drafter cancel 42 --reason "wrong extract imported, ticket 4411"`, `drafter cancel 42 --reason "bank outage" --wait 0 --as ana`},
	"schedule":            {"drafter schedule", `drafter schedule pause originate --reason "bank outage, ticket 4411"`, "drafter schedule resume --all"},
	"schedule pause":      {`drafter schedule pause originate transmit --reason "bank outage, ticket 4411"`, `drafter schedule pause --all --reason "database maintenance"`},
	"schedule resume":     {"drafter schedule resume originate transmit", `drafter schedule resume --all --reason "maintenance over"`},
	"audit":               {"drafter audit", "drafter audit --action cancel --limit 20 --json"},
	"bank reoriginate":    {`drafter bank reoriginate ach/outbound/2026-12-01/drafter-2026-12-01-A.ach --reason "missed 16:00 cutoff, debit a day later, ticket 5120"`},
	"rerun":               {`drafter rerun 42 --reason "the bank lost the file"`, `drafter rerun 42 --account ACC-00000017 --reason "customer called"`},
	"release-file":        {`drafter release-file ach/outbound/2026-12-01/drafter-2026-12-01-A.ach --reason "ticket 4411"`},
	"runs":                {"drafter runs --needs-attention", "drafter runs --job originate --status failed --json", "drafter runs show 42"},
	"runs show":           {"drafter runs show 42 --items", "drafter runs show --json 42"},
	"outbox":              {"drafter outbox --status failed", "drafter outbox retry 17 --reason \"mailbox fixed\""},
	"outbox retry":        {`drafter outbox retry 17 --reason "mailbox fixed"`},
	"outbox resend":       {`drafter outbox resend 4411 --reason "customer lost the statement email, ticket 5120"`},
	"operators":           {"drafter operators add ana --role operator", "drafter operators list --json", "drafter operators rotate ana"},
	"returns ingest":      {"drafter returns ingest RETURNS.ach NOC.ach --date 2026-12-02"},
	"bank":                {"drafter bank status --date 2026-12-01 --json"},
	"exceptions":          {"drafter exceptions --all --json", `drafter exceptions resolve 3 --note "bank account corrected by phone"`},
	"exceptions resolve":  {`drafter exceptions resolve 3 --note "bank account corrected by phone, ticket 4411"`},
	"report return-rates": {"drafter report return-rates", "drafter report return-rates --days 30 --as-of 2026-11-30 --json"},
	"serve":               {"drafter serve --admin-addr 127.0.0.1:8080", "drafter serve --worker-only   # a PostgreSQL replica"},
	"storage":             {"drafter storage ls statements/2026-11-30/", "drafter storage ls --json ach/", "drafter storage get ach/outbound/2026-12-01/drafter-2026-12-01-A.ach --out file.ach"},
	"render":              {"drafter render statement --account ACC-00000017 --date 2026-11-30 --out statement.pdf", "drafter render notice --account ACC-00000017 --date 2026-12-01 --days 90 --out notice.pdf"},
	"bench":               {"drafter bench originate --payments 100000", "drafter bench statements --accounts 20000 --json"},
	"bench statements":    {"drafter bench statements --accounts 20000", "drafter bench statements --cycle --date 2026-11-30 --json"},
	"simulate":            {"drafter simulate --accounts 1000 --days 45 --seed 20261202 --faults all", "drafter simulate --accounts 2000 --days 90 --seed 7 --database-url postgres://localhost/drafter_sim --json"},
}

// writeSettings prints the settings a command reads, with their defaults;
// writes: it records an operator (it has --as).
func writeSettings(w io.Writer, name string, writes bool) {
	names, ok := commandSettings[name]
	if !ok {
		fmt.Fprintf(w, "\nSettings: any DRAFTER_* setting may apply; `drafter help settings` lists them.\n")
		return
	}
	var list []config.Setting
	for _, s := range config.Settings {
		for _, n := range names {
			if s.Env == n || strings.HasSuffix(n, "*") && strings.HasPrefix(s.Env, strings.TrimSuffix(n, "*")) {
				list = append(list, s)
				break
			}
		}
	}
	list = append(list, extraSettings[name]...)
	if writes {
		list = append(list, operatorSetting)
	}
	if len(list) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSettings it reads (environment, or the --config file; `drafter help settings` lists all):\n")
	printSettings(w, list)
}

// writeAllSettings prints every setting: `drafter help settings`.
func writeAllSettings(w io.Writer) {
	fmt.Fprint(w, `Settings come from flags (--data-dir), then DRAFTER_* environment variables,
then the file --config names (DRAFTER_*=value lines), then the defaults. A
missing or invalid value stops drafter at start, naming the setting.

`)
	printSettings(w, config.Settings)
}

func printSettings(w io.Writer, list []config.Setting) {
	for _, s := range list {
		fmt.Fprintf(w, "  %s\n      %s", s.Env, s.Help)
		if s.Default != "" {
			fmt.Fprintf(w, " (default %s)", s.Default)
		}
		fmt.Fprintln(w)
	}
}
