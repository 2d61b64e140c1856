package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/internal/pairindex"
)

// LoadOptions say what to load: a run's output tables and the current
// entity tables, read from Parquet files.
type LoadOptions struct {
	RunID       string
	Generation  string
	RunFinished time.Time
	// RunTable returns the path of a table a job of the run (or an
	// earlier run) wrote, and whether one exists.
	RunTable func(name string) (string, bool)
	// EntityTable returns the path of a current entity table, and whether
	// it exists.
	EntityTable func(name string) (string, bool)
	// Thresholds (engine configuration): bands where a run table has none,
	// and the recommendations kept.
	High, Medium           float64
	RecommendMinConfidence float64
	// EmployeeTypeAttribute is the identity attribute of the company
	// view's employeeTypes (default USR_EMP_TYPE).
	EmployeeTypeAttribute string
}

// input names a table a mapping reads.
type input struct {
	name   string
	entity bool // an entity table of the current generation, else a run table
}

// path returns the input's table path, and whether there is one.
func (o *LoadOptions) path(in input) (string, bool) {
	if in.entity {
		return o.EntityTable(in.name)
	}
	return o.RunTable(in.name)
}

// col maps one serving column.
type col struct {
	name    string
	kind    kind
	from    []string // source columns, the first present wins; nil: name
	join    string   // read from this join of the mapping instead of the main table
	def     any      // value when the source is absent or null
	compute func(r *rowView, o *LoadOptions) any
	rowNum  bool // the 0-based row number in the source table
	item    bool // the element of the exploded list
}

// join attaches the matching row of another table to each source row.
type join struct {
	name string
	in   input
	key  []string // columns of the main table
	on   []string // columns of the joined table
	// dense: int32 columns that both tables carry and that identify a row
	// as key does (the workspace's dense ids). When present, rows are
	// matched through them (a sorted index, no string map) and the match
	// is confirmed on key; a row they do not match falls back to key.
	dense []string
}

// tableMap says how one serving table is made from Arrow tables.
type tableMap struct {
	table string
	from  []input // the first that exists is read; none: published empty
	cols  []col
	joins []join
	// attrs: other columns of the source, except these, become the JSON
	// object of column "attributes".
	attrs []string
	// explode: a list column; one row per element (the col with item set).
	explode string
	keep    func(r *rowView, o *LoadOptions) bool
}

var entityAttrsExcluded = []string{"usr_idx", "ent_idx", "app_idx", "src_file", "src_line"}

