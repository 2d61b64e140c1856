package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// harness opens a fresh, empty, migrated store for one test: the same
// conformance cases run against every backend.
type harness struct {
	name string
	// open returns a fresh store, the DSN that reopens it ("" + dir for the
	// embedded store) and the workspace directory.
	open func(t testing.TB) (db *DB, dsn, dir string)
}

func harnesses() []harness {
	return []harness{
		{name: "sqlite", open: openSQLiteHarness},
		{name: "postgres", open: openPostgresHarness},
	}
}

func openSQLiteHarness(t testing.TB) (*DB, string, string) {
	dir := t.TempDir()
	db, err := Open(context.Background(), "", dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, "", dir
}

// openPostgresHarness gives each test its own schema of the server at
// TEST_DATABASE_URL, so tests run in parallel. Without the variable the
// test skips, except under CI=true where it fails.
func openPostgresHarness(t testing.TB) (*DB, string, string) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set: the PostgreSQL conformance tests must run under CI (use bash scripts/test.sh)")
		}
		t.Skip("TEST_DATABASE_URL is not set: skipping the PostgreSQL backend (bash scripts/test.sh starts a server)")
	}
	ctx := context.Background()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "test_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		conn.Close(ctx)
		t.Fatal(err)
	}
	conn.Close(ctx)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	dsn := base + sep + "search_path=" + schema
	db, err := Open(ctx, dsn, "", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Close()
		conn, err := pgx.Connect(context.Background(), base)
		if err == nil {
			conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(context.Background())
		}
	})
	return db, dsn, t.TempDir()
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// forEachBackend runs fn as a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, h harness)) {
	for _, h := range harnesses() {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			fn(t, h)
		})
	}
}

// fixtureDir is where test runs keep their Parquet tables.
func fixtureDir(t testing.TB) string { return filepath.Join(t.TempDir(), "tables") }
