package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drafterhq/drafter/ach"
	"github.com/drafterhq/drafter/money"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestPrecedenceFlagsEnvFileDefaults(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "drafter.env")
	os.WriteFile(file, []byte("# comment\nDRAFTER_COMPANY_NAME=FROM FILE\nDRAFTER_LENDER_NAME=File Lender\nDRAFTER_FILE_ENTRY_LIMIT=500\n"), 0o600)
	c, err := Load(map[string]string{"DRAFTER_DATA_DIR": dir, "DRAFTER_COMPANY_NAME": "FROM FLAG"},
		envOf(map[string]string{"DRAFTER_COMPANY_NAME": "FROM ENV", "DRAFTER_LENDER_NAME": "Env Lender"}), file)
	if err != nil {
		t.Fatal(err)
	}
	if c.CompanyName != "FROM FLAG" || c.LenderName != "Env Lender" || c.FileEntryLimit != 500 || c.PrenoteWaitDays != 3 {
		t.Fatalf("got %+v", c)
	}
	if c.DatabaseURL != "sqlite:"+filepath.Join(dir, "drafter.db") || !strings.HasPrefix(c.StorageURL, "file://"+dir) {
		t.Fatalf("data-dir defaults: %s %s", c.DatabaseURL, c.StorageURL)
	}
	if c.ImportMaxLineBytes != 1<<20 || c.ImportMaxFileBytes != 8<<30 || c.MaxInboundFileBytes != 256<<20 {
		t.Errorf("input bounds: line %d, import file %d, inbound file %d", c.ImportMaxLineBytes, c.ImportMaxFileBytes, c.MaxInboundFileBytes)
	}
}

func TestInvalidSettingsNameTheSetting(t *testing.T) {
	tests := []struct {
		name, env, value, want string
	}{
		{"zone", "DRAFTER_ZONE", "Mars/Olympus", "DRAFTER_ZONE"},
		{"routing", "DRAFTER_ODFI_ROUTING", "12345", "DRAFTER_ODFI_ROUTING"},
		{"limit", "DRAFTER_FILE_ENTRY_LIMIT", "lots", "DRAFTER_FILE_ENTRY_LIMIT"},
		{"db", "DRAFTER_DATABASE_URL", "mysql://x", "DRAFTER_DATABASE_URL"},
		{"attach", "DRAFTER_MAIL_ATTACH_PDF", "maybe", "DRAFTER_MAIL_ATTACH_PDF"},
		{"offset half", "DRAFTER_OFFSET_ROUTING", "021000021", "DRAFTER_OFFSET_ACCOUNT"},
		{"import line cap", "DRAFTER_IMPORT_MAX_LINE_BYTES", "0", "DRAFTER_IMPORT_MAX_LINE_BYTES"},
		{"import file cap", "DRAFTER_IMPORT_MAX_FILE_BYTES", "1MB", "DRAFTER_IMPORT_MAX_FILE_BYTES"},
		{"inbound file cap", "DRAFTER_MAX_INBOUND_FILE_BYTES", "-1", "DRAFTER_MAX_INBOUND_FILE_BYTES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(nil, envOf(map[string]string{tt.env: tt.value, "DRAFTER_DATA_DIR": t.TempDir()}), "")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "want") {
				t.Fatalf("err = %v, want it to name %s and what is expected", err, tt.want)
			}
		})
	}
}

func TestConfigFileUnknownSettingNamesLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(file, []byte("DRAFTER_ZONE=UTC\nDRAFTER_TYPO=1\n"), 0o600)
	_, err := Load(nil, envOf(nil), file)
	if err == nil || !strings.Contains(err.Error(), "bad.env:2") {
		t.Fatalf("err = %v", err)
	}
}

