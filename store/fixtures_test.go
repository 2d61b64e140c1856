package store

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/formats"
)

// tcol is a column of a hand-built table: []string ("" is null), []int32
// (-1 is null), []int64, []float64 (NaN is null) or [][]string (a list).
type tcol struct {
	name string
	vals any
}

func buildRecord(t testing.TB, cols ...tcol) arrow.Record {
	t.Helper()
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var arrs []arrow.Array
	n := -1
	for _, c := range cols {
		var a arrow.Array
		switch v := c.vals.(type) {
		case []string:
			b := array.NewStringBuilder(mem)
			for _, s := range v {
				if s == "" {
					b.AppendNull()
				} else {
					b.Append(s)
				}
			}
			a = b.NewArray()
			b.Release()
		case []int32:
			b := array.NewInt32Builder(mem)
			for _, x := range v {
				if x < 0 {
					b.AppendNull()
				} else {
					b.Append(x)
				}
			}
			a = b.NewArray()
			b.Release()
		case []int64:
			b := array.NewInt64Builder(mem)
			b.AppendValues(v, nil)
			a = b.NewArray()
			b.Release()
		case []float64:
			b := array.NewFloat64Builder(mem)
			for _, x := range v {
				if math.IsNaN(x) {
					b.AppendNull()
				} else {
					b.Append(x)
				}
			}
			a = b.NewArray()
			b.Release()
		case [][]string:
			b := array.NewListBuilder(mem, arrow.BinaryTypes.String)
			vb := b.ValueBuilder().(*array.StringBuilder)
			for _, l := range v {
				b.Append(true)
				for _, s := range l {
					vb.Append(s)
				}
			}
			a = b.NewArray()
			b.Release()
		default:
			t.Fatalf("column %s: unsupported %T", c.name, c.vals)
		}
		if n >= 0 && a.Len() != n {
			t.Fatalf("column %s: %d rows, want %d", c.name, a.Len(), n)
		}
		n = a.Len()
		fields = append(fields, arrow.Field{Name: c.name, Type: a.DataType(), Nullable: true})
		arrs = append(arrs, a)
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func writeTable(t testing.TB, dir, name string, cols ...tcol) {
	t.Helper()
	rec := buildRecord(t, cols...)
	defer rec.Release()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := formats.WriteParquet(filepath.Join(dir, name+".parquet"), rec); err != nil {
		t.Fatal(err)
	}
}

// fakeRun is a run's tables on disk: entity tables and run tables.
type fakeRun struct {
	id, gen   string
	entityDir string
	runDir    string
}

func (r fakeRun) options() LoadOptions {
	has := func(dir string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			p := filepath.Join(dir, name+".parquet")
			_, err := os.Stat(p)
			return p, err == nil
		}
	}
	return LoadOptions{RunID: r.id, Generation: r.gen, RunFinished: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		EntityTable: has(r.entityDir), RunTable: has(r.runDir), High: 0.75, Medium: 0.35, RecommendMinConfidence: 0.1}
}

// Byte order matters: "B" < "a" < "a " < "é" (0xc3) in bytes.
var fixtureUsers = []string{"B", "a", "a ", "é"}

// entityTables writes identities, entitlements, applications and
// assignments; u2 is an assignment to an unknown identity.
func entityTables(t testing.TB, dir string) {
	writeTable(t, dir, "identities",
		tcol{"usr_idx", []int32{0, 1, 2, 3}},
		tcol{"usr_id", fixtureUsers},
		tcol{"usr_name", []string{"Bea", "Al", "Al Space", "Eve"}},
		tcol{"usr_manager_id", []string{"", "B", "B", "nobody"}},
		tcol{"USR_EMP_TYPE", []string{"Employee", "Employee", "Contractor", ""}},
		tcol{"CITY", []string{"Paris", "Paris ", "Rome", "Rome"}},
		tcol{"src_line", []int64{2, 3, 4, 5}})
	writeTable(t, dir, "applications",
		tcol{"app_idx", []int32{0}}, tcol{"app_id", []string{"app1"}}, tcol{"app_name", []string{"App <1>"}},
		tcol{"app_owner_id", []string{"B"}}, tcol{"app_criticality", []string{""}}, tcol{"app_risk_level", []string{"High"}})
	writeTable(t, dir, "entitlements",
		tcol{"ent_idx", []int32{0, 1, 2}}, tcol{"ent_id", []string{"e1", "e2", "e3 "}},
		tcol{"ent_name", []string{"E one", "E two", "E three"}}, tcol{"ent_owner_id", []string{"B", "", "a"}},
		tcol{"app_id", []string{"app1", "app1", ""}})
	writeTable(t, dir, "assignments",
		tcol{"usr_idx", []int32{0, 0, 1, 2, 3, -1}}, tcol{"ent_idx", []int32{0, 1, 0, 2, 1, 0}},
		tcol{"usr_id", []string{"B", "B", "a", "a ", "é", "ghost"}},
		tcol{"ent_id", []string{"e1", "e2", "e1", "e3 ", "e2", "e1"}})
}

// scoreTables writes the run tables of a run that scored (rules,
// assignment_scores, recommendations); scale varies the scores so that two
// runs differ.
func scoreTables(t testing.TB, dir string, scale float64) {
	nan := math.NaN()
	writeTable(t, dir, "assignment_scores",
		tcol{"usr_idx", []int32{0, 0, 1, 2, 3}}, tcol{"ent_idx", []int32{0, 1, 0, 2, 1}},
		tcol{"usr_id", []string{"B", "B", "a", "a ", "é"}},
		tcol{"ent_id", []string{"e1", "e2", "e1", "e3 ", "e2"}},
		tcol{"score", []float64{0.9 * scale, 0.5 * scale, 0.2 * scale, nan, 131.0 / 134.0}},
		tcol{"band", []string{"High", "Medium", "Low", "Unscored", "High"}},
		tcol{"justification", [][]string{{"04_CITY_Paris"}, {"04_CITY_Paris", "0C_USR_EMP_TYPE_Employee"}, {"04_CITY_Paris "}, {}, {`04_CITY_Rome "q"`}}},
		tcol{"freq", []int64{10, 8, 5, 0, 134}}, tcol{"frequnion", []int64{9, 4, 1, 0, 131}})
	writeTable(t, dir, "rules",
		tcol{"ent_id", []string{"e1", "e2"}},
		tcol{"justification", [][]string{{"04_CITY_Paris"}, {"04_CITY_Paris", "0C_USR_EMP_TYPE_Employee"}}},
		tcol{"freq", []int64{10, 8}}, tcol{"frequnion", []int64{9, 4}}, tcol{"confidence", []float64{0.9, 0.5}})
	writeTable(t, dir, "recommendations",
		tcol{"usr_id", []string{"a", "a", "a "}}, tcol{"ent_id", []string{"e2", "e3 ", "e1"}},
		tcol{"confidence", []float64{0.5, 0.05, 0.9}}, tcol{"freq", []int64{8, 20, 10}}, tcol{"frequnion", []int64{4, 1, 9}},
		tcol{"justification", [][]string{{"04_CITY_Paris"}, {"x"}, {"04_CITY_Rome"}}})
}

// newFakeRun makes a run directory with entity tables and, when scored,
// the run's result tables.
func newFakeRun(t testing.TB, id string, scored bool, scale float64) fakeRun {
	base := fixtureDir(t)
	r := fakeRun{id: id, gen: "g000001", entityDir: filepath.Join(base, "entities"), runDir: filepath.Join(base, "run")}
	entityTables(t, r.entityDir)
	if err := os.MkdirAll(r.runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if scored {
		scoreTables(t, r.runDir, scale)
	}
	return r
}

func mustLoad(t testing.TB, db *DB, r fakeRun) PublishResult {
	t.Helper()
	res, err := db.Load(context.Background(), r.options())
	if err != nil {
		t.Fatalf("load %s: %v", r.id, err)
	}
	return res
}
