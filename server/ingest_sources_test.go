package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/store"
)

func TestIngestDataSourcesAndMappings(t *testing.T) {
	ts := newTestServer(t)
	key, _ := ts.addKey("ingest", "")
	ctx := context.Background()
	for _, d := range []struct {
		id, name, conn string
		active         bool
	}{{"fdbfb998-7b3e-4ddc-9e4a-a4c46cace49e", "Test data", "csv", true}, {"0474f92c-d530-43cc-a012-29fb6c8b3b8b", "HR", "jdbc", false}} {
		doc, _ := json.Marshal(map[string]any{"datasource_id": d.id, "name": d.name, "sync_type": "full", "icon": "apps", "isActive": d.active,
			"entityTypes":        map[string]any{"/autoid/system/datasources/" + d.id + "/applications": map[string]any{"uri": map[string]any{"file": "file:/data/input/applications.csv"}}},
			"connectionSettings": map[string]any{d.conn: map[string]any{}}})
		if err := ts.db.PutDataSource(ctx, store.DataSource{ID: d.id, Name: d.name, ConnectionType: d.conn, SyncType: "full", Active: d.active, Body: doc}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.db.PutMapping(ctx, store.Mapping{ID: "fb6896e5-8d0a-4bd7-b10d-5608c9a953a1",
		SourceEntity: "/autoid/system/datasources/0474f92c-d530-43cc-a012-29fb6c8b3b8b/applications", TargetEntity: "/autoid/base/applications",
		Properties: []store.MappingProperty{{Source: "APP_ID", Target: "app_id", Apply: true}, {Source: "APP_NAME", Target: "app_name", Apply: true}}}); err != nil {
		t.Fatal(err)
	}
	names := func(method, path, body string) string {
		t.Helper()
		w := ts.do(method, path, body, apiKey(key))
		wantStatus(t, w, 200)
		var out []map[string]any
		decodeBody(t, w, &out)
		var n []string
		for _, d := range out {
			for _, k := range []string{"name", "mapping_id"} {
				if v, ok := d[k].(string); ok {
					n = append(n, v)
				}
			}
		}
		return strings.Join(n, ",")
	}
	// The reference's example, sent as GET as the reference does.
	if got := names("GET", "/api/ingest/datasources", `{"connectionTypes": ["csv"], "isActive": true}`); got != "Test data" {
		t.Errorf("csv, active: %s", got)
	}
	if got := names("POST", "/api/ingest/datasources", ``); got != "HR,Test data" {
		t.Errorf("all: %s", got)
	}
	if got := names("POST", "/api/ingest/datasources", `{"entityTypes": ["applications"], "isActive": false}`); got != "HR" {
		t.Errorf("entity types: %s", got)
	}
	if got := names("POST", "/api/ingest/datasources", `{"datasourceId": "nope"}`); got != "" {
		t.Errorf("by id: %s", got)
	}
	// Each data source answers the reference's document.
	w := ts.do("POST", "/api/ingest/datasources", `{"name": "Test data"}`, apiKey(key))
	var docs []map[string]any
	decodeBody(t, w, &docs)
	for _, k := range []string{"datasource_id", "name", "sync_type", "icon", "isActive", "entityTypes", "connectionSettings"} {
		if _, ok := docs[0][k]; !ok {
			t.Errorf("data source lacks %s: %s", k, w.Body)
		}
	}
	wantError(t, ts.do("POST", "/api/ingest/datasources", `{"isActive": "yes"}`, apiKey(key)), 400, "isActive")

	if got := names("GET", "/api/ingest/mappings", `{"targetProperties": ["app_id", "app_name"]}`); got != "fb6896e5-8d0a-4bd7-b10d-5608c9a953a1" {
		t.Errorf("mappings by target: %s", got)
	}
	if got := names("POST", "/api/ingest/mappings", `{"sourceProperties": ["ENT_ID"]}`); got != "" {
		t.Errorf("mappings by source: %s", got)
	}
	w = ts.do("POST", "/api/ingest/mappings", ``, apiKey(key))
	if !strings.Contains(w.Body.String(), `"source_entity":"/autoid/system/datasources/0474f92c-d530-43cc-a012-29fb6c8b3b8b/applications","target_entity":"/autoid/base/applications","properties":[{"source":"APP_ID","target":"app_id","apply":true}`) {
		t.Errorf("mapping shape: %s", w.Body)
	}
	wantError(t, ts.do("POST", "/api/ingest/mappings", `{"targetProperties": "app_id"}`, apiKey(key)), 400, "targetProperties")
}