// mappings is the table-driven publication: serving table <- Arrow table.
func mappings() []tableMap {
	text := func(name string, from ...string) col { return col{name: name, kind: kText, from: from} }
	num := func(name string, k kind, from ...string) col { return col{name: name, kind: k, from: from} }
	list := func(name string, from ...string) col { return col{name: name, kind: kJSON, from: from, def: "[]"} }
	return []tableMap{
		{table: "identities", from: []input{{"identities", true}},
			cols:  []col{text("usr_id"), text("usr_name"), text("usr_manager_id")},
			attrs: entityAttrsExcluded},
		{table: "applications", from: []input{{"applications", true}},
			cols:  []col{text("app_id"), text("app_name"), text("app_owner_id"), text("app_criticality"), text("app_risk_level")},
			attrs: entityAttrsExcluded},
		{table: "entitlements", from: []input{{"entitlements", true}},
			cols:  []col{text("ent_id"), text("ent_name"), text("ent_owner_id"), text("app_id"), text("ent_criticality"), text("ent_risk_level")},
			attrs: entityAttrsExcluded},
		{table: "assignments", from: []input{{"assignments", true}},
			joins: []join{
				{name: "s", in: input{"assignment_scores", false}, key: []string{"usr_id", "ent_id"}, on: []string{"usr_id", "ent_id"},
					dense: []string{"usr_idx", "ent_idx"}},
				{name: "e", in: input{"entitlements", true}, key: []string{"ent_id"}, on: []string{"ent_id"}},
			},
			cols: []col{
				text("usr_id"), text("ent_id"),
				{name: "app_id", kind: kText, join: "e"},
				{name: "valid", kind: kBool, compute: func(r *rowView, _ *LoadOptions) any {
					// Ingest leaves the dense id null for an unknown identity or entitlement.
					u, uok := r.get("usr_idx")
					e, eok := r.get("ent_idx")
					return (!uok || u != nil) && (!eok || e != nil)
				}},
				{name: "score", kind: kFloat, join: "s"},
				{name: "band", kind: kText, compute: func(r *rowView, o *LoadOptions) any {
					if b, _ := r.joined("s", "band"); b != nil {
						return b
					}
					s, _ := r.joined("s", "score")
					return bandOf(s, o)
				}},
				{name: "justification", kind: kJSON, join: "s", def: "[]"},
				{name: "freq", kind: kInt, join: "s"},
				{name: "frequnion", kind: kInt, join: "s"},
				num("last_used", kTime),
			}},
		{table: "rules", from: []input{{"rules", false}},
			cols: []col{text("ent_id"), list("justification", "justification", "antecedent", "items"),
				num("rule_len", kListLen, "justification", "antecedent", "items"),
				num("freq", kInt), num("frequnion", kInt), num("confidence", kFloat, "confidence", "conf", "score")}},
		{table: "recommendations", from: []input{{"recommendations", false}},
			cols: []col{text("usr_id"), text("ent_id"), num("confidence", kFloat, "confidence", "conf", "score"),
				num("freq", kInt), num("frequnion", kInt), list("justification"), {name: "rank", rowNum: true}},
			keep: func(r *rowView, o *LoadOptions) bool {
				c, _ := r.value("confidence").(float64)
				return c >= o.RecommendMinConfidence
			}},
		{table: "driving_factors", from: []input{{"driving_factors", false}},
			cols: []col{text("ent_id"), text("item", "item", "attribute"), num("count", kInt), num("holders", kInt)}},
		{table: "roles", from: []input{{"roles", false}},
			// The mine job's roles table: policy (the sorted items) is
			// the role's justification.
			cols: []col{text("role_id"), list("justification", "policy"),
				list("entitlements"), num("member_count", kInt), num("assignment_count", kInt),
				{name: "status", kind: kText, def: "candidate"}}},
		{table: "role_members", from: []input{{"role_members", false}, {"roles", false}},
			explode: "members",
			cols:    []col{text("role_id"), {name: "usr_id", kind: kText, item: true, from: []string{"usr_id"}}}},
		{table: "role_entitlements", from: []input{{"role_entitlements", false}, {"roles", false}},
			explode: "entitlements",
			cols:    []col{text("role_id"), {name: "ent_id", kind: kText, item: true, from: []string{"ent_id"}}}},
		{table: "anomalies", from: []input{{"anomalies", false}},
			// The anomaly job's table, already in report order.
			cols: []col{{name: "rank", rowNum: true}, text("usr_id"), text("ent_id"), text("usr_name"), text("manager_name"),
				text("ent_name"), text("app_name"), list("justification"), num("confidence", kFloat),
				num("avg_conf", kFloat), num("median", kFloat), num("total_assignees", kInt),
				num("num_below_conf_threshold", kInt), num("percent_below_threshold", kFloat),
				num("freq", kInt), num("frequnion", kInt), num("last_used", kTime)}},
	}
}

// bandOf is the band of a score under the load's thresholds.
func bandOf(score any, o *LoadOptions) string {
	s, ok := score.(float64)
	switch {
	case !ok:
		return "unscored"
	case s >= o.High:
		return "high"
	case s >= o.Medium:
		return "medium"
	}
	return "low"
}

