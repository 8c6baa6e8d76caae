// Package config loads drafter's settings: flags first, then DRAFTER_*
// environment variables, then an optional file of DRAFTER_*=value lines,
// then defaults. A missing or invalid value is an error that names the
// setting and says what is expected; the NACHA settings are checked by the
// file build's own rules (ach.CheckOriginator) and the storage and mail URLs
// by their packages' parsers, so a bad one stops drafter at start.
package config

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/bank"
	"github.com/drafterhq/drafter/mail"
	"github.com/drafterhq/drafter/money"
	"github.com/drafterhq/drafter/redact"
	"github.com/drafterhq/drafter/storage"
)

// Config is every setting drafter reads.
type Config struct {
	DataDir       string
	DatabaseURL   string
	StorageURL    string
	MailURL       string
	EncryptionKey string // 32 bytes as hex or base64
	Zone          *time.Location

	// Origination: the lender as the ACH originator, and its bank (ODFI).
	ODFIRouting    string
	ODFIName       string
	CompanyName    string
	CompanyID      string
	OriginName     string
	OffsetRouting  string // optional balanced offset to the settlement account
	OffsetAccount  string
	OffsetType     string
	FileEntryLimit int
	DraftLeadDays  int // autopay drafts this many days before the due date by default
	// Bounds on outside input, in bytes: the longest line and the largest
	// extract import reads, and the largest return or NOC file ingested.
	ImportMaxLineBytes  int
	ImportMaxFileBytes  int
	MaxInboundFileBytes int
	// InstallmentPolicy says what autopay does when a one-time payment is
	// scheduled for the same installment: "one-time-covers" (the autopay
	// debit is reduced by it) or "debit-both".
	InstallmentPolicy string
	// LeaseEndDays are the days before maturity at which lease-end
	// notices are sent, each once, largest first.
	LeaseEndDays    []int
	PrenoteWaitDays int // banking days after a prenote settles before live debits
	// ReturnedFeeCaps caps the returned-payment fee by the contract's
	// state (two-letter code); a state not listed charges the contract's.
	ReturnedFeeCaps map[string]money.Cents

	// Lender shown on documents and email.
	LenderName    string
	LenderAddress string
	LenderPhone   string
	LenderWebsite string
	MailFrom      string
	MailReplyTo   string
	AttachPDF     bool
	// Delivery: send rate cap (messages/s, 0 none), SMTP connections, tries
	// before a message fails, and how long a claimed message is one
	// deliverer's before another may resend it.
	MailRate        float64
	MailConnections int
	MailMaxAttempts int
	MailLease       time.Duration

	AdminAddr  string
	AdminToken string
	// AdminOrigins are the browser origins allowed to call the admin API.
	AdminOrigins []string
	// ConsoleProxyHeader, when set, is the request header an
	// authenticating proxy in front of the console names the operator in;
	// it is believed only from ConsoleProxyFrom (or from anyone when
	// ConsoleProxyAny).
	ConsoleProxyHeader string
	ConsoleProxyFrom   []netip.Prefix
	ConsoleProxyAny    bool
	LogFormat          string // json | console | auto
	LogLevel           string

	// Schedule of drafter serve: a cron spec per job ("off" disables it),
	// the jobs that fire on banking days only, and how far back missed
	// business dates are caught up.
	Schedule        map[string]string
	BankingDayJobs  []string
	ScheduleSeconds bool // specs may have a leading seconds field (tests, demos)
	CatchUpDays     int
	StaleAfter      time.Duration // a running run without a heartbeat for this long is dead
	ShutdownGrace   time.Duration // how long SIGTERM waits for the current chunk

	// Chunked runs: accounts per chunk, how long a claimed chunk is one
	// worker's before another may take it over, and chunk workers per
	// process.
	ChunkSize    int
	ChunkLease   time.Duration
	ChunkWorkers int

	// Bank is the SFTP connection to the ODFI; nil when none is configured
	// (the files stay in storage for someone else to carry).
	Bank *bank.Settings
	// MaxConsecutiveFailures is how many failures in a row of one
	// dependency (storage, mail) stop a run, failed with the cause.
	MaxConsecutiveFailures int
}

// MinAdminTokenLength is the shortest DRAFTER_ADMIN_TOKEN accepted.
const MinAdminTokenLength = 32

// Setting describes one setting for --help and errors.
type Setting struct {
	Env     string
	Default string
	Help    string
}

