package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/store"
)

// ingest, run and export end to end through the command line, on the tiny
// company; the data source lands in the embedded store.
func TestIngestRunExportCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ws := t.TempDir()
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"--workspace", ws}, args...), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	out := cli("ingest", "--dir", filepath.Join("..", "..", "testdata", "tiny"))
	if !strings.Contains(out, "identities            12 rows  0 rejected") {
		t.Errorf("ingest output:\n%s", out)
	}
	out = cli("run", "audit")
	if !strings.Contains(out, "audit: 12 identities, 4 entitlements, 2 applications, 24 assignments (22 valid, 2 invalid)") {
		t.Errorf("audit output:\n%s", out)
	}
	csv := cli("export", "audit_findings", "--format", "csv")
	if !strings.HasPrefix(csv, "severity,check,entity,key,column,file,line,value,message\n") || !strings.Contains(csv, `identity ""zed"" is not in identities`) {
		t.Errorf("export:\n%s", csv)
	}
	jsonl := cli("export", "identities", "--format", "jsonl")
	if !strings.Contains(jsonl, `"usr_id":"ann"`) || strings.Count(jsonl, "\n") != 12 {
		t.Errorf("jsonl export:\n%s", jsonl)
	}
	db, err := store.Open(context.Background(), "", ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds, err := db.DataSources(context.Background())
	if err != nil || len(ds) != 1 || ds[0].ConnectionType != "csv" || !strings.HasSuffix(ds[0].Name, filepath.Join("testdata", "tiny")) {
		t.Errorf("stored data sources %+v, %v", ds, err)
	}
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"--workspace", ws, "export", "nope", "--format", "csv"}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), `table "nope"`) {
		t.Errorf("unknown table: exit %d: %s", code, errb.String())
	}
	if code := run(context.Background(), []string{"--workspace", ws, "ingest", "--dir", t.TempDir()}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), "no applications, entitlements, identities or assignments file") {
		t.Errorf("empty dir: exit %d: %s", code, errb.String())
	}
}
