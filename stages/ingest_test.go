package stages

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// writeDir writes entity files into a fresh directory.
func writeDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ingestDir(t testing.TB, ws *workspace.Workspace, dir, sync string, m Mapping) (*IngestResult, error) {
	t.Helper()
	src, err := DirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	return Ingest(context.Background(), ws, IngestOptions{Source: src, Mapping: m, Sync: sync})
}

func newWS(t testing.TB) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// table reads a current table as rows of strings (nulls as "") for the
// named columns.
func table(t testing.TB, ws *workspace.Workspace, name string, cols ...string) [][]string {
	t.Helper()
	gen, err := ws.Current()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := formats.ReadTable(context.Background(), gen.TablePath(name), cols)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var rows [][]string
	for r := 0; r < int(rec.NumRows()); r++ {
		var row []string
		for c := range cols {
			a := rec.Column(c)
			if a.IsNull(r) {
				row = append(row, "")
				continue
			}
			switch a.(type) {
			case *array.String, *array.Dictionary:
				row = append(row, string(textOf(a, r)))
			default:
				row = append(row, a.ValueStr(r))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func rejects(t testing.TB, ws *workspace.Workspace) []string {
	t.Helper()
	var out []string
	for _, r := range table(t, ws, "rejects", "entity", "file", "line", "column", "reason") {
		out = append(out, filepath.Base(r[1])+":"+r[2]+":"+r[3]+": "+r[4])
	}
	return out
}

const goodIdentities = "usr_id,usr_name,usr_manager_id,DEPT\nb,Bea,a,Sales\na,Al,,Sales\nc,Cy,a,IT\n"

func goodFiles() map[string]string {
	return map[string]string{
		"applications.csv": "app_id,app_name,app_owner_id\nA1,App One,a\n",
		"entitlements.csv": "ent_id,ent_name,ent_owner_id,app_id\ne2,E2,a,A1\ne1,E1,b,A1\n",
		"identities.csv":   goodIdentities,
		"assignments.csv":  "usr_id,ent_id,last_used\nb,e1,2024-05-01\na,e2,\nb,e2,2024-05-02T10:00:00Z\n",
	}
}

func TestIngestIdsAndOrder(t *testing.T) {
	ws := newWS(t)
	res, err := ingestDir(t, ws, writeDir(t, goodFiles()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"applications": 1, "entitlements": 2, "identities": 3, "assignments": 3}; !reflect.DeepEqual(res.Rows, want) {
		t.Errorf("rows %v, want %v", res.Rows, want)
	}
	if got, want := table(t, ws, "identities", "usr_idx", "usr_id", "DEPT", "src_line"), [][]string{{"0", "a", "Sales", "3"}, {"1", "b", "Sales", "2"}, {"2", "c", "IT", "4"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("identities %v, want %v", got, want)
	}
	got := table(t, ws, "assignments", "usr_idx", "ent_idx", "usr_id", "ent_id", "last_used", "src_line")
	want := [][]string{
		{"0", "1", "a", "e2", "", "3"},
		{"1", "0", "b", "e1", "2024-05-01T00:00:00Z", "2"},
		{"1", "1", "b", "e2", "2024-05-02T10:00:00Z", "4"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("assignments\n got %v\nwant %v", got, want)
	}
}

func TestIngestRejectsRows(t *testing.T) {
	cases := []struct {
		name, identities string
		want             []string
	}{
		{"ragged row", "usr_id,DEPT\na,x\nb\nc,y\n", []string{"identities.csv:3:: wrong number of fields: 1, header has 2"}},
		{"unterminated quote", "usr_id,DEPT\na,x\nb,\"y\nc,z\n", []string{"identities.csv:3:: unterminated quoted field (the rest of the file is inside it)"}},
		{"invalid utf8", "usr_id,DEPT\na,x\nb,\xc3\x28\n", []string{"identities.csv:3:DEPT: value is not valid UTF-8"}},
		{"duplicate key", "usr_id,DEPT\na,x\nb,y\na,z\n", []string{`identities.csv:4:usr_id: duplicate key "a" (first at line 2)`}},
		{"missing key value", "usr_id,DEPT\na,x\n,y\n", []string{"identities.csv:3:usr_id: missing required value"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := newWS(t)
			if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": c.identities}), "", nil); err != nil {
				t.Fatal(err)
			}
			if got := rejects(t, ws); !reflect.DeepEqual(got, c.want) {
				t.Errorf("rejects %q, want %q", got, c.want)
			}
			ids := table(t, ws, "identities", "usr_id", "DEPT")
			if ids[0][0] != "a" || ids[0][1] != "x" {
				t.Errorf("the good rows must land: %v", ids)
			}
		})
	}
}

func TestIngestFileErrorsKeepTables(t *testing.T) {
	parquetWrongType := func(t *testing.T, dir string) {
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
			{Name: "usr_id", Type: arrow.PrimitiveTypes.Int64}, {Name: "DEPT", Type: arrow.BinaryTypes.String}}, nil))
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(7)
		b.Field(1).(*array.StringBuilder).Append("x")
		rec := b.NewRecord()
		defer rec.Release()
		if err := formats.WriteParquet(filepath.Join(dir, "identities.parquet"), rec); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		content string
		setup   func(*testing.T, string)
		want    error
		msg     string
	}{
		{name: "empty file", content: "", want: formats.ErrEmptyFile, msg: "identities.csv: file is empty"},
		{name: "header only", content: "usr_id,DEPT\n", want: formats.ErrHeaderOnly, msg: "identities.csv: file has a header but no data rows"},
		{name: "missing required column", content: "user,DEPT\na,x\n", want: formats.ErrMissingColumn, msg: `identities.csv: column "usr_id": required column missing`},
		{name: "duplicate header", content: "usr_id,DEPT,DEPT\na,x,y\n", want: formats.ErrDuplicateHeader, msg: `identities.csv:1: column "DEPT": duplicate column in header`},
		{name: "duplicate after case folding", content: "usr_id,USR_ID\na,b\n", want: formats.ErrDuplicateHeader, msg: `identities.csv:1: column "USR_ID": duplicate column in header: "usr_id" and "USR_ID" both give column "usr_id"`},
		{name: "parquet wrong column type", setup: parquetWrongType, want: formats.ErrColumnType, msg: `identities.parquet: column "usr_id": column has the wrong type: int64, want string`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ws := newWS(t)
			if _, err := ingestDir(t, ws, writeDir(t, goodFiles()), "", nil); err != nil {
				t.Fatal(err)
			}
			before := table(t, ws, "identities", "usr_id", "DEPT")
			genBefore, _ := ws.Current()
			var dir string
			if c.setup != nil {
				dir = t.TempDir()
				c.setup(t, dir)
			} else {
				dir = writeDir(t, map[string]string{"identities.csv": c.content})
			}
			_, err := ingestDir(t, ws, dir, "", nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), dir) {
				t.Errorf("message %q must name the file (%s) and contain %q", err, dir, c.msg)
			}
			genAfter, _ := ws.Current()
			if genAfter != genBefore {
				t.Errorf("current tables changed from %s to %s", genBefore.Name, genAfter.Name)
			}
			if after := table(t, ws, "identities", "usr_id", "DEPT"); !reflect.DeepEqual(after, before) {
				t.Errorf("identities changed: %v -> %v", before, after)
			}
			if ents, _ := os.ReadDir(filepath.Join(ws.Root, "tables")); len(ents) != 2 { // CURRENT + one generation
				t.Errorf("a failed ingest left files behind: %v", ents)
			}
		})
	}
}

func TestIngestAcceptsUnchanged(t *testing.T) {
	ws := newWS(t)
	content := "\xEF\xBB\xBFusr_id,NOTE,CITY\r\n" +
		"a,\"x, \"\"quoted\"\"\r\nnext line\",Pierre \r\n" +
		"b,Zürich 東京,  lead\r\n"
	if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": content}), "", nil); err != nil {
		t.Fatal(err)
	}
	got := table(t, ws, "identities", "usr_id", "NOTE", "CITY", "src_line")
	want := [][]string{{"a", "x, \"quoted\"\r\nnext line", "Pierre ", "2"}, {"b", "Zürich 東京", "  lead", "4"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if r := rejects(t, ws); len(r) != 0 {
		t.Errorf("rejects: %v", r)
	}
}

func TestIngestUnknownReferencesKeptAndAudited(t *testing.T) {
	ws := newWS(t)
	files := goodFiles()
	files["assignments.csv"] = "usr_id,ent_id\nb,e1\nzed,e1\na,nope\n"
	if _, err := ingestDir(t, ws, writeDir(t, files), "", nil); err != nil {
		t.Fatal(err)
	}
	got := table(t, ws, "assignments", "usr_idx", "ent_idx", "usr_id", "ent_id")
	want := [][]string{{"0", "", "a", "nope"}, {"1", "0", "b", "e1"}, {"", "0", "zed", "e1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("assignments %v, want %v", got, want)
	}
	gen, _ := ws.Current()
	res, err := Audit(context.Background(), gen, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, f := range res.Findings {
		if f.Severity == SevError {
			errs = append(errs, filepath.Base(f.File)+":"+itoa(f.Line)+": "+f.Check+": "+f.Message)
		}
	}
	sort.Strings(errs)
	wantErrs := []string{
		`assignments.csv:3: unknown_identity: identity "zed" is not in identities`,
		`assignments.csv:4: unknown_entitlement: entitlement "nope" is not in entitlements`,
	}
	if !reflect.DeepEqual(errs, wantErrs) || res.InvalidAssignments != 2 {
		t.Errorf("audit errors %q (invalid %d), want %q", errs, res.InvalidAssignments, wantErrs)
	}
}

func itoa(n int64) string { return strings.TrimSpace(strings.Repeat(" ", 0) + formatInt(n)) }

func formatInt(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestIngestSyncTypes(t *testing.T) {
	base := map[string]string{"identities.csv": "usr_id,DEPT,CITY\na,Sales,Rome\nb,IT,Oslo\nc,HR,Lima\n"}
	cases := []struct {
		sync, file string
		want       [][]string
		rejects    []string
	}{
		{SyncFull, "usr_id,DEPT,CITY\nd,Ops,\na,Eng,\n", [][]string{{"a", "Eng", ""}, {"d", "Ops", ""}}, nil},
		{SyncIncremental, "usr_id,DEPT\nd,Ops\na,Eng\n", [][]string{{"a", "Eng", ""}, {"b", "IT", "Oslo"}, {"c", "HR", "Lima"}, {"d", "Ops", ""}}, nil},
		{SyncEnrichment, "usr_id,CITY\na,Paris\nzz,Nowhere\n", [][]string{{"a", "Sales", "Paris"}, {"b", "IT", "Oslo"}, {"c", "HR", "Lima"}},
			[]string{`identities.csv:3:usr_id: enrichment of unknown key "zz"`}},
		{SyncDelete, "usr_id\nb\nzz\n", [][]string{{"a", "Sales", "Rome"}, {"c", "HR", "Lima"}},
			[]string{`identities.csv:3:usr_id: delete of unknown key "zz"`}},
	}
	for _, c := range cases {
		t.Run(c.sync, func(t *testing.T) {
			ws := newWS(t)
			if _, err := ingestDir(t, ws, writeDir(t, base), "", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": c.file}), c.sync, nil); err != nil {
				t.Fatal(err)
			}
			if got := table(t, ws, "identities", "usr_id", "DEPT", "CITY"); !reflect.DeepEqual(got, c.want) {
				t.Errorf("identities %q, want %q", got, c.want)
			}
			if got := rejects(t, ws); !reflect.DeepEqual(got, c.rejects) {
				t.Errorf("rejects %q, want %q", got, c.rejects)
			}
			if _, ok := ws.Previous(); !ok {
				t.Error("the previous identity snapshot must be kept")
			}
		})
	}
}

func TestIngestAssignmentSyncTypes(t *testing.T) {
	base := goodFiles()
	cases := []struct {
		sync, file string
		want       [][]string
		rejects    []string
	}{
		{SyncIncremental, "usr_id,ent_id,last_used\nc,e1,\nb,e1,2025-01-01\n", [][]string{
			{"a", "e2", ""}, {"b", "e1", "2025-01-01T00:00:00Z"}, {"b", "e2", "2024-05-02T10:00:00Z"}, {"c", "e1", ""}}, nil},
		{SyncEnrichment, "usr_id,ent_id,last_used\na,e2,2025-02-02\nc,e2,2025-01-01\n", [][]string{
			{"a", "e2", "2025-02-02T00:00:00Z"}, {"b", "e1", "2024-05-01T00:00:00Z"}, {"b", "e2", "2024-05-02T10:00:00Z"}},
			[]string{"assignments.csv:3:: enrichment of unknown assignment"}},
		{SyncDelete, "usr_id,ent_id\nb,e1\nc,e1\nb,e1\n", [][]string{{"a", "e2", ""}, {"b", "e2", "2024-05-02T10:00:00Z"}},
			[]string{"assignments.csv:3:: delete of unknown assignment", "assignments.csv:4:: duplicate assignment (first at line 2)"}},
	}
	for _, c := range cases {
		t.Run(c.sync, func(t *testing.T) {
			ws := newWS(t)
			if _, err := ingestDir(t, ws, writeDir(t, base), "", nil); err != nil {
				t.Fatal(err)
			}
			if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"assignments.csv": c.file}), c.sync, nil); err != nil {
				t.Fatal(err)
			}
			if got := table(t, ws, "assignments", "usr_id", "ent_id", "last_used"); !reflect.DeepEqual(got, c.want) {
				t.Errorf("assignments %q, want %q", got, c.want)
			}
			got := rejects(t, ws)
			sort.Strings(got)
			if !reflect.DeepEqual(got, c.rejects) {
				t.Errorf("rejects %q, want %q", got, c.rejects)
			}
		})
	}
}

// An identities-only ingest renumbers identities; the stored assignments
// must follow their new ids.
func TestIngestRenumbersAssignments(t *testing.T) {
	ws := newWS(t)
	if _, err := ingestDir(t, ws, writeDir(t, goodFiles()), "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": "usr_id\n0first\na\nb\n"}), SyncFull, nil); err != nil {
		t.Fatal(err)
	}
	got := table(t, ws, "assignments", "usr_idx", "usr_id", "ent_id")
	want := [][]string{{"1", "a", "e2"}, {"2", "b", "e1"}, {"2", "b", "e2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("assignments %q, want %q", got, want)
	}
}

func TestIngestMapping(t *testing.T) {
	m, err := LoadMapping(filepath.Join("..", "testdata", "showcase-mapping.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Mapping{"entitlements": {{Source: "ENT_OWNER", Target: "ent_owner_id", Apply: true}}}); !reflect.DeepEqual(m, want) {
		t.Errorf("mapping %+v", m)
	}
	listForm := writeDir(t, map[string]string{"m.json": `{"identities": [{"source": "LOGIN", "target": "usr_id", "apply": true}, {"source": "X", "target": "Y", "apply": false}]}`})
	m2, err := LoadMapping(filepath.Join(listForm, "m.json"))
	if err != nil {
		t.Fatal(err)
	}
	ws := newWS(t)
	if _, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": "LOGIN,X\nu1,v\n"}), "", m2); err != nil {
		t.Fatal(err)
	}
	if got := table(t, ws, "identities", "usr_id", "X"); !reflect.DeepEqual(got, [][]string{{"u1", "v"}}) {
		t.Errorf("got %v", got)
	}
	bad := writeDir(t, map[string]string{"m.yaml": "users:\n  A: b\n"})
	if _, err := LoadMapping(filepath.Join(bad, "m.yaml")); err == nil || !strings.Contains(err.Error(), `unknown entity "users"`) {
		t.Errorf("bad entity: %v", err)
	}
}

func TestIngestOtherSources(t *testing.T) {
	ws := newWS(t)
	dir := writeDir(t, map[string]string{"identities.jsonl": `{"usr_id": "a", "DEPT": "x", "AGE": 41}` + "\n" + `{"usr_id": "b", "DEPT": null}` + "\n" + `[1]` + "\n"})
	if _, err := ingestDir(t, ws, dir, "", nil); err != nil {
		t.Fatal(err)
	}
	if got := table(t, ws, "identities", "usr_id", "DEPT", "AGE"); !reflect.DeepEqual(got, [][]string{{"a", "x", "41"}, {"b", "", ""}}) {
		t.Errorf("jsonl identities %q", got)
	}
	if got := rejects(t, ws); len(got) != 1 || !strings.HasPrefix(got[0], "identities.jsonl:3::") {
		t.Errorf("jsonl rejects %q", got)
	}
}

// FuzzIngestCSV feeds arbitrary identities files through the whole ingest:
// it must never panic, and every data row either lands or is rejected.
func FuzzIngestCSV(f *testing.F) {
	f.Add("usr_id,A\na,1\nb,\"2\n")
	f.Add("usr_id\n\xff\n")
	f.Add("usr_id,A\na,1\na,2\n,3\n")
	f.Fuzz(func(t *testing.T, content string) {
		ws := newWS(t)
		res, err := ingestDir(t, ws, writeDir(t, map[string]string{"identities.csv": content}), "", nil)
		if err != nil {
			var fe *formats.FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error without file: %v", err)
			}
			return
		}
		if res.Rows["identities"]+res.Rejects["identities"] != res.Read["identities"] {
			t.Fatalf("rows %d + rejects %d != read %d", res.Rows["identities"], res.Rejects["identities"], res.Read["identities"])
		}
	})
}

