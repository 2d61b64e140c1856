package stages

import (
	"context"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/autoid-oss/autoid/internal/pgtest"
)

// A jdbc data source reads identities from a PostgreSQL table and
// assignments from a query, through pgx.
func TestIngestPostgresSource(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE TABLE ` + schema + `.people (usr_id text, "DEPT" text, age int)`,
		`INSERT INTO ` + schema + `.people VALUES ('b', 'IT', 40), ('a', 'Sales ', NULL), ('a', 'dup', 1), (NULL, 'x', 2)`,
		`CREATE TABLE ` + schema + `.grants (login text, ent text, seen timestamptz)`,
		`INSERT INTO ` + schema + `.grants VALUES ('a', 'e1', '2024-01-02 03:04:05+00'), ('b', 'e1', NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src := DataSource{ID: "hr", ConnectionType: ConnJDBC, URL: url, Active: true, Entities: map[string]string{
		"identities":  schema + ".people",
		"assignments": "SELECT login AS usr_id, ent AS ent_id, seen AS last_used FROM " + schema + ".grants ORDER BY login",
	}}
	ws := newWS(t)
	res, err := Ingest(ctx, ws, IngestOptions{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows["identities"] != 2 || res.Rows["assignments"] != 2 {
		t.Errorf("rows %v", res.Rows)
	}
	if got := table(t, ws, "identities", "usr_id", "DEPT", "age"); !reflect.DeepEqual(got, [][]string{{"a", "Sales ", ""}, {"b", "IT", "40"}}) {
		t.Errorf("identities %q", got)
	}
	if got := table(t, ws, "assignments", "usr_id", "ent_id", "last_used"); !reflect.DeepEqual(got, [][]string{{"a", "e1", "2024-01-02T03:04:05Z"}, {"b", "e1", ""}}) {
		t.Errorf("assignments %q", got)
	}
	want := []string{`people:4:usr_id: duplicate key "a" (first at line 3)`, "people:5:usr_id: missing required value"}
	var got []string
	for _, r := range rejects(t, ws) {
		got = append(got, r[len("postgres:"+schema+"."):])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rejects %q, want %q", got, want)
	}
}
