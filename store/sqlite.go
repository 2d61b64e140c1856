package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"

	_ "modernc.org/sqlite" // the embedded store's driver (pure Go)
)

// sqliteBackend is the embedded store: one SQLite file in WAL mode, so
// readers keep reading the previous snapshot while a load writes.
type sqliteBackend struct {
	db   *sql.DB
	path string
	// stmts are prepared queries by text: SQLite parses a statement on
	// every prepare, which costs as much as running a small query.
	// Statements are re-prepared by SQLite after a schema change.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxCachedStmts bounds the prepared queries kept (the views build some
// queries from their filters); past it, queries are prepared each time.
const maxCachedStmts = 256

// OpenSQLite opens (creating) an SQLite database file in WAL mode.
func OpenSQLite(ctx context.Context, path string) (Backend, error) {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(30000)", "synchronous(NORMAL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	// Writers take the write lock at BEGIN: no deadlock on lock upgrade.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open embedded store %s: %w", path, err)
	}
	// Keep connections open between requests: database/sql keeps only two
	// idle by default, and a server under concurrent load would open (and
	// set up) a new SQLite connection for most queries.
	db.SetMaxIdleConns(64)
	return &sqliteBackend{db: db, path: path, stmts: map[string]*sql.Stmt{}}, nil
}

func (s *sqliteBackend) Dialect() Dialect { return SQLite }
func (s *sqliteBackend) Close() error {
	s.mu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	s.mu.Unlock()
	return s.db.Close()
}

func (s *sqliteBackend) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlExec(ctx, s.db, q, args)
}

func (s *sqliteBackend) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	s.mu.Lock()
	st, ok := s.stmts[q]
	s.mu.Unlock()
	if !ok {
		var err error
		if st, err = s.db.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if old, raced := s.stmts[q]; raced {
			st.Close()
			st = old
		} else if len(s.stmts) < maxCachedStmts {
			s.stmts[q] = st
		} else {
			s.mu.Unlock()
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				st.Close()
				return nil, err
			}
			return closeWith{rows, st}, nil
		}
		s.mu.Unlock()
	}
	return st.QueryContext(ctx, args...)
}

// closeWith closes a statement used once with its rows.
type closeWith struct {
	*sql.Rows
	st *sql.Stmt
}

func (c closeWith) Close() error {
	err := c.Rows.Close()
	c.st.Close()
	return err
}

func (s *sqliteBackend) Tx(ctx context.Context, fn func(Conn) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(sqlTx{tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

type sqlExecer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
}

func sqlExec(ctx context.Context, e sqlExecer, q string, args []any) (int64, error) {
	res, err := e.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// sqlTx is a Conn inside a database/sql transaction; it can prepare
// statements (for the batched inserts of a load).
type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return sqlExec(ctx, t.tx, q, args)
}

func (t sqlTx) Query(ctx context.Context, q string, args ...any) (Rows, error) {
	return t.tx.QueryContext(ctx, q, args...)
}

func (t sqlTx) prepare(ctx context.Context, q string) (stmt, error) {
	st, err := t.tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return sqlStmt{st}, nil
}

type sqlStmt struct{ st *sql.Stmt }

func (s sqlStmt) exec(ctx context.Context, args []any) error {
	_, err := s.st.ExecContext(ctx, args...)
	return err
}
func (s sqlStmt) close() { s.st.Close() }

// stmt and preparer are the internal optional ability of a Conn to
// prepare a statement once and run it many times.
type stmt interface {
	exec(ctx context.Context, args []any) error
	close()
}

type preparer interface {
	prepare(ctx context.Context, q string) (stmt, error)
}