func TestKeyFileCreatedOnceWithMode0600(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(map[string]string{"DRAFTER_DATA_DIR": dir}, envOf(nil), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Key(false); err == nil || !strings.Contains(err.Error(), "DRAFTER_ENCRYPTION_KEY") {
		t.Fatalf("missing key: %v", err)
	}
	k1, err := c.Key(true)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := c.Key(false)
	st, _ := os.Stat(filepath.Join(dir, "encryption.key"))
	if k1 != k2 || len(k1) != 64 || st.Mode().Perm() != 0o600 {
		t.Fatalf("key %q %q mode %v", k1, k2, st.Mode())
	}
}

func TestParseFeeCaps(t *testing.T) {
	good := []struct {
		in   string
		want map[string]money.Cents
	}{
		{"", map[string]money.Cents{}},
		{"CA=15.00,TX=30", map[string]money.Cents{"CA": 15_00, "TX": 30_00}},
		{" ca = 15 , ny=0 ,", map[string]money.Cents{"CA": 15_00, "NY": 0}},
	}
	for _, tt := range good {
		got, err := ParseFeeCaps(tt.in)
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseFeeCaps(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("ParseFeeCaps(%q)[%s] = %s, want %s", tt.in, k, got[k], v)
			}
		}
	}
	bad := []struct{ in, why string }{
		{"CAL=15", "two-letter state"},
		{"CA", "two-letter state"},
		{"C1=5", "two-letter state"},
		{"CA=abc", "not an amount"},
		{"CA=-1", "not an amount"},
		{"CA=1.234", "not an amount"},
		{"CA=1,ca=2", "CA is listed twice"},
	}
	for _, tt := range bad {
		_, err := ParseFeeCaps(tt.in)
		if err == nil || !strings.Contains(err.Error(), "DRAFTER_RETURNED_FEE_CAPS") || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseFeeCaps(%q) = %v; want an error naming the setting and %q", tt.in, err, tt.why)
		}
	}
}

// FuzzParseFeeCaps: any setting value either parses into two-letter states
// with caps of zero or more, which print and parse back the same, or is an
// error naming the setting; never a panic.
func FuzzParseFeeCaps(f *testing.F) {
	for _, s := range []string{"", "CA=15.00,TX=30", " ca = 15 , ny=0 ,", "CA=1,CA=2", "C=1", "CA=-1", "CA=1.234", "==,,", "CA=99999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		caps, err := ParseFeeCaps(v)
		if err != nil {
			if !strings.Contains(err.Error(), "DRAFTER_RETURNED_FEE_CAPS") {
				t.Fatalf("error %q does not name the setting", err)
			}
			return
		}
		var parts []string
		for state, c := range caps {
			if len(state) != 2 || strings.ToUpper(state) != state || c < 0 {
				t.Fatalf("ParseFeeCaps(%q): %q = %s", v, state, c)
			}
			parts = append(parts, state+"="+c.Plain())
		}
		again, err := ParseFeeCaps(strings.Join(parts, ","))
		if err != nil || len(again) != len(caps) {
			t.Fatalf("ParseFeeCaps(%q) = %v; printed and parsed again: %v, %v", v, caps, again, err)
		}
		for k, c := range caps {
			if again[k] != c {
				t.Fatalf("ParseFeeCaps(%q)[%s] = %s, again %s", v, k, c, again[k])
			}
		}
	})
}