// Settings lists every setting, in the order --help shows them.
var Settings = []Setting{
	{"DRAFTER_DATA_DIR", "./drafter-data", "folder for the SQLite database, documents and the mail pickup folder"},
	{"DRAFTER_DATABASE_URL", "sqlite:<data-dir>/drafter.db", "sqlite:PATH or postgres://USER:PASS@HOST:5432/DB"},
	{"DRAFTER_STORAGE_URL", "file://<data-dir>/docs", "file:///ABS/PATH or s3://BUCKET/PREFIX?endpoint=&region=&path_style=true&sse=AES256"},
	{"DRAFTER_MAIL_URL", "pickup://<data-dir>/outbox", "smtp://USER:PASS@HOST:587?starttls=required, smtps://..., or pickup:///ABS/PATH"},
	{"DRAFTER_ENCRYPTION_KEY", "the key file <data-dir>/encryption.key, which drafter init (or drafter demo) creates", "32-byte key for bank account numbers, 64 hex digits or base64"},
	{"DRAFTER_ZONE", "America/New_York", "time zone that business dates and the schedule are in"},
	{"DRAFTER_ODFI_ROUTING", "021000021", "routing number of the lender's bank (ODFI), nine digits with a valid check digit"},
	{"DRAFTER_ODFI_NAME", "DEMO BANK", "name of the ODFI for the file header (up to 23 printable ASCII characters, letters upper case)"},
	{"DRAFTER_COMPANY_NAME", "DRAFTER AUTO FIN", "company name on every debit (1 to 16 printable ASCII characters, letters upper case)"},
	{"DRAFTER_COMPANY_ID", "1234567890", "company identification (1 to 10 printable ASCII characters, letters upper case; often 1 + EIN)"},
	{"DRAFTER_ORIGIN_NAME", "DRAFTER AUTO FINANCE", "immediate origin name in the file header (up to 23 printable ASCII characters, letters upper case)"},
	{"DRAFTER_OFFSET_ROUTING", "", "settlement account routing for the offset credits that balance every batch that debits, PPD, WEB and TEL (a TEL batch's in a CCD batch of its own right after it); empty: unbalanced files"},
	{"DRAFTER_OFFSET_ACCOUNT", "", "settlement account number for the offset credits, digits (with DRAFTER_OFFSET_ROUTING, or neither)"},
	{"DRAFTER_OFFSET_TYPE", "checking", "settlement account type: checking or savings"},
	{"DRAFTER_FILE_ENTRY_LIMIT", "100000", "most entries in one NACHA file; more are split into further files"},
	{"DRAFTER_IMPORT_MAX_LINE_BYTES", "1048576", "longest line (one account) drafter import reads, in bytes; a longer line ends the import before the rest is read"},
	{"DRAFTER_IMPORT_MAX_FILE_BYTES", "8589934592", "largest extract drafter import reads, in bytes (default 8 GiB); a larger one is refused, nothing imported"},
	{"DRAFTER_MAX_INBOUND_FILE_BYTES", "268435456", "largest return or NOC file ingested, in bytes (default 256 MiB); a larger one is refused before it is read whole"},
	{"DRAFTER_DRAFT_LEAD_DAYS", "0", "days before the due date that autopay is drafted when the enrollment says 0"},
	{"DRAFTER_INSTALLMENT_POLICY", "one-time-covers", "a one-time payment for an installment autopay also debits: one-time-covers (autopay debits only what is left) or debit-both"},
	{"DRAFTER_PRENOTE_WAIT_DAYS", "3", "banking days after a prenote settles before the first live debit"},
	{"DRAFTER_RETURNED_FEE_CAPS", "", "state caps on the returned-payment fee, STATE=DOLLARS pairs such as CA=15.00,TX=30 (a contract's lower fee still applies; empty: the contract's fee)"},
	{"DRAFTER_LEASE_END_DAYS", "90,60,30", "days before maturity that lease-end notices are sent (each once; a lease reaching several at once gets one, for the days it has)"},
	{"DRAFTER_LENDER_NAME", "Drafter Auto Finance", "lender name on documents and email"},
	{"DRAFTER_LENDER_ADDRESS", "PO Box 1000, Wilmington, DE 19899", "lender mailing address for payments"},
	{"DRAFTER_LENDER_PHONE", "1-800-555-0100", "customer service phone"},
	{"DRAFTER_LENDER_WEBSITE", "https://drafter.example", "customer portal"},
	{"DRAFTER_MAIL_FROM", "Drafter Auto Finance <statements@drafter.example>", "sender of customer email"},
	{"DRAFTER_MAIL_REPLY_TO", "Customer Service <service@drafter.example>", "reply-to of customer email"},
	{"DRAFTER_MAIL_ATTACH_PDF", "true", "attach PDFs to email (false: send a download link, which needs S3 storage)"},
	{"DRAFTER_MAIL_RATE", "0", "most messages sent per second (0: no cap)"},
	{"DRAFTER_MAIL_CONNECTIONS", "1", "SMTP connections the deliver job sends over at once"},
	{"DRAFTER_MAIL_MAX_ATTEMPTS", "8", "tries before a message that keeps failing for now is marked failed"},
	{"DRAFTER_MAIL_LEASE", "5m", "a message left sending this long (its deliverer died) is sent again, with the same Message-ID"},
	{"DRAFTER_BANK_URL", "", "the bank's SFTP server, sftp://USER@HOST:PORT (empty: no bank connection; files stay in storage)"},
	{"DRAFTER_BANK_OUTBOX", "", "folder on the bank's server that NACHA files are uploaded into, such as /incoming"},
	{"DRAFTER_BANK_INBOX", "", "folder on the bank's server that return and NOC files are picked up from, such as /outgoing"},
	{"DRAFTER_BANK_SSH_KEY", "", "SSH private key file drafter logs in to the bank with (no passphrase)"},
	{"DRAFTER_BANK_KNOWN_HOSTS", "", "known_hosts file pinning the bank's host key (required: an unknown or changed key stops the job)"},
	{"DRAFTER_BANK_CUTOFF", "", "the bank's cutoff times HH:MM in DRAFTER_ZONE, comma-separated; a file not sent by the day's last is held (empty: no cutoff check)"},
	{"DRAFTER_BANK_FILE_NAME", bank.DefaultNamePattern, "remote file name: {date} (YYYYMMDD) or {yymmdd}, {modifier}, {effective}, {id}"},
	{"DRAFTER_BANK_PGP_PUBLIC_KEY", "", "the bank's OpenPGP public key file: outbound files are encrypted to it, inbound files must be signed by it (empty: no PGP)"},
	{"DRAFTER_PGP_PRIVATE_KEY", "", "drafter's OpenPGP private key file: signs outbound files, decrypts inbound ones"},
	{"DRAFTER_PGP_PASSPHRASE", "", "passphrase of DRAFTER_PGP_PRIVATE_KEY (never logged)"},
	{"DRAFTER_ADMIN_ADDR", "127.0.0.1:8080", "admin API listen address of drafter serve"},
	{"DRAFTER_ADMIN_TOKEN", "", "bearer token for the admin API, at least 32 characters (without it the API listens on loopback only and its write endpoints are off)"},
	{"DRAFTER_ADMIN_ORIGINS", "", "browser origins allowed to call the admin API, comma-separated, such as https://ops.example.com (empty: none; a request with another Origin is refused)"},
	{"DRAFTER_CONSOLE_PROXY_HEADER", "", "request header an authenticating proxy in front of the console names the signed-in operator in, such as X-Forwarded-User (empty: off; operators sign in with their token)"},
	{"DRAFTER_CONSOLE_PROXY_FROM", "", "addresses of that proxy, IPs or CIDRs comma-separated, such as 10.0.0.5,10.1.0.0/16; the header from any other address is ignored (any: believe it from every client, only when nothing but the proxy can reach the admin address)"},
	{"DRAFTER_SCHEDULE_RETURNS", "0 6 * * *", "cron spec of the returns job in DRAFTER_ZONE (after the bank's files arrive); off disables it"},
	{"DRAFTER_SCHEDULE_ORIGINATE", "0 16 * * *", "cron spec of the originate job (before the ODFI's cutoff); off disables it"},
	{"DRAFTER_SCHEDULE_STATEMENTS", "0 1 * * *", "cron spec of the statements job; off disables it"},
	{"DRAFTER_SCHEDULE_LEASE_END", "30 1 * * *", "cron spec of the lease-end job; off disables it"},
	{"DRAFTER_SCHEDULE_DELIVER", "*/5 * * * *", "cron spec of the deliver job; off disables it"},
	{"DRAFTER_SCHEDULE_TRANSMIT", "", "cron spec of the transmit job (after originate, before DRAFTER_BANK_CUTOFF); empty: 30 16 * * * with a bank, off without"},
	{"DRAFTER_SCHEDULE_RECEIVE", "", "cron spec of the receive job (the bank's inbox); empty: */15 6-18 * * * with a bank, off without"},
	{"DRAFTER_SCHEDULE_BANKING_DAYS", "returns,originate", "jobs the schedule fires on banking days only (comma-separated)"},
	{"DRAFTER_SCHEDULE_SECONDS", "false", "cron specs may take a leading seconds field, as six fields (true for tests and demos)"},
	{"DRAFTER_CATCHUP_DAYS", "3", "after downtime, missed business dates this many days back run once each"},
	{"DRAFTER_STALE_AFTER", "2m", "a running run whose heartbeat is older than this is marked failed (its process died)"},
	{"DRAFTER_SHUTDOWN_GRACE", "30s", "on SIGTERM, how long the current job may finish its chunk before it is cancelled"},
	{"DRAFTER_CHUNK_SIZE", "1000", "accounts in one chunk of a statements or originate run (a worker claims a chunk at a time)"},
	{"DRAFTER_CHUNK_LEASE", "60s", "a claimed chunk not renewed for this long (its worker died or hung) is taken over by another worker"},
	{"DRAFTER_CHUNK_WORKERS", "2", "chunks one process works at once (each renders on every core)"},
	{"DRAFTER_MAX_CONSECUTIVE_FAILURES", "5", "failures in a row of one dependency (document storage, the mail server) that stop a run, failed with the cause, instead of trying every item"},
	{"DRAFTER_LOG_FORMAT", "auto", "json, console, or auto (console on a terminal)"},
	{"DRAFTER_LOG_LEVEL", "info", "debug, info, warn or error"},
}

