package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// IngestOptions configure one ingest.
type IngestOptions struct {
	Source  DataSource
	Mapping Mapping
	// Sync is the sync type; empty means the data source's, else full.
	Sync   string
	Logger *slog.Logger
}

// IngestResult says what an ingest produced.
type IngestResult struct {
	Generation string           `json:"generation"`
	Sync       string           `json:"sync"`
	Source     DataSource       `json:"source"`
	Mapping    Mapping          `json:"mapping,omitempty"`
	Started    time.Time        `json:"started"`
	Seconds    float64          `json:"seconds"`
	Read       map[string]int64 `json:"read"`    // rows taken from the source, per entity
	Rows       map[string]int64 `json:"rows"`    // rows of each table after the ingest
	Rejects    map[string]int64 `json:"rejects"` // rejected rows, per entity
}

// RejectsTotal is the number of rejected rows.
func (r *IngestResult) RejectsTotal() int64 {
	var n int64
	for _, v := range r.Rejects {
		n += v
	}
	return n
}

// Ingest reads the entities of a data source, applies the mapping and the
// sync type, and publishes a new generation of entity tables. Entities the
// source does not name are carried over. Identities and entitlements get
// dense ids in key byte order; assignments are stored sorted by those ids
// and carry them. Nothing changes in the workspace unless the whole ingest
// succeeds.
func Ingest(ctx context.Context, ws *workspace.Workspace, opts IngestOptions) (res *IngestResult, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mode := opts.Sync
	if mode == "" {
		mode = opts.Source.SyncType
	}
	if mode == "" {
		mode = SyncFull
	}
	if err := ValidSync(mode); err != nil {
		return nil, err
	}
	if err := opts.Source.Validate(); err != nil {
		return nil, err
	}
	unlock, err := ws.Lock()
	if err != nil {
		return nil, err
	}
	defer unlock()

	cur, curErr := ws.Current()
	hasCur := curErr == nil
	if curErr != nil && !errors.Is(curErr, workspace.ErrNoTables) {
		return nil, curErr
	}
	if !hasCur && mode != SyncFull && mode != SyncIncremental {
		return nil, fmt.Errorf("a %s ingest needs existing tables; the workspace has none (run a full ingest first)", mode)
	}
	gen, err := ws.NewGeneration()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			ws.Discard(gen)
		}
	}()
	res = &IngestResult{Generation: gen.Name, Sync: mode, Source: opts.Source, Mapping: opts.Mapping, Started: time.Now().UTC(),
		Read: map[string]int64{}, Rows: map[string]int64{}, Rejects: map[string]int64{}}
	var allRejects []entityReject
	keys := map[string]*formats.Column{} // identities/entitlements keys, in id order
	var writes sync.WaitGroup
	writeErrs := make(chan error, len(formats.Entities()))
	defer writes.Wait()
	// waitWrites waits for the background table writes and returns the
	// first error.
	waitWrites := func() error {
		writes.Wait()
		select {
		case err := <-writeErrs:
			return err
		default:
			return nil
		}
	}
	changed := map[string]bool{}

	for _, e := range formats.Entities() {
		if e.Name == "assignments" {
			break
		}
		if _, ok := opts.Source.Entities[e.Name]; !ok {
			if hasCur && cur.Has(e.Name) {
				if err := workspace.CarryOver(cur, gen, e.Name); err != nil {
					return nil, err
				}
				if e.Name != "applications" {
					if keys[e.Name], err = loadKeys(ctx, cur.TablePath(e.Name), e.Key[0]); err != nil {
						return nil, err
					}
				}
				if res.Rows[e.Name], err = countRows(cur.TablePath(e.Name)); err != nil {
					return nil, err
				}
			}
			continue
		}
		t0 := time.Now()
		in, rejects, err := readText(ctx, opts.Source, e, opts.Mapping)
		if err != nil {
			return nil, fmt.Errorf("ingest %s: %w", e.Name, err)
		}
		var old *textTable
		if mode != SyncFull && hasCur && cur.Has(e.Name) {
			rec, err := formats.ReadTable(ctx, cur.TablePath(e.Name), nil)
			if err != nil {
				return nil, fmt.Errorf("ingest %s: previous table: %w", e.Name, err)
			}
			old, err = textTableFromRecord(e, rec)
			rec.Release()
			if err != nil {
				return nil, err
			}
		}
		res.Read[e.Name] = int64(in.rows()) + int64(len(rejects))
		refs, mrej := mergeText(old, in, mode)
		rejects = append(rejects, mrej...)
		cols := outputColumns(e, old, in, mode)
		rec := buildTextRecord(e, cols, old, in, refs)
		keyCol := rec.Schema().FieldIndices(e.Key[0])[0]
		keys[e.Name] = columnOf(rec.Column(keyCol))
		// The table is written while the next entities are read.
		writes.Add(1)
		go func(path string) {
			defer writes.Done()
			defer rec.Release()
			if err := formats.WriteParquet(path, rec); err != nil {
				writeErrs <- err
			}
		}(gen.TablePath(e.Name))
		changed[e.Name] = true
		res.Rows[e.Name] = int64(len(refs))
		res.Rejects[e.Name] = int64(len(rejects))
		allRejects = appendRejects(allRejects, e.Name, rejects)
		log.Info("ingested", "entity", e.Name, "rows", len(refs), "rejects", len(rejects), "seconds", time.Since(t0).Seconds())
	}

	// Assignments: read the new rows, or re-resolve the stored ones when
	// identities or entitlements changed (their ids are positions in key
	// order), or carry the file over.
	_, newAssign := opts.Source.Entities["assignments"]
	hasOldAssign := hasCur && cur.Has("assignments")
	if newAssign || (hasOldAssign && (changed["identities"] || changed["entitlements"])) {
		t0 := time.Now()
		for _, name := range []string{"identities", "entitlements"} {
			if keys[name] == nil {
				c := formats.NewColumn()
				keys[name] = &c
			}
		}
		users, ents := newKeyIndex(keys["identities"]), newKeyIndex(keys["entitlements"])
		var in, old *assignTable
		var rejects []formats.Reject
		if newAssign {
			in, rejects, err = readAssignments(ctx, opts.Source, opts.Mapping, users, ents, log)
			if err != nil {
				return nil, fmt.Errorf("ingest assignments: %w", err)
			}
		}
		syncA := mode
		if hasOldAssign && (!newAssign || mode != SyncFull) {
			rec, err := formats.ReadTable(ctx, cur.TablePath("assignments"), nil)
			if err != nil {
				return nil, fmt.Errorf("ingest assignments: previous table: %w", err)
			}
			old, err = assignmentsFromRecord(rec, users, ents)
			rec.Release()
			if err != nil {
				return nil, err
			}
			if !newAssign {
				syncA = SyncIncremental // keep every stored row
			}
		}
		if in != nil {
			res.Read["assignments"] = int64(in.rows()) + int64(len(rejects))
		}
		t1 := time.Now()
		written := false
		var nRows int
		if old == nil && in != nil && in.rows() > 0 && len(in.fileNames) == 1 && len(in.extraCols) == 0 &&
			(syncA == SyncFull || syncA == SyncIncremental) {
			// Nothing stored to merge with: write the rows in order
			// straight from the chunks they were read into.
			var mrej []formats.Reject
			nRows, mrej, written, err = writeSortedAssignments(gen.TablePath("assignments"), in, users, ents, assignGroupRows)
			if err != nil {
				return nil, err
			}
			rejects = append(rejects, mrej...)
			if written {
				log.Debug("assignments phases", "read", t1.Sub(t0).Seconds(), "write", time.Since(t1).Seconds())
			}
		}
		if !written {
			if in != nil {
				in.flatten()
			}
			refs, mrej := mergeAssignments(old, in, syncA, int(users.nKnown()))
			rejects = append(rejects, mrej...)
			t2 := time.Now()
			rec := buildAssignmentRecord(old, in, refs, users, ents)
			t3 := time.Now()
			err = formats.WriteParquet(gen.TablePath("assignments"), rec)
			rec.Release()
			log.Debug("assignments phases", "read", t1.Sub(t0).Seconds(), "merge", t2.Sub(t1).Seconds(),
				"build", t3.Sub(t2).Seconds(), "write", time.Since(t3).Seconds())
			if err != nil {
				return nil, err
			}
			nRows = len(refs)
		}
		if in != nil {
			res.Rejects["assignments"] = int64(len(rejects))
		}
		res.Rows["assignments"] = int64(nRows)
		allRejects = appendRejects(allRejects, "assignments", rejects)
		log.Info("ingested", "entity", "assignments", "rows", nRows, "rejects", len(rejects), "seconds", time.Since(t0).Seconds())
	} else if hasOldAssign {
		if err := workspace.CarryOver(cur, gen, "assignments"); err != nil {
			return nil, err
		}
		res.Rows["assignments"] = -1 // unchanged; counted below
	}
	if err := waitWrites(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := writeRejects(gen.TablePath("rejects"), allRejects); err != nil {
		return nil, err
	}
	if res.Rows["assignments"] < 0 {
		n, err := countRows(gen.TablePath("assignments"))
		if err != nil {
			return nil, err
		}
		res.Rows["assignments"] = n
	}
	res.Seconds = time.Since(res.Started).Seconds()
	if err := workspace.WriteJSON(filepath.Join(gen.Dir, "manifest.json"), res); err != nil {
		return nil, err
	}
	if err := ws.Publish(gen); err != nil {
		return nil, err
	}
	return res, nil
}