// NACHA settings the file build would refuse, and storage and mail URLs that
// would not open, stop Load, naming the setting and what it accepts, and
// never echoing a password or the settlement account number.
func TestLoadRefusesWhatTheBuildRefuses(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		setting string // "" accepted
		want    string
	}{
		{"defaults", nil, "", ""},
		{"offset both", map[string]string{"DRAFTER_OFFSET_ROUTING": "021000021", "DRAFTER_OFFSET_ACCOUNT": "400012345678", "DRAFTER_OFFSET_TYPE": "savings"}, "", ""},
		{"names at their widths", map[string]string{"DRAFTER_ODFI_NAME": strings.Repeat("B", 23), "DRAFTER_ORIGIN_NAME": strings.Repeat("O", 23),
			"DRAFTER_COMPANY_NAME": "A&B AUTO, INC.", "DRAFTER_COMPANY_ID": "1987654320"}, "", ""},
		{"s3 and smtp", map[string]string{"DRAFTER_STORAGE_URL": "s3://bucket/prefix?region=us-east-1&sse=AES256",
			"DRAFTER_MAIL_URL": "smtp://drafter:s3cret@smtp.internal:587?starttls=required"}, "", ""},

		{"umlaut in company name", map[string]string{"DRAFTER_COMPANY_NAME": "DRÄFTER"}, "DRAFTER_COMPANY_NAME", "printable ASCII"},
		{"lower-case company name", map[string]string{"DRAFTER_COMPANY_NAME": "Drafter Auto"}, "DRAFTER_COMPANY_NAME", "upper case"},
		{"company name of 17", map[string]string{"DRAFTER_COMPANY_NAME": strings.Repeat("C", 17)}, "DRAFTER_COMPANY_NAME", "1 to 16"},
		{"origin name of 40", map[string]string{"DRAFTER_ORIGIN_NAME": strings.Repeat("DRAFTER ", 5)}, "DRAFTER_ORIGIN_NAME", "up to 23"},
		{"newline in odfi name", map[string]string{"DRAFTER_ODFI_NAME": "DEMO\nBANK"}, "DRAFTER_ODFI_NAME", `"DEMO\nBANK"`},
		{"company id of 11", map[string]string{"DRAFTER_COMPANY_ID": "12345678901"}, "DRAFTER_COMPANY_ID", "1 to 10"},
		{"odfi check digit", map[string]string{"DRAFTER_ODFI_ROUTING": "021000022"}, "DRAFTER_ODFI_ROUTING", "check digit"},
		{"odfi short", map[string]string{"DRAFTER_ODFI_ROUTING": "12345"}, "DRAFTER_ODFI_ROUTING", "nine-digit"},
		{"offset routing only", map[string]string{"DRAFTER_OFFSET_ROUTING": "021000021"}, "DRAFTER_OFFSET_ACCOUNT", "or neither"},
		{"offset account only", map[string]string{"DRAFTER_OFFSET_ACCOUNT": "400012345678"}, "DRAFTER_OFFSET_ACCOUNT", "or neither"},
		{"offset routing check digit", map[string]string{"DRAFTER_OFFSET_ROUTING": "021000022", "DRAFTER_OFFSET_ACCOUNT": "400012345678"}, "DRAFTER_OFFSET_ROUTING", "check digit"},
		{"offset account letters", map[string]string{"DRAFTER_OFFSET_ROUTING": "021000021", "DRAFTER_OFFSET_ACCOUNT": "4000-1234"}, "DRAFTER_OFFSET_ACCOUNT", "1 to 17 digits"},
		{"offset account of 18", map[string]string{"DRAFTER_OFFSET_ROUTING": "021000021", "DRAFTER_OFFSET_ACCOUNT": "400012345678901234"}, "DRAFTER_OFFSET_ACCOUNT", "over 17"},
		{"offset type", map[string]string{"DRAFTER_OFFSET_TYPE": "loan"}, "DRAFTER_OFFSET_TYPE", "checking or savings"},

		{"storage scheme", map[string]string{"DRAFTER_STORAGE_URL": "gs://bucket"}, "DRAFTER_STORAGE_URL", `unknown scheme "gs"`},
		{"storage relative", map[string]string{"DRAFTER_STORAGE_URL": "file:docs"}, "DRAFTER_STORAGE_URL", "absolute"},
		{"storage s3 parameter", map[string]string{"DRAFTER_STORAGE_URL": "s3://bucket?regoin=us-east-1"}, "DRAFTER_STORAGE_URL", `unknown parameter "regoin"`},
		{"storage credentials", map[string]string{"DRAFTER_STORAGE_URL": "s3://AKIA:s3cret@bucket"}, "DRAFTER_STORAGE_URL", "credentials in the url"},
		{"mail scheme", map[string]string{"DRAFTER_MAIL_URL": "smtpx://u:s3cret@host"}, "DRAFTER_MAIL_URL", `unknown scheme "smtpx"`},
		{"mail starttls", map[string]string{"DRAFTER_MAIL_URL": "smtp://u:s3cret@smtp.internal?starttls=maybe"}, "DRAFTER_MAIL_URL", `starttls="maybe"`},
		{"mail password with @", map[string]string{"DRAFTER_MAIL_URL": "smtp://u:s3cret@x@smtp.internal:99999"}, "DRAFTER_MAIL_URL", "smtp://"},
		{"mail unparsable", map[string]string{"DRAFTER_MAIL_URL": "smtp://u:s3cret@smtp.internal/%zz"}, "DRAFTER_MAIL_URL", "unparsable"},
		{"mail pickup relative", map[string]string{"DRAFTER_MAIL_URL": "pickup:outbox"}, "DRAFTER_MAIL_URL", "absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DRAFTER_DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(nil, envOf(env), "")
			if tt.setting == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.Setting != tt.setting || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, %v; want an error naming %s and saying %q", c, err, tt.setting, tt.want)
			}
			for _, secret := range []string{"s3cret", "400012345678", "4000-1234"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows %q", err, secret)
				}
			}
		})
	}
}

