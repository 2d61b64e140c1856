package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change with its up and down SQL.
type Migration struct {
	Version int
	Name    string
	Up      string
	Down    string
}

// Migrations returns the migrations of a dialect in version order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := path.Join("migrations", string(d))
	ents, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("%w: no migrations for dialect %q: %v", ErrMigration, d, err)
	}
	byVer := map[int]*Migration{}
	for _, e := range ents {
		name := e.Name()
		base, dir2, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), ".")
		if !ok || (dir2 != "up" && dir2 != "down") {
			return nil, fmt.Errorf("%w: %s: want NNNN_name.up.sql or .down.sql", ErrMigration, name)
		}
		num, label, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: no version number", ErrMigration, name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMigration, err)
		}
		m := byVer[v]
		if m == nil {
			m = &Migration{Version: v, Name: label}
			byVer[v] = m
		}
		if dir2 == "up" {
			m.Up = string(b)
		} else {
			m.Down = string(b)
		}
	}
	var ms []Migration
	for _, m := range byVer {
		if m.Up == "" || m.Down == "" {
			return nil, fmt.Errorf("%w: migration %04d_%s lacks its up or down file", ErrMigration, m.Version, m.Name)
		}
		ms = append(ms, *m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)`

// Version returns the schema version (0: nothing applied).
func (db *DB) Version(ctx context.Context) (int, error) {
	if _, err := db.b.Exec(ctx, migrationsTable); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrMigration, err)
	}
	var v int64
	rows, err := db.b.Query(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`)
	if err != nil {
		return 0, fmt.Errorf("%w: read version: %v", ErrMigration, err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, fmt.Errorf("%w: read version: %v", ErrMigration, err)
		}
	}
	return int(v), rows.Err()
}

// Migrate brings the schema to version target (-1: the latest), applying
// up migrations or, when target is below the current version, down
// migrations, each in its own transaction. It returns the versions applied
// (negative for a down migration).
func (db *DB) Migrate(ctx context.Context, target int) ([]int, error) {
	ms, err := Migrations(db.Dialect())
	if err != nil {
		return nil, err
	}
	unlock, err := db.lockPublish(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := db.Version(ctx)
	if err != nil {
		return nil, err
	}
	latest := 0
	if len(ms) > 0 {
		latest = ms[len(ms)-1].Version
	}
	if target < 0 {
		target = latest
	}
	if target > latest {
		return nil, fmt.Errorf("%w: version %d does not exist (latest is %d)", ErrMigration, target, latest)
	}
	if cur > latest {
		return nil, fmt.Errorf("%w: the database is at version %d, newer than this binary knows (%d)", ErrMigration, cur, latest)
	}
	var done []int
	if target >= cur {
		for _, m := range ms {
			if m.Version <= cur || m.Version > target {
				continue
			}
			err := db.b.Tx(ctx, func(c Conn) error {
				if _, err := c.Exec(ctx, m.Up); err != nil {
					return err
				}
				_, err := c.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
					int64(m.Version), m.Name, time.Now().UnixMicro())
				return err
			})
			if err != nil {
				return done, fmt.Errorf("%w: up %04d_%s: %v", ErrMigration, m.Version, m.Name, err)
			}
			db.log.Info("migration applied", "version", m.Version, "name", m.Name)
			done = append(done, m.Version)
		}
		return done, nil
	}
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if m.Version > cur || m.Version <= target {
			continue
		}
		err := db.b.Tx(ctx, func(c Conn) error {
			if _, err := c.Exec(ctx, m.Down); err != nil {
				return err
			}
			_, err := c.Exec(ctx, `DELETE FROM schema_migrations WHERE version = $1`, int64(m.Version))
			return err
		})
		if err != nil {
			return done, fmt.Errorf("%w: down %04d_%s: %v", ErrMigration, m.Version, m.Name, err)
		}
		db.log.Info("migration reverted", "version", m.Version, "name", m.Name)
		done = append(done, -m.Version)
	}
	return done, nil
}

// MigrateDown reverts the last n migrations.
func (db *DB) MigrateDown(ctx context.Context, n int) ([]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: --down %d: want a positive count", ErrMigration, n)
	}
	cur, err := db.Version(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := Migrations(db.Dialect())
	if err != nil {
		return nil, err
	}
	// The target is the version n steps below the current one.
	var applied []int
	for _, m := range ms {
		if m.Version <= cur {
			applied = append(applied, m.Version)
		}
	}
	target := 0
	if n < len(applied) {
		target = applied[len(applied)-1-n]
	}
	return db.Migrate(ctx, target)
}