// IngestManifest reads the manifest of a generation.
func IngestManifest(g workspace.Generation) (*IngestResult, error) {
	var r IngestResult
	if err := workspace.ReadJSON(filepath.Join(g.Dir, "manifest.json"), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

type entityReject struct {
	entity string
	formats.Reject
}

// appendRejects adds an entity's rejects in file and line order.
func appendRejects(all []entityReject, entity string, rs []formats.Reject) []entityReject {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].File != rs[j].File {
			return rs[i].File < rs[j].File
		}
		return rs[i].Line < rs[j].Line
	})
	for _, r := range rs {
		all = append(all, entityReject{entity, r})
	}
	return all
}

// RejectsSchema is the schema of the rejects table.
var rejectsFields = []arrow.Field{
	{Name: "entity", Type: arrow.BinaryTypes.String},
	{Name: "file", Type: arrow.BinaryTypes.String},
	{Name: "line", Type: arrow.PrimitiveTypes.Int64},
	{Name: "column", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "reason", Type: arrow.BinaryTypes.String},
}

func writeRejects(path string, rs []entityReject) error {
	n := len(rs)
	lines := make([]int64, n)
	for i, r := range rs {
		lines[i] = r.Line
	}
	arrs := []arrow.Array{
		formats.StringArray(n, func(i int) []byte { return []byte(rs[i].entity) }),
		formats.StringArray(n, func(i int) []byte { return []byte(rs[i].File) }),
		formats.Int64Array(lines, 0, false),
		formats.StringArray(n, func(i int) []byte { return []byte(rs[i].Column) }),
		formats.StringArray(n, func(i int) []byte { return []byte(rs[i].Reason) }),
	}
	rec := array.NewRecord(arrow.NewSchema(rejectsFields, nil), arrs, int64(n))
	defer rec.Release()
	for _, a := range arrs {
		a.Release()
	}
	return formats.WriteParquet(path, rec)
}

// loadKeys reads the key column of a stored table.
func loadKeys(ctx context.Context, path, key string) (*formats.Column, error) {
	rec, err := formats.ReadTable(ctx, path, []string{key})
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	return columnOf(rec.Column(0)), nil
}

// columnOf copies a text array into a column.
func columnOf(a arrow.Array) *formats.Column {
	c := formats.NewColumn()
	for i := 0; i < a.Len(); i++ {
		c.Append(textOf(a, i))
	}
	return &c
}

func countRows(path string) (int64, error) {
	r, closeFn, err := formats.OpenParquet(path)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	return r.ParquetReader().NumRows(), nil
}
