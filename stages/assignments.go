package stages

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
)

// nullTime marks a missing last_used.
const nullTime = math.MinInt64

// keyIndex maps the keys of identities or entitlements to dense ids (their
// row in key order) and gives ids past the known ones to unknown keys met in
// assignments, so that every assignment row has an integer id and a
// dictionary-encoded string.
type keyIndex struct {
	known   map[string]int32
	keys    *formats.Column // known keys, in id order
	unknown map[string]int32
	extra   formats.Column // unknown keys, in order of first use
}

func newKeyIndex(keys *formats.Column) *keyIndex {
	k := &keyIndex{known: make(map[string]int32, keys.Len()), keys: keys, unknown: map[string]int32{}, extra: formats.NewColumn()}
	for i := 0; i < keys.Len(); i++ {
		k.known[string(keys.Value(i))] = int32(i)
	}
	return k
}

func (k *keyIndex) nKnown() int32 { return int32(k.keys.Len()) }

// lookup returns the id of a known key or -1; safe for concurrent use.
func (k *keyIndex) lookup(b []byte) int32 {
	if id, ok := k.known[string(b)]; ok {
		return id
	}
	return -1
}

// intern returns the id of any key, adding an unknown one; not concurrent.
func (k *keyIndex) intern(b []byte) int32 {
	if id, ok := k.known[string(b)]; ok {
		return id
	}
	if id, ok := k.unknown[string(b)]; ok {
		return id
	}
	id := k.nKnown() + int32(k.extra.Len())
	k.unknown[string(b)] = id
	k.extra.Append(b)
	return id
}

func (k *keyIndex) value(id int32) []byte {
	if id < k.nKnown() {
		return k.keys.Value(int(id))
	}
	return k.extra.Value(int(id - k.nKnown()))
}

// dictionary returns all keys (known, then unknown) as an Arrow array.
func (k *keyIndex) dictionary() arrow.Array {
	n := int(k.nKnown()) + k.extra.Len()
	return formats.StringArray(n, func(i int) []byte { return k.value(int32(i)) })
}

// assignTable holds assignment rows as integer ids.
type assignTable struct {
	u, e      []int32
	lastUsed  []int64
	lines     []int64
	files     []int32
	fileNames []string
	extraCols []string
	extra     []formats.Column
	// chunks hold the rows as read, until flatten joins them.
	chunks   []*assignChunk
	nChunked int
}

func (t *assignTable) rows() int {
	if t.chunks != nil {
		return t.nChunked
	}
	return len(t.u)
}

func (t *assignTable) fileIndex(name string) int32 {
	for i, f := range t.fileNames {
		if f == name {
			return int32(i)
		}
	}
	t.fileNames = append(t.fileNames, name)
	return int32(len(t.fileNames) - 1)
}

// assignChunk is what the parallel parse resolves for one batch: the kept
// rows, compacted, with the keys the workers could not resolve (unknown
// identities or entitlements) left for the ordered pass to intern.
type assignChunk struct {
	u, e     []int32
	lastUsed []int64
	lines    []int64
	extra    []formats.Column
	unknownU []unknownRef
	unknownE []unknownRef
	rejects  []formats.Reject
	// the last identity key looked up (a copy) and its id
	lastU   []byte
	lastUID int32
	hasLast bool
}

type unknownRef struct {
	row int32
	key []byte
}

