package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgBackend is PostgreSQL through a pgx pool.
type pgBackend struct {
	pool *pgxpool.Pool
}

// OpenPostgres connects to PostgreSQL. Runtime parameters in the URL (for
// example search_path=myschema) apply to every connection.
func OpenPostgres(ctx context.Context, dsn string) (Backend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadDSN, err)
	}
	// A load holds three connections at once (publish lock, copy, index
	// build) and a server answers requests beside it.
	if cfg.MaxConns < 8 && !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = 8
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", redact(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(dsn), err)
	}
	return &pgBackend{pool: pool}, nil
}

func (p *pgBackend) Dialect() Dialect { return Postgres }
func (p *pgBackend) Close() error     { p.pool.Close(); return nil }

type pgQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func pgExec(ctx context.Context, q pgQuerier, sql string, args []any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func pgQuery(ctx context.Context, q pgQuerier, sql string, args []any) (Rows, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (p *pgBackend) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return pgExec(ctx, p.pool, sql, args)
}

func (p *pgBackend) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return pgQuery(ctx, p.pool, sql, args)
}

func (p *pgBackend) Tx(ctx context.Context, fn func(Conn) error) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(pgTx{tx}); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// CopyFrom is the binary COPY of the Copier ability. The serving tables'
// column types (text, bigint, double precision, boolean) are encoded here
// from the row values; a table with other types goes through pgx.
func (p *pgBackend) CopyFrom(ctx context.Context, table string, columns []string, rows RowSource) (int64, error) {
	n, done, err := p.copyBinary(ctx, table, columns, rows)
	if done || err != nil {
		return n, err
	}
	return p.pool.CopyFrom(ctx, pgx.Identifier{table}, columns, rows)
}

// LockPublish takes a session advisory lock keyed by the current schema,
// held on a dedicated connection; the server releases it if the process dies.
func (p *pgBackend) LockPublish(ctx context.Context) (func(), error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock publish: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext('autoid-publish:' || current_schema()))`); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock publish: %w", err)
	}
	return func() {
		_, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock(hashtext('autoid-publish:' || current_schema()))`)
		if err != nil {
			// Do not hand a connection that may still hold the lock back.
			conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, nil
}

type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (int64, error) {
	return pgExec(ctx, t.tx, sql, args)
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (Rows, error) {
	return pgQuery(ctx, t.tx, sql, args)
}

type pgRows struct{ r pgx.Rows }

func (r pgRows) Next() bool             { return r.r.Next() }
func (r pgRows) Scan(dest ...any) error { return r.r.Scan(dest...) }
func (r pgRows) Err() error             { return r.r.Err() }
func (r pgRows) Close() error           { r.r.Close(); return nil }

// RawValues returns the current row's values as sent, valid until Next.
func (r pgRows) RawValues() [][]byte { return r.r.RawValues() }