// TestSortedAssignmentsMatchMerge checks that assignments written straight
// from the read chunks (writeSortedAssignments) are the table and rejects
// that mergeAssignments and buildAssignmentRecord make: identities grouped
// but with entitlements out of order, an identity's rows in two places,
// duplicates, unknown identities and entitlements, and chunk boundaries.
func TestSortedAssignmentsMatchMerge(t *testing.T) {
	const nUsers, nEnts = 3000, 60
	rng := rand.New(rand.NewPCG(1, 2))
	var ids, ents strings.Builder
	ids.WriteString("usr_id,usr_name\n")
	for u := 0; u < nUsers; u++ {
		fmt.Fprintf(&ids, "user%05d,U\n", (u*7919)%nUsers)
	}
	ents.WriteString("ent_id,ent_name,app_id\n")
	for e := 0; e < nEnts; e++ {
		fmt.Fprintf(&ents, "ent%03d,E,A1\n", (e*37)%nEnts)
	}
	row := func(b *strings.Builder, u, e int) {
		us, es := fmt.Sprintf("user%05d", u), fmt.Sprintf("ent%03d", e)
		if u >= nUsers {
			us = fmt.Sprintf("ghost%d", u)
		}
		if e >= nEnts {
			es = fmt.Sprintf("gone%d", e)
		}
		fmt.Fprintf(b, "%s,%s,2024-01-%02dT00:00:00Z\n", us, es, 1+rng.IntN(28))
	}
	grouped := func() string {
		var b strings.Builder
		b.WriteString("usr_id,ent_id,last_used\n")
		var later [][2]int
		for k := 0; k < nUsers+20; k++ {
			u := (k * 1237) % (nUsers + 20)
			for range 60 + rng.IntN(60) {
				e := rng.IntN(nEnts + 3)
				if rng.IntN(10) == 0 {
					later = append(later, [2]int{u, e}) // the identity again, further down
					continue
				}
				row(&b, u, e)
			}
		}
		for _, x := range later {
			row(&b, x[0], x[1])
		}
		return b.String()
	}
	shuffled := func() string {
		var b strings.Builder
		b.WriteString("usr_id,ent_id,last_used\n")
		for range 100000 {
			row(&b, rng.IntN(nUsers+20), rng.IntN(nEnts+3))
		}
		return b.String()
	}
	for _, tc := range []struct {
		name   string
		csv    string
		direct bool // written from the chunks, not through mergeAssignments
	}{{"grouped", grouped(), true}, {"shuffled", shuffled(), false}} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.direct && len(tc.csv) < 5<<20 {
				t.Fatalf("input of %d bytes is one chunk", len(tc.csv))
			}
			dir := writeDir(t, map[string]string{"identities.csv": ids.String(), "entitlements.csv": ents.String(), "assignments.csv": tc.csv})
			src, err := DirSource(dir)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// The keys in byte order, as the ingest of those files gives them.
			uKeys, eKeys := formats.NewColumn(), formats.NewColumn()
			for u := 0; u < nUsers; u++ {
				uKeys.Append(fmt.Appendf(nil, "user%05d", u))
			}
			for e := 0; e < nEnts; e++ {
				eKeys.Append(fmt.Appendf(nil, "ent%03d", e))
			}

			// Through mergeAssignments.
			users, entsIdx := newKeyIndex(&uKeys), newKeyIndex(&eKeys)
			in, _, err := readAssignments(ctx, src, nil, users, entsIdx, nil)
			if err != nil {
				t.Fatal(err)
			}
			in.flatten()
			refs, wantRej := mergeAssignments(nil, in, SyncFull, int(users.nKnown()))
			rec := buildAssignmentRecord(nil, in, refs, users, entsIdx)
			wantPath := filepath.Join(t.TempDir(), "want.parquet")
			if err := formats.WriteParquet(wantPath, rec); err != nil {
				t.Fatal(err)
			}
			rec.Release()

			// From the chunks.
			users, entsIdx = newKeyIndex(&uKeys), newKeyIndex(&eKeys)
			in, _, err = readAssignments(ctx, src, nil, users, entsIdx, nil)
			if err != nil {
				t.Fatal(err)
			}
			gotPath := filepath.Join(t.TempDir(), "got.parquet")
			n, gotRej, ok, err := writeSortedAssignments(gotPath, in, users, entsIdx, 50000) // several row groups
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.direct {
				t.Fatalf("written from chunks %v, want %v", ok, tc.direct)
			}
			if !ok {
				return
			}
			if n != len(refs) {
				t.Errorf("%d rows, want %d", n, len(refs))
			}
			if len(wantRej) == 0 {
				t.Fatal("no duplicates in the input")
			}
			key := func(rs []formats.Reject) []string {
				var out []string
				for _, r := range rs {
					out = append(out, fmt.Sprintf("%s:%d:%s:%s", r.File, r.Line, r.Column, r.Reason))
				}
				sort.Strings(out)
				return out
			}
			if !reflect.DeepEqual(key(gotRej), key(wantRej)) {
				t.Errorf("rejects differ: %d, want %d", len(gotRej), len(wantRej))
			}
			want, err := formats.ReadTable(ctx, wantPath, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer want.Release()
			for _, read := range []func(context.Context, string, []string) (arrow.Record, error){formats.ReadTable, formats.ReadTableDict} {
				got, err := read(ctx, gotPath, nil)
				if err != nil {
					t.Fatal(err)
				}
				for c := 0; c < int(want.NumCols()); c++ {
					for r := 0; r < int(want.NumRows()); r++ {
						if w, g := textValueOf(want.Column(c), r), textValueOf(got.Column(c), r); w != g {
							t.Fatalf("column %s row %d: %q, want %q", want.Schema().Field(c).Name, r, g, w)
						}
					}
				}
				got.Release()
			}
		})
	}
}

// textValueOf renders one value of any column for comparison.
func textValueOf(a arrow.Array, r int) string {
	if a.IsNull(r) {
		return "<null>"
	}
	switch a.(type) {
	case *array.String, *array.Dictionary:
		return string(textOf(a, r))
	}
	return a.ValueStr(r)
}