// Error is a bad setting.
type Error struct {
	Setting string
	Value   string
	Want    string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("setting %s is missing: want %s", e.Setting, e.Want)
	}
	return fmt.Sprintf("setting %s=%q is invalid: want %s", e.Setting, e.Value, e.Want)
}

// Load resolves every setting. flags holds the values given on the command
// line, keyed by environment name (DRAFTER_DATA_DIR); env looks up the
// environment (os.LookupEnv).
func Load(flags map[string]string, env func(string) (string, bool), file string) (*Config, error) {
	fileVals := map[string]string{}
	if file != "" {
		var err error
		if fileVals, err = readFile(file); err != nil {
			return nil, err
		}
	}
	get := func(name string) string {
		if v, ok := flags[name]; ok && v != "" {
			return v
		}
		if v, ok := env(name); ok && v != "" {
			return v
		}
		if v, ok := fileVals[name]; ok {
			return v
		}
		for _, s := range Settings {
			if s.Env == name && !strings.Contains(s.Default, "<data-dir>") && !strings.HasPrefix(s.Default, "(") {
				return s.Default
			}
		}
		return ""
	}
	c := &Config{}
	c.DataDir = get("DRAFTER_DATA_DIR")
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return nil, &Error{"DRAFTER_DATA_DIR", c.DataDir, "a folder path"}
	}
	c.DataDir = abs
	c.DatabaseURL = or(get("DRAFTER_DATABASE_URL"), "sqlite:"+filepath.Join(abs, "drafter.db"))
	if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return nil, &Error{"DRAFTER_DATABASE_URL", redact.URL(c.DatabaseURL), "sqlite:PATH or postgres://USER:PASS@HOST:5432/DB"}
	}
	c.StorageURL = or(get("DRAFTER_STORAGE_URL"), "file://"+filepath.Join(abs, "docs"))
	if err := storage.CheckURL(c.StorageURL); err != nil {
		return nil, &Error{"DRAFTER_STORAGE_URL", redact.URL(c.StorageURL), "file:///ABS/PATH or s3://BUCKET/PREFIX?region=...: " + err.Error()}
	}
	c.MailURL = or(get("DRAFTER_MAIL_URL"), "pickup://"+filepath.Join(abs, "outbox"))
	if err := mail.CheckURL(c.MailURL); err != nil {
		return nil, &Error{"DRAFTER_MAIL_URL", redact.URL(c.MailURL), "smtp://USER:PASS@HOST:587?starttls=required, smtps://... or pickup:///ABS/PATH: " + err.Error()}
	}
	c.EncryptionKey = get("DRAFTER_ENCRYPTION_KEY")
	zone := get("DRAFTER_ZONE")
	if c.Zone, err = time.LoadLocation(zone); err != nil {
		return nil, &Error{"DRAFTER_ZONE", zone, "an IANA time zone such as America/New_York"}
	}
	c.ODFIRouting = get("DRAFTER_ODFI_ROUTING")
	c.ODFIName = get("DRAFTER_ODFI_NAME")
	c.CompanyName = get("DRAFTER_COMPANY_NAME")
	c.CompanyID = get("DRAFTER_COMPANY_ID")
	c.OriginName = get("DRAFTER_ORIGIN_NAME")
	c.OffsetRouting = get("DRAFTER_OFFSET_ROUTING")
	c.OffsetAccount = get("DRAFTER_OFFSET_ACCOUNT")
	c.OffsetType = get("DRAFTER_OFFSET_TYPE")
	if err := c.checkOriginator(); err != nil {
		return nil, err
	}
	ints := []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"DRAFTER_FILE_ENTRY_LIMIT", &c.FileEntryLimit, 1, 999999},
		{"DRAFTER_IMPORT_MAX_LINE_BYTES", &c.ImportMaxLineBytes, 1 << 10, 1 << 30},
		{"DRAFTER_IMPORT_MAX_FILE_BYTES", &c.ImportMaxFileBytes, 1 << 10, 1 << 42},
		{"DRAFTER_MAX_INBOUND_FILE_BYTES", &c.MaxInboundFileBytes, 1 << 10, 1 << 36},
		{"DRAFTER_DRAFT_LEAD_DAYS", &c.DraftLeadDays, 0, 10},
		{"DRAFTER_PRENOTE_WAIT_DAYS", &c.PrenoteWaitDays, 0, 10},
	}
	for _, n := range ints {
		v := get(n.name)
		i, err := strconv.Atoi(v)
		if err != nil || i < n.min || i > n.max {
			return nil, &Error{n.name, v, fmt.Sprintf("a whole number from %d to %d", n.min, n.max)}
		}
		*n.dst = i
	}
	switch c.InstallmentPolicy = get("DRAFTER_INSTALLMENT_POLICY"); c.InstallmentPolicy {
	case "one-time-covers", "debit-both":
	default:
		return nil, &Error{"DRAFTER_INSTALLMENT_POLICY", c.InstallmentPolicy, "one-time-covers or debit-both"}
	}
	if c.LeaseEndDays, err = parseLeaseEndDays(get("DRAFTER_LEASE_END_DAYS")); err != nil {
		return nil, err
	}
	if c.ReturnedFeeCaps, err = ParseFeeCaps(get("DRAFTER_RETURNED_FEE_CAPS")); err != nil {
		return nil, err
	}
	c.LenderName = get("DRAFTER_LENDER_NAME")
	c.LenderAddress = get("DRAFTER_LENDER_ADDRESS")
	c.LenderPhone = get("DRAFTER_LENDER_PHONE")
	c.LenderWebsite = get("DRAFTER_LENDER_WEBSITE")
	c.MailFrom = get("DRAFTER_MAIL_FROM")
	c.MailReplyTo = get("DRAFTER_MAIL_REPLY_TO")
	attach := get("DRAFTER_MAIL_ATTACH_PDF")
	if c.AttachPDF, err = strconv.ParseBool(attach); err != nil {
		return nil, &Error{"DRAFTER_MAIL_ATTACH_PDF", attach, "true or false"}
	}
	if !c.AttachPDF && strings.HasPrefix(c.StorageURL, "file:") {
		// A link into file storage is a path on this server: it would
		// reach customers as a link they cannot open.
		return nil, &Error{"DRAFTER_MAIL_ATTACH_PDF", attach, fmt.Sprintf(
			"true while DRAFTER_STORAGE_URL is file storage (%s): emails would link customers to a file on this server; attach the PDFs (DRAFTER_MAIL_ATTACH_PDF=true), or store documents in S3 (DRAFTER_STORAGE_URL=s3://...) to send links", c.StorageURL)}
	}
	rate := get("DRAFTER_MAIL_RATE")
	if c.MailRate, err = strconv.ParseFloat(rate, 64); err != nil || c.MailRate < 0 || c.MailRate > 1e6 {
		return nil, &Error{"DRAFTER_MAIL_RATE", rate, "messages per second, 0 (no cap) or more, such as 10 or 0.5"}
	}
	for _, n := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"DRAFTER_MAIL_CONNECTIONS", &c.MailConnections, 1, 64}, {"DRAFTER_MAIL_MAX_ATTEMPTS", &c.MailMaxAttempts, 1, 100},
		{"DRAFTER_MAX_CONSECUTIVE_FAILURES", &c.MaxConsecutiveFailures, 1, 1000}} {
		v := get(n.name)
		if *n.dst, err = strconv.Atoi(v); err != nil || *n.dst < n.min || *n.dst > n.max {
			return nil, &Error{n.name, v, fmt.Sprintf("a whole number from %d to %d", n.min, n.max)}
		}
	}
	lease := get("DRAFTER_MAIL_LEASE")
	if c.MailLease, err = time.ParseDuration(lease); err != nil || c.MailLease < 0 {
		return nil, &Error{"DRAFTER_MAIL_LEASE", lease, "a duration such as 5m (0s only in tests)"}
	}
	if err := c.loadChunks(get); err != nil {
		return nil, err
	}
	c.AdminAddr = get("DRAFTER_ADMIN_ADDR")
	c.AdminToken = get("DRAFTER_ADMIN_TOKEN")
	if c.AdminToken != "" && len(c.AdminToken) < MinAdminTokenLength {
		return nil, &Error{"DRAFTER_ADMIN_TOKEN", "(hidden)", fmt.Sprintf("a random token of at least %d characters, such as the output of `openssl rand -hex 32` (this one has %d)", MinAdminTokenLength, len(c.AdminToken))}
	}
	for o := range strings.SplitSeq(get("DRAFTER_ADMIN_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, &Error{"DRAFTER_ADMIN_ORIGINS", o, "origins as scheme://host[:port], such as https://ops.example.com, comma-separated"}
		}
		c.AdminOrigins = append(c.AdminOrigins, strings.TrimSuffix(o, "/"))
	}
	if err := c.loadConsoleProxy(get); err != nil {
		return nil, err
	}
	if err := c.loadSchedule(get); err != nil {
		return nil, err
	}
	if err := c.loadBank(get); err != nil {
		return nil, err
	}
	c.LogFormat = get("DRAFTER_LOG_FORMAT")
	switch c.LogFormat {
	case "json", "console", "auto":
	default:
		return nil, &Error{"DRAFTER_LOG_FORMAT", c.LogFormat, "json, console or auto"}
	}
	c.LogLevel = get("DRAFTER_LOG_LEVEL")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, &Error{"DRAFTER_LOG_LEVEL", c.LogLevel, "debug, info, warn or error"}
	}
	return c, nil
}

