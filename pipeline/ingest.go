package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// Source is the data source of a run's ingest stage: a directory of entity
// files, a data source file, or a data source recorded in the workspace by
// an earlier ingest; with an optional mapping file and sync type.
type Source struct {
	Dir          string `json:"dir,omitempty"`
	File         string `json:"source,omitempty"`
	DatasourceID string `json:"datasourceId,omitempty"`
	Mapping      string `json:"mapping,omitempty"`
	Sync         string `json:"sync,omitempty"`
}

func ingestParams() []ParamSpec {
	return []ParamSpec{
		{Name: "datasourceId", Type: TypeString, Doc: "a data source recorded by an earlier ingest (its mapping too)"},
		{Name: "dir", Type: TypeString, Doc: "a directory of applications, entitlements, identities and assignments files"},
		{Name: "source", Type: TypeString, Doc: "a data source file (YAML or JSON)"},
		{Name: "mapping", Type: TypeString, Doc: "a mapping file (YAML or JSON): entity -> source column -> canonical column"},
		{Name: "sync", Type: TypeString, Doc: "full, incremental, enrichment or delete (default: the source's, else full)"},
	}
}

// sourceFromParams reads an ingest's source from job parameters; nil when
// they name none.
func sourceFromParams(p map[string]string) *Source {
	s := Source{Dir: p["dir"], File: p["source"], DatasourceID: p["datasourceId"], Mapping: p["mapping"], Sync: p["sync"]}
	if s.Dir == "" && s.File == "" && s.DatasourceID == "" {
		return nil
	}
	return &s
}

// resolvedSource is a Source read: the data source, the mapping and a
// digest of the mapping.
type resolvedSource struct {
	ds            stages.DataSource
	mapping       stages.Mapping
	sync          string
	mappingDigest string
}

func (s Source) resolve(ws *workspace.Workspace) (resolvedSource, error) {
	var r resolvedSource
	n := 0
	for _, v := range []string{s.Dir, s.File, s.DatasourceID} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return r, &ParamError{Param: "dir", Reason: "give exactly one of dir, source and datasourceId"}
	}
	var err error
	switch {
	case s.Dir != "":
		r.ds, err = stages.DirSource(s.Dir)
	case s.File != "":
		r.ds, err = stages.LoadDataSource(s.File)
	default:
		r.ds, err = stages.LoadDataSource(filepath.Join(ws.Root, "sources", s.DatasourceID+".json"))
		if errors.Is(err, os.ErrNotExist) {
			return r, &ParamError{Param: "datasourceId", Reason: fmt.Sprintf("no data source %q in the workspace (an ingest records it)", s.DatasourceID)}
		}
		if err == nil && s.Mapping == "" {
			mp := filepath.Join(ws.Root, "mappings", s.DatasourceID+".json")
			if _, serr := os.Stat(mp); serr == nil {
				s.Mapping = mp
			}
		}
	}
	if err != nil {
		return r, err
	}
	if !r.ds.Active {
		return r, fmt.Errorf("data source %q is not active", r.ds.ID)
	}
	if s.Mapping != "" {
		if r.mapping, err = stages.LoadMapping(s.Mapping); err != nil {
			return r, err
		}
	}
	b, err := json.Marshal(r.mapping)
	if err != nil {
		return r, fmt.Errorf("mapping: %w", err)
	}
	sum := sha256.Sum256(b)
	r.mappingDigest = hex.EncodeToString(sum[:8])
	r.sync = s.Sync
	if r.sync == "" {
		r.sync = r.ds.SyncType
	}
	if r.sync == "" {
		r.sync = stages.SyncFull
	}
	if err := stages.ValidSync(r.sync); err != nil {
		return r, &ParamError{Param: "sync", Reason: err.Error()}
	}
	return r, nil
}

// runIngest reads the run's source into a new generation of the entity
// tables and records the data source (workspace files and serving store).
func runIngest(ctx context.Context, env *Env) error {
	if env.Source == nil {
		return fmt.Errorf("ingest needs a data source (dir, source or datasourceId)")
	}
	src, err := env.Source.resolve(env.WS)
	if err != nil {
		return err
	}
	res, err := stages.Ingest(ctx, env.WS, stages.IngestOptions{Source: src.ds, Mapping: src.mapping, Sync: src.sync, Logger: env.Log})
	if err != nil {
		return err
	}
	env.stage.generation = res.Generation
	if err := RecordSource(ctx, env.WS, env.stage.store, src.ds, src.mapping); err != nil {
		return fmt.Errorf("ingest succeeded (%s), but recording its data source failed: %w", res.Generation, err)
	}
	WriteIngestSummary(env.Out, res)
	return nil
}

// RecordSource keeps a data source and its mapping in the workspace (so
// that a later run can name it by datasourceId) and, when db is not nil, in
// the serving store.
func RecordSource(ctx context.Context, ws *workspace.Workspace, db *store.DB, ds stages.DataSource, m stages.Mapping) error {
	if err := workspace.WriteJSON(filepath.Join(ws.Root, "sources", ds.ID+".json"), ds); err != nil {
		return err
	}
	if len(m) > 0 {
		if err := workspace.WriteJSON(filepath.Join(ws.Root, "mappings", ds.ID+".json"), m); err != nil {
			return err
		}
	}
	if db == nil {
		return nil
	}
	doc, err := ds.Document()
	if err != nil {
		return err
	}
	if err := db.PutDataSource(ctx, store.DataSource{ID: ds.ID, Name: ds.Name, ConnectionType: ds.ConnectionType,
		SyncType: ds.SyncType, Active: ds.Active, Body: doc}); err != nil {
		return err
	}
	entities := make([]string, 0, len(m))
	for e := range m {
		entities = append(entities, e)
	}
	sort.Strings(entities)
	for _, e := range entities {
		sm := store.Mapping{ID: ds.ID + "/" + e, SourceEntity: "/autoid/system/datasources/" + ds.ID + "/" + e, TargetEntity: "/autoid/base/" + e}
		for _, cm := range m[e] {
			sm.Properties = append(sm.Properties, store.MappingProperty{Source: cm.Source, Target: cm.Target, Apply: cm.Apply})
		}
		if err := db.PutMapping(ctx, sm); err != nil {
			return err
		}
	}
	return nil
}

// WriteIngestSummary writes the one-line-per-table summary of an ingest.
func WriteIngestSummary(w io.Writer, res *stages.IngestResult) {
	names := make([]string, 0, len(res.Rows))
	for n := range res.Rows {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "ingest %s (%s) in %.2fs:\n", res.Generation, res.Sync, res.Seconds)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %10d rows", n, res.Rows[n])
		if r, ok := res.Rejects[n]; ok {
			fmt.Fprintf(w, "  %d rejected", r)
		}
		fmt.Fprintln(w)
	}
}
