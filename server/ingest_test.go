package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// table reads columns of an entity's current table as "a|b" rows.
func (ts *testServer) table(entity string, cols ...string) []string {
	ts.t.Helper()
	ws, err := workspace.Open(ts.cfg.WorkspaceDir)
	if err != nil {
		ts.t.Fatal(err)
	}
	gen, err := ws.Current()
	if err != nil {
		ts.t.Fatal(err)
	}
	rec, err := formats.ReadTable(context.Background(), gen.TablePath(entity), cols)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer rec.Release()
	var out []string
	for r := 0; r < int(rec.NumRows()); r++ {
		var parts []string
		for c := range cols {
			if rec.Column(c).IsNull(r) {
				parts = append(parts, "∅")
				continue
			}
			get, err := textColumn(rec.Column(c))
			if err != nil {
				ts.t.Fatal(err)
			}
			parts = append(parts, get(r))
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

func TestIngestActions(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testIngestActions(t, b) })
	}
}

func testIngestActions(t *testing.T, b backend) {
	ts := newTestServer(t, b)
	key, _ := ts.addKey("ingest", "")
	post := func(entity, body string) *httptest.ResponseRecorder {
		return ts.do("POST", "/api/ingest/"+entity, body, apiKey(key))
	}
	w := post("applications", `{"action": "create", "apps": [{"app_id": "app1", "app_name": "Test App", "app_owner_id": "bob.rodgers"}]}`)
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != `{"message":"ok"}` {
		t.Errorf("create: %s", w.Body)
	}
	e := wantError(t, post("applications", `{"action": "create", "apps": [{"app_id": "app2"}, {"app_id": "app1"}]}`), 409, "apps")
	if !strings.Contains(e.Error.Message, `"app1"`) || strings.Contains(e.Error.Message, `"app2"`) {
		t.Errorf("conflict names %s", e.Error.Message)
	}
	if got := ts.table("applications", "app_id"); len(got) != 1 {
		t.Fatalf("a refused create wrote: %v", got)
	}
	wantStatus(t, post("applications", `{"action": "upsert", "apps": [{"app_id": "app2", "app_name": "Two"}, {"app_id": "app1", "app_name": "One"}]}`), 200)
	if got := strings.Join(ts.table("applications", "app_id", "app_name", "app_owner_id"), ","); got != "app1|One|∅,app2|Two|∅" {
		t.Errorf("after upsert: %s", got)
	}
	e = wantError(t, post("applications", `{"action": "update", "apps": [{"app_id": "app1", "app_owner_id": "x"}, {"app_id": "app9"}]}`), 404, "apps")
	if !strings.Contains(e.Error.Message, `"app9"`) {
		t.Errorf("not found names %s", e.Error.Message)
	}
	// Update patches the given fields only, per record.
	wantStatus(t, post("applications", `{"action": "update", "apps": [{"app_id": "app1", "app_owner_id": "alice"}, {"app_id": "app2", "app_name": "Deux"}]}`), 200)
	if got := strings.Join(ts.table("applications", "app_id", "app_name", "app_owner_id"), ","); got != "app1|One|alice,app2|Deux|∅" {
		t.Errorf("after update: %s", got)
	}
	wantStatus(t, post("applications", `{"action": "delete", "apps": [{"app_id": "app2"}, {"app_id": "app7"}]}`), 200)
	if got := strings.Join(ts.table("applications", "app_id"), ","); got != "app1" {
		t.Errorf("after delete: %s", got)
	}

	// Identities with HR attributes, entitlements and assignments.
	wantStatus(t, post("identities", `{"action": "upsert", "identities": [{"usr_id": "john.doe", "usr_name": "John Doe", "usr_manager_id": "bob.rodgers", "CITY": "Paris"}, {"usr_id": "jane.smith", "usr_name": "Jane Smith", "usr_manager_id": "bob.rodgers", "CITY": "Rome"}]}`), 200)
	wantStatus(t, post("entitlements", `{"action": "upsert", "entitlements": [{"ent_id": "ent1", "ent_name": "Test Ent", "ent_owner_id": "bob.rodgers", "app_id": "app1"}]}`), 200)
	wantStatus(t, post("assignments", `{"action": "upsert", "assignments": [{"usr_id": "john.doe", "ent_id": "ent1"}, {"usr_id": "jane.smith", "ent_id": "ent1"}]}`), 200)
	wantError(t, post("assignments", `{"action": "create", "assignments": [{"usr_id": "john.doe", "ent_id": "ent1"}]}`), 409, "assignments")
	wantStatus(t, post("identities", `{"action": "update", "identities": [{"usr_id": "jane.smith", "CITY": "Milan"}]}`), 200)
	if got := strings.Join(ts.table("identities", "usr_id", "usr_name", "CITY"), ","); got != "jane.smith|Jane Smith|Milan,john.doe|John Doe|Paris" {
		t.Errorf("identities: %s", got)
	}
	if got := strings.Join(ts.table("assignments", "usr_id", "ent_id"), ","); got != "jane.smith|ent1,john.doe|ent1" {
		t.Errorf("assignments: %s", got)
	}

	// Bad input: nothing written.
	for _, c := range []struct{ entity, body, field string }{
		{"applications", `{"apps": [{"app_id": "x"}]}`, "action"},
		{"applications", `{"action": "merge", "apps": [{"app_id": "x"}]}`, "action"},
		{"applications", `{"action": 1, "apps": [{"app_id": "x"}]}`, "action"},
		{"applications", `{"action": "create"}`, "apps"},
		{"applications", `{"action": "create", "apps": {"app_id": "x"}}`, "apps"},
		{"applications", `{"action": "create", "apps": [{"app_name": "x"}]}`, "apps[0].app_id"},
		{"applications", `{"action": "create", "apps": [{"app_id": "x", "app_name": {"a": 1}}]}`, "apps[0].app_name"},
		{"applications", `{"action": "create", "apps": [{"app_id": "x"}, {"app_id": "x"}]}`, "apps[1]"},
		{"assignments", `{"action": "create", "assignments": [{"usr_id": "x"}]}`, "assignments[0].ent_id"},
		{"applications", `{"action": "create", "apps": [`, "body"},
	} {
		wantError(t, post(c.entity, c.body), 400, c.field)
	}
	if got := strings.Join(ts.table("applications", "app_id"), ","); got != "app1" {
		t.Errorf("bad input wrote: %s", got)
	}
}