// Originator is the lender as the ACH originator, from the settings: the
// fixed part of every NACHA file. Load has checked it with
// ach.CheckOriginator, so BuildFile accepts it.
func (c *Config) Originator() ach.Originator {
	o := ach.Originator{
		ODFIRouting:              c.ODFIRouting,
		ImmediateDestination:     c.ODFIRouting,
		ImmediateDestinationName: c.ODFIName,
		ImmediateOrigin:          c.ODFIRouting,
		ImmediateOriginName:      c.OriginName,
		CompanyName:              c.CompanyName,
		CompanyID:                c.CompanyID,
	}
	if c.OffsetRouting != "" {
		o.Offset = &ach.OffsetAccount{Routing: c.OffsetRouting, AccountNumber: c.OffsetAccount, Type: c.OffsetType, Name: c.CompanyName}
	}
	return o
}

// originatorSettings maps each field ach.CheckOriginator names to the
// setting it comes from and what that setting accepts.
var originatorSettings = map[string]struct{ setting, want string }{
	"ODFIRouting":              {"DRAFTER_ODFI_ROUTING", "the nine-digit routing number of the lender's bank (ODFI), with its check digit"},
	"ImmediateDestination":     {"DRAFTER_ODFI_ROUTING", "the nine-digit routing number of the lender's bank (ODFI), with its check digit"},
	"ImmediateOrigin":          {"DRAFTER_ODFI_ROUTING", "the nine-digit routing number of the lender's bank (ODFI), with its check digit"},
	"ImmediateDestinationName": {"DRAFTER_ODFI_NAME", "the ODFI's name for the file header: up to 23 printable ASCII characters, letters upper case"},
	"ImmediateOriginName":      {"DRAFTER_ORIGIN_NAME", "the immediate origin name for the file header: up to 23 printable ASCII characters, letters upper case"},
	"CompanyName":              {"DRAFTER_COMPANY_NAME", "the company name customers' banks show: 1 to 16 printable ASCII characters, letters upper case"},
	"CompanyID":                {"DRAFTER_COMPANY_ID", "the company identification: 1 to 10 printable ASCII characters, letters upper case (often 1 and the EIN)"},
	"Offset.Routing":           {"DRAFTER_OFFSET_ROUTING", "the settlement account's nine-digit routing number, with its check digit"},
	"Offset.AccountNumber":     {"DRAFTER_OFFSET_ACCOUNT", "the settlement account number: 1 to 17 digits"},
	"Offset.Type":              {"DRAFTER_OFFSET_TYPE", "checking or savings"},
	"Offset.Name":              {"DRAFTER_COMPANY_NAME", "the company name customers' banks show: 1 to 16 printable ASCII characters, letters upper case"},
}

