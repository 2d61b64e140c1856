package stages

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
)

// textTable holds the rows of an applications, entitlements or identities
// table as text column arenas: no Go string per value.
type textTable struct {
	entity    formats.Entity
	cols      []string
	data      []formats.Column
	lines     []int64
	files     []int32
	fileNames []string
	keyCol    int
}

func newTextTable(e formats.Entity, cols []string) *textTable {
	t := &textTable{entity: e, cols: cols, data: make([]formats.Column, len(cols)), keyCol: -1}
	for i, c := range cols {
		t.data[i] = formats.NewColumn()
		if c == e.Key[0] {
			t.keyCol = i
		}
	}
	return t
}

func (t *textTable) rows() int { return len(t.lines) }

func (t *textTable) col(name string) int {
	for i, c := range t.cols {
		if c == name {
			return i
		}
	}
	return -1
}

func (t *textTable) key(row int) []byte { return t.data[t.keyCol].Value(row) }

func (t *textTable) fileIndex(name string) int32 {
	for i, f := range t.fileNames {
		if f == name {
			return int32(i)
		}
	}
	t.fileNames = append(t.fileNames, name)
	return int32(len(t.fileNames) - 1)
}

// readText reads one entity of a source into a text table, rejecting rows
// with an empty key and rows whose key was already seen (the first wins).
func readText(ctx context.Context, src DataSource, e formats.Entity, m Mapping) (*textTable, []formats.Reject, error) {
	var t *textTable
	var rejects []formats.Reject
	var cols []int // batch column -> table column
	var fileIdx int32
	err := readRows(ctx, src, e, nil, nil, func(b *formats.RawBatch) error {
		if t == nil {
			out, err := resolveHeader(b.File, e, b.Header, m)
			if err != nil {
				return err
			}
			t = newTextTable(e, out)
			cols = make([]int, len(out))
			for i := range out {
				cols[i] = i
			}
			fileIdx = t.fileIndex(b.File)
		}
		rejects = append(rejects, b.Rejects...)
		kc := t.keyCol
		for r := 0; r < b.Rows(); r++ {
			if len(b.Columns[kc].Value(r)) == 0 {
				rejects = append(rejects, formats.Reject{File: b.File, Line: b.Lines[r], Column: t.cols[kc], Reason: "missing required value"})
				continue
			}
			for i, c := range cols {
				t.data[c].Append(b.Columns[i].Value(r))
			}
			t.lines = append(t.lines, b.Lines[r])
			t.files = append(t.files, fileIdx)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return t, rejects, nil
}

// rowRef points at a row of the old table, the new one, or both (an
// enrichment patch); -1 is none.
type rowRef struct{ old, new int32 }

// mergeText applies a sync type to the previous table and the incoming one
// and returns the resulting rows sorted by key (byte order), with the
// rejects the merge produced. In the incoming table the first row of a key
// wins; later ones are rejected as duplicates.
func mergeText(old, in *textTable, sync string) ([]rowRef, []formats.Reject) {
	var rejects []formats.Reject
	first := make(map[string]int32, in.rows())
	var inRows []int32
	for r := 0; r < in.rows(); r++ {
		k := in.key(int(r))
		if f, dup := first[string(k)]; dup {
			rejects = append(rejects, formats.Reject{File: in.fileNames[in.files[r]], Line: in.lines[r], Column: in.cols[in.keyCol],
				Reason: fmt.Sprintf("duplicate key %q (first at line %d)", k, in.lines[f])})
			continue
		}
		first[string(k)] = int32(r)
		inRows = append(inRows, int32(r))
	}
	var refs []rowRef
	oldKeys := map[string]int32{}
	if old != nil {
		for r := 0; r < old.rows(); r++ {
			oldKeys[string(old.key(r))] = int32(r)
		}
	}
	switch sync {
	case SyncFull:
		for _, r := range inRows {
			refs = append(refs, rowRef{-1, r})
		}
	case SyncIncremental:
		if old != nil {
			for r := 0; r < old.rows(); r++ {
				if _, replaced := first[string(old.key(r))]; !replaced {
					refs = append(refs, rowRef{int32(r), -1})
				}
			}
		}
		for _, r := range inRows {
			refs = append(refs, rowRef{-1, r})
		}
	case SyncEnrichment:
		patched := map[int32]int32{}
		for _, r := range inRows {
			o, ok := oldKeys[string(in.key(int(r)))]
			if !ok {
				rejects = append(rejects, formats.Reject{File: in.fileNames[in.files[r]], Line: in.lines[r], Column: in.cols[in.keyCol],
					Reason: fmt.Sprintf("enrichment of unknown key %q", in.key(int(r)))})
				continue
			}
			patched[o] = r
		}
		if old != nil {
			for r := 0; r < old.rows(); r++ {
				n, ok := patched[int32(r)]
				if !ok {
					n = -1
				}
				refs = append(refs, rowRef{int32(r), n})
			}
		}
	case SyncDelete:
		deleted := map[int32]bool{}
		for _, r := range inRows {
			o, ok := oldKeys[string(in.key(int(r)))]
			if !ok {
				rejects = append(rejects, formats.Reject{File: in.fileNames[in.files[r]], Line: in.lines[r], Column: in.cols[in.keyCol],
					Reason: fmt.Sprintf("delete of unknown key %q", in.key(int(r)))})
				continue
			}
			deleted[o] = true
		}
		if old != nil {
			for r := 0; r < old.rows(); r++ {
				if !deleted[int32(r)] {
					refs = append(refs, rowRef{int32(r), -1})
				}
			}
		}
	}
	keyOf := func(ref rowRef) []byte {
		if ref.old >= 0 {
			return old.key(int(ref.old))
		}
		return in.key(int(ref.new))
	}
	sort.Slice(refs, func(i, j int) bool { return bytes.Compare(keyOf(refs[i]), keyOf(refs[j])) < 0 })
	return refs, rejects
}

// outputColumns returns the columns of the merged table: the key, every
// known canonical column, then other columns of the old table and the new
// one in their order. For a delete, the incoming table adds no columns.
func outputColumns(e formats.Entity, old, in *textTable, sync string) []string {
	cols := append([]string{}, e.Key...)
	cols = append(cols, e.Known...)
	seen := map[string]bool{}
	for _, c := range cols {
		seen[c] = true
	}
	add := func(t *textTable) {
		if t == nil {
			return
		}
		for _, c := range t.cols {
			if !seen[c] && c != "src_file" && c != "src_line" && c != e.IdxName {
				seen[c] = true
				cols = append(cols, c)
			}
		}
	}
	if sync != SyncFull {
		add(old)
	}
	if sync != SyncDelete {
		add(in)
	}
	return cols
}

// buildTextRecord builds the Arrow record of a merged table: the dense id
// (row number in key order), the columns, and the source file and line of
// each row.
func buildTextRecord(e formats.Entity, cols []string, old, in *textTable, refs []rowRef) arrow.Record {
	n := len(refs)
	fields := []arrow.Field{{Name: e.IdxName, Type: arrow.PrimitiveTypes.Int32}}
	arrs := []arrow.Array{}
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i)
	}
	arrs = append(arrs, formats.Int32Array(ids, nil))
	for _, c := range cols {
		oc, ic := -1, -1
		if old != nil {
			oc = old.col(c)
		}
		if in != nil {
			ic = in.col(c)
		}
		fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: !e.IsKey(c)})
		arrs = append(arrs, formats.StringArray(n, func(i int) []byte {
			r := refs[i]
			if r.new >= 0 && ic >= 0 {
				return in.data[ic].Value(int(r.new))
			}
			if r.old >= 0 && oc >= 0 {
				return old.data[oc].Value(int(r.old))
			}
			return nil
		}))
	}
	// Provenance: the incoming row's file and line, else the old row's.
	var names []string
	nameIdx := map[string]int32{}
	fileIdx := make([]int32, n)
	lines := make([]int64, n)
	for i, r := range refs {
		var name string
		if r.new >= 0 {
			name, lines[i] = in.fileNames[in.files[r.new]], in.lines[r.new]
		} else {
			name, lines[i] = old.fileNames[old.files[r.old]], old.lines[r.old]
		}
		k, ok := nameIdx[name]
		if !ok {
			k = int32(len(names))
			nameIdx[name] = k
			names = append(names, name)
		}
		fileIdx[i] = k
	}
	fields = append(fields,
		arrow.Field{Name: "src_file", Type: formats.DictType()},
		arrow.Field{Name: "src_line", Type: arrow.PrimitiveTypes.Int64})
	dict := formats.StringArray(len(names), func(i int) []byte { return []byte(names[i]) })
	arrs = append(arrs, formats.DictArray(fileIdx, dict), formats.Int64Array(lines, 0, false))
	dict.Release()
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// textTableFromRecord turns a stored table back into a text table.
func textTableFromRecord(e formats.Entity, rec arrow.Record) (*textTable, error) {
	var cols []string
	var arrs []arrow.Array
	var fileCol, lineCol arrow.Array
	for i, f := range rec.Schema().Fields() {
		switch f.Name {
		case e.IdxName:
		case "src_file":
			fileCol = rec.Column(i)
		case "src_line":
			lineCol = rec.Column(i)
		default:
			cols = append(cols, f.Name)
			arrs = append(arrs, rec.Column(i))
		}
	}
	t := newTextTable(e, cols)
	if t.keyCol < 0 || fileCol == nil || lineCol == nil {
		return nil, fmt.Errorf("stored %s table lacks %s, src_file or src_line", e.Name, e.Key[0])
	}
	n := int(rec.NumRows())
	for c, a := range arrs {
		for r := 0; r < n; r++ {
			t.data[c].Append(textOf(a, r))
		}
	}
	lines := lineCol.(*array.Int64)
	for r := 0; r < n; r++ {
		t.lines = append(t.lines, lines.Value(r))
		t.files = append(t.files, t.fileIndex(string(textOf(fileCol, r))))
	}
	return t, nil
}

// textOf returns row r of a string or dictionary-of-string column.
func textOf(a arrow.Array, r int) []byte {
	if a.IsNull(r) {
		return nil
	}
	switch c := a.(type) {
	case *array.String:
		return []byte(c.Value(r))
	case *array.Dictionary:
		return textOf(c.Dictionary(), c.GetValueIndex(r))
	}
	return []byte(a.ValueStr(r))
}