// readAssignments reads assignment rows, resolving ids and parsing
// last_used in the parser's worker goroutines; the ordered pass only
// interns unknown keys and collects the chunks, which are joined once at
// the end (no growing slices over ten million rows).
func readAssignments(ctx context.Context, src DataSource, m Mapping, users, ents *keyIndex, log *slog.Logger) (*assignTable, []formats.Reject, error) {
	e, _ := formats.EntityByName("assignments")
	t := &assignTable{}
	var rejects []formats.Reject
	var once sync.Once
	var headerErr error
	var out []string
	uc, ec, lc := -1, -1, -1
	var extraIdx []int
	setup := func(b *formats.RawBatch) {
		out, headerErr = resolveHeader(b.File, e, b.Header, m)
		if headerErr != nil {
			return
		}
		for i, c := range out {
			switch c {
			case "usr_id":
				uc = i
			case "ent_id":
				ec = i
			case "last_used":
				lc = i
			case "src_file", "src_line", "usr_idx", "ent_idx":
				// our own columns, in a re-ingested export
			default:
				extraIdx = append(extraIdx, i)
			}
		}
	}
	// add resolves one row into the batch's chunk; the CSV parser calls it
	// per row (no text columns built), the other formats through transform.
	add := func(b *formats.RawBatch, line int64, fields [][]byte) error {
		once.Do(func() { setup(b) })
		if headerErr != nil {
			return headerErr
		}
		ch, _ := b.Payload.(*assignChunk)
		if ch == nil {
			n := max(cap(b.Lines), 16)
			ch = &assignChunk{u: make([]int32, 0, n), e: make([]int32, 0, n), lastUsed: make([]int64, 0, n), lines: make([]int64, 0, n)}
			for range extraIdx {
				ch.extra = append(ch.extra, formats.NewColumn())
			}
			b.Payload = ch
		}
		uv, ev := fields[uc], fields[ec]
		if len(uv) == 0 || len(ev) == 0 {
			col := "usr_id"
			if len(uv) > 0 {
				col = "ent_id"
			}
			ch.rejects = append(ch.rejects, formats.Reject{File: b.File, Line: line, Column: col, Reason: "missing required value"})
			return nil
		}
		ts := int64(nullTime)
		if lc >= 0 {
			if v := fields[lc]; len(v) > 0 {
				var ok bool
				if ts, ok = parseTimestamp(v); !ok {
					ch.rejects = append(ch.rejects, formats.Reject{File: b.File, Line: line, Column: "last_used",
						Reason: fmt.Sprintf("not a timestamp: %q", v)})
					return nil
				}
			}
		}
		row := int32(len(ch.u))
		// Rows come grouped by identity: most repeat the last row's key.
		u := ch.lastUID
		if !ch.hasLast || !bytes.Equal(uv, ch.lastU) {
			u = users.lookup(uv)
			ch.lastU, ch.lastUID, ch.hasLast = append(ch.lastU[:0], uv...), u, true
		}
		en := ents.lookup(ev)
		if u < 0 {
			ch.unknownU = append(ch.unknownU, unknownRef{row, append([]byte(nil), uv...)})
		}
		if en < 0 {
			ch.unknownE = append(ch.unknownE, unknownRef{row, append([]byte(nil), ev...)})
		}
		ch.u = append(ch.u, u)
		ch.e = append(ch.e, en)
		ch.lastUsed = append(ch.lastUsed, ts)
		ch.lines = append(ch.lines, line)
		for k, i := range extraIdx {
			ch.extra[k].Append(fields[i])
		}
		return nil
	}
	transform := func(b *formats.RawBatch) error {
		if b.Payload == nil && b.Columns != nil {
			// Columns from a reader without the row callback.
			fields := make([][]byte, len(b.Columns))
			for r := 0; r < b.Rows(); r++ {
				for i := range b.Columns {
					fields[i] = b.Columns[i].Value(r)
				}
				if err := add(b, b.Lines[r], fields); err != nil {
					return err
				}
			}
		}
		if b.Payload == nil {
			b.Payload = &assignChunk{}
		}
		b.Columns = nil // the text is no longer needed
		return nil
	}
	// The ordered pass interns the unknown keys of each chunk and keeps the
	// chunk as it is: a full ingest writes straight from the chunks
	// (writeSortedAssignments), the other paths join them once (flatten).
	var fileSize int64
	if src.ConnectionType == ConnCSV {
		if st, err := os.Stat(strings.TrimPrefix(src.Entities[e.Name], "file://")); err == nil {
			fileSize = st.Size()
		}
	}
	t.chunks = []*assignChunk{}
	prog := newProgress(log, e.Name, fileSize)
	err := readRows(ctx, src, e, add, transform, func(b *formats.RawBatch) error {
		ch := b.Payload.(*assignChunk)
		prog.add(b.Rows(), b.Bytes)
		if len(t.fileNames) == 0 {
			t.fileIndex(b.File)
			for _, i := range extraIdx {
				t.extraCols = append(t.extraCols, out[i])
			}
		}
		rejects = append(rejects, b.Rejects...)
		rejects = append(rejects, ch.rejects...)
		for _, x := range ch.unknownU {
			ch.u[x.row] = users.intern(x.key)
		}
		for _, x := range ch.unknownE {
			ch.e[x.row] = ents.intern(x.key)
		}
		ch.rejects, ch.unknownU, ch.unknownE, ch.lastU = nil, nil, nil, nil
		if len(ch.u) > 0 {
			t.chunks = append(t.chunks, ch)
			t.nChunked += len(ch.u)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return t, rejects, nil
}

// flatten joins the chunks of a table read by readAssignments into its
// row arrays.
func (t *assignTable) flatten() {
	if t.chunks == nil {
		return
	}
	n := t.nChunked
	t.u = make([]int32, 0, n)
	t.e = make([]int32, 0, n)
	t.lastUsed = make([]int64, 0, n)
	t.lines = make([]int64, 0, n)
	t.files = make([]int32, n) // one source file: index 0
	t.extra = make([]formats.Column, len(t.extraCols))
	for k := range t.extra {
		t.extra[k] = formats.NewColumn()
	}
	for _, ch := range t.chunks {
		t.u = append(t.u, ch.u...)
		t.e = append(t.e, ch.e...)
		t.lastUsed = append(t.lastUsed, ch.lastUsed...)
		t.lines = append(t.lines, ch.lines...)
		for k := range ch.extra {
			for r := 0; r < ch.extra[k].Len(); r++ {
				t.extra[k].Append(ch.extra[k].Value(r))
			}
		}
	}
	t.chunks, t.nChunked = nil, 0
}

// assignmentsFromRecord re-reads stored assignments, resolving their keys
// against the (possibly new) identities and entitlements.
func assignmentsFromRecord(rec arrow.Record, users, ents *keyIndex) (*assignTable, error) {
	t := &assignTable{}
	var uCol, eCol, lCol, fCol, lineCol arrow.Array
	var extras []arrow.Array
	for i, f := range rec.Schema().Fields() {
		switch f.Name {
		case "usr_id":
			uCol = rec.Column(i)
		case "ent_id":
			eCol = rec.Column(i)
		case "last_used":
			lCol = rec.Column(i)
		case "src_file":
			fCol = rec.Column(i)
		case "src_line":
			lineCol = rec.Column(i)
		case "usr_idx", "ent_idx":
		default:
			t.extraCols = append(t.extraCols, f.Name)
			t.extra = append(t.extra, formats.NewColumn())
			extras = append(extras, rec.Column(i))
		}
	}
	if uCol == nil || eCol == nil || lCol == nil || fCol == nil || lineCol == nil {
		return nil, fmt.Errorf("stored assignments table lacks a column")
	}
	// Resolve through the dictionaries once, not per row.
	resolve := func(a arrow.Array, k *keyIndex) []int32 {
		n := a.Len()
		ids := make([]int32, n)
		if d, ok := a.(*array.Dictionary); ok {
			dict := d.Dictionary()
			m := make([]int32, dict.Len())
			for i := range m {
				m[i] = k.intern(textOf(dict, i))
			}
			for r := 0; r < n; r++ {
				ids[r] = m[d.GetValueIndex(r)]
			}
			return ids
		}
		for r := 0; r < n; r++ {
			ids[r] = k.intern(textOf(a, r))
		}
		return ids
	}
	t.u = resolve(uCol, users)
	t.e = resolve(eCol, ents)
	n := int(rec.NumRows())
	ts := lCol.(*array.Timestamp)
	lines := lineCol.(*array.Int64)
	t.lastUsed = make([]int64, n)
	t.lines = make([]int64, n)
	t.files = make([]int32, n)
	for r := 0; r < n; r++ {
		t.lastUsed[r] = nullTime
		if ts.IsValid(r) {
			t.lastUsed[r] = int64(ts.Value(r))
		}
		t.lines[r] = lines.Value(r)
		t.files[r] = t.fileIndex(string(textOf(fCol, r)))
		for k, a := range extras {
			t.extra[k].Append(textOf(a, r))
		}
	}
	return t, nil
}

// mergeAssignments applies a sync type to the previous assignments (old,
// may be nil) and the incoming ones, and returns the resulting rows sorted
// by (usr_id, ent_id) ids, which is byte order of the keys for known ids.
// In the incoming rows the first of a key wins; later ones are rejected.
func mergeAssignments(old, in *assignTable, syncType string, nUsers int) ([]rowRef, []formats.Reject) {
	nOld := 0
	if old != nil {
		nOld = old.rows()
	}
	nIn := 0
	if in != nil {
		nIn = in.rows()
	}
	total := nOld + nIn
	uOf := func(r int) int32 {
		if r < nOld {
			return old.u[r]
		}
		return in.u[r-nOld]
	}
	eOf := func(r int) int32 {
		if r < nOld {
			return old.e[r]
		}
		return in.e[r-nOld]
	}
	// Counting sort by user id (stable), then sort each user's rows by
	// (entitlement, row) packed in one uint64.
	maxU := int32(nUsers)
	for r := 0; r < total; r++ {
		maxU = max(maxU, uOf(r)+1)
	}
	start := make([]int, maxU+1)
	for r := 0; r < total; r++ {
		start[uOf(r)+1]++
	}
	for i := 1; i <= int(maxU); i++ {
		start[i] += start[i-1]
	}
	packed := make([]uint64, total)
	pos := slices.Clone(start[:maxU])
	for r := 0; r < total; r++ {
		u := uOf(r)
		packed[pos[u]] = uint64(uint32(eOf(r)))<<32 | uint64(uint32(r))
		pos[u]++
	}
	var wg sync.WaitGroup
	const parts = 4
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for u := p; u < int(maxU); u += parts {
				seg := packed[start[u]:start[u+1]]
				if len(seg) > 1 {
					slices.Sort(seg)
				}
			}
		}(p)
	}
	wg.Wait()

	refs := make([]rowRef, 0, total)
	var rejects []formats.Reject
	reject := func(r int, reason string) {
		i := r - nOld
		rejects = append(rejects, formats.Reject{File: in.fileNames[in.files[i]], Line: in.lines[i], Reason: reason})
	}
	for i := 0; i < total; {
		j := i + 1
		ent := packed[i] >> 32
		for j < total && packed[j]>>32 == ent && uOf(int(uint32(packed[j]))) == uOf(int(uint32(packed[i]))) {
			j++
		}
		oldRow, newRow := int32(-1), int32(-1)
		for k := i; k < j; k++ {
			r := int(uint32(packed[k]))
			switch {
			case r < nOld:
				oldRow = int32(r)
			case newRow < 0:
				newRow = int32(r - nOld)
			default:
				reject(r, fmt.Sprintf("duplicate assignment (first at line %d)", in.lines[newRow]))
			}
		}
		switch syncType {
		case SyncFull:
			refs = append(refs, rowRef{-1, newRow})
		case SyncIncremental:
			if newRow >= 0 {
				refs = append(refs, rowRef{-1, newRow})
			} else {
				refs = append(refs, rowRef{oldRow, -1})
			}
		case SyncEnrichment:
			if oldRow < 0 {
				reject(int(newRow)+nOld, "enrichment of unknown assignment")
			} else {
				refs = append(refs, rowRef{oldRow, newRow})
			}
		case SyncDelete:
			if newRow >= 0 && oldRow < 0 {
				reject(int(newRow)+nOld, "delete of unknown assignment")
			} else if newRow < 0 {
				refs = append(refs, rowRef{oldRow, -1})
			}
		}
		i = j
	}
	return refs, rejects
}

// buildAssignmentRecord builds the stored assignments table.
func buildAssignmentRecord(old, in *assignTable, refs []rowRef, users, ents *keyIndex) arrow.Record {
	n := len(refs)
	u := make([]int32, n)
	e := make([]int32, n)
	last := make([]int64, n)
	lines := make([]int64, n)
	// Source files: each table's file indexes map to one output list.
	var names []string
	remap := func(t *assignTable) []int32 {
		if t == nil {
			return nil
		}
		m := make([]int32, len(t.fileNames))
		for i, name := range t.fileNames {
			k := slices.Index(names, name)
			if k < 0 {
				k = len(names)
				names = append(names, name)
			}
			m[i] = int32(k)
		}
		return m
	}
	oldFiles, inFiles := remap(old), remap(in)
	files := make([]int32, n)
	for i, r := range refs {
		if r.new >= 0 {
			row := int(r.new)
			u[i], e[i], lines[i], last[i], files[i] = in.u[row], in.e[row], in.lines[row], in.lastUsed[row], inFiles[in.files[row]]
			if r.old >= 0 && last[i] == nullTime {
				last[i] = old.lastUsed[r.old] // an enrichment without last_used keeps it
			}
			continue
		}
		row := int(r.old)
		u[i], e[i], lines[i], last[i], files[i] = old.u[row], old.e[row], old.lines[row], old.lastUsed[row], oldFiles[old.files[row]]
	}
	nu, ne := users.nKnown(), ents.nKnown()
	uDict, eDict := users.dictionary(), ents.dictionary()
	fDict := formats.StringArray(len(names), func(i int) []byte { return []byte(names[i]) })
	defer uDict.Release()
	defer eDict.Release()
	defer fDict.Release()
	fields := assignmentFields()
	arrs := []arrow.Array{
		formats.Int32Array(u, func(i int) bool { return u[i] < nu }),
		formats.Int32Array(e, func(i int) bool { return e[i] < ne }),
		formats.DictArray(u, uDict),
		formats.DictArray(e, eDict),
		formats.TimestampArray(last, nullTime),
	}
	// Extra text columns: union of both tables'.
	var extraCols []string
	seen := map[string]bool{}
	for _, t := range []*assignTable{old, in} {
		if t == nil {
			continue
		}
		for _, c := range t.extraCols {
			if !seen[c] {
				seen[c] = true
				extraCols = append(extraCols, c)
			}
		}
	}
	colOf := func(t *assignTable, c string) int {
		if t == nil {
			return -1
		}
		for i, x := range t.extraCols {
			if x == c {
				return i
			}
		}
		return -1
	}
	for _, c := range extraCols {
		oc, ic := colOf(old, c), colOf(in, c)
		fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
		arrs = append(arrs, formats.StringArray(n, func(i int) []byte {
			r := refs[i]
			if r.new >= 0 && ic >= 0 {
				return in.extra[ic].Value(int(r.new))
			}
			if r.old >= 0 && oc >= 0 {
				return old.extra[oc].Value(int(r.old))
			}
			return nil
		}))
	}
	fields = append(fields, sourceFields()...)
	arrs = append(arrs, formats.DictArray(files, fDict), formats.Int64Array(lines, 0, false))
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// parseTimestamp reads a timestamp as microseconds since the epoch (UTC).
// It takes RFC 3339 (with or without fraction or zone, 'T' or space) and
// plain dates; the common forms are parsed without allocation.
func parseTimestamp(b []byte) (int64, bool) {
	// Fast path: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, optional Z.
	if len(b) == 10 || len(b) == 19 || (len(b) == 20 && b[19] == 'Z') {
		num := func(i, n int) (int, bool) {
			v := 0
			for _, c := range b[i : i+n] {
				if c < '0' || c > '9' {
					return 0, false
				}
				v = v*10 + int(c-'0')
			}
			return v, true
		}
		y, ok1 := num(0, 4)
		mo, ok2 := num(5, 2)
		d, ok3 := num(8, 2)
		if ok1 && ok2 && ok3 && b[4] == '-' && b[7] == '-' && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 {
			h, mi, s := 0, 0, 0
			ok := true
			if len(b) > 10 {
				var okh, okm, oks bool
				h, okh = num(11, 2)
				mi, okm = num(14, 2)
				s, oks = num(17, 2)
				ok = okh && okm && oks && (b[10] == 'T' || b[10] == ' ') && b[13] == ':' && b[16] == ':' && h < 24 && mi < 60 && s < 61
			}
			if ok {
				t := time.Date(y, time.Month(mo), d, h, mi, s, 0, time.UTC)
				if t.Day() == d {
					return t.UnixMicro(), true
				}
				return 0, false
			}
		}
	}
	s := string(b)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z07",
		"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMicro(), true
		}
	}
	return 0, false
}

