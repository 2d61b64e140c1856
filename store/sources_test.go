package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

// Data sources and mappings round-trip through both stores, upsert by id,
// and survive a load.
func TestSourcesAndMappings(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		ds := DataSource{ID: "ds1", Name: "Showcase", ConnectionType: "csv", SyncType: "full", Active: true,
			Body: json.RawMessage(`{"datasource_id":"ds1","entityTypes":{"identities":"file:/x.csv"}}`), Updated: t0}
		if err := db.PutDataSource(ctx, ds); err != nil {
			t.Fatal(err)
		}
		ds.Active, ds.Name, ds.Updated = false, "Showcase 2", t0.Add(time.Hour)
		if err := db.PutDataSource(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if err := db.PutDataSource(ctx, DataSource{ID: "x", Name: "x", ConnectionType: "csv", Body: json.RawMessage(`{`)}); err == nil {
			t.Error("a body that is not JSON must fail")
		}
		got, err := db.DataSource(ctx, "ds1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Showcase 2" || got.Active || !got.Created.Equal(t0) || !got.Updated.Equal(t0.Add(time.Hour)) || string(got.Body) != string(ds.Body) {
			t.Errorf("data source %+v", got)
		}
		if _, err := db.DataSource(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing data source: %v", err)
		}
		m := Mapping{ID: "m1", SourceEntity: "/autoid/system/datasources/ds1/entitlements", TargetEntity: "/autoid/base/entitlements",
			Properties: []MappingProperty{{Source: "ENT_OWNER", Target: "ent_owner_id", Apply: true}}, Updated: t0}
		if err := db.PutMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
		mustLoad(t, db, newFakeRun(t, "run-1", false, 1))
		ms, err := db.Mappings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || !reflect.DeepEqual(ms[0].Properties, m.Properties) || ms[0].TargetEntity != m.TargetEntity {
			t.Errorf("mappings after a load %+v", ms)
		}
		if all, _ := db.DataSources(ctx); len(all) != 1 {
			t.Errorf("data sources after a load: %d", len(all))
		}
	})
}
