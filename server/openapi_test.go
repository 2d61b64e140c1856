package server

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestOpenAPIGolden guards the API contract: the document generated from
// the route table must equal testdata/openapi.golden.json. After an
// intended change of routes, run go test ./server -run OpenAPI -update and
// review the diff.
func TestOpenAPIGolden(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Version = "test" })
	w := ts.do("GET", "/api/openapi.json", nil)
	wantStatus(t, w, 200)
	var doc any
	decodeBody(t, w, &doc)
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "openapi.golden.json")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) && i < len(wl); i++ {
			if gl[i] != wl[i] {
				t.Fatalf("the OpenAPI document differs from %s at line %d:\n got %s\nwant %s\n(run go test ./server -run OpenAPI -update after an intended change)", golden, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("the OpenAPI document differs from %s in length (%d lines, want %d)", golden, len(gl), len(wl))
	}
}

// TestOpenAPIHasEveryRoute checks every registered route is documented
// with its access.
func TestOpenAPIHasEveryRoute(t *testing.T) {
	ts := newTestServer(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Summary  string           `json:"summary"`
			Security []map[string]any `json:"security"`
			Groups   []string         `json:"x-groups"`
		} `json:"paths"`
	}
	decodeBody(t, ts.do("GET", "/api/openapi.json", nil), &doc)
	n := 0
	for _, r := range ts.srv.table {
		op, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s is not in the OpenAPI document", r.Method, r.Path)
			continue
		}
		n++
		if op.Summary == "" {
			t.Errorf("%s %s has no summary", r.Method, r.Path)
		}
		if r.Access.public != (len(op.Security) == 0) {
			t.Errorf("%s %s: security %v does not match its access", r.Method, r.Path, op.Security)
		}
		if len(op.Groups) != len(r.Access.groups) {
			t.Errorf("%s %s: x-groups %v, want %v", r.Method, r.Path, op.Groups, r.Access.groups)
		}
	}
	ops := 0
	for _, p := range doc.Paths {
		ops += len(p)
	}
	if ops != n || n != len(ts.srv.table) {
		t.Errorf("%d operations documented, %d routes", ops, len(ts.srv.table))
	}
}
