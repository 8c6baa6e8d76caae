package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/drafterhq/drafter/redact"
)

// ErrNoKey is returned when a store opened without the encryption key (a
// look-up) is asked for an account number.
var ErrNoKey = errors.New("no encryption key: this command was opened to look, and account numbers need the key")

// ErrNoDatabase is returned by OpenReadOnly when there is no database to
// look at.
var ErrNoDatabase = errors.New("no database")

// OpenReadOnly opens the database for look-ups: without the encryption key,
// and writing nothing. SQLite opens the file read-only (mode=ro), and
// immutable when no other connection has it open (no -wal file), so that
// SQLite creates no -wal or -shm file beside it; PostgreSQL sessions are
// read-only. It checks that the schema is the one this binary knows and
// never migrates: a database older than the binary is an error that says to
// run `drafter migrate`, one newer says to use the newer drafter.
func OpenReadOnly(ctx context.Context, rawURL string) (*Store, error) {
	d, dsn, err := parseDatabaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch d.name {
	case "sqlite":
		path := sqlitePath(dsn)
		if _, err := os.Stat(path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w at %s: nothing was imported into this data folder (check --data-dir; `drafter import` or `drafter demo` makes one)", ErrNoDatabase, path)
			}
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
		q := url.Values{}
		q.Set("mode", "ro")
		if _, err := os.Stat(path + "-wal"); errors.Is(err, fs.ErrNotExist) {
			// No connection has the database open (SQLite removes the
			// -wal file when the last one closes): read the file as it
			// is. Read-only alone would create -wal and -shm files.
			q.Set("immutable", "1")
		}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "query_only(1)")
		dsn = "file:" + path + "?" + q.Encode()
	case "postgres":
		dsn = withRuntimeParam(dsn, "default_transaction_read_only", "on")
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact.URL(rawURL), redact.Error(err, rawURL))
	}
	db.SetMaxOpenConns(4)
	st := &Store{db: db, q: db, dialect: d, url: rawURL, readOnly: true}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", d.name, redact.URL(rawURL), explainSQLite(rawURL, redact.Error(err, rawURL)))
	}
	if err := st.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// withRuntimeParam adds a session parameter to a PostgreSQL URL (pgx
// sends unknown query parameters as runtime parameters).
func withRuntimeParam(rawURL, name, value string) string {
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + url.QueryEscape(name) + "=" + url.QueryEscape(value)
}

// SchemaError says how a database's schema differs from this binary's.
type SchemaError struct {
	Database string
	// Missing are migrations of this binary the database lacks; Unknown
	// are migrations the database has that this binary does not know.
	Missing, Unknown []int
	NoLedger         bool
}

func (e *SchemaError) Error() string {
	switch {
	case e.NoLedger:
		return fmt.Sprintf("database %s holds no drafter ledger (no schema_migrations table): check --data-dir or DRAFTER_DATABASE_URL, or run `drafter migrate` to make one there", e.Database)
	case len(e.Unknown) > 0:
		return fmt.Sprintf("database %s was migrated by a newer drafter (migrations %s are unknown to this binary): use that drafter, or a newer build of this one",
			e.Database, versionsText(e.Unknown))
	}
	return fmt.Sprintf("database %s is older than this drafter (migrations %s are not applied): run `drafter migrate` (it writes; this command only reads and changes nothing)",
		e.Database, versionsText(e.Missing))
}

func versionsText(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ", ")
}

// CheckSchema compares the database's applied migrations with this
// binary's and returns a *SchemaError when they differ.
func (s *Store) CheckSchema(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	name := redact.URL(s.url)
	rows, err := s.q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		var n int
		if qerr := s.q.QueryRowContext(ctx, `SELECT 1`).Scan(&n); qerr == nil {
			return &SchemaError{Database: name, NoLedger: true}
		}
		return fmt.Errorf("read the schema version of %s: %w", name, explainSQLite(s.url, err))
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return err
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	e := &SchemaError{Database: name}
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
		if !applied[m.Version] {
			e.Missing = append(e.Missing, m.Version)
		}
	}
	for v := range applied {
		if !known[v] {
			e.Unknown = append(e.Unknown, v)
		}
	}
	if len(e.Missing) == 0 && len(e.Unknown) == 0 {
		return nil
	}
	return e
}

// explainSQLite adds to an error from SQLite the files it works with (the
// database, its -wal, -shm and -journal side files and their folder) that
// drafter's user may not read or write, by name and mode: SQLite's own
// message names none of them.
func explainSQLite(rawURL string, err error) error {
	if err == nil || !strings.HasPrefix(rawURL, "sqlite:") {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, "readonly") && !strings.Contains(msg, "unable to open") && !strings.Contains(msg, "permission") &&
		!strings.Contains(msg, "disk I/O") && !strings.Contains(msg, "locking protocol") {
		return err
	}
	path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
	var notes []string
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal", filepath.Dir(path)} {
		info, serr := os.Stat(p)
		if serr != nil {
			continue
		}
		if note := accessNote(p, info); note != "" {
			notes = append(notes, note)
		}
	}
	if len(notes) == 0 {
		return err
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(notes, "; "))
}

// accessNote says why drafter's user may not write p, or "".
func accessNote(p string, info fs.FileInfo) string {
	mode := info.Mode().Perm()
	owner := ""
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if int(st.Uid) != os.Getuid() {
			owner = fmt.Sprintf(", owned by uid %d, not drafter's uid %d", st.Uid, os.Getuid())
		}
	}
	if mode&0o200 == 0 || owner != "" {
		kind := "file"
		if info.IsDir() {
			kind = "folder"
		}
		return fmt.Sprintf("%s %s is mode %04o%s", kind, p, mode, owner)
	}
	return ""
}

// readOnlyFile returns an error naming the SQLite file (or side file) that
// is not writable by mode, before SQLite opens it for writing: SQLite would
// open it read-only without a word, fail at the first write, and leave
// side files with the database file's read-only mode behind.
func readOnlyFile(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if info.Mode().Perm()&0o200 == 0 {
			return fmt.Errorf("open database: %s is read-only (mode %04o): this command writes to the ledger; make it writable (chmod 600 %s) or look with a command that only reads (runs, outbox, exceptions, report, storage, bank status)",
				p, info.Mode().Perm(), p)
		}
	}
	return nil
}
