package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// ServingTables are the tables a publication replaces, in load order.
// Workflow tables and serving_runs are never touched by a load; views
// (assignment_index) are re-created over the new tables by the swap.
var servingTables = [...]string{
	"identities", "applications", "entitlements", "assignments", "rules",
	"recommendations", "driving_factors", "roles", "role_members",
	"role_entitlements", "anomalies", "entitlement_stats", "company_view",
	"filter_options", "user_search", "identity_attributes",
}

// ServingTables returns the names of the tables a load replaces.
func ServingTables() []string { return servingTables[:] }

// stageSuffix names a table (and its indexes) being loaded.
const stageSuffix = "__stage"

// TableData is one table of a publication: rows for some of the serving
// table's columns (the others take their defaults).
type TableData struct {
	Name    string
	Columns []string
	Rows    RowSource
}

// BandCounts counts assignments by band.
type BandCounts struct {
	High, Medium, Low, Unscored int64
}

// Publication is what a load publishes. Serving tables not in Tables are
// published empty: readers never see a mix of two runs.
type Publication struct {
	RunID       string
	Generation  string
	RunFinished time.Time
	// Bands returns the assignments per band of the run (for the history
	// of the company view); called after every table was read. May be nil.
	Bands  func() BandCounts
	Tables []TableData
}

// PublishedRun describes the run being served.
type PublishedRun struct {
	Seq         int64
	RunID       string
	Generation  string
	RunFinished time.Time
	LoadedAt    time.Time
	Bands       BandCounts
	Rows        map[string]int64
}

// PublishResult says what a publication did.
type PublishResult struct {
	Skipped bool             // the run and generation were already served
	Rows    map[string]int64 // rows per table
	Seconds float64
}

func (db *DB) lockPublish(ctx context.Context) (func(), error) {
	db.publish.Lock()
	if l, ok := db.b.(PublishLocker); ok {
		unlock, err := l.LockPublish(ctx)
		if err != nil {
			db.publish.Unlock()
			return nil, err
		}
		return func() { unlock(); db.publish.Unlock() }, nil
	}
	return db.publish.Unlock, nil
}

// Published returns the run being served, or ErrNotPublished.
func (db *DB) Published(ctx context.Context) (PublishedRun, error) {
	return publishedOn(ctx, db.b)
}

