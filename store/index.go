package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// IndexResult says what BuildAssignmentIndex did.
type IndexResult struct {
	RunID      string // the served run the index was built from
	Generation string
	Entries    int64
	Seconds    float64
}

// BuildAssignmentIndex fills the assignment index (SPEC section 11) from
// the published tables: one entry per published assignment with user,
// entitlement, application, score, band, justification and the identity's
// attributes (the filterable identity attributes, as JSON), in key order.
// Readers see the old index until the new one is complete: on PostgreSQL
// a staging copy is filled, indexed and swapped in; on SQLite the fill
// runs in one transaction. It copies; it computes nothing.
func (db *DB) BuildAssignmentIndex(ctx context.Context) (IndexResult, error) {
	t0 := time.Now()
	unlock, err := db.lockPublish(ctx)
	if err != nil {
		return IndexResult{}, err
	}
	defer unlock()
	cur, err := db.Published(ctx)
	if err != nil {
		return IndexResult{}, fmt.Errorf("assignment index: %w", err)
	}
	const fill = `SELECT a.usr_id, a.ent_id, a.app_id, a.score, a.band, a.justification, COALESCE(i.attributes, '{}')
FROM assignments a LEFT JOIN identities i ON i.usr_id = a.usr_id
ORDER BY a.usr_id, a.ent_id`
	if db.Dialect() == Postgres {
		// As a load does: fill a staging copy without indexes, index it,
		// then swap it in with one short transaction.
		d := dialectOf(Postgres)
		if err := d.createStage(ctx, db.b, "assignment_index"); err != nil {
			return IndexResult{}, fmt.Errorf("assignment index: stage: %w", err)
		}
		n, err := db.b.Exec(ctx, `INSERT INTO assignment_index`+stageSuffix+` (usr_id, ent_id, app_id, score, band, justification, attributes) `+fill)
		if err != nil {
			return IndexResult{}, fmt.Errorf("assignment index: fill: %w", err)
		}
		if err := d.indexStage(ctx, db.b, "assignment_index"); err != nil {
			return IndexResult{}, fmt.Errorf("assignment index: index: %w", err)
		}
		if err := db.b.Tx(ctx, func(c Conn) error { return d.swap(ctx, c, "assignment_index") }); err != nil {
			return IndexResult{}, fmt.Errorf("assignment index: swap: %w", err)
		}
		return IndexResult{RunID: cur.RunID, Generation: cur.Generation, Entries: n, Seconds: time.Since(t0).Seconds()}, nil
	}
	var n int64
	err = db.b.Tx(ctx, func(c Conn) error {
		// On SQLite, readers keep their WAL snapshot until the commit, so
		// the indexes can be dropped and rebuilt from their stored
		// definitions after the fill: one sort per index instead of
		// maintaining three B-trees row by row.
		defs, err := sqliteIndexDefs(ctx, c, "assignment_index")
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM assignment_index`); err != nil {
			return fmt.Errorf("clear: %w", err)
		}
		n, err = c.Exec(ctx, `INSERT INTO assignment_index (usr_id, ent_id, app_id, score, band, justification, attributes) `+fill)
		if err != nil {
			return fmt.Errorf("fill: %w", err)
		}
		for _, d := range defs {
			if _, err := c.Exec(ctx, d); err != nil {
				return fmt.Errorf("rebuild index: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return IndexResult{}, fmt.Errorf("assignment index: %w", err)
	}
	return IndexResult{RunID: cur.RunID, Generation: cur.Generation, Entries: n, Seconds: time.Since(t0).Seconds()}, nil
}

// sqliteIndexDefs drops the indexes of an SQLite table and returns the
// statements that create them again.
func sqliteIndexDefs(ctx context.Context, c Conn, table string) ([]string, error) {
	rows, err := c.Query(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name`, table)
	if err != nil {
		return nil, fmt.Errorf("indexes of %s: %w", table, err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, fmt.Errorf("indexes of %s: %w", table, err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("indexes of %s: %w", table, err)
	}
	for _, name := range names {
		if _, err := c.Exec(ctx, `DROP INDEX "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return defs, nil
}

// IndexReconciliation compares the assignment index with the published
// assignments (SPEC section 11).
type IndexReconciliation struct {
	RunID      string
	Generation string
	// Entries in the index and published assignments.
	Entries, Published int64
	// ByBand: index entries per band (lower case); Unscored: entries
	// without a score.
	ByBand   map[string]int64
	Unscored int64
	// MissingInIndex: published assignments without an entry;
	// MissingInAssignments: entries without a published assignment;
	// Mismatched: entries whose score, band or application differ from the
	// published assignment. All must be zero.
	MissingInIndex, MissingInAssignments, Mismatched int64
}

// ReconcileAssignmentIndex counts the index against the published
// assignments.
func (db *DB) ReconcileAssignmentIndex(ctx context.Context) (IndexReconciliation, error) {
	cur, err := db.Published(ctx)
	if err != nil {
		return IndexReconciliation{}, fmt.Errorf("assignment index report: %w", err)
	}
	r := IndexReconciliation{RunID: cur.RunID, Generation: cur.Generation, ByBand: map[string]int64{}}
	// Three passes: the index by band, the published assignments joined
	// to the index (missing and mismatched entries), the index against the
	// assignments.
	err = db.b.Tx(ctx, func(c Conn) error {
		rows, err := c.Query(ctx, `SELECT band, COUNT(*), COALESCE(SUM(CASE WHEN score IS NULL THEN 1 ELSE 0 END), 0)
FROM assignment_index GROUP BY band ORDER BY band`)
		if err != nil {
			return fmt.Errorf("bands: %w", err)
		}
		for rows.Next() {
			var band string
			var n, unscored int64
			if err := rows.Scan(&band, &n, &unscored); err != nil {
				rows.Close()
				return fmt.Errorf("bands: %w", err)
			}
			r.ByBand[strings.ToLower(band)] += n
			r.Entries += n
			r.Unscored += unscored
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return fmt.Errorf("bands: %w", err)
		}
		rows.Close()
		for _, x := range []struct {
			dst []any
			sql string
		}{
			{[]any{&r.Published, &r.MissingInIndex, &r.Mismatched}, `SELECT COUNT(*),
 COALESCE(SUM(CASE WHEN x.usr_id IS NULL THEN 1 ELSE 0 END), 0),
 COALESCE(SUM(CASE WHEN x.usr_id IS NOT NULL AND (x.band <> a.band OR (x.score IS NULL) <> (a.score IS NULL) OR x.score <> a.score
   OR (x.app_id IS NULL) <> (a.app_id IS NULL) OR x.app_id <> a.app_id OR x.justification <> a.justification) THEN 1 ELSE 0 END), 0)
FROM assignments a LEFT JOIN assignment_index x ON x.usr_id = a.usr_id AND x.ent_id = a.ent_id`},
			{[]any{&r.MissingInAssignments}, `SELECT COUNT(*) FROM assignment_index x WHERE NOT EXISTS
 (SELECT 1 FROM assignments a WHERE a.usr_id = x.usr_id AND a.ent_id = x.ent_id)`},
		} {
			rows, err := c.Query(ctx, x.sql)
			if err != nil {
				return err
			}
			if rows.Next() {
				if err := rows.Scan(x.dst...); err != nil {
					rows.Close()
					return err
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return IndexReconciliation{}, fmt.Errorf("assignment index report: %w", err)
	}
	return r, nil
}
