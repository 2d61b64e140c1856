package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/autoid-oss/autoid/store"
)

// ingestRoutes are the ingest endpoints: API keys only.
func (s *Server) ingestRoutes() []route {
	rs := []route{}
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