func publishedOn(ctx context.Context, c Conn) (PublishedRun, error) {
	rows, err := c.Query(ctx, `SELECT seq, run_id, generation, run_finished, loaded_at, high, medium, low, unscored, tables
FROM serving_runs ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return PublishedRun{}, fmt.Errorf("read served run: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return PublishedRun{}, fmt.Errorf("read served run: %w", err)
		}
		return PublishedRun{}, ErrNotPublished
	}
	var p PublishedRun
	var fin *int64
	var loaded int64
	var tables string
	if err := rows.Scan(&p.Seq, &p.RunID, &p.Generation, &fin, &loaded, &p.Bands.High, &p.Bands.Medium, &p.Bands.Low, &p.Bands.Unscored, &tables); err != nil {
		return PublishedRun{}, fmt.Errorf("read served run: %w", err)
	}
	if fin != nil {
		p.RunFinished = time.UnixMicro(*fin).UTC()
	}
	p.LoadedAt = time.UnixMicro(loaded).UTC()
	if err := json.Unmarshal([]byte(tables), &p.Rows); err != nil {
		return PublishedRun{}, fmt.Errorf("read served run: tables: %w", err)
	}
	return p, rows.Err()
}

// Publish replaces the serving tables with the publication's, atomically:
// rows go to staging tables first (binary COPY where the backend is a
// Copier, else batched inserts in one transaction), their indexes are
// built, and one transaction swaps them in and records the run. Readers
// see the previous run until that commit; a load that dies before it
// leaves the previous run served (leftover staging tables are dropped by
// the next load). Publishing the run and generation already served is a
// no-op.
func (db *DB) Publish(ctx context.Context, p Publication) (PublishResult, error) {
	t0 := time.Now()
	unlock, err := db.lockPublish(ctx)
	if err != nil {
		return PublishResult{}, err
	}
	defer unlock()
	cur, err := db.Published(ctx)
	switch {
	case err == nil && cur.RunID == p.RunID && cur.Generation == p.Generation:
		db.log.Info("load skipped: run already served", "run", p.RunID, "generation", p.Generation)
		return PublishResult{Skipped: true, Rows: cur.Rows}, nil
	case err != nil && err != ErrNotPublished:
		return PublishResult{}, err
	}
	given := map[string]TableData{}
	for _, t := range p.Tables {
		if !isServing(t.Name) {
			return PublishResult{}, fmt.Errorf("publish: %q is not a serving table", t.Name)
		}
		given[t.Name] = t
	}
	d := dialectOf(db.b.Dialect())
	// Stage: create empty copies and fill them.
	for _, name := range servingTables {
		if err := d.createStage(ctx, db.b, name); err != nil {
			return PublishResult{}, fmt.Errorf("publish %s: stage: %w", name, err)
		}
	}
	rowsOut := map[string]int64{}
	copier, _ := db.b.(Copier)
	if copier != nil {
		// Staged tables are indexed on other connections while the next
		// ones are copied: the database sorts while this process produces
		// rows.
		g, gctx := errgroup.WithContext(ctx)
		staged := make(chan string, len(servingTables))
		// One table at a time: the sorts are CPU-bound, and a second
		// index worker measured no faster on 2 cores (large preset: load
		// 103 s against 101 s).
		g.Go(func() error {
			for name := range staged {
				t0 := time.Now()
				if err := d.indexStage(gctx, db.b, name); err != nil {
					return fmt.Errorf("publish %s: index: %w", name, err)
				}
				db.log.Info("indexed", "table", name, "seconds", time.Since(t0).Seconds())
			}
			return nil
		})
		g.Go(func() error {
			defer close(staged)
			for _, name := range servingTables {
				t, ok := given[name]
				if ok {
					t0 := time.Now()
					n, err := copier.CopyFrom(gctx, name+stageSuffix, t.Columns, t.Rows)
					if err != nil {
						return fmt.Errorf("publish %s: copy: %w", name, err)
					}
					rowsOut[name] = n
					db.log.Info("staged", "table", name, "rows", n, "seconds", time.Since(t0).Seconds())
				} else {
					rowsOut[name] = 0
				}
				staged <- name
			}
			return nil
		})
		if err := g.Wait(); err != nil {
			return PublishResult{}, err
		}
	} else {
		err := db.b.Tx(ctx, func(c Conn) error {
			for _, name := range servingTables {
				t, ok := given[name]
				if !ok {
					rowsOut[name] = 0
					continue
				}
				t0 := time.Now()
				n, err := insertBatches(ctx, c, db.Dialect(), name+stageSuffix, t.Columns, t.Rows)
				if err != nil {
					return fmt.Errorf("publish %s: insert: %w", name, err)
				}
				rowsOut[name] = n
				db.log.Info("staged", "table", name, "rows", n, "seconds", time.Since(t0).Seconds())
			}
			return nil
		})
		if err != nil {
			return PublishResult{}, err
		}
		for _, name := range servingTables {
			if err := d.indexStage(ctx, db.b, name); err != nil {
				return PublishResult{}, fmt.Errorf("publish %s: index: %w", name, err)
			}
		}
	}
	tables, _ := json.Marshal(rowsOut)
	var bands BandCounts
	if p.Bands != nil {
		bands = p.Bands()
	}
	var fin any
	if !p.RunFinished.IsZero() {
		fin = p.RunFinished.UnixMicro()
	}
	err = db.b.Tx(ctx, func(c Conn) error {
		views, err := d.dropViews(ctx, c)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		for _, name := range servingTables {
			if err := d.swap(ctx, c, name); err != nil {
				return fmt.Errorf("publish %s: swap: %w", name, err)
			}
		}
		for _, v := range views {
			if _, err := c.Exec(ctx, v); err != nil {
				return fmt.Errorf("publish: re-create view: %w", err)
			}
		}
		_, err = c.Exec(ctx, `INSERT INTO serving_runs (run_id, generation, run_finished, loaded_at, high, medium, low, unscored, tables)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, p.RunID, p.Generation, fin, time.Now().UnixMicro(),
			bands.High, bands.Medium, bands.Low, bands.Unscored, string(tables))
		if err != nil {
			return fmt.Errorf("publish: record run: %w", err)
		}
		return nil
	})
	if err != nil {
		return PublishResult{}, err
	}
	res := PublishResult{Rows: rowsOut, Seconds: time.Since(t0).Seconds()}
	db.log.Info("published", "run", p.RunID, "generation", p.Generation, "seconds", res.Seconds)
	return res, nil
}

func isServing(name string) bool {
	for _, t := range servingTables {
		if t == name {
			return true
		}
	}
	return false
}

// insertBatches inserts rows with prepared multi-row INSERT statements.
// SQLite gets anonymous ? placeholders: looking up $N names costs
// time linear in the number of parameters, per parameter.
func insertBatches(ctx context.Context, c Conn, d Dialect, table string, cols []string, src RowSource) (int64, error) {
	per := max(1, min(256, 30000/max(1, len(cols))))
	mk := func(n int) string {
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
		k := 1
		for r := 0; r < n; r++ {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for j := range cols {
				if j > 0 {
					b.WriteString(", ")
				}
				if d == SQLite {
					b.WriteByte('?')
				} else {
					fmt.Fprintf(&b, "$%d", k)
				}
				k++
			}
			b.WriteByte(')')
		}
		return b.String()
	}
	run := func(q string, args []any) error {
		_, err := c.Exec(ctx, q, args...)
		return err
	}
	full := mk(per)
	if p, ok := c.(preparer); ok {
		st, err := p.prepare(ctx, full)
		if err != nil {
			return 0, err
		}
		defer st.close()
		run = func(q string, args []any) error {
			if q == full {
				return st.exec(ctx, args)
			}
			_, err := c.Exec(ctx, q, args...)
			return err
		}
	}
	args := make([]any, 0, per*len(cols))
	var n int64
	inBatch := 0
	for src.Next() {
		vals, err := src.Values()
		if err != nil {
			return n, err
		}
		if len(vals) != len(cols) {
			return n, fmt.Errorf("row has %d values for %d columns", len(vals), len(cols))
		}
		args = append(args, vals...)
		inBatch++
		if inBatch == per {
			if err := run(full, args); err != nil {
				return n, err
			}
			n += int64(inBatch)
			inBatch = 0
			args = args[:0]
			if err := ctx.Err(); err != nil {
				return n, err
			}
		}
	}
	if err := src.Err(); err != nil {
		return n, err
	}
	if inBatch > 0 {
		if err := run(mk(inBatch), args); err != nil {
			return n, err
		}
		n += int64(inBatch)
	}
	return n, nil
}
