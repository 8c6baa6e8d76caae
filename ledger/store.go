// Package ledger holds drafter's domain types and the SQL store they live in:
// the servicing ledger imported from the servicing system, the payments
// drafter originates, what the bank sends back, documents, the outbox and the
// run ledger. One store serves SQLite (the embedded default) and PostgreSQL;
// the differences live in dialect.go.
package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	_ "modernc.org/sqlite"             // SQLite driver "sqlite"

	"github.com/drafterhq/drafter/redact"
)

// Store is the SQL store. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// q runs every query: the database, or the transaction of a dry run.
	q  querier
	tx *sql.Tx
	// txConn is the dry run's connection, which tx is on (pgx's COPY
	// needs it).
	txConn  *sql.Conn
	dialect dialect
	cipher  *Cipher
	url     string
	// binding is how CheckKey binds an old ledger's numbers (OnBinding).
	binding RotateOptions
	// migrationStatement, when set, is called after each statement a
	// migration runs (OnMigrationStatement).
	migrationStatement func(migration string, statement int)
	// readOnly: opened by OpenReadOnly for look-ups; reads never write
	// (not even a cache such as ach_file_debits).
	readOnly bool
	// side is SQLite's connection for reads beside a write transaction
	// (sideReader); nil on PostgreSQL, whose pool has many.
	side *sideReads
}

// sideReads is a second SQLite connection pool, opened on first use, that reads
// the last committed state while the store's one connection writes: in WAL
// mode a reader never waits for the writer.
type sideReads struct {
	dsn  string
	once sync.Once
	db   *sql.DB
}

// sideReader returns what runs a read that may go on beside a write
// transaction of this store, on another goroutine: it sees what is
// committed. On PostgreSQL that is the pool; on SQLite a connection of its
// own (a database in memory has none, and reads in turn); in a dry run
// the dry run's transaction, which sees its own writes.
func (s *Store) sideReader() querier {
	if s.tx != nil || s.side == nil {
		return s.q
	}
	s.side.once.Do(func() {
		db, err := sql.Open(s.dialect.driver, s.side.dsn)
		if err != nil {
			return
		}
		// Two: the next file's payments are read ahead while this
		// file's allocation counts its payments still scheduled.
		db.SetMaxOpenConns(2)
		s.side.db = db
	})
	if s.side.db == nil {
		return s.q
	}
	return s.side.db
}

// ErrNotFound is returned when a row asked for by key does not exist.
var ErrNotFound = errors.New("not found")

// Open connects to the database named by rawURL (sqlite:PATH or
// postgres://...) and returns a Store that encrypts bank account numbers with
// cipher. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string, cipher *Cipher) (*Store, error) {
	d, dsn, err := parseDatabaseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if d.name == "sqlite" {
		if dir := filepath.Dir(sqlitePath(dsn)); dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("open database: %w", err)
			}
		}
		if err := readOnlyFile(sqlitePath(dsn)); err != nil {
			return nil, err
		}
		if err := privateSQLiteFiles(sqlitePath(dsn)); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	db, err := sql.Open(d.driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redact.URL(rawURL), redact.Error(err, rawURL))
	}
	if d.name == "sqlite" {
		// One connection: SQLite has one writer, and a single connection
		// makes every transaction see the last one's writes without
		// busy-waiting.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(8)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database %s: %w", d.name, redact.URL(rawURL), explainSQLite(rawURL, redact.Error(err, rawURL)))
	}
	st := &Store{db: db, q: db, dialect: d, cipher: cipher, url: rawURL}
	if path := sqlitePath(dsn); d.name == "sqlite" && path != "" && !strings.HasPrefix(path, ":") && !strings.Contains(dsn, "mode=memory") {
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-16384)")
		st.side = &sideReads{dsn: "file:" + path + "?" + q.Encode()}
	}
	return st, nil
}

// parseDatabaseURL maps a drafter database URL to a dialect and a driver DSN.
func parseDatabaseURL(rawURL string) (dialect, string, error) {
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
		if path == "" {
			return dialect{}, "", fmt.Errorf("database URL %q: want sqlite:PATH", rawURL)
		}
		q := url.Values{}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// A 64 MiB page cache: a file of 100,000 originations dirties
		// more pages than the default 8 MiB, and spilling them to the WAL
		// mid-transaction cost more than the work itself.
		q.Add("_pragma", "cache_size(-65536)")
		// Statement journals in memory: each UPDATE that could violate a
		// unique index journals the pages it touches, to a temp file
		// otherwise.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Add("_txlock", "immediate")
		return sqliteDialect, "file:" + path + "?" + q.Encode(), nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return postgresDialect, withoutJIT(rawURL), nil
	}
	return dialect{}, "", fmt.Errorf("database URL %q: want sqlite:PATH or postgres://USER@HOST/DB", redact.URL(rawURL))
}

// withoutJIT turns PostgreSQL's JIT compilation off for drafter's sessions
// unless the URL sets jit itself. PostgreSQL compiles a plan whose
// estimated cost is high, such as a page of 100,000 payments read along an
// index, and the compiling cost 150-300 ms a page, more than it saved:
// drafter's statements are many and each is short. pgx sends a URL
// parameter it does not know as a session setting.
func withoutJIT(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL // sql.Open reports it
	}
	q := u.Query()
	if q.Has("jit") {
		return rawURL
	}
	q.Set("jit", "off")
	u.RawQuery = q.Encode()
	return u.String()
}