// assignGroupRows is the number of rows per row group of the assignments
// table written from chunks (as formats.WriteParquet's).
const assignGroupRows = 1 << 20

// assignmentFields are the stored assignments' columns before the extra
// text columns and the source columns.
func assignmentFields() []arrow.Field {
	return []arrow.Field{
		{Name: "usr_idx", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "ent_idx", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "usr_id", Type: formats.DictType()},
		{Name: "ent_id", Type: formats.DictType()},
		{Name: "last_used", Type: formats.TimestampType(), Nullable: true},
	}
}

// sourceFields are the stored assignments' last two columns.
func sourceFields() []arrow.Field {
	return []arrow.Field{
		{Name: "src_file", Type: formats.DictType()},
		{Name: "src_line", Type: arrow.PrimitiveTypes.Int64},
	}
}

// assignRun is a range of rows of one identity in a chunk.
type assignRun struct {
	chunk, start, n, u int32
}

// identityRuns groups the rows of a table read by readAssignments by
// identity id without moving them: input grouped by identity (as exports
// are) comes as one run of rows per identity, or two where a chunk ends.
// It returns the runs ordered by identity (stable: input order within an
// identity) and where each identity's runs start; ok is false when the
// input has so many runs that sorting the rows (mergeAssignments) is the
// better way.
func identityRuns(t *assignTable, nUsers int) (order []assignRun, start []int32, ok bool) {
	maxRuns := t.nChunked/8 + 1024
	var runs []assignRun
	for ci, ch := range t.chunks {
		u := ch.u
		for i := 0; i < len(u); {
			j := i + 1
			for j < len(u) && u[j] == u[i] {
				j++
			}
			runs = append(runs, assignRun{int32(ci), int32(i), int32(j - i), u[i]})
			if len(runs) > maxRuns {
				return nil, nil, false
			}
			i = j
		}
	}
	for _, r := range runs {
		nUsers = max(nUsers, int(r.u)+1)
	}
	start = make([]int32, nUsers+1)
	for _, r := range runs {
		start[r.u+1]++
	}
	for i := 1; i <= nUsers; i++ {
		start[i] += start[i-1]
	}
	order = make([]assignRun, len(runs))
	pos := slices.Clone(start[:nUsers])
	for _, r := range runs {
		order[pos[r.u]] = r
		pos[r.u]++
	}
	return order, start, true
}

