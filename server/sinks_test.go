package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

const sinkID = "eaa19702-3806-4ee7-9466-91f0968699d9"

func TestDataSinkLifecycle(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testDataSinkLifecycle(t, b) })
	}
}

func testDataSinkLifecycle(t *testing.T, b backend) {
	ts := newTestServer(t, b)
	key, _ := ts.addKey("sink", "")

	w := ts.admin("POST", "/api/datasink/create", map[string]any{"id": sinkID, "name": "Test", "config": map[string]any{"something": 1234},
		"certifyTimestamp": "2021-11-19T11:01:19.937Z"})
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != `{"message":"ok"}` {
		t.Errorf("create: %s", w.Body)
	}
	wantError(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": sinkID, "name": "Again"}), 409, "")
	wantError(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": "not-a-uuid", "name": "x"}), 400, "id")
	wantError(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": "9501810e-1480-4f41-80d4-bc97154fddeb"}), 400, "name")
	wantError(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": "9501810e-1480-4f41-80d4-bc97154fddeb", "name": "x", "config": []int{1}}), 400, "config")
	wantError(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": "9501810e-1480-4f41-80d4-bc97154fddeb", "name": "x", "revokeTimestamp": "yesterday"}), 400, "revokeTimestamp")

	// A second sink of the same name, certified a day later.
	other := "9501810e-1480-4f41-80d4-bc97154fddeb"
	wantStatus(t, ts.admin("POST", "/api/datasink/create", map[string]any{"id": other, "name": "Test", "certifyTimestamp": "2021-11-20T09:01:19.937Z"}), 200)

	query := func(body string) []map[string]any {
		t.Helper()
		w := ts.do("POST", "/api/datasink/query", body, apiKey(key))
		wantStatus(t, w, 200)
		var out []map[string]any
		decodeBody(t, w, &out)
		return out
	}
	if got := query(`{"name": "Test"}`); len(got) != 2 {
		t.Fatalf("by name: %v", got)
	}
	got := query(`{"name": "Test", "certifyTimestamp": {"gt": "2021-11-19T10:01:19.937Z", "lte": "2021-11-20T09:01:19.937Z"}}`)
	if len(got) != 2 {
		t.Fatalf("gt/lte: %v", got)
	}
	got = query(`{"certifyTimestamp": {"gt": "2021-11-19T11:01:19.937Z"}}`)
	if len(got) != 1 || got[0]["id"] != other || got[0]["certifyTimestamp"] != "2021-11-20T09:01:19.937Z" {
		t.Fatalf("gt is strict: %v", got)
	}
	got = query(`{"certifyTimestamp": {"gte": "2021-11-19T11:01:19.937Z", "lt": "2021-11-20T09:01:19.937Z"}}`)
	if len(got) != 1 || got[0]["id"] != sinkID || got[0]["config"].(map[string]any)["something"] != 1234.0 {
		t.Fatalf("gte/lt: %v", got)
	}
	if got := query(`{"revokeTimestamp": {"gte": "2000-01-01T00:00:00.000Z"}}`); len(got) != 0 {
		t.Fatalf("null timestamps never match a range: %v", got)
	}
	wantError(t, ts.do("POST", "/api/datasink/query", `{"certifyTimestamp": {"gt": "2021-11-19T10:01:19.937Z", "gte": "2021-11-19T10:01:19.937Z"}}`, apiKey(key)), 400, "certifyTimestamp.gte")
	wantError(t, ts.do("POST", "/api/datasink/query", `{"certifyTimestamp": {"lt": "2021-11-19T10:01:19.937Z", "lte": "2021-11-19T10:01:19.937Z"}}`, apiKey(key)), 400, "certifyTimestamp.lte")
	wantError(t, ts.do("POST", "/api/datasink/query", `{"certifyTimestamp": {"gt": "soon"}}`, apiKey(key)), 400, "certifyTimestamp.gt")

	// Timestamps and logs.
	wantStatus(t, ts.do("POST", "/api/datasink/update/timestamp", map[string]string{"id": sinkID, "revokeTimestamp": "2021-11-19T10:01:19.937Z"}, apiKey(key)), 200)
	got = query(`{"id": "` + sinkID + `"}`)
	if got[0]["revokeTimestamp"] != "2021-11-19T10:01:19.937Z" || got[0]["certifyTimestamp"] != "2021-11-19T11:01:19.937Z" {
		t.Fatalf("after update/timestamp: %v", got)
	}
	wantError(t, ts.do("POST", "/api/datasink/update/timestamp", map[string]string{"id": sinkID}, apiKey(key)), 400, "body")
	wantError(t, ts.do("POST", "/api/datasink/update/timestamp", map[string]string{"id": other[:8] + "-0000-0000-0000-000000000000", "revokeTimestamp": "2021-11-19T10:01:19.937Z"}, apiKey(key)), 404, "")

	logs := `{"id": "` + sinkID + `", "logs": {"logs": [{"created": "2021-11-19T09:01:19.937Z", "type": "INFO", "message": "transaction started"}]}}`
	wantStatus(t, ts.do("POST", "/api/datasink/update/logs", logs, apiKey(key)), 200)
	wantError(t, ts.do("POST", "/api/datasink/update/logs", `{"id": "`+sinkID+`"}`, apiKey(key)), 400, "logs")
	w = ts.do("POST", "/api/datasink/query/logs", `{"name": "Test"}`, apiKey(key))
	wantStatus(t, w, 200)
	var withLogs []struct {
		ID   string            `json:"id"`
		Logs []json.RawMessage `json:"logs"`
	}
	decodeBody(t, w, &withLogs)
	if len(withLogs) != 2 || withLogs[1].ID != sinkID || len(withLogs[1].Logs) != 1 || len(withLogs[0].Logs) != 0 {
		t.Fatalf("query/logs: %s", w.Body)
	}

	// Update replaces; delete removes.
	wantStatus(t, ts.admin("POST", "/api/datasink/update", map[string]any{"id": sinkID, "name": "Test3", "config": map[string]any{"something": 5678}}), 200)
	if got := query(`{"name": "Test3"}`); len(got) != 1 || got[0]["certifyTimestamp"] != nil {
		t.Fatalf("after update: %v", got)
	}
	wantError(t, ts.admin("POST", "/api/datasink/update", map[string]any{"id": "00000000-0000-0000-0000-000000000000", "name": "x"}), 404, "")
	wantStatus(t, ts.admin("POST", "/api/datasink/delete", map[string]any{"id": sinkID}), 200)
	wantError(t, ts.admin("POST", "/api/datasink/delete", map[string]any{"id": sinkID}), 404, "")
	if got := query(`{}`); len(got) != 1 {
		t.Fatalf("after delete: %v", got)
	}
}

func TestDataSinkStatusUpdates(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testDataSinkStatusUpdates(t, b) })
	}
}

func testDataSinkStatusUpdates(t *testing.T, b backend) {
	ts := newTestServer(t, b)
	key, _ := ts.addKey("sink", "")
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO assignment_decisions (usr_id, ent_id, is_certified, datasink_status, updated_at) VALUES ('john.doe', 'entitlement_1', TRUE, 'nack', 1)`,
		`INSERT INTO rule_decisions (ent_id, justification, is_autocertify, datasink_status, updated_at) VALUES ('entitlement_1', '["0B_COST_CENTER_OP_TS5","0C_USR_EMP_TYPE_Non-Employee"]', TRUE, 'nack', 1)`,
		`INSERT INTO roles (role_id, status) VALUES ('027d9a1d-9a2f-488a-8ab2-adf404e0aecb', 'candidate')`,
	} {
		if _, err := ts.db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	read := func(q string) string {
		t.Helper()
		rows, err := ts.db.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var v string
		if rows.Next() {
			rows.Scan(&v)
		}
		return v
	}

	wantStatus(t, ts.do("POST", "/api/datasink/update/status/assignments",
		`{"assignments": [{"user": "john.doe", "entitlements": ["entitlement_1"], "datasink_status": "ack"}]}`, apiKey(key)), 200)
	if v := read(`SELECT datasink_status FROM assignment_decisions`); v != "ack" {
		t.Errorf("assignment status %q", v)
	}
	// A pair without a decision: 404, and nothing changes.
	wantError(t, ts.do("POST", "/api/datasink/update/status/assignments",
		`{"assignments": [{"user": "john.doe", "entitlements": ["entitlement_1"], "datasink_status": "nack"}, {"user": "jane.smith", "entitlements": ["entitlement_1"], "datasink_status": "nack"}]}`, apiKey(key)), 404, "")
	if v := read(`SELECT datasink_status FROM assignment_decisions`); v != "ack" {
		t.Errorf("a failed update changed the status: %q", v)
	}
	wantError(t, ts.do("POST", "/api/datasink/update/status/assignments",
		`{"assignments": [{"user": "john.doe", "entitlements": ["entitlement_1"], "datasink_status": "maybe"}]}`, apiKey(key)), 400, "datasink_status")
	wantError(t, ts.do("POST", "/api/datasink/update/status/assignments", `{"assignments": [{"user": "john.doe", "datasink_status": "ack"}]}`, apiKey(key)), 400, "assignments[0].entitlements")
	wantError(t, ts.do("POST", "/api/datasink/update/status/assignments", `{}`, apiKey(key)), 400, "assignments")

	// Justification order does not matter.
	wantStatus(t, ts.do("POST", "/api/datasink/update/status/rules",
		`{"rules": [{"entitlement": "entitlement_1", "justification": ["0C_USR_EMP_TYPE_Non-Employee", "0B_COST_CENTER_OP_TS5"], "datasink_status": "ack"}]}`, apiKey(key)), 200)
	if v := read(`SELECT datasink_status FROM rule_decisions`); v != "ack" {
		t.Errorf("rule status %q", v)
	}
	wantError(t, ts.do("POST", "/api/datasink/update/status/rules",
		`{"rules": [{"entitlement": "entitlement_2", "justification": ["x"], "datasink_status": "ack"}]}`, apiKey(key)), 404, "")

	wantStatus(t, ts.do("POST", "/api/datasink/update/status/roles",
		`{"roles": [{"role_id": "027d9a1d-9a2f-488a-8ab2-adf404e0aecb", "status": "draft", "datasink_status": "nack"}]}`, apiKey(key)), 200)
	if v := read(`SELECT status || '/' || datasink_status FROM role_edits`); v != "draft/nack" {
		t.Errorf("role status %q", v)
	}
	wantStatus(t, ts.do("POST", "/api/datasink/update/status/roles",
		`{"roles": [{"role_id": "027d9a1d-9a2f-488a-8ab2-adf404e0aecb", "status": "active", "datasink_status": "ack"}]}`, apiKey(key)), 200)
	if v := read(`SELECT status || '/' || datasink_status FROM role_edits`); v != "active/ack" {
		t.Errorf("role status %q", v)
	}
	wantError(t, ts.do("POST", "/api/datasink/update/status/roles",
		`{"roles": [{"role_id": "nope", "status": "draft", "datasink_status": "nack"}]}`, apiKey(key)), 404, "")
	wantError(t, ts.do("POST", "/api/datasink/update/status/roles",
		`{"roles": [{"role_id": "027d9a1d-9a2f-488a-8ab2-adf404e0aecb", "status": "retired", "datasink_status": "nack"}]}`, apiKey(key)), 400, "roles.status")
}
