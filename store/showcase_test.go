package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/workspace"
)

// showcaseWorkspace ingests ../shared/data/showcase into a fresh
// workspace; the test skips when the data is absent (fails under CI).
func showcaseWorkspace(t testing.TB) (*workspace.Workspace, workspace.Generation) {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "showcase")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("showcase data missing at %s", dir)
		}
		t.Skipf("showcase data missing at %s", dir)
	}
	ws, err := workspace.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := stages.DirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stages.LoadMapping(filepath.Join("..", "testdata", "showcase-mapping.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.Ingest(context.Background(), ws, stages.IngestOptions{Source: src, Mapping: m}); err != nil {
		t.Fatal(err)
	}
	gen, err := ws.Current()
	if err != nil {
		t.Fatal(err)
	}
	return ws, gen
}

// The showcase entity tables load on every backend; with no scoring run
// yet, every assignment is published unscored.
func TestShowcaseLoad(t *testing.T) {
	_, gen := showcaseWorkspace(t)
	forEachBackend(t, func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		o := LoadOptions{RunID: "showcase", Generation: gen.Name, High: 0.75, Medium: 0.35, RecommendMinConfidence: 0.1,
			EntityTable: func(n string) (string, bool) { return gen.TablePath(n), gen.Has(n) }}
		res, err := db.Load(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		for table, want := range map[string]int64{"identities": 5200, "entitlements": 2591, "applications": 7, "assignments": 47935, "user_search": 5200, "entitlement_stats": 2591} {
			if res.Rows[table] != want {
				t.Errorf("%s: %d rows, want %d", table, res.Rows[table], want)
			}
		}
		got := allAssignments(t, db, AssignmentQuery{UsrID: "aaron.fischer"})
		want := map[string]bool{
			"WEB_user_Web_WEB RCQ Flare NonIT Distribution_Europe": true, "Web_Flare NonIT Distribution": true,
			"WEB_user_Web_Local Access 32 All_II_Europe": true, "WEB_user_Web_Shared_Edit_ADMIN_Europe": true,
		}
		found := 0
		for _, a := range got {
			if want[a.EntID] {
				found++
			}
			if a.Score != nil {
				t.Errorf("%s scored without a run", a.EntID)
			}
		}
		if found != len(want) {
			t.Errorf("aaron.fischer: found %d of the reference's assignments in %d", found, len(got))
		}
	})
}