// The originator Load hands out is the one it checked: BuildFile accepts it.
func TestOriginatorIsCheckedOne(t *testing.T) {
	c, err := Load(nil, envOf(map[string]string{"DRAFTER_DATA_DIR": t.TempDir(), "DRAFTER_OFFSET_ROUTING": "021000021", "DRAFTER_OFFSET_ACCOUNT": "400012345678"}), "")
	if err != nil {
		t.Fatal(err)
	}
	o := c.Originator()
	if err := ach.CheckOriginator(o); err != nil || o.Offset == nil || o.Offset.AccountNumber != "400012345678" || o.CompanyName != "DRAFTER AUTO FIN" {
		t.Fatalf("originator %+v: %v", o, err)
	}
}

// TestRedact: no bad URL setting shows its password in the error.
func TestRedact(t *testing.T) {
	for _, tc := range []struct{ setting, url string }{
		{"DRAFTER_DATABASE_URL", "mysql://drafter:hunter2@db:5432/d"},
		{"DRAFTER_DATABASE_URL", "mysql://db/d?password=hunter2"},
		{"DRAFTER_STORAGE_URL", "s3://key:hunter2@bucket/prefix?bogus=1"},
		{"DRAFTER_STORAGE_URL", "s3://key:hunter2@bucket:x/prefix"},
		{"DRAFTER_STORAGE_URL", "s3://bucket/prefix?bogus=1&password=hunter2"},
		{"DRAFTER_MAIL_URL", "smtp://u:p@hunter2@host:587?starttls=maybe"},
		{"DRAFTER_MAIL_URL", "smtp://u:pa/hunter2@host"},
		{"DRAFTER_MAIL_URL", "smtp://u:hunter2@host:5x7"},
	} {
		_, err := Load(map[string]string{"DRAFTER_DATA_DIR": t.TempDir(), tc.setting: tc.url}, envOf(nil), "")
		if err == nil || !strings.Contains(err.Error(), tc.setting) {
			t.Errorf("%s=%s: %v, want an error naming the setting", tc.setting, tc.url, err)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s=%s: error shows the password: %v", tc.setting, tc.url, err)
		}
	}
}

// TestLinksRefusedOnFileStorage: emails that link to documents are refused
// at start when documents are in file storage, naming both settings; with
// S3 storage, or attached PDFs, the settings load.
func TestLinksRefusedOnFileStorage(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		refused bool
	}{
		{"links on the default file storage", map[string]string{"DRAFTER_MAIL_ATTACH_PDF": "false"}, true},
		{"links on explicit file storage", map[string]string{"DRAFTER_MAIL_ATTACH_PDF": "false", "DRAFTER_STORAGE_URL": "file:///srv/drafter/docs"}, true},
		{"links on S3", map[string]string{"DRAFTER_MAIL_ATTACH_PDF": "false", "DRAFTER_STORAGE_URL": "s3://docs/drafter?endpoint=http://127.0.0.1:7070"}, false},
		{"attached on file storage", map[string]string{"DRAFTER_MAIL_ATTACH_PDF": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["DRAFTER_DATA_DIR"] = t.TempDir()
			c, err := Load(nil, envOf(tt.env), "")
			if !tt.refused {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if want := tt.env["DRAFTER_MAIL_ATTACH_PDF"] == "true"; c.AttachPDF != want {
					t.Errorf("AttachPDF = %v, want %v", c.AttachPDF, want)
				}
				return
			}
			if err == nil {
				t.Fatal("links to file storage were accepted")
			}
			for _, w := range []string{"DRAFTER_MAIL_ATTACH_PDF", "DRAFTER_STORAGE_URL", "file://", "attach"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %s", err, w)
				}
			}
		})
	}
}

