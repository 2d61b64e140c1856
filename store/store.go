// Package store is the serving database that the REST API reads: the
// published results of one run (identities, assignments with scores, rules,
// recommendations, roles, anomalies, company-view figures...) and the
// workflow state written through the API (decisions, role edits, data
// sinks, users, API keys, job definitions and runs).
//
// Callers use *DB. A backend implements the small Backend interface (in the
// spirit of database/sql/driver); extra abilities are optional interfaces
// found by type assertion:
//
//   - Copier: bulk load into a table (PostgreSQL: binary COPY). Absent, a
//     load inserts with batched prepared multi-row INSERTs in one
//     transaction (what SQLite uses).
//   - PublishLocker: a lock that serialises loads across processes
//     (PostgreSQL: an advisory lock). Absent, loads are serialised within
//     the process only; SQLite's single writer does the rest.
//
// Two backends exist: the embedded one (SQLite through modernc.org/sqlite,
// one WAL-mode file in the workspace; the default) and PostgreSQL through
// pgx (selected by a postgres:// DSN). Both run the same SQL for reads and
// workflow writes: placeholders are $1, $2...; dialect-specific code is
// limited to DDL (migrations, staging tables, index copies), bulk load and
// the publish swap.
//
// Every number is computed once, in Go, by the jobs (and by load for the
// derived tables); SQL only filters, pages and counts.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
)

// Sentinel errors.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrNotPublished: no run has been loaded yet.
	ErrNotPublished = errors.New("store: no run has been loaded yet: run 'autoid run load'")
	// ErrBadDSN: the database URL is not one the store understands.
	ErrBadDSN = errors.New("store: bad database URL")
	// ErrMigration: the schema cannot be migrated as asked.
	ErrMigration = errors.New("store: migration")
)

// Dialect names a backend's SQL dialect.
type Dialect string

// The dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Conn runs statements. Placeholders are $1, $2... in both dialects.
type Conn interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, sql string, args ...any) (int64, error)
	// Query runs a query; the caller must Close the rows.
	Query(ctx context.Context, sql string, args ...any) (Rows, error)
}

// Rows iterates over a query's result, like database/sql's Rows. Scan
// destinations: *string, *int64, *float64, *bool, *sql.NullString,
// *sql.NullFloat64, *sql.NullInt64 (and pointers to pointers for nulls).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Backend is what a dialect implements.
type Backend interface {
	Conn
	// Dialect names the SQL dialect.
	Dialect() Dialect
	// Tx runs fn in a transaction: committed when fn returns nil, rolled
	// back otherwise (and when ctx ends).
	Tx(ctx context.Context, fn func(Conn) error) error
	// Close releases the backend.
	Close() error
}

// RowSource streams rows for a bulk load; it has the shape of
// pgx.CopyFromSource. Values are string, int64, float64, bool or nil.
type RowSource interface {
	Next() bool
	Values() ([]any, error)
	Err() error
}

// Copier is the optional bulk-load ability: copy rows into a table (which
// is not visible to readers yet). Absent, DB inserts through Tx with
// batched multi-row INSERTs.
type Copier interface {
	CopyFrom(ctx context.Context, table string, columns []string, rows RowSource) (int64, error)
}

// PublishLocker is the optional ability to serialise loads across
// processes. Absent, loads are serialised within the process.
type PublishLocker interface {
	LockPublish(ctx context.Context) (unlock func(), err error)
}

// DB is an opened serving store.
type DB struct {
	b       Backend
	log     *slog.Logger
	publish sync.Mutex // serialises loads in this process
	views   viewCache  // query views' values per publication (views_cache.go)
}

// New wraps a backend; it does not migrate.
func New(b Backend, log *slog.Logger) *DB {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DB{b: b, log: log}
}

// Backend returns the backend (to test for optional abilities).
func (db *DB) Backend() Backend { return db.b }

// Dialect names the backend's dialect.
func (db *DB) Dialect() Dialect { return db.b.Dialect() }

// Close closes the store.
func (db *DB) Close() error { return db.b.Close() }

// Exec runs a statement ($1 placeholders).
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return db.b.Exec(ctx, sql, args...)
}

// Query runs a query ($1 placeholders).
func (db *DB) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return db.b.Query(ctx, sql, args...)
}

// Tx runs fn in a transaction.
func (db *DB) Tx(ctx context.Context, fn func(Conn) error) error { return db.b.Tx(ctx, fn) }

// EmbeddedFile is the embedded store's file name inside the workspace.
const EmbeddedFile = "serving.db"

// DSN returns the database URL to use: the flag's value, else the
// environment's DATABASE_URL, else "" (the embedded store).
func DSN(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv("DATABASE_URL")
}

// Open opens the serving store and migrates it to the latest schema. An
// empty dsn opens the embedded store <workspaceDir>/serving.db; a
// postgres:// or postgresql:// URL opens PostgreSQL; sqlite:PATH or
// file:PATH opens an SQLite file elsewhere.
func Open(ctx context.Context, dsn, workspaceDir string, log *slog.Logger) (*DB, error) {
	db, err := OpenNoMigrate(ctx, dsn, workspaceDir, log)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, -1); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// OpenNoMigrate opens the store like Open without applying migrations (for
// 'autoid migrate --down').
func OpenNoMigrate(ctx context.Context, dsn, workspaceDir string, log *slog.Logger) (*DB, error) {
	var b Backend
	var err error
	switch {
	case dsn == "":
		if workspaceDir == "" {
			return nil, fmt.Errorf("%w: no database URL and no workspace for the embedded store", ErrBadDSN)
		}
		if err := os.MkdirAll(workspaceDir, 0o755); err != nil {
			return nil, fmt.Errorf("open embedded store: %w", err)
		}
		b, err = OpenSQLite(ctx, workspaceDir+string(os.PathSeparator)+EmbeddedFile)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		b, err = OpenPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		b, err = OpenSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "file:"):
		b, err = OpenSQLite(ctx, strings.TrimPrefix(dsn, "file:"))
	default:
		return nil, fmt.Errorf("%w: %q: want postgres://..., sqlite:PATH or nothing for the embedded store", ErrBadDSN, redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	return New(b, log), nil
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	userinfo := dsn[scheme+3 : at]
	if u, _, ok := strings.Cut(userinfo, ":"); ok {
		return dsn[:scheme+3] + u + ":***" + dsn[at:]
	}
	return dsn
}
