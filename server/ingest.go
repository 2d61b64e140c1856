package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// ingestRoutes are the ingest endpoints: API keys only.
func (s *Server) ingestRoutes() []route {
	rs := s.ingestEntityRoutes()
	rs = append(rs, route{Method: "POST", Path: "/jas/datasource/search", Access: keyOnly(), Tag: "Ingest",
		Summary: "Search the data sources (sort, size, from, match_all, term, match, bool); the search-engine envelope",
		Request: searchRequestDoc{}, Response: searchHits{}, Handle: s.dataSourceSearch})
	for _, method := range []string{"POST", "GET"} { // the reference's examples send GET
		rs = append(rs,
			route{Method: method, Path: "/api/ingest/datasources", Access: keyOnly(), Tag: "Ingest",
				Summary: "Data sources, filtered by datasourceId, name, isActive, connectionTypes, entityTypes",
				Request: dataSourceFilter{}, Response: []json.RawMessage{}, Handle: s.dataSources},
			route{Method: method, Path: "/api/ingest/mappings", Access: keyOnly(), Tag: "Ingest",
				Summary: "Mappings, filtered by mappingId, sourceEntity, targetEntity, sourceProperties, targetProperties",
				Request: mappingFilter{}, Response: []mappingDoc{}, Handle: s.mappings},
		)
	}
	return rs
}

type dataSourceFilter struct {
	DatasourceID    string   `json:"datasourceId,omitempty"`
	Name            string   `json:"name,omitempty"`
	IsActive        *bool    `json:"isActive,omitempty"`
	ConnectionTypes []string `json:"connectionTypes,omitempty"`
	EntityTypes     []string `json:"entityTypes,omitempty"`
}

