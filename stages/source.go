package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/uuid"
	"gopkg.in/yaml.v3"

	"github.com/autoid-oss/autoid/formats"
)

// Connection types of a data source.
const (
	ConnCSV     = "csv"
	ConnParquet = "parquet"
	ConnJDBC    = "jdbc"    // a PostgreSQL table or query, read through pgx
	ConnGeneric = "generic" // JSON lines
)

// Sync types of an ingest.
const (
	SyncFull        = "full"
	SyncIncremental = "incremental"
	SyncEnrichment  = "enrichment"
	SyncDelete      = "delete"
)

// SyncTypes lists the sync types in documentation order.
var syncTypes = []string{SyncFull, SyncIncremental, SyncEnrichment, SyncDelete}

// ValidSync reports whether s is a sync type.
func ValidSync(s string) error {
	for _, t := range syncTypes {
		if s == t {
			return nil
		}
	}
	return fmt.Errorf("sync type %q: want one of %s", s, strings.Join(syncTypes, ", "))
}

// DataSource names where each entity comes from.
type DataSource struct {
	ID             string `json:"id" yaml:"id"`
	Name           string `json:"name" yaml:"name"`
	ConnectionType string `json:"connectionType" yaml:"connectionType"`
	// URL is the postgres:// URL of a jdbc source.
	URL string `json:"url,omitempty" yaml:"url,omitempty"`
	// Entities maps an entity name to a file path or file:// URI (csv,
	// parquet, generic) or to a table name or SELECT query (jdbc).
	Entities map[string]string `json:"entities" yaml:"entities"`
	SyncType string            `json:"syncType" yaml:"syncType"`
	Active   bool              `json:"active" yaml:"active"`
}

// Validate names the first bad field.
func (d DataSource) Validate() error {
	switch d.ConnectionType {
	case ConnCSV, ConnParquet, ConnGeneric:
	case ConnJDBC:
		if !strings.HasPrefix(d.URL, "postgres://") && !strings.HasPrefix(d.URL, "postgresql://") {
			return fmt.Errorf("data source %q: url: a jdbc source needs a postgres:// URL", d.ID)
		}
	default:
		return fmt.Errorf("data source %q: connectionType %q: want csv, parquet, jdbc or generic", d.ID, d.ConnectionType)
	}
	if len(d.Entities) == 0 {
		return fmt.Errorf("data source %q: entities: names no entity", d.ID)
	}
	for e := range d.Entities {
		if _, err := formats.EntityByName(e); err != nil {
			return fmt.Errorf("data source %q: entities: %w", d.ID, err)
		}
	}
	if d.SyncType != "" {
		if err := ValidSync(d.SyncType); err != nil {
			return fmt.Errorf("data source %q: syncType: %w", d.ID, err)
		}
	}
	return nil
}

// Document renders the data source in the shape of the ingest API
// (datasource_id, name, sync_type, isActive, entityTypes with a file URI or
// table per entity, connectionSettings). A database URL's password is not
// included.
func (d DataSource) Document() ([]byte, error) {
	entities := map[string]any{}
	for e, loc := range d.Entities {
		uri := map[string]string{}
		if d.ConnectionType == ConnJDBC {
			uri["table"] = loc
		} else {
			uri["file"] = "file:" + strings.TrimPrefix(loc, "file://")
		}
		entities["/autoid/system/datasources/"+d.ID+"/"+e] = map[string]any{"uri": uri}
	}
	settings := map[string]any{}
	if d.ConnectionType == ConnJDBC {
		settings["url"] = redactURL(d.URL)
	}
	sync := d.SyncType
	if sync == "" {
		sync = SyncFull
	}
	return json.Marshal(map[string]any{
		"datasource_id": d.ID, "name": d.Name, "sync_type": sync, "icon": "apps", "isActive": d.Active,
		"entityTypes": entities, "connectionSettings": map[string]any{d.ConnectionType: settings},
	})
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// DirSource builds a data source from a directory holding applications,
// entitlements, identities and assignments as .csv, .parquet or .jsonl
// files (any subset; at least one).
func DirSource(dir string) (DataSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return DataSource{}, fmt.Errorf("%s: %w", dir, err)
	}
	// A directory's data source id is stable: a UUID named by its path.
	id := uuid.NewSHA1(uuid.NameSpaceURL, []byte("file://"+abs)).String()
	d := DataSource{ID: id, Name: abs, Entities: map[string]string{}, Active: true}
	kinds := map[string]string{".csv": ConnCSV, ".parquet": ConnParquet, ".jsonl": ConnGeneric}
	for _, e := range formats.Entities() {
		var found []string
		for ext, kind := range kinds {
			p := filepath.Join(abs, e.Name+ext)
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
				if d.ConnectionType != "" && d.ConnectionType != kind {
					return d, fmt.Errorf("%s: mixes %s and %s files; use one format", dir, d.ConnectionType, kind)
				}
				d.ConnectionType = kind
			}
		}
		sort.Strings(found)
		if len(found) > 1 {
			return d, fmt.Errorf("%s: %s is there more than once (%s)", dir, e.Name, strings.Join(found, ", "))
		}
		if len(found) == 1 {
			d.Entities[e.Name] = found[0]
		}
	}
	if len(d.Entities) == 0 {
		return d, fmt.Errorf("%s: no applications, entitlements, identities or assignments file (.csv, .parquet or .jsonl)", dir)
	}
	return d, nil
}