// Load publishes a run: every serving table from its mapping, the derived
// tables computed in Go, then one atomic swap (see Publish). Loading the
// run and generation already served is a no-op.
func (db *DB) Load(ctx context.Context, o LoadOptions) (PublishResult, error) {
	if o.EmployeeTypeAttribute == "" {
		o.EmployeeTypeAttribute = "USR_EMP_TYPE"
	}
	if o.RunTable == nil {
		o.RunTable = func(string) (string, bool) { return "", false }
	}
	if o.EntityTable == nil {
		o.EntityTable = func(string) (string, bool) { return "", false }
	}
	if cur, err := db.Published(ctx); err == nil && cur.RunID == o.RunID && cur.Generation == o.Generation {
		db.log.Info("load skipped: run already served", "run", o.RunID, "generation", o.Generation)
		return PublishResult{Skipped: true, Rows: cur.Rows}, nil
	} else if err != nil && !errors.Is(err, ErrNotPublished) {
		return PublishResult{}, err
	}
	agg := newAggregates(&o)
	var tables []TableData
	var sources []*mapSource
	defer func() {
		for _, s := range sources {
			s.close()
		}
	}()
	for _, m := range mappings() {
		path, ok := "", false
		for _, in := range m.from {
			if path, ok = o.path(in); ok {
				break
			}
		}
		if !ok {
			db.log.Info("load: no input, table published empty", "table", m.table)
			continue
		}
		src := &mapSource{ctx: ctx, m: m, path: path, opts: &o, observe: agg.observer(m.table)}
		sources = append(sources, src)
		tables = append(tables, TableData{Name: m.table, Columns: src.columns(), Rows: src})
	}
	tables = append(tables, agg.tables()...)
	return db.Publish(ctx, Publication{RunID: o.RunID, Generation: o.Generation, RunFinished: o.RunFinished,
		Tables: tables, Bands: agg.bandsFunc})
}

// rowView is the current source row as a mapping sees it.
type rowView struct {
	cells  map[string]cellFunc            // main table, by column name
	joins  map[string]map[string]cellFunc // join -> column -> reader
	jrow   map[string]int                 // join -> matched row (-1: none)
	i      int
	out    []any
	outIdx map[string]int
}

// get reads a main-table column; ok is false when the table lacks it.
func (r *rowView) get(c string) (any, bool) {
	f, ok := r.cells[c]
	if !ok {
		return nil, false
	}
	return f(r.i), true
}

// joined reads a column of a join's matched row.
func (r *rowView) joined(j, c string) (any, bool) {
	f, ok := r.joins[j][c]
	if !ok || r.jrow[j] < 0 {
		return nil, false
	}
	return f(r.jrow[j]), true
}

// value is an already computed output column of the row.
func (r *rowView) value(c string) any { return r.out[r.outIdx[c]] }

// mapSource streams a mapping's rows from a Parquet file: a RowSource.
type mapSource struct {
	ctx     context.Context
	m       tableMap
	path    string
	opts    *LoadOptions
	observe func(cols []string, row []any, attrs []kv)

	started   bool
	closeFn   func()
	rr        pqarrow.RecordReader
	rec       arrow.Record
	n, i      int
	rowNum    int64
	view      rowView
	colFns    []func() any
	attrFns   []attrCell
	jidx      map[string]*joinIndex
	colNames  []string
	expl      array.ListLike
	explText  func(int) string
	ej, eEnd  int64
	row       []any
	attrBuf   bytes.Buffer
	attrPairs []kv // the current row's attributes, as written to attrBuf
	err       error
}

type attrCell struct {
	name string
	get  cellFunc
}

// joinIndex is a joined table in memory with its key index.
type joinIndex struct {
	j     join
	rec   arrow.Record
	cells map[string]cellFunc
	keys  []func(int) string // the joined table's key columns
	rows  map[string]int     // key -> row; built when first needed
	dense *pairindex.Index   // nil: the tables carry no dense ids
	// per record of the main table: its key and dense id columns
	mainKeys  []func(int) string
	mainDense [2]*array.Int32
}

func (s *mapSource) columns() []string {
	var cols []string
	for _, c := range s.m.cols {
		cols = append(cols, c.name)
	}
	if s.m.attrs != nil {
		cols = append(cols, "attributes")
	}
	return cols
}

func (s *mapSource) close() {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if s.rr != nil {
		s.rr.Release()
		s.rr = nil
	}
	if s.closeFn != nil {
		s.closeFn()
		s.closeFn = nil
	}
	for _, j := range s.jidx {
		j.rec.Release()
	}
	s.jidx = nil
}

