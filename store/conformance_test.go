package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// state is what readers see: every page of assignments, the row counts of
// every serving table, the company view and the served run.
type state struct {
	Run         string
	Assignments []string
	Counts      map[string]int64
	Company     map[string]string
}

func allAssignments(t testing.TB, db *DB, aq AssignmentQuery) []Assignment {
	t.Helper()
	var all []Assignment
	for {
		page, next, err := db.Assignments(context.Background(), aq)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		aq.Cursor = next
	}
}

func fmtAssignment(a Assignment) string {
	s := "null"
	if a.Score != nil {
		s = fmt.Sprintf("%.17g", *a.Score)
	}
	app := "null"
	if a.AppID != nil {
		app = *a.AppID
	}
	return fmt.Sprintf("%q/%q app=%s score=%s band=%s just=%q", a.UsrID, a.EntID, app, s, a.Band, a.Justification)
}

func readState(t testing.TB, db *DB) state {
	t.Helper()
	ctx := context.Background()
	st := state{Counts: map[string]int64{}, Company: map[string]string{}}
	if p, err := db.Published(ctx); err == nil {
		st.Run = p.RunID
	} else if !errors.Is(err, ErrNotPublished) {
		t.Fatal(err)
	}
	for _, a := range allAssignments(t, db, AssignmentQuery{PageSize: 2}) {
		st.Assignments = append(st.Assignments, fmtAssignment(a))
	}
	for _, tb := range ServingTables() {
		n, err := db.Count(ctx, tb)
		if err != nil {
			t.Fatal(err)
		}
		st.Counts[tb] = n
	}
	rows, err := db.Query(ctx, `SELECT figure, value FROM company_view ORDER BY figure`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		st.Company[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return st
}

// queryStrings1 runs a query and renders each row's columns joined by "|".
func queryRows(t testing.TB, db *DB, q string, ncols int, args ...any) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]any, ncols)
		ptrs := make([]any, ncols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, v := range vals {
			switch x := v.(type) {
			case nil:
				parts = append(parts, "null")
			case []byte:
				parts = append(parts, string(x))
			case bool:
				if x {
					parts = append(parts, "1")
				} else {
					parts = append(parts, "0")
				}
			default:
				parts = append(parts, fmt.Sprint(x))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The conformance cases: each runs against every backend.
var conformanceCases = []struct {
	name string
	run  func(t *testing.T, h harness)
}{
	{"empty store is not published", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		if _, err := db.Published(context.Background()); !errors.Is(err, ErrNotPublished) {
			t.Fatalf("Published on an empty store: %v, want ErrNotPublished", err)
		}
		if _, err := db.GetDecision(context.Background(), "a", "e1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("GetDecision: %v, want ErrNotFound", err)
		}
	}},
	{"entity tables only: null scores, byte order paging", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		res := mustLoad(t, db, newFakeRun(t, "run-1", false, 1))
		if res.Skipped {
			t.Fatal("first load skipped")
		}
		got := allAssignments(t, db, AssignmentQuery{PageSize: 2})
		var keys []string
		for _, a := range got {
			keys = append(keys, a.UsrID+"\x00"+a.EntID)
			if a.Score != nil || a.Band != "unscored" || len(a.Justification) != 0 {
				t.Errorf("unscored load: %s", fmtAssignment(a))
			}
		}
		want := []string{"B\x00e1", "B\x00e2", "a\x00e1", "a \x00e3 ", "ghost\x00e1", "é\x00e2"}
		if !reflect.DeepEqual(keys, want) {
			t.Errorf("paging order %q, want %q", keys, want)
		}
		if !sort.StringsAreSorted(keys) {
			t.Errorf("not in byte order: %q", keys)
		}
		// Filters.
		byEnt := allAssignments(t, db, AssignmentQuery{EntID: "e1", PageSize: 1})
		if len(byEnt) != 3 {
			t.Errorf("ent e1: %d assignments, want 3", len(byEnt))
		}
		byApp := allAssignments(t, db, AssignmentQuery{AppID: "app1"})
		if len(byApp) != 5 {
			t.Errorf("app1: %d assignments, want 5", len(byApp))
		}
		byUser := allAssignments(t, db, AssignmentQuery{UsrID: "a "})
		if len(byUser) != 1 || byUser[0].EntID != "e3 " {
			t.Errorf("user 'a ': %v", byUser)
		}
		if got := queryRows(t, db, `SELECT usr_id, valid FROM assignments WHERE valid = $1 ORDER BY usr_id`, 2, false); !reflect.DeepEqual(got, []string{"ghost|0"}) {
			t.Errorf("invalid assignments %q", got)
		}
		if got := queryRows(t, db, `SELECT usr_id, attributes FROM identities ORDER BY usr_id`, 2); !reflect.DeepEqual(got, []string{
			`B|{"USR_EMP_TYPE":"Employee","CITY":"Paris"}`, `a|{"USR_EMP_TYPE":"Employee","CITY":"Paris "}`,
			`a |{"USR_EMP_TYPE":"Contractor","CITY":"Rome"}`, `é|{"CITY":"Rome"}`}) {
			t.Errorf("identities %q", got)
		}
		if got := queryRows(t, db, `SELECT attribute, value, count FROM filter_options ORDER BY attribute, value`, 3); !reflect.DeepEqual(got, []string{
			"CITY|Paris|1", "CITY|Paris |1", "CITY|Rome|2", "USR_EMP_TYPE|Contractor|1", "USR_EMP_TYPE|Employee|2"}) {
			t.Errorf("filter options %q", got)
		}
		if got := queryRows(t, db, `SELECT usr_id FROM user_search WHERE search_text LIKE $1 ORDER BY usr_id`, 1, "%al%"); !reflect.DeepEqual(got, []string{"a", "a "}) {
			t.Errorf("user search %q", got)
		}
		for _, tb := range []string{"rules", "recommendations", "roles", "anomalies"} {
			if n, _ := db.Count(context.Background(), tb); n != 0 {
				t.Errorf("%s: %d rows without a run table", tb, n)
			}
		}
	}},
	{"scored run: scores, rules, recommendations, aggregates", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		got := allAssignments(t, db, AssignmentQuery{UsrID: "é"})
		if len(got) != 1 || got[0].Score == nil || *got[0].Score != 131.0/134.0 || got[0].Band != "High" ||
			!reflect.DeepEqual(got[0].Justification, []string{`04_CITY_Rome "q"`}) || *got[0].Freq != 134 || *got[0].Frequnion != 131 {
			t.Errorf("scored assignment: %v", fmtAssignment(got[0]))
		}
		if got := queryRows(t, db, `SELECT ent_id, justification, rule_len, freq, frequnion, confidence FROM rules ORDER BY ent_id`, 6); !reflect.DeepEqual(got, []string{
			`e1|["04_CITY_Paris"]|1|10|9|0.9`, `e2|["04_CITY_Paris","0C_USR_EMP_TYPE_Employee"]|2|8|4|0.5`}) {
			t.Errorf("rules %q", got)
		}
		// recommend_min_confidence 0.1 drops the 0.05 one; rank is the job's order.
		if got := queryRows(t, db, `SELECT usr_id, ent_id, confidence, rank FROM recommendations ORDER BY usr_id, rank`, 4); !reflect.DeepEqual(got, []string{
			"a|e2|0.5|0", "a |e1|0.9|2"}) {
			t.Errorf("recommendations %q", got)
		}
		if got := queryRows(t, db, `SELECT ent_id, app_id, holders, scored, high, medium, low, unscored, rules FROM entitlement_stats ORDER BY ent_id`, 9); !reflect.DeepEqual(got, []string{
			"e1|app1|2|2|1|0|1|0|1", "e2|app1|2|2|1|1|0|0|1", "e3 |null|1|0|0|0|0|1|0"}) {
			t.Errorf("entitlement stats %q", got)
		}
		st := readState(t, db)
		for k, want := range map[string]string{
			"coverage":                 `{"total":3,"covered":2,"not_covered":1}`,
			"employees_w_manager":      `2`,
			"employees_wo_manager":     `2`,
			"entitlementsDistribution": `{"no_users":0,"one_user":1,"zero_to_five_users":2,"five_to_ten_users":0,"ten_to_hundred_users":0,"hundred_to_onek_user":0,"onek_to_tenk_users":0,"tenk_users":0,"hundredk_users":0}`,
			"employeeTypes":            `[{"type":"Contractor","high":0,"low":0,"medium":0,"null_conf":1,"total":1},{"type":"Employee","high":0,"low":1,"medium":1,"null_conf":0,"total":2}]`,
		} {
			if st.Company[k] != want {
				t.Errorf("company view %s = %s, want %s", k, st.Company[k], want)
			}
		}
		p, err := db.Published(context.Background())
		if err != nil || p.RunID != "run-1" || p.Bands != (BandCounts{High: 2, Medium: 1, Low: 1, Unscored: 1}) || p.Rows["assignments"] != 6 {
			t.Errorf("published %+v, %v", p, err)
		}
		// Thresholds are parameters of counting queries, not recomputation.
		if got := queryRows(t, db, `SELECT COUNT(*) FROM assignments WHERE score >= $1`, 1, 0.5); !reflect.DeepEqual(got, []string{"3"}) {
			t.Errorf("count score >= 0.5: %q", got)
		}
	}},
	{"second load of the same run changes nothing", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		r := newFakeRun(t, "run-1", true, 1)
		mustLoad(t, db, r)
		before := readState(t, db)
		res := mustLoad(t, db, r)
		if !res.Skipped {
			t.Error("second load of the same run was not skipped")
		}
		if n, _ := db.Count(context.Background(), "serving_runs"); n != 1 {
			t.Errorf("serving_runs has %d rows, want 1", n)
		}
		if after := readState(t, db); !reflect.DeepEqual(before, after) {
			t.Errorf("state changed:\n%+v\n%+v", before, after)
		}
	}},
	{"a new run replaces the previous one", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		indexes := indexCount(t, db, "assignments")
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		mustLoad(t, db, newFakeRun(t, "run-2", true, 0.5))
		got := allAssignments(t, db, AssignmentQuery{UsrID: "B"})
		if len(got) != 2 || *got[0].Score != 0.45 {
			t.Errorf("after run-2: %v", got)
		}
		p, _ := db.Published(context.Background())
		if p.RunID != "run-2" {
			t.Errorf("served run %s", p.RunID)
		}
		// Indexes keep their names and the serving tables their indexes.
		mustLoad(t, db, newFakeRun(t, "run-3", false, 1))
		if n := indexCount(t, db, "assignments"); n != indexes || n < 4 {
			t.Errorf("assignments has %d indexes after 3 loads, want the %d of the schema", n, indexes)
		}
	}},
	{"workflow state survives loads", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		ctx := context.Background()
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		d := Decision{UsrID: "a", EntID: "e1", Certified: true, Reason: "ok", Author: "B", DatasinkStatus: "nack"}
		if err := db.PutDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		d.Revoked, d.Certified = true, false
		if err := db.PutDecision(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO data_sinks (id, name, config, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, "ds1", "IIQ", `{"x":1}`, int64(1)); err != nil {
			t.Fatal(err)
		}
		mustLoad(t, db, newFakeRun(t, "run-2", false, 1))
		got, err := db.GetDecision(ctx, "a", "e1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Revoked || got.Certified || got.Reason != "ok" || got.Versions != 2 || got.DatasinkStatus != "nack" {
			t.Errorf("decision after load: %+v", got)
		}
		if n, _ := db.Count(ctx, "data_sinks"); n != 1 {
			t.Errorf("data sinks after load: %d", n)
		}
	}},
	{"cancelled load leaves the previous run served", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		before := readState(t, db)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// A table large enough to be cancelled in the middle of the copy.
		src := &genRows{n: 200000, onRow: func(i int) {
			if i == 50000 {
				cancel()
			}
		}}
		_, err := db.Publish(ctx, Publication{RunID: "run-2", Generation: "g2", Tables: []TableData{
			{Name: "assignments", Columns: genColumns, Rows: src}}})
		if err == nil {
			t.Fatal("cancelled publish succeeded")
		}
		if after := readState(t, db); !reflect.DeepEqual(before, after) {
			t.Errorf("state changed by a cancelled load:\n%+v\n%+v", before, after)
		}
		// The next load works (leftover staging tables are replaced).
		mustLoad(t, db, newFakeRun(t, "run-3", false, 1))
		if p, _ := db.Published(context.Background()); p.RunID != "run-3" {
			t.Errorf("served %s after the next load", p.RunID)
		}
	}},
	{"migrations go down and up", func(t *testing.T, h harness) {
		db, _, _ := h.open(t)
		ctx := context.Background()
		ms, err := Migrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		latest := ms[len(ms)-1].Version
		v, err := db.Version(ctx)
		if err != nil || v != latest {
			t.Fatalf("version %d, %v; want %d", v, err, latest)
		}
		// Down to version 1: every migration after the first reverts, newest first.
		var wantDown, wantUp []int
		for i := len(ms) - 1; i >= 1; i-- {
			wantDown = append(wantDown, -ms[i].Version)
		}
		for _, m := range ms {
			wantUp = append(wantUp, m.Version)
		}
		done, err := db.MigrateDown(ctx, len(ms)-1)
		if err != nil || !reflect.DeepEqual(done, wantDown) {
			t.Fatalf("down %d: %v, %v; want %v", len(ms)-1, done, err, wantDown)
		}
		for _, table := range []string{"server_secrets", "data_sources", "assignment_decisions"} {
			if _, err := db.Count(ctx, table); err == nil {
				t.Errorf("%s exists at version 1", table)
			}
		}
		if _, err := db.MigrateDown(ctx, len(ms)+1); err != nil {
			t.Fatal(err)
		}
		if v, _ := db.Version(ctx); v != 0 {
			t.Errorf("version %d after all down", v)
		}
		done, err = db.Migrate(ctx, -1)
		if err != nil || !reflect.DeepEqual(done, wantUp) {
			t.Fatalf("up: %v, %v; want %v", done, err, wantUp)
		}
		if _, err := db.Migrate(ctx, latest+3); !errors.Is(err, ErrMigration) {
			t.Errorf("migrate to %d: %v, want ErrMigration", latest+3, err)
		}
		mustLoad(t, db, newFakeRun(t, "run-1", false, 1))
	}},
}

