package store

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/autoid-oss/autoid/internal/pgtest"
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
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	db, err := Open(ctx, dsn, "", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