func (s *mapSource) Err() error { return s.err }

func (s *mapSource) Values() ([]any, error) { return s.row, nil }

func keyOf(keys []func(int) string, i int) string {
	if len(keys) == 1 {
		return keys[0](i)
	}
	var b strings.Builder
	for k, f := range keys {
		if k > 0 {
			b.WriteByte(0)
		}
		b.WriteString(f(i))
	}
	return b.String()
}

// match returns the joined row of main-table row i, or -1.
func (ji *joinIndex) match(i int) int {
	if ji.dense != nil && ji.mainDense[0] != nil {
		a, b := ji.mainDense[0], ji.mainDense[1]
		if a.IsNull(i) || b.IsNull(i) {
			return -1 // no dense id: not a row of the joined table's kind
		}
		if r := ji.dense.Lookup(a.Value(i), b.Value(i)); r >= 0 && ji.sameKey(i, r) {
			return r
		}
	}
	if ji.rows == nil {
		ji.rows = make(map[string]int, ji.rec.NumRows())
		for r := 0; r < int(ji.rec.NumRows()); r++ {
			ji.rows[keyOf(ji.keys, r)] = r
		}
	}
	if r, ok := ji.rows[keyOf(ji.mainKeys, i)]; ok {
		return r
	}
	return -1
}

func (ji *joinIndex) sameKey(i, r int) bool {
	for k, f := range ji.mainKeys {
		if f(i) != ji.keys[k](r) {
			return false
		}
	}
	return true
}

// int32Column returns the named Int32 column of rec, or nil.
func int32Column(rec arrow.Record, name string) *array.Int32 {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	c, _ := rec.Column(idx[0]).(*array.Int32)
	return c
}

func (s *mapSource) start() error {
	s.started = true
	s.jidx = map[string]*joinIndex{}
	for _, j := range s.m.joins {
		path, ok := s.opts.path(j.in)
		if !ok {
			continue // every joined column reads as absent
		}
		rec, err := formats.ReadTableDict(s.ctx, path, nil)
		if err != nil {
			return fmt.Errorf("join %s: %w", j.in.name, err)
		}
		ji := &joinIndex{j: j, rec: rec, cells: map[string]cellFunc{}}
		s.jidx[j.name] = ji
		if err := cellsOf(rec, s.m.cols, j.name, ji.cells); err != nil {
			return fmt.Errorf("join %s: %w", j.in.name, err)
		}
		for _, c := range j.on {
			idx := rec.Schema().FieldIndices(c)
			if len(idx) == 0 {
				return fmt.Errorf("join %s: no column %q", j.in.name, c)
			}
			f, err := textOf(rec.Column(idx[0]))
			if err != nil {
				return fmt.Errorf("join %s: column %s: %w", j.in.name, c, err)
			}
			ji.keys = append(ji.keys, f)
		}
		if len(j.dense) == 2 {
			a, b := int32Column(rec, j.dense[0]), int32Column(rec, j.dense[1])
			if a != nil && b != nil {
				ji.dense = pairindex.New(formats.DenseIDs(a), formats.DenseIDs(b))
			}
		}
	}
	r, closeFn, err := formats.OpenParquetDict(s.path)
	if err != nil {
		return err
	}
	s.closeFn = closeFn
	rr, err := r.GetRecordReader(s.ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.path, err)
	}
	s.rr = rr
	cols := s.columns()
	s.row = make([]any, len(cols))
	s.view.out = s.row
	s.view.outIdx = map[string]int{}
	for k, c := range cols {
		s.view.outIdx[c] = k
	}
	return nil
}