// privateSQLiteFiles makes the database file, and its -wal and -shm files
// if they exist, readable by drafter's user only (0600): they hold names,
// addresses and emails. A new database file is created 0600 before SQLite
// opens it, and SQLite gives the -wal and -shm files the database file's
// permissions.
func privateSQLiteFiles(path string) error {
	if path == "" || strings.HasPrefix(path, ":") {
		return nil // in memory
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(p)
		if err != nil || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, info.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("%s is readable by other users (mode %o) and drafter cannot restrict it: %w (run chmod 600 on it as its owner)", p, info.Mode().Perm(), err)
		}
	}
	return nil
}

func sqlitePath(dsn string) string {
	p, _, _ := strings.Cut(strings.TrimPrefix(dsn, "file:"), "?")
	return p
}

// Close closes the database.
func (s *Store) Close() error {
	if s.side != nil {
		s.side.once.Do(func() {}) // no side connection opens after this
		if s.side.db != nil {
			s.side.db.Close()
		}
	}
	return s.db.Close()
}

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// DB returns the database handle, for tests and benchmarks that inspect rows.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// InTx runs fn in a transaction and commits when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.tx != nil {
		// Inside a dry run every write shares its transaction; a savepoint
		// keeps what a real transaction promises: fn's writes all stay or
		// all go, so a step that fails leaves nothing half-written for
		// the steps after it to see (and PostgreSQL's transaction stays
		// usable after an error).
		return s.savepoint(ctx, func() error { return fn(s.tx) })
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// inConnTx is InTx for a transaction that also needs its connection's
// driver (pgx's COPY): fn gets the transaction and the connection it is on
// (in a dry run, the dry run's, under a savepoint).
func (s *Store) inConnTx(ctx context.Context, fn func(tx *sql.Tx, conn *sql.Conn) error) error {
	if s.tx != nil {
		return s.InTx(ctx, func(tx *sql.Tx) error { return fn(tx, s.txConn) })
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx, conn); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// now is the store's clock for bookkeeping timestamps (never for business
// dates), in UTC and to the microsecond so both databases keep it exactly.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// DryRun runs fn with a store whose every read and write goes through one
// transaction that is always rolled back: fn computes and reports everything
// and writes nothing.
func (s *Store) DryRun(ctx context.Context, fn func(s *Store) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin dry run: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin dry run: %w", err)
	}
	defer tx.Rollback()
	dry := *s
	dry.q, dry.tx, dry.txConn = tx, tx, conn
	return fn(&dry)
}

// DrySavepoint runs fn inside a dry run's transaction under a savepoint:
// when fn fails, its writes are undone and the dry run goes on, as the next
// step of a real night would after a failed one. Outside a dry run it just
// calls fn.
func (s *Store) DrySavepoint(ctx context.Context, fn func() error) error {
	if s.tx == nil {
		return fn()
	}
	return s.savepoint(ctx, fn)
}

// savepoints numbers the savepoints of dry runs: unique names, so nested
// ones never shadow each other.
var savepoints atomic.Int64

func (s *Store) savepoint(ctx context.Context, fn func() error) error {
	name := fmt.Sprintf("drafter_sp_%d", savepoints.Add(1))
	if _, err := s.tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := s.tx.ExecContext(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT "+name); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		_, _ = s.tx.ExecContext(context.WithoutCancel(ctx), "RELEASE SAVEPOINT "+name)
		return err
	}
	if _, err := s.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// InDryRun reports whether s is the store of a dry run.
func (s *Store) InDryRun() bool { return s.tx != nil }

// Analyze refreshes PostgreSQL's planner statistics of tables a step has
// just filled in bulk. Without it the planner can still believe a table
// holds a few rows after a night's million payment instances went in, and
// join each thousand-row batch of originations against it by scanning the
// whole table. SQLite plans from its indexes and needs nothing here.
func (s *Store) Analyze(ctx context.Context, tables ...string) error {
	if s.dialect.name != "postgres" {
		return nil
	}
	for _, t := range tables {
		if _, err := s.q.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// Checkpoint writes what the database holds only in its write-ahead log
// to its data files now (PostgreSQL's CHECKPOINT, SQLite's
// wal_checkpoint(TRUNCATE)), so that work which follows does not pay for
// flushing it. The benchmarks call it between their untimed setup and the
// timed part. PostgreSQL allows it to superusers and members of
// pg_checkpoint only: for any other role it does nothing and reports false.
func (s *Store) Checkpoint(ctx context.Context) (bool, error) {
	q := "CHECKPOINT"
	if s.dialect.name != "postgres" {
		q = "PRAGMA wal_checkpoint(TRUNCATE)"
	}
	if _, err := s.q.ExecContext(ctx, q); err != nil {
		if strings.Contains(err.Error(), "SQLSTATE 42501") {
			return false, nil
		}
		return false, fmt.Errorf("checkpoint: %w", err)
	}
	return true, nil
}

// rowScanner is what *sql.Row and *sql.Rows offer to a scan function.
type rowScanner interface{ Scan(...any) error }

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