func TestConformance(t *testing.T) {
	for _, c := range conformanceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachBackend(t, c.run)
		})
	}
}

func indexCount(t testing.TB, db *DB, table string) int {
	t.Helper()
	var q string
	if db.Dialect() == Postgres {
		q = `SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`
	} else {
		q = `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL`
	}
	return len(queryRows(t, db, q, 1, table))
}

// genColumns and genRows make a generated assignments table.
var genColumns = []string{"usr_id", "ent_id", "app_id", "valid", "score", "band", "justification", "freq", "frequnion"}

type genRows struct {
	n, i  int
	onRow func(i int)
	row   []any
}

func (g *genRows) Next() bool {
	if g.i >= g.n {
		return false
	}
	if g.onRow != nil {
		g.onRow(g.i)
	}
	i := g.i
	g.i++
	var score any
	band := "unscored"
	if i%5 != 0 {
		score = float64(i%100) / 100
		band = "low"
	}
	g.row = []any{fmt.Sprintf("user%07d", i/20), fmt.Sprintf("ent%05d", i%20*37), "app1", true, score, band,
		`["04_CITY_Paris","0C_USR_EMP_TYPE_Employee"]`, int64(100), int64(i % 100)}
	return true
}

func (g *genRows) Values() ([]any, error) { return g.row, nil }
func (g *genRows) Err() error             { return nil }

func TestSentinels(t *testing.T) {
	if _, _, err := ParseCursor("!!"); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	u, e, err := ParseCursor(Cursor("aaron.fischer", "WEB_user_Shared_Edit_ADMIN_II"))
	if err != nil || u != "aaron.fischer" || e != "WEB_user_Shared_Edit_ADMIN_II" {
		t.Errorf("cursor round trip: %q %q %v", u, e, err)
	}
	// The reference's cursor example decodes to the same pair.
	if u, e, _ := ParseCursor("WyJhYXJvbi5maXNjaGVyIiwiV0VCX3VzZXJfU2hhcmVkX0VkaXRfQURNSU5fSUkiXQ=="); u != "aaron.fischer" || e != "WEB_user_Shared_Edit_ADMIN_II" {
		t.Errorf("reference cursor: %q %q", u, e)
	}
	if _, err := Open(context.Background(), "mysql://x", t.TempDir(), nil); !errors.Is(err, ErrBadDSN) {
		t.Errorf("mysql DSN: %v", err)
	}
}