// checkOriginator refuses NACHA settings the file build would refuse, by the
// build's own rules (ach.CheckOriginator), naming the setting, so a bad one
// stops drafter at start instead of after a night's allocation.
func (c *Config) checkOriginator() error {
	if (c.OffsetRouting == "") != (c.OffsetAccount == "") {
		return &Error{"DRAFTER_OFFSET_ACCOUNT", "", "both DRAFTER_OFFSET_ROUTING and DRAFTER_OFFSET_ACCOUNT, or neither"}
	}
	if c.OffsetType != "checking" && c.OffsetType != "savings" {
		return &Error{"DRAFTER_OFFSET_TYPE", c.OffsetType, "checking or savings"}
	}
	err := ach.CheckOriginator(c.Originator())
	if err == nil {
		return nil
	}
	var oe *ach.OriginatorError
	if !errors.As(err, &oe) {
		return fmt.Errorf("check NACHA settings: %w", err)
	}
	s, ok := originatorSettings[oe.Field]
	if !ok {
		return fmt.Errorf("check NACHA settings: %w", err)
	}
	value := map[string]string{
		"DRAFTER_ODFI_ROUTING": c.ODFIRouting, "DRAFTER_ODFI_NAME": c.ODFIName, "DRAFTER_ORIGIN_NAME": c.OriginName,
		"DRAFTER_COMPANY_NAME": c.CompanyName, "DRAFTER_COMPANY_ID": c.CompanyID, "DRAFTER_OFFSET_ROUTING": c.OffsetRouting,
		"DRAFTER_OFFSET_TYPE": c.OffsetType,
		// The settlement account number is not shown, as no account number is.
		"DRAFTER_OFFSET_ACCOUNT": "(hidden)",
	}[s.setting]
	return &Error{s.setting, value, s.want + " (" + oe.Err.Error() + ")"}
}