// assignGroup is one row group's rows, in output order.
type assignGroup struct {
	u, e        []int32
	last, lines []int64
	n           int
}

func (g *assignGroup) grow(n int) {
	if cap(g.u) < n {
		g.u, g.e = make([]int32, n), make([]int32, n)
		g.last, g.lines = make([]int64, n), make([]int64, n)
	}
	g.u, g.e, g.last, g.lines = g.u[:cap(g.u)], g.e[:cap(g.e)], g.last[:cap(g.last)], g.lines[:cap(g.lines)]
}

// emitGroups puts the rows in output order, (usr_id, ent_id) ids, into row
// groups of about groupRows rows (an identity's rows are never split)
// and hands each to write; free gives back groups whose rows are written.
// Each identity's rows are sorted by entitlement on their own; of a
// repeated key the first in the input wins, as in mergeAssignments, and the
// others are rejected.
func emitGroups(t *assignTable, order []assignRun, start []int32, groupRows int, free <-chan *assignGroup, write func(*assignGroup) bool) []formats.Reject {
	var rejects []formats.Reject
	type src struct{ chunk, row int32 }
	var keys []uint64
	var rows []src
	g := <-free
	g.n = 0
	g.grow(groupRows)
	for u := 0; u+1 < len(start); u++ {
		rs := order[start[u]:start[u+1]]
		if len(rs) == 0 {
			continue
		}
		total := 0
		for _, r := range rs {
			total += int(r.n)
		}
		if g.n > 0 && g.n+total > len(g.u) {
			if !write(g) {
				return rejects
			}
			g = <-free
			g.n = 0
			g.grow(groupRows)
		}
		if total > len(g.u) {
			g.grow(total)
		}
		// Order this identity's rows by (entitlement, input order).
		keys, rows = keys[:0], rows[:0]
		sorted := true
		for _, r := range rs {
			e := t.chunks[r.chunk].e
			for i := r.start; i < r.start+r.n; i++ {
				k := uint64(uint32(e[i]))<<32 | uint64(len(rows))
				if len(keys) > 0 && k>>32 <= keys[len(keys)-1]>>32 {
					sorted = false
				}
				keys = append(keys, k)
				rows = append(rows, src{r.chunk, i})
			}
		}
		if sorted {
			for _, r := range rs {
				ch := t.chunks[r.chunk]
				from, to := int(r.start), int(r.start+r.n)
				copy(g.u[g.n:], ch.u[from:to])
				copy(g.e[g.n:], ch.e[from:to])
				copy(g.last[g.n:], ch.lastUsed[from:to])
				copy(g.lines[g.n:], ch.lines[from:to])
				g.n += int(r.n)
			}
			continue
		}
		slices.Sort(keys)
		var kept src
		for k, key := range keys {
			s := rows[uint32(key)]
			ch := t.chunks[s.chunk]
			if k > 0 && key>>32 == keys[k-1]>>32 {
				rejects = append(rejects, formats.Reject{File: t.fileNames[0], Line: ch.lines[s.row],
					Reason: fmt.Sprintf("duplicate assignment (first at line %d)", t.chunks[kept.chunk].lines[kept.row])})
				continue
			}
			kept = s
			g.u[g.n], g.e[g.n], g.last[g.n], g.lines[g.n] = ch.u[s.row], ch.e[s.row], ch.lastUsed[s.row], ch.lines[s.row]
			g.n++
		}
	}
	if g.n > 0 {
		write(g)
	}
	return rejects
}