func (f dataSourceFilter) match(d store.DataSource) bool {
	if f.DatasourceID != "" && d.ID != f.DatasourceID {
		return false
	}
	if f.Name != "" && d.Name != f.Name {
		return false
	}
	if f.IsActive != nil && d.Active != *f.IsActive {
		return false
	}
	if len(f.ConnectionTypes) > 0 && !slices.Contains(f.ConnectionTypes, d.ConnectionType) {
		return false
	}
	if len(f.EntityTypes) > 0 {
		var doc struct {
			EntityTypes map[string]json.RawMessage `json:"entityTypes"`
		}
		json.Unmarshal(d.Body, &doc)
		found := false
		for path := range doc.EntityTypes {
			for _, want := range f.EntityTypes {
				if path == want || strings.HasSuffix(path, "/"+want) {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) dataSources(r *http.Request) (any, error) {
	var f dataSourceFilter
	if err := decodeOptionalJSON(r, &f); err != nil {
		return nil, err
	}
	all, err := s.db.DataSources(r.Context())
	if err != nil {
		return nil, err
	}
	out := []json.RawMessage{}
	for _, d := range all {
		if f.match(d) {
			out = append(out, d.Body)
		}
	}
	return out, nil
}

type mappingFilter struct {
	MappingID        string   `json:"mappingId,omitempty"`
	SourceEntity     string   `json:"sourceEntity,omitempty"`
	TargetEntity     string   `json:"targetEntity,omitempty"`
	SourceProperties []string `json:"sourceProperties,omitempty"`
	TargetProperties []string `json:"targetProperties,omitempty"`
}

type mappingDoc struct {
	MappingID    string                  `json:"mapping_id"`
	SourceEntity string                  `json:"source_entity"`
	TargetEntity string                  `json:"target_entity"`
	Properties   []store.MappingProperty `json:"properties"`
}

// match: every given field matches; a property list matches a mapping
// with at least one of the listed properties.
func (f mappingFilter) match(m store.Mapping) bool {
	if f.MappingID != "" && m.ID != f.MappingID {
		return false
	}
	if f.SourceEntity != "" && m.SourceEntity != f.SourceEntity {
		return false
	}
	if f.TargetEntity != "" && m.TargetEntity != f.TargetEntity {
		return false
	}
	anyProp := func(want []string, get func(store.MappingProperty) string) bool {
		if len(want) == 0 {
			return true
		}
		for _, p := range m.Properties {
			if slices.Contains(want, get(p)) {
				return true
			}
		}
		return false
	}
	return anyProp(f.SourceProperties, func(p store.MappingProperty) string { return p.Source }) &&
		anyProp(f.TargetProperties, func(p store.MappingProperty) string { return p.Target })
}

func (s *Server) mappings(r *http.Request) (any, error) {
	var f mappingFilter
	if err := decodeOptionalJSON(r, &f); err != nil {
		return nil, err
	}
	all, err := s.db.Mappings(r.Context())
	if err != nil {
		return nil, err
	}
	out := []mappingDoc{}
	for _, m := range all {
		if f.match(m) {
			props := m.Properties
			if props == nil {
				props = []store.MappingProperty{}
			}
			out = append(out, mappingDoc{MappingID: m.ID, SourceEntity: m.SourceEntity, TargetEntity: m.TargetEntity, Properties: props})
		}
	}
	return out, nil
}

// ingestEntities are the entity ingest endpoints: entity name and the
// body's array field (the reference calls the applications "apps").
func (s *Server) ingestEntityRoutes() []route {
	var rs []route
	for _, e := range []struct{ entity, field string }{
		{"applications", "apps"}, {"entitlements", "entitlements"}, {"identities", "identities"}, {"assignments", "assignments"},
	} {
		rs = append(rs, route{Method: "POST", Path: "/api/ingest/" + e.entity, Access: keyOnly(), Tag: "Ingest",
			Summary: "Create, update, upsert or delete " + e.entity + " (action; the " + e.field + " array): applied at once as an incremental ingest, all or nothing",
			Request: ingestSchema(e.entity, e.field), Response: message{}, Handle: s.ingestEntity(e.entity, e.field)})
	}
	return rs
}

// ingestSchema describes the body of an entity ingest: the action and the
// records under the entity's field name.
func ingestSchema(entity, field string) jsonSchema {
	e, _ := formats.EntityByName(entity)
	props := map[string]any{}
	for _, c := range append(append([]string{}, e.Key...), e.Known...) {
		props[c] = map[string]any{"type": "string"}
	}
	return jsonSchema{
		"type":     "object",
		"required": []string{"action", field},
		"properties": map[string]any{
			"action": map[string]any{"type": "string", "enum": []string{"create", "update", "upsert", "delete"}},
			field: map[string]any{"type": "array", "items": map[string]any{
				"type": "object", "required": e.Key, "properties": props,
				"additionalProperties": map[string]any{"type": "string"}}},
		},
	}
}

// The ingest actions and the sync type each applies (SPEC 14).
var ingestActions = map[string]string{
	"create": stages.SyncIncremental, "update": stages.SyncEnrichment,
	"upsert": stages.SyncIncremental, "delete": stages.SyncDelete,
}

func (s *Server) ingestEntity(entity, field string) handler {
	return func(r *http.Request) (any, error) {
		var raw map[string]json.RawMessage
		if err := decodeJSON(r, &raw); err != nil {
			return nil, err
		}
		var action string
		if err := json.Unmarshal(raw["action"], &action); raw["action"] != nil && err != nil {
			return nil, errorf(KindBadData, "action", "want a string")
		}
		sync, ok := ingestActions[action]
		if !ok {
			return nil, errorf(KindBadData, "action", "want create, update, upsert or delete, got %q", action)
		}
		arr := raw[field]
		if arr == nil && entity == "applications" && raw["applications"] != nil {
			arr, field = raw["applications"], "applications"
		}
		var recs []map[string]json.RawMessage
		if err := json.Unmarshal(arr, &recs); arr != nil && err != nil {
			return nil, errorf(KindBadData, field, "want an array of objects")
		}
		if len(recs) == 0 {
			return nil, errorf(KindBadData, field, "%s is required: a non-empty array of objects", field)
		}
		e, err := formats.EntityByName(entity)
		if err != nil {
			return nil, err
		}
		rows, keys, err := ingestRows(e, field, recs)
		if err != nil {
			return nil, err
		}
		if s.cfg.WorkspaceDir == "" {
			return nil, errorf(KindUnavailable, "", "the server has no workspace to ingest into")
		}
		s.ingestMu.Lock()
		defer s.ingestMu.Unlock()
		ws, err := workspace.Open(s.cfg.WorkspaceDir)
		if err != nil {
			return nil, err
		}
		existing, err := currentKeys(r.Context(), ws, e)
		if err != nil {
			return nil, err
		}
		var present, absent []string
		for _, k := range keys {
			if existing[k] {
				present = append(present, k)
			} else {
				absent = append(absent, k)
			}
		}
		switch action {
		case "create":
			if len(present) > 0 {
				return nil, errorf(KindConflict, field, "%s exist already: %s", entity, listKeys(present))
			}
		case "update":
			if len(absent) > 0 {
				return nil, errNotFoundf(field, "%s do not exist: %s", entity, listKeys(absent))
			}
		case "delete":
			// Deleting what is not there is done already.
			rows = keepRows(rows, keys, existing)
			if len(rows) == 0 {
				return okMessage, nil
			}
		}
		if err := s.applyIngest(r.Context(), ws, e, sync, rows); err != nil {
			return nil, err
		}
		return okMessage, nil
	}
}

// ingestRows checks the records (keys present, scalar values, no key twice)
// and returns them as text rows with their keys.
func ingestRows(e formats.Entity, field string, recs []map[string]json.RawMessage) ([]map[string]*string, []string, error) {
	seen := map[string]int{}
	rows := make([]map[string]*string, 0, len(recs))
	keys := make([]string, 0, len(recs))
	for i, rec := range recs {
		row := map[string]*string{}
		for col, v := range rec {
			var x any
			if err := json.Unmarshal(v, &x); err != nil {
				return nil, nil, errorf(KindBadData, fmt.Sprintf("%s[%d].%s", field, i, col), "not JSON")
			}
			switch x := x.(type) {
			case nil:
				row[col] = nil
			case string:
				row[col] = &x
			case bool, float64:
				t := string(bytes.TrimSpace(v))
				row[col] = &t
			default:
				return nil, nil, errorf(KindBadData, fmt.Sprintf("%s[%d].%s", field, i, col), "want a string, number or boolean")
			}
		}
		var kp []string
		for _, k := range e.Key {
			v := row[k]
			if v == nil || *v == "" {
				return nil, nil, errorf(KindBadData, fmt.Sprintf("%s[%d].%s", field, i, k), "%s is required", k)
			}
			kp = append(kp, *v)
		}
		key := strings.Join(kp, " / ")
		if j, dup := seen[key]; dup {
			return nil, nil, errorf(KindBadData, fmt.Sprintf("%s[%d]", field, i), "key %q is also at %s[%d]", key, field, j)
		}
		seen[key] = i
		rows = append(rows, row)
		keys = append(keys, key)
	}
	return rows, keys, nil
}

func keepRows(rows []map[string]*string, keys []string, existing map[string]bool) []map[string]*string {
	var out []map[string]*string
	for i, r := range rows {
		if existing[keys[i]] {
			out = append(out, r)
		}
	}
	return out
}

// listKeys names at most ten keys.
func listKeys(keys []string) string {
	q := make([]string, 0, 10)
	for i, k := range keys {
		if i == 10 {
			q = append(q, fmt.Sprintf("and %d more", len(keys)-10))
			break
		}
		q = append(q, strconv.Quote(k))
	}
	return strings.Join(q, ", ")
}

// currentKeys reads the keys of an entity's current table ("a / b" for
// assignments); none when nothing was ingested.
func currentKeys(ctx context.Context, ws *workspace.Workspace, e formats.Entity) (map[string]bool, error) {
	out := map[string]bool{}
	gen, err := ws.Current()
	if errors.Is(err, workspace.ErrNoTables) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if !gen.Has(e.Name) {
		return out, nil
	}
	rec, err := formats.ReadTable(ctx, gen.TablePath(e.Name), e.Key)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	cols := make([]func(int) string, len(e.Key))
	for i := range e.Key {
		if cols[i], err = textColumn(rec.Column(i)); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", e.Name, e.Key[i], err)
		}
	}
	parts := make([]string, len(cols))
	for r := 0; r < int(rec.NumRows()); r++ {
		for i, c := range cols {
			parts[i] = c(r)
		}
		out[strings.Join(parts, " / ")] = true
	}
	return out, nil
}

// textColumn reads a text column (plain or dictionary-encoded).
func textColumn(a arrow.Array) (func(int) string, error) {
	switch a := a.(type) {
	case *array.String:
		return a.Value, nil
	case *array.LargeString:
		return a.Value, nil
	case *array.Binary:
		return func(i int) string { return string(a.Value(i)) }, nil
	case *array.Dictionary:
		d, err := textColumn(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) string { return d(a.GetValueIndex(i)) }, nil
	}
	return nil, fmt.Errorf("not a text column: %s", a.DataType())
}

// applyIngest writes the rows as JSON lines and runs an ingest of that
// file with the sync type. An update whose records name different columns
// runs one enrichment per set of columns, so that a column a record does
// not name is kept.
func (s *Server) applyIngest(ctx context.Context, ws *workspace.Workspace, e formats.Entity, sync string, rows []map[string]*string) error {
	groups := [][]map[string]*string{rows}
	if sync == stages.SyncEnrichment {
		byCols := map[string]int{}
		groups = nil
		for _, r := range rows {
			cols := make([]string, 0, len(r))
			for c := range r {
				cols = append(cols, c)
			}
			slices.Sort(cols)
			k := strings.Join(cols, "\x00")
			i, seen := byCols[k]
			if !seen {
				i = len(groups)
				byCols[k] = i
				groups = append(groups, nil)
			}
			groups[i] = append(groups[i], r)
		}
	}
	dir, err := os.MkdirTemp(ws.Root, ".api-ingest-")
	if err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	defer os.RemoveAll(dir)
	for gi, g := range groups {
		path := filepath.Join(dir, fmt.Sprintf("%s-%d.jsonl", e.Name, gi))
		var buf bytes.Buffer
		for _, r := range g {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			buf.Write(b)
			buf.WriteByte('\n')
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		src := stages.DataSource{ID: "rest-api", Name: "REST ingest", ConnectionType: stages.ConnGeneric,
			Entities: map[string]string{e.Name: path}, SyncType: sync, Active: true}
		res, err := stages.Ingest(ctx, ws, stages.IngestOptions{Source: src, Sync: sync, Logger: s.log})
		if err != nil {
			return fmt.Errorf("ingest %s: %w", e.Name, err)
		}
		if n := res.RejectsTotal(); n > 0 {
			s.log.Warn("REST ingest rejected rows", "entity", e.Name, "rejects", n, "generation", res.Generation)
		}
	}
	return nil
}