// cellsOf fills cells with readers of the record's columns that the
// mapping's columns of join j ("" for the main table) name, converted to
// their kinds; for the main table also every other column, as text or
// number, for computed columns.
func cellsOf(rec arrow.Record, cols []col, j string, cells map[string]cellFunc) error {
	sch := rec.Schema()
	for _, c := range cols {
		if c.join != j || c.compute != nil || c.rowNum || c.item {
			continue
		}
		for _, name := range sourceNames(c) {
			idx := sch.FieldIndices(name)
			if len(idx) == 0 {
				continue
			}
			f, err := cellOf(rec.Column(idx[0]), c.kind)
			if err != nil {
				return fmt.Errorf("column %s: %w", name, err)
			}
			cells["="+c.name] = f
			break
		}
	}
	// Raw readers of every column for computed values.
	for k, f := range sch.Fields() {
		if _, ok := cells[f.Name]; ok {
			continue
		}
		for _, kd := range []kind{kText, kFloat, kBool} {
			if g, err := cellOf(rec.Column(k), kd); err == nil {
				cells[f.Name] = g
				break
			}
		}
		if _, ok := cells[f.Name]; !ok {
			cells[f.Name] = func(int) any { return nil }
		}
	}
	return nil
}

func sourceNames(c col) []string {
	if len(c.from) > 0 {
		return c.from
	}
	return []string{c.name}
}

// nextRecord moves to the next record batch and binds the readers.
func (s *mapSource) nextRecord() (bool, error) {
	if s.rec != nil {
		s.rec.Release()
		s.rec = nil
	}
	if !s.rr.Next() {
		if err := s.rr.Err(); err != nil {
			return false, fmt.Errorf("read %s: %w", s.path, err)
		}
		return false, nil
	}
	rec := s.rr.Record()
	rec.Retain()
	s.rec = rec
	s.n, s.i = int(rec.NumRows()), -1
	cells := map[string]cellFunc{}
	if err := cellsOf(rec, s.m.cols, "", cells); err != nil {
		return false, fmt.Errorf("%s: %w", s.path, err)
	}
	s.view.cells = cells
	s.view.joins = map[string]map[string]cellFunc{}
	s.view.jrow = map[string]int{}
	for name, ji := range s.jidx {
		s.view.joins[name] = ji.cells
	}
	for _, ji := range s.jidx {
		ji.mainKeys = ji.mainKeys[:0]
		for _, k := range ji.j.key {
			idx := rec.Schema().FieldIndices(k)
			if len(idx) == 0 {
				return false, fmt.Errorf("%s: join key column %q missing", s.path, k)
			}
			f, err := textOf(rec.Column(idx[0]))
			if err != nil {
				return false, fmt.Errorf("%s: join key column %s: %w", s.path, k, err)
			}
			ji.mainKeys = append(ji.mainKeys, f)
		}
		ji.mainDense = [2]*array.Int32{}
		if ji.dense != nil {
			a, b := int32Column(rec, ji.j.dense[0]), int32Column(rec, ji.j.dense[1])
			if a != nil && b != nil {
				ji.mainDense = [2]*array.Int32{a, b}
			}
		}
	}
	// Column producers.
	s.colFns = s.colFns[:0]
	v := &s.view
	for _, c := range s.m.cols {
		c := c
		var fn func() any
		switch {
		case c.rowNum:
			fn = func() any { return s.rowNum - 1 }
		case c.item:
			fn = func() any {
				if s.expl == nil {
					if f, ok := cells["="+c.name]; ok {
						return f(v.i)
					}
					return nil
				}
				return s.explText(int(s.ej))
			}
		case c.compute != nil:
			fn = func() any { return c.compute(v, s.opts) }
		case c.join != "":
			f, ok := v.joins[c.join]["="+c.name]
			jn := c.join
			fn = func() any {
				if !ok || v.jrow[jn] < 0 {
					return c.def
				}
				if x := f(v.jrow[jn]); x != nil {
					return x
				}
				return c.def
			}
		default:
			f, ok := cells["="+c.name]
			fn = func() any {
				if !ok {
					return c.def
				}
				if x := f(v.i); x != nil {
					return x
				}
				return c.def
			}
		}
		s.colFns = append(s.colFns, fn)
	}
	// Join matching is done per row in advance().
	s.view.jrow = map[string]int{}
	for name := range s.jidx {
		s.view.jrow[name] = -1
	}
	// Attributes.
	s.attrFns = s.attrFns[:0]
	if s.m.attrs != nil {
		skip := map[string]bool{}
		for _, x := range s.m.attrs {
			skip[x] = true
		}
		for _, c := range s.m.cols {
			for _, n := range sourceNames(c) {
				skip[n] = true
			}
		}
		for k, f := range rec.Schema().Fields() {
			if skip[f.Name] {
				continue
			}
			g, err := cellOf(rec.Column(k), kText)
			if err != nil {
				continue // only text attributes are served
			}
			s.attrFns = append(s.attrFns, attrCell{f.Name, g})
		}
	}
	// Exploded list.
	s.expl = nil
	if s.m.explode != "" {
		idx := rec.Schema().FieldIndices(s.m.explode)
		if len(idx) > 0 {
			if l, ok := rec.Column(idx[0]).(array.ListLike); ok {
				t, err := textOf(l.ListValues())
				if err != nil {
					return false, fmt.Errorf("%s: column %s: %w", s.path, s.m.explode, err)
				}
				s.expl, s.explText = l, t
			}
		} else if _, ok := cells["=usr_id"]; !ok && s.m.table == "role_members" {
			// roles without a members list: nothing to explode
			s.n = 0
		} else if _, ok := cells["=ent_id"]; !ok && s.m.table == "role_entitlements" {
			s.n = 0
		}
	}
	return true, nil
}