// writeSortedAssignments writes the rows of a table read by readAssignments
// (one source file, no extra columns, nothing stored before) to path in
// output order, row groups of about groupRows rows, from the chunks: the rows are
// never joined into one table, two row group buffers are reused, and the
// next group is ordered while the last one is encoded. ok is false
// (nothing written) when the input is better sorted by mergeAssignments.
// It returns the rows written and the duplicates' rejects.
func writeSortedAssignments(path string, t *assignTable, users, ents *keyIndex, groupRows int) (rows int, rejects []formats.Reject, ok bool, err error) {
	order, start, ok := identityRuns(t, int(users.nKnown()))
	if !ok {
		return 0, nil, false, nil
	}
	fields := append(assignmentFields(), sourceFields()...)
	schema := arrow.NewSchema(fields, nil)
	w, err := formats.CreateParquet(path, schema)
	if err != nil {
		return 0, nil, true, err
	}
	defer w.Abort()
	nu, ne := users.nKnown(), ents.nKnown()
	eDict := ents.dictionary()
	fDict := formats.StringArray(1, func(int) []byte { return []byte(t.fileNames[0]) })
	defer eDict.Release()
	defer fDict.Release()
	var files []int32 // all index 0
	var ui []int32    // usr_id dictionary indices of a group

	free := make(chan *assignGroup, 2)
	free <- &assignGroup{}
	free <- &assignGroup{}
	full := make(chan *assignGroup)
	stop := make(chan struct{})
	done := make(chan []formats.Reject, 1)
	go func() {
		defer close(full)
		done <- emitGroups(t, order, start, groupRows, free, func(g *assignGroup) bool {
			select {
			case full <- g:
				return true
			case <-stop:
				return false
			}
		})
	}()
	for g := range full {
		if err != nil {
			free <- g // drain: the emitter may wait for a buffer
			continue
		}
		n := g.n
		if len(files) < n {
			files = make([]int32, n)
		}
		gu, ge := g.u[:n], g.e[:n]
		// The group's identities are a range of ids: its usr_id dictionary
		// is that range of keys, so that each key is hashed into a
		// dictionary page once in the file, not once per row group.
		lo, hi := int64(gu[0]), int64(gu[n-1])+1
		if cap(ui) < n {
			ui = make([]int32, n)
		}
		ui = ui[:n]
		for i, u := range gu {
			ui[i] = u - int32(lo)
		}
		// (A fresh array: arrow-go's dictionary encoder misreads a sliced one.)
		groupDict := formats.StringArray(int(hi-lo), func(i int) []byte { return users.value(int32(lo) + int32(i)) })
		arrs := []arrow.Array{
			formats.Int32Array(gu, func(i int) bool { return gu[i] < nu }),
			formats.Int32Array(ge, func(i int) bool { return ge[i] < ne }),
			formats.DictArray(ui, groupDict),
			formats.DictArray(ge, eDict),
			formats.TimestampArray(g.last[:n], nullTime),
			formats.DictArray(files[:n], fDict),
			formats.Int64Array(g.lines[:n], 0, false),
		}
		rec := array.NewRecord(schema, arrs, int64(n))
		for _, a := range arrs {
			a.Release()
		}
		groupDict.Release()
		err = w.WriteRowGroup(rec)
		rec.Release()
		if err != nil {
			close(stop)
			free <- g
			continue
		}
		rows += n
		free <- g
	}
	rejects = <-done
	if err != nil {
		return 0, nil, true, err
	}
	if err := w.Commit(); err != nil {
		return 0, nil, true, err
	}
	return rows, rejects, true, nil
}
