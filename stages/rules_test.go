package stages_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/internal/shared"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/workspace"
)

// showcaseFeatures is the feature list of the conformance cases (section 13).
var showcaseFeatures = []string{"CITY", "USR_DEPARTMENT_NAME", "COST_CENTER", "JOBCODE_NAME", "LINE_OF_BUSINESS",
	"LINE_OF_BUSINESS_SUBGROUP", "CHIEF_YES_NO", "USR_EMP_TYPE", "MANAGER_NAME", "USR_MANAGER_ID"}

// showcaseWorkspace ingests the showcase sample with its mapping into a
// fresh workspace (skipped without ../shared, failed with CI=true).
func showcaseWorkspace(tb testing.TB) *workspace.Workspace {
	tb.Helper()
	dir := shared.Showcase(tb)
	m, err := stages.LoadMapping(shared.MappingFile())
	if err != nil {
		tb.Fatal(err)
	}
	ws, err := workspace.Open(filepath.Join(tb.TempDir(), "ws"))
	if err != nil {
		tb.Fatal(err)
	}
	src, err := stages.DirSource(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := stages.Ingest(context.Background(), ws, stages.IngestOptions{Source: src, Mapping: m}); err != nil {
		tb.Fatal(err)
	}
	return ws
}

func showcaseConfig() stages.Config {
	cfg := stages.DefaultConfig()
	cfg.Features = showcaseFeatures
	return cfg
}

// runRuleJobs does what the train, predict-as-is and recommend jobs do and
// writes their tables into dir.
func runRuleJobs(tb testing.TB, gen workspace.Generation, cfg stages.Config, dir string) {
	tb.Helper()
	ctx := context.Background()
	write := func(name string, rec arrow.Record) {
		defer rec.Release()
		if err := formats.WriteParquet(filepath.Join(dir, name+".parquet"), rec); err != nil {
			tb.Fatal(err)
		}
	}
	tr, err := stages.Train(ctx, gen, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	write("rules", tr.RulesRecord())
	write("driving_factors", tr.DrivingFactorsRecord())
	tr.Summary(&bytes.Buffer{})
	tr.Release()
	rulesPath := filepath.Join(dir, "rules.parquet")
	pr, err := stages.PredictAsIs(ctx, gen, cfg, rulesPath)
	if err != nil {
		tb.Fatal(err)
	}
	write("assignment_scores", pr.Record())
	pr.Summary(&bytes.Buffer{})
	pr.Release()
	rr, err := stages.Recommend(ctx, gen, cfg, rulesPath)
	if err != nil {
		tb.Fatal(err)
	}
	write("recommendations", rr.Record())
	rr.Summary(&bytes.Buffer{})
	rr.Release()
}

// rows reads a table as text rows, one string per row: the columns
// joined by " | ", lists as [a, b], nulls as NULL.
func rows(tb testing.TB, path string) (header []string, out []string) {
	tb.Helper()
	rec, err := formats.ReadTable(context.Background(), path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer rec.Release()
	for _, f := range rec.Schema().Fields() {
		header = append(header, f.Name)
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		var cells []string
		for c := 0; c < int(rec.NumCols()); c++ {
			cells = append(cells, cell(rec.Column(c), r))
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return header, out
}

func cell(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return "NULL"
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(r)
	case *array.Dictionary:
		return cell(c.Dictionary(), c.GetValueIndex(r))
	case *array.List:
		lo, hi := c.ValueOffsets(r)
		var items []string
		for j := lo; j < hi; j++ {
			items = append(items, cell(c.ListValues(), int(j)))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case *array.Float64:
		return fmt.Sprint(c.Value(r))
	}
	return a.ValueStr(r)
}

// column returns the index of a header name.
func column(tb testing.TB, header []string, name string) int {
	tb.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	tb.Fatalf("no column %s in %v", name, header)
	return -1
}

// TestShowcaseConformance checks the conformance cases of section 13.
func TestShowcaseConformance(t *testing.T) {
	ws := showcaseWorkspace(t)
	gen, err := ws.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runRuleJobs(t, gen, showcaseConfig(), dir)

	// aaron.fischer's four documented assignments.
	h, scores := rows(t, filepath.Join(dir, "assignment_scores.parquet"))
	cu, ce, cs, cb, cj, cf, cfu := column(t, h, "usr_id"), column(t, h, "ent_id"), column(t, h, "score"), column(t, h, "band"),
		column(t, h, "justification"), column(t, h, "freq"), column(t, h, "frequnion")
	got := map[string][]string{}
	for _, r := range scores {
		c := strings.Split(r, " | ")
		if c[cu] == "aaron.fischer" {
			got[c[ce]] = c
		}
	}
	type want struct {
		ent           string
		score         float64 // 0: unscored
		freq, fu      string
		band          string
		justification string // "" : any of nItems items
		nItems        int
	}
	for _, w := range []want{
		{"WEB_user_Web_WEB RCQ Flare NonIT Distribution_Europe", 131.0 / 134, "134", "131", "High",
			"[0C_CHIEF_YES_NO_Yes, 13_USR_DEPARTMENT_NAME_Information Systems 1]", 2},
		{"Web_Flare NonIT Distribution", 3.0 / 5, "5", "3", "Medium", "", 3},
		{"WEB_user_Web_Local Access 32 All_II_Europe", 0, "NULL", "NULL", "Unscored", "[]", 0},
		{"WEB_user_Web_Shared_Edit_ADMIN_Europe", 0, "NULL", "NULL", "Unscored", "[]", 0},
	} {
		c, ok := got[w.ent]
		if !ok {
			t.Errorf("aaron.fischer / %s: no score row", w.ent)
			continue
		}
		wantScore := "NULL"
		if w.score != 0 {
			wantScore = fmt.Sprint(w.score)
		}
		if c[cs] != wantScore || c[cf] != w.freq || c[cfu] != w.fu || c[cb] != w.band {
			t.Errorf("aaron.fischer / %s: score %s freq %s frequnion %s band %s; want %s %s %s %s",
				w.ent, c[cs], c[cf], c[cfu], c[cb], wantScore, w.freq, w.fu, w.band)
		}
		if w.justification != "" && c[cj] != w.justification {
			t.Errorf("aaron.fischer / %s: justification %s, want %s", w.ent, c[cj], w.justification)
		}
		if n := strings.Count(c[cj], ", ") + 1; w.nItems > 0 && n != w.nItems {
			t.Errorf("aaron.fischer / %s: justification %s, want %d items", w.ent, c[cj], w.nItems)
		}
	}

	// The two documented rules.
	h, rules := rows(t, filepath.Join(dir, "rules.parquet"))
	re, ri, rf, rfu := column(t, h, "ent_id"), column(t, h, "items"), column(t, h, "freq"), column(t, h, "frequnion")
	for _, w := range []struct{ ent, items, freq, fu string }{
		{"WEB_user_WEB RCQ Flare NonIT Distribution_II", "[0C_CHIEF_YES_NO_No, 0E_USR_MANAGER_ID_gregory.suhr]", "22", "3"},
		{"Web_tildeNon-security plus", "[0C_MANAGER_NAME_Gregory Suhr, 13_USR_DEPARTMENT_NAME_Facilities Area A]", "28", "4"},
	} {
		found := false
		for _, r := range rules {
			c := strings.Split(r, " | ")
			if c[re] == w.ent && c[ri] == w.items {
				found = true
				if c[rf] != w.freq || c[rfu] != w.fu {
					t.Errorf("rule %s → %s: freq %s frequnion %s, want %s %s", w.items, w.ent, c[rf], c[rfu], w.freq, w.fu)
				}
			}
		}
		if !found {
			t.Errorf("rule %s → %s missing from the stemmed rules", w.items, w.ent)
		}
	}
}

// TestRuleJobsDeterministic: two runs on the same input write
// byte-identical tables.
func TestRuleJobsDeterministic(t *testing.T) {
	ws := showcaseWorkspace(t)
	gen, err := ws.Current()
	if err != nil {
		t.Fatal(err)
	}
	a, b := t.TempDir(), t.TempDir()
	runRuleJobs(t, gen, showcaseConfig(), a)
	runRuleJobs(t, gen, showcaseConfig(), b)
	for _, name := range []string{"rules", "driving_factors", "assignment_scores", "recommendations"} {
		x, err := os.ReadFile(filepath.Join(a, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", name)
		}
		if len(x) < 100 {
			t.Errorf("%s: suspiciously small (%d bytes)", name, len(x))
		}
	}
}

// BenchmarkShowcaseRuleJobs times train, predict-as-is and recommend on
// the showcase sample, tables written (to the folder AUTOID_BENCH_OUT
// names, when set).
func BenchmarkShowcaseRuleJobs(b *testing.B) {
	ws := showcaseWorkspace(b)
	gen, err := ws.Current()
	if err != nil {
		b.Fatal(err)
	}
	dir := os.Getenv("AUTOID_BENCH_OUT")
	if dir == "" {
		dir = b.TempDir()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runRuleJobs(b, gen, showcaseConfig(), dir)
	}
}

// BenchmarkRuleJobsWorkspace runs rule jobs on an existing workspace, for
// the large synthetic company: AUTOID_BENCH_WORKSPACE names the workspace
// (skipped when unset), AUTOID_BENCH_PARAMS sets parameters (NAME=VALUE
// separated by ';'), AUTOID_BENCH_JOBS the jobs (comma-separated; default
// train). Tables are written to a temporary folder, or to the folder
// AUTOID_BENCH_OUT names (to compare the tables of two builds).
func BenchmarkRuleJobsWorkspace(b *testing.B) {
	_, gen, cfg := benchWorkspace(b)
	jobs := "train"
	if j := os.Getenv("AUTOID_BENCH_JOBS"); j != "" {
		jobs = j
	}
	dir := os.Getenv("AUTOID_BENCH_OUT")
	if dir == "" {
		dir = b.TempDir()
	}
	ctx := context.Background()
	rulesPath := filepath.Join(dir, "rules.parquet")
	write := func(name string, rec arrow.Record) {
		defer rec.Release()
		if err := formats.WriteParquet(filepath.Join(dir, name+".parquet"), rec); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rec.NumRows()), name+"-rows")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, job := range strings.Split(jobs, ",") {
			var sum bytes.Buffer
			switch job {
			case "train":
				r, err := stages.Train(ctx, gen, cfg)
				if err != nil {
					b.Fatal(err)
				}
				write("rules", r.RulesRecord())
				write("driving_factors", r.DrivingFactorsRecord())
				r.Summary(&sum)
				r.Release()
			case "predict-as-is":
				r, err := stages.PredictAsIs(ctx, gen, cfg, rulesPath)
				if err != nil {
					b.Fatal(err)
				}
				write("assignment_scores", r.Record())
				r.Summary(&sum)
				r.Release()
			case "recommend":
				r, err := stages.Recommend(ctx, gen, cfg, rulesPath)
				if err != nil {
					b.Fatal(err)
				}
				write("recommendations", r.Record())
				r.Summary(&sum)
				r.Release()
			default:
				b.Fatalf("unknown job %q", job)
			}
			if i == 0 {
				b.Log(sum.String())
			}
		}
	}
}

// benchWorkspace opens the workspace named by AUTOID_BENCH_WORKSPACE
// (skipping when unset), its current generation, and the configuration
// with AUTOID_BENCH_PARAMS (NAME=VALUE separated by ';') applied.
func benchWorkspace(b *testing.B) (*workspace.Workspace, workspace.Generation, stages.Config) {
	b.Helper()
	root := os.Getenv("AUTOID_BENCH_WORKSPACE")
	if root == "" {
		b.Skip("AUTOID_BENCH_WORKSPACE not set")
	}
	ws, err := workspace.Open(root)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := ws.Current()
	if err != nil {
		b.Fatal(err)
	}
	cfg := stages.DefaultConfig()
	for _, kv := range strings.Split(os.Getenv("AUTOID_BENCH_PARAMS"), ";") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			if err := cfg.Set(k, v); err != nil {
				b.Fatal(err)
			}
		}
	}
	return ws, gen, cfg
}