// Next advances to the next output row.
func (s *mapSource) Next() bool {
	if s.err != nil {
		return false
	}
	if !s.started {
		if err := s.start(); err != nil {
			s.err = err
			return false
		}
	}
	for {
		if s.expl != nil && s.i >= 0 && s.ej+1 < s.eEnd {
			s.ej++
		} else {
			if s.rec == nil || s.i+1 >= s.n {
				ok, err := s.nextRecord()
				if err != nil {
					s.err = err
					return false
				}
				if !ok {
					return false
				}
				if s.n == 0 {
					continue
				}
			}
			s.i++
			s.view.i = s.i
			s.rowNum++
			if s.rowNum&0xfff == 0 {
				if err := s.ctx.Err(); err != nil {
					s.err = err
					return false
				}
			}
			if s.expl != nil {
				if s.expl.IsNull(s.i) {
					continue
				}
				start, end := s.expl.ValueOffsets(s.i)
				if start == end {
					continue
				}
				s.ej, s.eEnd = start, end
			}
			for name, ji := range s.jidx {
				s.view.jrow[name] = ji.match(s.i)
			}
		}
		for k, f := range s.colFns {
			s.row[k] = f()
		}
		if s.m.attrs != nil {
			s.row[len(s.row)-1] = s.attributes()
		}
		if s.m.keep != nil && !s.m.keep(&s.view, s.opts) {
			continue
		}
		if s.observe != nil {
			s.observe(s.cols(), s.row, s.attrPairs)
		}
		return true
	}
}

func (s *mapSource) cols() []string {
	if s.colNames == nil {
		s.colNames = s.columns()
	}
	return s.colNames
}

func (s *mapSource) attributes() string {
	buf := &s.attrBuf
	buf.Reset()
	buf.WriteByte('{')
	first := true
	s.attrPairs = s.attrPairs[:0]
	for _, a := range s.attrFns {
		v, ok := a.get(s.i).(string)
		if !ok {
			continue
		}
		s.attrPairs = append(s.attrPairs, kv{a.name, v})
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSONString(buf, a.name)
		buf.WriteByte(':')
		writeJSONString(buf, v)
	}
	buf.WriteByte('}')
	return buf.String()
}

// RunInputs lists the run tables a load reads (when they exist).
func RunInputs() []string {
	seen := map[string]bool{}
	var out []string
	add := func(in input) {
		if !in.entity && !seen[in.name] {
			seen[in.name] = true
			out = append(out, in.name)
		}
	}
	for _, m := range mappings() {
		for _, in := range m.from {
			add(in)
		}
		for _, j := range m.joins {
			add(j.in)
		}
	}
	return out
}