// ScheduleSettings maps each scheduled job to the setting holding its spec.
var ScheduleSettings = map[string]string{
	"returns":    "DRAFTER_SCHEDULE_RETURNS",
	"originate":  "DRAFTER_SCHEDULE_ORIGINATE",
	"statements": "DRAFTER_SCHEDULE_STATEMENTS",
	"lease-end":  "DRAFTER_SCHEDULE_LEASE_END",
	"deliver":    "DRAFTER_SCHEDULE_DELIVER",
	"transmit":   "DRAFTER_SCHEDULE_TRANSMIT",
	"receive":    "DRAFTER_SCHEDULE_RECEIVE",
}

// loadSchedule reads the settings of drafter serve's schedule. The cron
// specs themselves are checked by the scheduler, which names the setting.
func (c *Config) loadSchedule(get func(string) string) error {
	c.Schedule = map[string]string{}
	for job, name := range ScheduleSettings {
		c.Schedule[job] = strings.TrimSpace(get(name))
	}
	c.BankingDayJobs = nil
	for _, j := range strings.Split(get("DRAFTER_SCHEDULE_BANKING_DAYS"), ",") {
		if j = strings.TrimSpace(j); j != "" {
			c.BankingDayJobs = append(c.BankingDayJobs, j)
		}
	}
	sec := get("DRAFTER_SCHEDULE_SECONDS")
	var err error
	if c.ScheduleSeconds, err = strconv.ParseBool(sec); err != nil {
		return &Error{"DRAFTER_SCHEDULE_SECONDS", sec, "true or false"}
	}
	days := get("DRAFTER_CATCHUP_DAYS")
	if c.CatchUpDays, err = strconv.Atoi(days); err != nil || c.CatchUpDays < 0 || c.CatchUpDays > 31 {
		return &Error{"DRAFTER_CATCHUP_DAYS", days, "a whole number of days from 0 to 31"}
	}
	durs := []struct {
		name string
		dst  *time.Duration
	}{{"DRAFTER_STALE_AFTER", &c.StaleAfter}, {"DRAFTER_SHUTDOWN_GRACE", &c.ShutdownGrace}}
	for _, d := range durs {
		v := get(d.name)
		if *d.dst, err = time.ParseDuration(v); err != nil || *d.dst < 0 {
			return &Error{d.name, v, "a duration such as 2m or 30s"}
		}
	}
	return nil
}