func TestLeaseEndDays(t *testing.T) {
	for v, want := range map[string]string{"": "[90 60 30]", "30, 120,45": "[120 45 30]", "10": "[10]"} {
		env := map[string]string{"DRAFTER_DATA_DIR": t.TempDir()}
		if v != "" {
			env["DRAFTER_LEASE_END_DAYS"] = v
		}
		c, err := Load(nil, envOf(env), "")
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got := fmt.Sprint(c.LeaseEndDays); got != want {
			t.Errorf("DRAFTER_LEASE_END_DAYS=%q: %s, want %s", v, got, want)
		}
	}
}

// TestSecureDataDir: a data folder open to others is restricted to 0700;
// one that is already private is left alone; a missing one is not made.
func TestSecureDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &Config{DataDir: dir}
	if changed, err := c.SecureDataDir(); !changed || err != nil {
		t.Fatalf("open folder: changed %v, %v", changed, err)
	}
	if info, _ := os.Stat(dir); info.Mode().Perm() != 0o700 {
		t.Errorf("mode %o, want 700", info.Mode().Perm())
	}
	if changed, err := c.SecureDataDir(); changed || err != nil {
		t.Errorf("private folder: changed %v, %v", changed, err)
	}
	missing := &Config{DataDir: filepath.Join(dir, "none")}
	if changed, err := missing.SecureDataDir(); changed || err != nil {
		t.Errorf("missing folder: changed %v, %v", changed, err)
	}
	if _, err := os.Stat(missing.DataDir); err == nil {
		t.Error("a missing data folder was made")
	}
}

// TestConsoleProxy: the console's trusted proxy header is off unless both
// the header and the addresses it is believed from are named.
func TestConsoleProxy(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		header, from string
		any          bool
		err          string
	}{
		{name: "off", env: map[string]string{}},
		{name: "header and addresses", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "x-forwarded-user", "DRAFTER_CONSOLE_PROXY_FROM": "10.0.0.5, 10.1.0.0/16,::1"},
			header: "X-Forwarded-User", from: "10.0.0.5/32 10.1.0.0/16 ::1/128"},
		{name: "any", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "X-Auth-Request-User", "DRAFTER_CONSOLE_PROXY_FROM": "any"},
			header: "X-Auth-Request-User", any: true},
		{name: "header without addresses", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "X-Forwarded-User"}, err: "DRAFTER_CONSOLE_PROXY_FROM"},
		{name: "addresses without header", env: map[string]string{"DRAFTER_CONSOLE_PROXY_FROM": "10.0.0.5"}, err: "DRAFTER_CONSOLE_PROXY_HEADER"},
		{name: "bad address", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "X-Forwarded-User", "DRAFTER_CONSOLE_PROXY_FROM": "proxy.internal"}, err: "DRAFTER_CONSOLE_PROXY_FROM"},
		{name: "a header clients set", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "Authorization", "DRAFTER_CONSOLE_PROXY_FROM": "any"}, err: "DRAFTER_CONSOLE_PROXY_HEADER"},
		{name: "not a header name", env: map[string]string{"DRAFTER_CONSOLE_PROXY_HEADER": "X User", "DRAFTER_CONSOLE_PROXY_FROM": "any"}, err: "DRAFTER_CONSOLE_PROXY_HEADER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.env["DRAFTER_DATA_DIR"] = t.TempDir()
			c, err := Load(nil, envOf(tt.env), "")
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want it to name %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var from []string
			for _, p := range c.ConsoleProxyFrom {
				from = append(from, p.String())
			}
			if c.ConsoleProxyHeader != tt.header || strings.Join(from, " ") != tt.from || c.ConsoleProxyAny != tt.any {
				t.Errorf("got header %q from %q any %v, want %q from %q any %v", c.ConsoleProxyHeader, from, c.ConsoleProxyAny, tt.header, tt.from, tt.any)
			}
		})
	}
}
