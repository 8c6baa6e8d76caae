package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver
)

// PostgresAdminURL is the server the tests create their databases on:
// DRAFTER_TEST_POSTGRES_URL, or the local server on 127.0.0.1:5432.
func PostgresAdminURL() string {
	if u := os.Getenv("DRAFTER_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Postgres creates a fresh, empty database for t on the test server and
// returns its URL; the database is dropped when t ends. Without a reachable
// server it skips t (fails under CI).
func Postgres(t testing.TB) string {
	t.Helper()
	admin := PostgresAdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", admin)
	if err != nil {
		SkipOrFail(t, "PostgreSQL: %v", err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		SkipOrFail(t, "PostgreSQL not reachable at %s (make test starts it): %v", redact(admin), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "drafter_test_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(admin), err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
