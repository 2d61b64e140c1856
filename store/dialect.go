package store

import (
	"context"
	"fmt"
	"strings"
)

// dialectDDL is the dialect-specific part of a publication: creating
// staging tables, building their indexes, and the swap.
type dialectDDL interface {
	// createStage drops a leftover staging table and creates an empty one
	// with the serving table's columns and no index.
	createStage(ctx context.Context, b Backend, table string) error
	// indexStage builds the serving table's indexes on the staging table
	// where the dialect can do so before the swap.
	indexStage(ctx context.Context, b Backend, table string) error
	// swap replaces the serving table by the staging one, inside the
	// publication's transaction.
	swap(ctx context.Context, c Conn, table string) error
	// dropViews drops the schema's views and returns the statements that
	// create them again: a swap cannot replace a table that a view reads,
	// so the publication's transaction drops them first and re-creates
	// them over the new tables.
	dropViews(ctx context.Context, c Conn) ([]string, error)
}

func dialectOf(d Dialect) dialectDDL {
	if d == Postgres {
		return pgDDL{}
	}
	return sqliteDDL{}
}

func queryStrings(ctx context.Context, c Conn, q string, args ...any) ([][2]string, error) {
	rows, err := c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var a, b string
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, [2]string{a, b})
	}
	return out, rows.Err()
}

// pgDDL: staging tables are LIKE the serving table; each index is built on
// the staging table under the name <index>__stage, and renamed to the
// serving name in the swap, so index names stay stable.
type pgDDL struct{}

// indexBuildMemory is the maintenance_work_mem of a staged table's index
// builds.
const indexBuildMemory = "512MB"

func (pgDDL) createStage(ctx context.Context, b Backend, table string) error {
	st := table + stageSuffix
	_, err := b.Exec(ctx, fmt.Sprintf(`DROP TABLE IF EXISTS %s; CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING GENERATED)`, st, st, table))
	return err
}

func (pgDDL) indexes(ctx context.Context, c Conn, table string) ([][2]string, error) {
	return queryStrings(ctx, c, `SELECT indexname::text, indexdef FROM pg_indexes
WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname`, table)
}

func (d pgDDL) indexStage(ctx context.Context, b Backend, table string) error {
	idx, err := d.indexes(ctx, b, table)
	if err != nil {
		return err
	}
	for _, ix := range idx {
		name, def := ix[0], ix[1]
		// CREATE [UNIQUE] INDEX name ON schema.table USING btree (cols)
		head, _, ok1 := strings.Cut(def, " INDEX ")
		_, tail, ok2 := strings.Cut(def, " USING ")
		if !ok1 || !ok2 {
			return fmt.Errorf("index %s: cannot read its definition %q", name, def)
		}
		// The sort of a large table's index fits in memory with this
		// much (the default, 64 MB, spills 10M keys to disk); set on the
		// connection that builds it, in the same call.
		q := fmt.Sprintf("SET maintenance_work_mem = '%s'; %s INDEX %s ON %s USING %s", indexBuildMemory, head, name+stageSuffix, table+stageSuffix, tail)
		if _, err := b.Exec(ctx, q); err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	if _, err := b.Exec(ctx, "ANALYZE "+table+stageSuffix); err != nil {
		return err
	}
	return nil
}

func (d pgDDL) swap(ctx context.Context, c Conn, table string) error {
	idx, err := d.indexes(ctx, c, table)
	if err != nil {
		return err
	}
	stmts := []string{"DROP TABLE " + table, "ALTER TABLE " + table + stageSuffix + " RENAME TO " + table}
	for _, ix := range idx {
		stmts = append(stmts, "ALTER INDEX "+ix[0]+stageSuffix+" RENAME TO "+ix[0])
	}
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (pgDDL) dropViews(ctx context.Context, c Conn) ([]string, error) {
	views, err := queryStrings(ctx, c, `SELECT viewname::text, definition FROM pg_views
WHERE schemaname = current_schema() ORDER BY viewname`)
	if err != nil {
		return nil, fmt.Errorf("views: %w", err)
	}
	var create []string
	for _, v := range views {
		if _, err := c.Exec(ctx, `DROP VIEW "`+v[0]+`"`); err != nil {
			return nil, fmt.Errorf("drop view %s: %w", v[0], err)
		}
		create = append(create, `CREATE VIEW "`+v[0]+`" AS `+v[1])
	}
	return create, nil
}

// sqliteDDL: the staging table is created from the serving table's own
// CREATE statement; SQLite cannot rename an index, so the serving
// indexes are created, under their names, inside the swap transaction
// (readers keep their WAL snapshot meanwhile).
type sqliteDDL struct{}

func (sqliteDDL) createStage(ctx context.Context, b Backend, table string) error {
	defs, err := queryStrings(ctx, b, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = $1`, table)
	if err != nil {
		return err
	}
	if len(defs) != 1 {
		return fmt.Errorf("serving table %s does not exist: %w", table, ErrMigration)
	}
	// CREATE TABLE name (...): the name may be quoted after a rename.
	def := defs[0][1]
	paren := strings.IndexByte(def, '(')
	if !strings.HasPrefix(def, "CREATE TABLE ") || paren < 0 {
		return fmt.Errorf("table %s: unexpected definition %q", table, def)
	}
	st := table + stageSuffix
	_, err = b.Exec(ctx, "DROP TABLE IF EXISTS "+st+"; CREATE TABLE "+st+" "+def[paren:])
	return err
}

func (sqliteDDL) indexStage(context.Context, Backend, string) error { return nil }

func (sqliteDDL) swap(ctx context.Context, c Conn, table string) error {
	idx, err := queryStrings(ctx, c, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name`, table)
	if err != nil {
		return err
	}
	stmts := []string{"DROP TABLE " + table, "ALTER TABLE " + table + stageSuffix + " RENAME TO " + table}
	for _, ix := range idx {
		stmts = append(stmts, ix[1])
	}
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (sqliteDDL) dropViews(ctx context.Context, c Conn) ([]string, error) {
	views, err := queryStrings(ctx, c, `SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("views: %w", err)
	}
	var create []string
	for _, v := range views {
		if _, err := c.Exec(ctx, `DROP VIEW "`+strings.ReplaceAll(v[0], `"`, `""`)+`"`); err != nil {
			return nil, fmt.Errorf("drop view %s: %w", v[0], err)
		}
		create = append(create, v[1])
	}
	return create, nil
}
