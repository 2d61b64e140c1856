package server

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/autoid-oss/autoid/store"
)

func TestDataSourceSearch(t *testing.T) {
	ts := newTestServer(t)
	key, _ := ts.addKey("jas", "")
	for i, name := range []string{"Showcase-CSV-DS", "HR Feed", "Other CSV"} {
		id := fmt.Sprintf("2d7a6a76-469c-4035-b312-fb1daf104e9%d", i)
		doc, _ := json.Marshal(map[string]any{"datasource_id": id, "name": name, "sync_type": "full", "isActive": i != 2,
			"entityTypes": map[string]any{}, "connectionSettings": map[string]any{"csv": map[string]any{}}})
		if err := ts.db.PutDataSource(context.Background(), store.DataSource{ID: id, Name: name, ConnectionType: "csv", SyncType: "full", Active: i != 2, Body: doc}); err != nil {
			t.Fatal(err)
		}
	}
	search := func(body string) searchHits {
		t.Helper()
		w := ts.do("POST", "/jas/datasource/search", body, header{"authorization", key}, header{"x-tenant-id", "8700f5cb"})
		wantStatus(t, w, 200)
		var out searchHits
		decodeBody(t, w, &out)
		return out
	}
	ids := func(h searchHits) string {
		s := ""
		for _, x := range h.Hits.Hits {
			s += x.Source["name"].(string) + ";"
		}
		return s
	}
	// The reference's request.
	h := search(`{"query": {"sort": [{"datasource_id.keyword": {"order": "desc"}}], "size": 10, "track_total_hits": true, "query": {"match_all": {}}}}`)
	if h.Hits.Total.Value != 3 || h.Hits.Total.Relation != "eq" || ids(h) != "Other CSV;HR Feed;Showcase-CSV-DS;" {
		t.Fatalf("match_all desc: %+v", h)
	}
	x := h.Hits.Hits[2]
	if x.ID != "2d7a6a76-469c-4035-b312-fb1daf104e90" || x.Type != "_doc" || x.Index != "autonomous-iam_common_datasources_latest" ||
		x.Sort[0] != x.ID || x.Source["metadata"].(map[string]any)["primaryKey"] != x.ID || x.Source["datasource_id"] != x.ID {
		t.Errorf("hit: %+v", x)
	}
	if got := ids(search(`{"query": {"sort": ["name.keyword"], "size": 1, "from": 1}}`)); got != "Other CSV;" {
		t.Errorf("size/from: %s", got)
	}
	if got := ids(search(`{"query": {"query": {"term": {"name.keyword": "HR Feed"}}}}`)); got != "HR Feed;" {
		t.Errorf("term: %s", got)
	}
	if got := ids(search(`{"query": {"sort": ["name"], "query": {"match": {"name": "csv"}}}}`)); got != "Other CSV;" {
		t.Errorf("match: %s", got)
	}
	if got := ids(search(`{"sort": ["name"], "query": {"bool": {"must": [{"term": {"isActive": true}}], "must_not": {"term": {"name": "HR Feed"}}}}}`)); got != "Showcase-CSV-DS;" {
		t.Errorf("bool (bare form): %s", got)
	}
	if got := search(``); got.Hits.Total.Value != 3 {
		t.Errorf("empty body: %+v", got)
	}
	for _, c := range []struct{ body, field string }{
		{`{"query": {"size": -1}}`, "query.size"},
		{`{"query": {"size": "ten"}}`, "query.size"},
		{`{"query": {"query": {"wildcard": {"name": "x*"}}}}`, "query.query"},
		{`{"query": {"sort": [{"name": {"order": "up"}}]}}`, "query.sort[0].order"},
		{`{"query": {"size": 1, "aggs": {}}}`, "query.aggs"},
	} {
		wantError(t, ts.do("POST", "/jas/datasource/search", c.body, apiKey(key)), 400, c.field)
	}
}
