package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// IndexResult says what VerifyAssignmentIndex found.
type IndexResult struct {
	RunID      string // the served run the index holds
	Generation string
	Entries    int64
	Seconds    float64
}

// assignmentKeyIndex is the unique (usr_id, ent_id) index of the published
// assignments: the order the assignment endpoints page in.
const assignmentKeyIndex = "assignments_pk"

// VerifyAssignmentIndex checks the assignment index (SPEC section 11) of
// the served run and counts its entries. The index is the view
// assignment_index: the published assignments in the key order of their
// unique (usr_id, ent_id) index, with each identity's attributes. A load
// builds that index on its staging table and swaps it in with the
// assignments, so readers never see assignments without it; this checks
// that the view and the key index are there and usable (on PostgreSQL:
// valid and ready) and that the index covers the published assignments.
func (db *DB) VerifyAssignmentIndex(ctx context.Context) (IndexResult, error) {
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
	var checks []string
	if db.Dialect() == Postgres {
		checks = []string{
			`SELECT COUNT(*) FROM pg_views WHERE schemaname = current_schema() AND viewname = 'assignment_index'`,
			`SELECT COUNT(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = '` + assignmentKeyIndex + `' AND x.indisunique AND x.indisvalid AND x.indisready`,
		}
	} else {
		checks = []string{
			`SELECT COUNT(*) FROM sqlite_master WHERE type = 'view' AND name = 'assignment_index'`,
			`SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = '` + assignmentKeyIndex + `' AND tbl_name = 'assignments'`,
		}
	}
	for i, q := range checks {
		var n int64
		if err := queryEach(ctx, db.b, "assignment index", q, nil, func(r Rows) error { return r.Scan(&n) }); err != nil {
			return IndexResult{}, err
		}
		if n != 1 {
			what := "the view assignment_index is missing"
			if i == 1 {
				what = "the key index " + assignmentKeyIndex + " of the published assignments is missing or not usable"
			}
			return IndexResult{}, fmt.Errorf("assignment index: %s: %w (migrate the store and load again)", what, ErrMigration)
		}
	}
	res := IndexResult{RunID: cur.RunID, Generation: cur.Generation}
	if err := queryEach(ctx, db.b, "assignment index", `SELECT COUNT(*) FROM assignment_index`, nil, func(r Rows) error { return r.Scan(&res.Entries) }); err != nil {
		return IndexResult{}, err
	}
	if published := cur.Rows["assignments"]; res.Entries != published {
		return IndexResult{}, fmt.Errorf("assignment index: %d entries for the %d assignments the load of %s published", res.Entries, published, cur.RunID)
	}
	res.Seconds = time.Since(t0).Seconds()
	return res, nil
}

// IndexEntry is one entry of the assignment index as the report reads it.
// The byte slices are only valid during the call that receives them.
type IndexEntry struct {
	UsrID, EntID, Band []byte
	Scored             bool
}

// rawValuer is a backend's row that hands out its values without copying.
type rawValuer interface{ RawValues() [][]byte }

// EachIndexEntry calls fn with every entry of the assignment index of the
// served run (in no particular order), holding off loads meanwhile, and
// returns the served run. Entries are read without a copy per value: 10M
// of them take seconds, not a string allocation each.
func (db *DB) EachIndexEntry(ctx context.Context, fn func(IndexEntry) error) (PublishedRun, error) {
	unlock, err := db.lockPublish(ctx)
	if err != nil {
		return PublishedRun{}, err
	}
	defer unlock()
	cur, err := db.Published(ctx)
	if err != nil {
		return PublishedRun{}, fmt.Errorf("assignment index: %w", err)
	}
	var n int64
	var usr, ent, band, score sql.RawBytes
	err = queryEach(ctx, db.b, "assignment index", `SELECT usr_id, ent_id, band, score FROM assignment_index`, nil, func(r Rows) error {
		var e IndexEntry
		if rv, ok := r.(rawValuer); ok {
			v := rv.RawValues()
			e = IndexEntry{UsrID: v[0], EntID: v[1], Band: v[2], Scored: v[3] != nil}
		} else {
			if err := r.Scan(&usr, &ent, &band, &score); err != nil {
				return err
			}
			e = IndexEntry{UsrID: usr, EntID: ent, Band: band, Scored: score != nil}
		}
		if n++; n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(e)
	})
	if err != nil {
		return PublishedRun{}, err
	}
	return cur, nil
}
