package workspace

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGenerations(t *testing.T) {
	ws, err := Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Current(); !errors.Is(err, ErrNoTables) {
		t.Fatalf("empty workspace: %v", err)
	}
	var gens []Generation
	for i := 0; i < 4; i++ {
		g, err := ws.NewGeneration()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(g.TablePath("identities"), []byte{byte(i)}, 0o644); err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			ws.Discard(g) // a failed ingest
			continue
		}
		if err := ws.Publish(g); err != nil {
			t.Fatal(err)
		}
		gens = append(gens, g)
	}
	cur, err := ws.Current()
	if err != nil || cur.Name != "g000003" {
		t.Fatalf("current %v %v", cur, err)
	}
	prev, ok := ws.Previous()
	if !ok || prev.Name != "g000002" {
		t.Errorf("previous %v %v", prev, ok)
	}
	if _, err := os.Stat(gens[0].Dir); !os.IsNotExist(err) {
		t.Errorf("generations older than the previous one must go: %v", err)
	}
	next, _ := ws.NewGeneration()
	if next.Name != "g000004" {
		t.Errorf("next generation %s", next.Name)
	}
	dst, _ := ws.NewGeneration()
	if err := CarryOver(cur, dst, "identities"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst.TablePath("identities")); len(b) != 1 || b[0] != 2 {
		t.Errorf("carried over %v", b)
	}
}

func TestRuns(t *testing.T) {
	ws, err := Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.LatestRunWith("rules"); !errors.Is(err, ErrNoRun) {
		t.Fatalf("no runs: %v", err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(at time.Time, status string, tables ...string) Run {
		r, err := ws.NewRun(at)
		if err != nil {
			t.Fatal(err)
		}
		m := RunManifest{ID: r.ID, Status: status, Tables: map[string]int64{}}
		for _, tb := range tables {
			m.Tables[tb] = 1
		}
		if err := r.SaveManifest(m); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := mk(t0, "succeeded", "rules")
	mk(t0.Add(time.Minute), "failed", "rules")
	b := mk(t0.Add(2*time.Minute), "succeeded", "audit_findings")
	if r, err := ws.LatestRunWith("rules"); err != nil || r.ID != a.ID {
		t.Errorf("latest with rules: %v %v, want %s (the failed run does not count)", r.ID, err, a.ID)
	}
	if r, _, err := ws.Run("latest"); err != nil || r.ID != b.ID {
		t.Errorf("latest: %v %v", r.ID, err)
	}
	if _, _, err := ws.Run("nope"); err == nil {
		t.Error("unknown run must fail")
	}
}
