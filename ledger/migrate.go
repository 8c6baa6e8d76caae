package ledger

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change, embedded in the binary.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// OnMigrationStatement makes Migrate call fn after each statement it runs,
// inside the migration's transaction: crash tests end the process there.
func (s *Store) OnMigrationStatement(fn func(migration string, statement int)) {
	s.migrationStatement = fn
}

// Migrate applies every migration not yet applied, each in its own
// transaction, and returns the versions it applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	if _, err := s.q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", explainSQLite(s.url, err))
	}
	ms, err := Migrations()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []int
	for _, m := range ms {
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			if s.dialect.name == "postgres" {
				// Two processes starting at once must not both migrate.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7261001)`); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for i, stmt := range splitStatements(s.dialect.ddl.Replace(m.SQL)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w\n%s", m.Name, err, stmt)
				}
				if s.migrationStatement != nil {
					s.migrationStatement(m.Name, i+1)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, now().Format("2006-01-02T15:04:05Z")); err != nil {
				return err
			}
			applied = append(applied, m.Version)
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", explainSQLite(s.url, err))
		}
	}
	return applied, nil
}

// splitStatements splits a migration on semicolons that end a line, dropping
// comment lines. Migrations hold no semicolons inside strings.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
