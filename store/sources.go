package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// DataSource is a stored data source: the fields the API filters on, and
// the whole document as JSON.
type DataSource struct {
	ID             string
	Name           string
	ConnectionType string // csv, parquet, jdbc, generic
	SyncType       string // full, incremental, enrichment, delete
	Active         bool
	Body           json.RawMessage
	Created        time.Time
	Updated        time.Time
}

// PutDataSource creates or replaces a data source.
func (db *DB) PutDataSource(ctx context.Context, d DataSource) error {
	if d.ID == "" || d.Name == "" || d.ConnectionType == "" {
		return fmt.Errorf("data source: id, name and connection type are required")
	}
	if !json.Valid(d.Body) {
		return fmt.Errorf("data source %s: body is not JSON", d.ID)
	}
	if d.Updated.IsZero() {
		d.Updated = time.Now()
	}
	if _, err := db.b.Exec(ctx, q("datasource_upsert"), d.ID, d.Name, d.ConnectionType, d.SyncType, d.Active,
		string(d.Body), d.Updated.UnixMicro()); err != nil {
		return fmt.Errorf("data source %s: %w", d.ID, err)
	}
	return nil
}

// DataSources lists the data sources by id.
func (db *DB) DataSources(ctx context.Context) ([]DataSource, error) {
	rows, err := db.b.Query(ctx, q("datasource_list"))
	if err != nil {
		return nil, fmt.Errorf("data sources: %w", err)
	}
	defer rows.Close()
	var out []DataSource
	for rows.Next() {
		var d DataSource
		var body string
		var created, updated int64
		if err := rows.Scan(&d.ID, &d.Name, &d.ConnectionType, &d.SyncType, &d.Active, &body, &created, &updated); err != nil {
			return nil, fmt.Errorf("data sources: %w", err)
		}
		d.Body = json.RawMessage(body)
		d.Created, d.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("data sources: %w", err)
	}
	return out, nil
}

// DataSource returns one data source, or ErrNotFound.
func (db *DB) DataSource(ctx context.Context, id string) (DataSource, error) {
	all, err := db.DataSources(ctx)
	if err != nil {
		return DataSource{}, err
	}
	for _, d := range all {
		if d.ID == id {
			return d, nil
		}
	}
	return DataSource{}, fmt.Errorf("data source %q: %w", id, ErrNotFound)
}

// MappingProperty maps one source column to a target column.
type MappingProperty struct {
	Source string `json:"source"`
	Target string `json:"target"`
	Apply  bool   `json:"apply"`
}

// Mapping is a stored mapping from a data source's entity to a canonical
// entity.
type Mapping struct {
	ID           string
	SourceEntity string // e.g. /autoid/system/datasources/<id>/applications
	TargetEntity string // e.g. /autoid/base/applications
	Properties   []MappingProperty
	Created      time.Time
	Updated      time.Time
}

// PutMapping creates or replaces a mapping.
func (db *DB) PutMapping(ctx context.Context, m Mapping) error {
	if m.ID == "" || m.SourceEntity == "" || m.TargetEntity == "" {
		return fmt.Errorf("mapping: id, source entity and target entity are required")
	}
	if m.Updated.IsZero() {
		m.Updated = time.Now()
	}
	props := m.Properties
	if props == nil {
		props = []MappingProperty{}
	}
	b, err := json.Marshal(props)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", m.ID, err)
	}
	if _, err := db.b.Exec(ctx, q("mapping_upsert"), m.ID, m.SourceEntity, m.TargetEntity, string(b), m.Updated.UnixMicro()); err != nil {
		return fmt.Errorf("mapping %s: %w", m.ID, err)
	}
	return nil
}

// Mappings lists the mappings by id.
func (db *DB) Mappings(ctx context.Context) ([]Mapping, error) {
	rows, err := db.b.Query(ctx, q("mapping_list"))
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	defer rows.Close()
	var out []Mapping
	for rows.Next() {
		var m Mapping
		var props string
		var created, updated int64
		if err := rows.Scan(&m.ID, &m.SourceEntity, &m.TargetEntity, &props, &created, &updated); err != nil {
			return nil, fmt.Errorf("mappings: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &m.Properties); err != nil {
			return nil, fmt.Errorf("mapping %s: %w", m.ID, err)
		}
		m.Created, m.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	return out, nil
}