// loadChunks reads the settings of chunked runs.
func (c *Config) loadChunks(get func(string) string) error {
	var err error
	size := get("DRAFTER_CHUNK_SIZE")
	if c.ChunkSize, err = strconv.Atoi(size); err != nil || c.ChunkSize < 1 || c.ChunkSize > 1000000 {
		return &Error{"DRAFTER_CHUNK_SIZE", size, "a whole number of accounts from 1 to 1000000"}
	}
	workers := get("DRAFTER_CHUNK_WORKERS")
	if c.ChunkWorkers, err = strconv.Atoi(workers); err != nil || c.ChunkWorkers < 1 || c.ChunkWorkers > 64 {
		return &Error{"DRAFTER_CHUNK_WORKERS", workers, "a whole number from 1 to 64"}
	}
	lease := get("DRAFTER_CHUNK_LEASE")
	if c.ChunkLease, err = time.ParseDuration(lease); err != nil || c.ChunkLease < time.Second {
		return &Error{"DRAFTER_CHUNK_LEASE", lease, "a duration of at least 1s, such as 60s"}
	}
	return nil
}

// Key returns the 32-byte encryption key text: DRAFTER_ENCRYPTION_KEY, or the
// key file in the data dir. With create, a missing key file is made with a
// new random key, mode 0600 (the demo); otherwise a missing key is an error.
func (c *Config) Key(create bool) (string, error) {
	if c.EncryptionKey != "" {
		return c.EncryptionKey, nil
	}
	path := filepath.Join(c.DataDir, "encryption.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read key file: %w", err)
	}
	if !create {
		return "", &Error{"DRAFTER_ENCRYPTION_KEY", "", "a 32-byte key (64 hex digits), or a key file at " + path + ": run `drafter init --data-dir " + c.DataDir + "` to create the folder and its key"}
	}
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", err
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	text := hex.EncodeToString(k[:])
	if _, err := f.WriteString(text + "\n"); err != nil {
		return "", fmt.Errorf("write key file: %w", err)
	}
	return text, f.Sync()
}

// SecureDataDir restricts the data folder, when it exists, to drafter's
// user (0700): it holds the SQLite database, the key file, documents and
// email. It reports whether it tightened the folder's permissions; an error
// says it could not (the caller warns and goes on).
func (c *Config) SecureDataDir() (bool, error) {
	info, err := os.Stat(c.DataDir)
	if err != nil || !info.IsDir() || info.Mode().Perm()&0o077 == 0 {
		return false, nil
	}
	if err := os.Chmod(c.DataDir, 0o700); err != nil {
		return false, fmt.Errorf("data folder %s is open to other users (mode %o) and cannot be restricted to 0700: %w", c.DataDir, info.Mode().Perm(), err)
	}
	return true, nil
}

func readFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Env] = true
	}
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || !known[k] {
			return nil, fmt.Errorf("%s:%d: want DRAFTER_SETTING=value with a known setting, got %q", path, n, k)
		}
		vals[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return vals, sc.Err()
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// ParseFeeCaps reads DRAFTER_RETURNED_FEE_CAPS: comma-separated STATE=DOLLARS
// pairs ("CA=15.00,TX=30"), each state two letters and listed once, each
// cap zero or more.
func ParseFeeCaps(v string) (map[string]money.Cents, error) {
	caps := map[string]money.Cents{}
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		state, amount, ok := strings.Cut(item, "=")
		state = strings.ToUpper(strings.TrimSpace(state))
		bad := func(why string) error {
			return &Error{"DRAFTER_RETURNED_FEE_CAPS", v, fmt.Sprintf("STATE=DOLLARS pairs such as CA=15.00,TX=30; %q: %s", item, why)}
		}
		if !ok || len(state) != 2 || state[0] < 'A' || state[0] > 'Z' || state[1] < 'A' || state[1] > 'Z' {
			return nil, bad("want a two-letter state, =, and an amount")
		}
		c, err := money.Parse(strings.TrimSpace(amount))
		if err != nil || c < 0 {
			return nil, bad("the cap is not an amount of zero or more dollars")
		}
		if _, dup := caps[state]; dup {
			return nil, bad(state + " is listed twice")
		}
		caps[state] = c
	}
	return caps, nil
}

// parseLeaseEndDays reads DRAFTER_LEASE_END_DAYS: distinct whole numbers of
// days from 1 to 365, comma-separated, returned largest first.
func parseLeaseEndDays(v string) ([]int, error) {
	bad := func(why string) error {
		return &Error{"DRAFTER_LEASE_END_DAYS", v, "distinct whole numbers of days from 1 to 365, comma-separated, such as 90,60,30 (" + why + ")"}
	}
	var days []int
	seen := map[int]bool{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		n, err := strconv.Atoi(item)
		switch {
		case err != nil || n < 1 || n > 365:
			return nil, bad(fmt.Sprintf("%q", item))
		case seen[n]:
			return nil, bad(fmt.Sprintf("%d twice", n))
		}
		seen[n] = true
		days = append(days, n)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(days)))
	return days, nil
}

var headerName = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

// loadConsoleProxy reads the trusted proxy header of the console: off
// unless both the header and where it may come from are named, so that a
// header alone never signs anyone in.
func (c *Config) loadConsoleProxy(get func(string) string) error {
	h, from := strings.TrimSpace(get("DRAFTER_CONSOLE_PROXY_HEADER")), strings.TrimSpace(get("DRAFTER_CONSOLE_PROXY_FROM"))
	if h == "" {
		if from != "" {
			return &Error{"DRAFTER_CONSOLE_PROXY_HEADER", "", "the header the proxy at DRAFTER_CONSOLE_PROXY_FROM names the operator in, such as X-Forwarded-User (or unset DRAFTER_CONSOLE_PROXY_FROM)"}
		}
		return nil
	}
	if !headerName.MatchString(h) {
		return &Error{"DRAFTER_CONSOLE_PROXY_HEADER", h, "a header name of letters, digits and '-', such as X-Forwarded-User"}
	}
	switch lower := strings.ToLower(h); lower {
	case "authorization", "cookie", "host", "origin", "x-forwarded-for":
		return &Error{"DRAFTER_CONSOLE_PROXY_HEADER", h, "a header only the proxy sets, such as X-Forwarded-User or X-Auth-Request-User (browsers and clients set this one)"}
	}
	c.ConsoleProxyHeader = textproto.CanonicalMIMEHeaderKey(h)
	if from == "" {
		return &Error{"DRAFTER_CONSOLE_PROXY_FROM", "", "the proxy's addresses (IPs or CIDRs, comma-separated) that DRAFTER_CONSOLE_PROXY_HEADER is believed from, or any when only the proxy can reach DRAFTER_ADMIN_ADDR"}
	}
	if strings.EqualFold(from, "any") {
		c.ConsoleProxyAny = true
		return nil
	}
	for f := range strings.SplitSeq(from, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return &Error{"DRAFTER_CONSOLE_PROXY_FROM", f, "IP addresses or CIDRs such as 10.0.0.5 or 10.1.0.0/16, comma-separated, or any"}
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.ConsoleProxyFrom = append(c.ConsoleProxyFrom, p.Masked())
	}
	return nil
}