// LoadDataSource reads a data source from a YAML or JSON file.
func LoadDataSource(path string) (DataSource, error) {
	var d DataSource
	b, err := os.ReadFile(path)
	if err != nil {
		return d, fmt.Errorf("data source: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("data source %s: %w", path, err)
	}
	if d.ID == "" {
		d.ID = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	// Relative file paths are relative to the data source file.
	if d.ConnectionType != ConnJDBC {
		for e, p := range d.Entities {
			p = strings.TrimPrefix(p, "file://")
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(path), p)
			}
			d.Entities[e] = p
		}
	}
	return d, d.Validate()
}

// ColumnMap maps one source column to a canonical (or renamed) column.
type ColumnMap struct {
	Source string `json:"source" yaml:"source"`
	Target string `json:"target" yaml:"target"`
	Apply  bool   `json:"apply" yaml:"apply"`
}

// Mapping maps source columns to target columns, per entity.
type Mapping map[string][]ColumnMap

// UnmarshalYAML accepts, per entity, either a map {SOURCE: target} or a
// list [{source, target, apply}].
func (m *Mapping) UnmarshalYAML(n *yaml.Node) error {
	var raw map[string]yaml.Node
	if err := n.Decode(&raw); err != nil {
		return err
	}
	out := Mapping{}
	for entity, node := range raw {
		if _, err := formats.EntityByName(entity); err != nil {
			return fmt.Errorf("line %d: %w", node.Line, err)
		}
		switch node.Kind {
		case yaml.MappingNode:
			var simple map[string]string
			if err := node.Decode(&simple); err != nil {
				return fmt.Errorf("line %d: %s: %w", node.Line, entity, err)
			}
			keys := make([]string, 0, len(simple))
			for k := range simple {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out[entity] = append(out[entity], ColumnMap{Source: k, Target: simple[k], Apply: true})
			}
		case yaml.SequenceNode:
			for _, item := range node.Content {
				cm := ColumnMap{Apply: true}
				if err := item.Decode(&cm); err != nil {
					return fmt.Errorf("line %d: %s: %w", item.Line, entity, err)
				}
				if cm.Source == "" || cm.Target == "" {
					return fmt.Errorf("line %d: %s: a mapping needs source and target", item.Line, entity)
				}
				out[entity] = append(out[entity], cm)
			}
		default:
			return fmt.Errorf("line %d: %s: want a map of source: target or a list of {source, target, apply}", node.Line, entity)
		}
	}
	*m = out
	return nil
}

// LoadMapping reads a mapping from a YAML or JSON file.
func LoadMapping(path string) (Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	var m Mapping
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", path, err)
	}
	return m, nil
}

// resolveHeader maps source headers to output columns for an entity:
// an applied mapping first, then a case-insensitive match of a canonical
// name; other columns keep their source name. It fails when two source
// columns land on one output column or a key column is missing.
func resolveHeader(file string, e formats.Entity, header []string, m Mapping) ([]string, error) {
	out := make([]string, len(header))
	from := map[string]string{}
	for i, h := range header {
		target := ""
		for _, cm := range m[e.Name] {
			if cm.Apply && cm.Source == h {
				target = cm.Target
			}
		}
		if target == "" {
			if c, ok := e.Canonical(h); ok {
				target = c
			} else {
				target = h
			}
		} else if c, ok := e.Canonical(target); ok {
			target = c
		}
		if prev, dup := from[target]; dup {
			return nil, &formats.FileError{File: file, Line: 1, Column: h,
				Err: fmt.Errorf("%w: %q and %q both give column %q", formats.ErrDuplicateHeader, prev, h, target)}
		}
		from[target] = h
		out[i] = target
	}
	for _, k := range e.Key {
		if _, ok := from[k]; !ok {
			return nil, &formats.FileError{File: file, Column: k, Err: fmt.Errorf("%w (header: %s)", formats.ErrMissingColumn, strings.Join(header, ","))}
		}
	}
	return out, nil
}
