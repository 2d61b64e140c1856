package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/internal/shared"
	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// withRunner gives the test server a job runner over its workspace and
// store.
func withRunner(t *testing.T) func(*Config) {
	return func(c *Config) {
		ws, err := workspace.Open(c.WorkspaceDir)
		if err != nil {
			t.Fatal(err)
		}
		rn, err := pipeline.NewRunner(pipeline.RunnerConfig{Workspace: ws, Store: c.Store, Heartbeat: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rn.Close() })
		c.Runner = rn
	}
}

// persist is the reference's job definition envelope.
func persist(name, typ string, params map[string]any) map[string]any {
	return map[string]any{"branch": "actual", "contextId": "40c20f01-a9d8-4284-b290-c8b6ccdb8b77",
		"entityData":       []map[string]any{{"job_name": name, "job_type": typ, "job_parameters": params}},
		"indexingRequired": true, "tags": map[string]any{}, "indexInSync": true}
}

// waitStatus polls /jas/job/status until the run of a definition is in
// one of the states.
func waitStatus(t *testing.T, ts *testServer, key, name string, states ...string) jobStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		w := ts.do("GET", "/jas/job/status", `{"jobDefinitionName": "`+name+`"}`, header{"authorization", key})
		wantStatus(t, w, 200)
		var st jobStatus
		decodeBody(t, w, &st)
		for _, s := range states {
			if st.Status == s {
				return st
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still %s: %s", name, st.Status, w.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestJobsEndToEnd(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testJobsEndToEnd(t, b) })
	}
}

func testJobsEndToEnd(t *testing.T, b backend) {
	showcase := shared.Showcase(t)
	ts := newTestServer(t, b, withRunner(t))
	key, _ := ts.addKey("jobs", "")
	auth := header{"authorization", key}

	// Define the ingest of the showcase, with the reference's Spark knobs.
	w := ts.do("POST", "/jas/entity/persist/autoid/api/job_definition", persist("ShowCaseCSVIngest", "ingest", map[string]any{
		"driverMemory": "2g", "driverCores": 3, "executorMemory": "3G", "executorCores": 6,
		"dir": showcase, "mapping": shared.MappingFile()}), auth, header{"x-tenant-id", "8700f5cb"})
	wantStatus(t, w, 200)
	var defs definitionsResponse
	decodeBody(t, w, &defs)
	if defs.Message != "ok" || len(defs.EntityData) != 1 || defs.EntityData[0].JobName != "ShowCaseCSVIngest" {
		t.Fatalf("persist: %s", w.Body)
	}

	// Run it; poll the status until it succeeds.
	w = ts.do("POST", "/jas/job/run", `{"jobType":"ingest","jobDefinitionName":"ShowCaseCSVIngest"}`, auth)
	wantStatus(t, w, 200)
	var started map[string]string
	decodeBody(t, w, &started)
	if started["runId"] == "" || started["jobDefinitionName"] != "ShowCaseCSVIngest" || started["jobType"] != "ingest" || started["status"] == "" {
		t.Fatalf("run: %s", w.Body)
	}
	st := waitStatus(t, ts, key, "ShowCaseCSVIngest", "succeeded", "failed", "cancelled", "timed_out")
	if st.Status != "succeeded" || st.RunID != started["runId"] || st.StartTime == nil || st.EndTime == nil || st.Message != nil {
		t.Fatalf("status: %+v", st)
	}
	if len(st.Stages) != 1 || st.Stages[0].Job != "ingest" || st.Stages[0].Status != "succeeded" {
		t.Fatalf("stages: %+v", st.Stages)
	}
	// The answer has exactly the fields of SPEC 12.
	var raw map[string]json.RawMessage
	decodeBody(t, ts.do("GET", "/jas/job/status?jobDefinitionName=ShowCaseCSVIngest&jobType=ingest", nil, auth), &raw)
	for _, k := range []string{"runId", "jobDefinitionName", "jobType", "status", "startTime", "endTime", "message", "stages"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("status lacks %s", k)
		}
	}
	if len(raw) != 8 {
		t.Errorf("status has %d fields: %v", len(raw), raw)
	}
	wantError(t, ts.do("GET", "/jas/job/status?jobDefinitionName=ShowCaseCSVIngest&jobType=train", nil, auth), 400, "jobType")
	wantError(t, ts.do("GET", "/jas/job/status?jobDefinitionName=Nothing", nil, auth), 404, "jobDefinitionName")

	// Its log, as server-sent events, ends with an end event.
	w = ts.admin("GET", "/jas/job/runs/"+st.RunID+"/logs", nil)
	wantStatus(t, w, 200)
	if ct := w.Header().Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	events := map[string]int{}
	var lastID string
	sc := bufio.NewScanner(strings.NewReader(w.Body.String()))
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			events[v]++
		}
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			lastID = v
		}
	}
	if events["log"] == 0 || events["end"] != 1 || !strings.Contains(w.Body.String(), `"status":"succeeded"`) {
		t.Fatalf("log stream: %v\n%s", events, w.Body)
	}
	// Resuming after the last event gives only the end.
	w = ts.admin("GET", "/jas/job/runs/"+st.RunID+"/logs", nil, header{"Last-Event-ID", lastID})
	if strings.Count(w.Body.String(), "event: ") != 1 {
		t.Errorf("resumed stream: %s", w.Body)
	}

	// The run and the list of runs.
	w = ts.admin("GET", "/jas/job/runs/"+st.RunID, nil)
	wantStatus(t, w, 200)
	var detail map[string]any
	decodeBody(t, w, &detail)
	if detail["trigger"] != "api" || detail["stages"].([]any)[0].(map[string]any)["job"] != "ingest" {
		t.Errorf("run: %s", w.Body)
	}
	var runs runsResponse
	decodeBody(t, ts.admin("GET", "/jas/job/runs?jobDefinitionName=ShowCaseCSVIngest", nil), &runs)
	if len(runs.Runs) != 1 {
		t.Errorf("runs: %+v", runs)
	}
	wantError(t, ts.admin("GET", "/jas/job/runs/nope", nil), 404, "runId")

	// A run of the whole analysis, cancelled while it runs.
	wantStatus(t, ts.do("POST", "/api/job_definition", persist("ShowCaseCSVAnomaly", "anomaly", map[string]any{
		"driverMemory": "2g", "driverCores": 3, "executorMemory": "3G", "executorCores": 6}), bearer(ts.adminToken)), 200)
	w = ts.do("POST", "/jas/job/run", `{"jobType":"anomaly","jobDefinitionName":"ShowCaseCSVAnomaly"}`, auth)
	wantStatus(t, w, 200)
	decodeBody(t, w, &started)
	// A second run while it is active is refused (overlap policy skip).
	wantError(t, ts.do("POST", "/jas/job/run", `{"jobDefinitionName":"ShowCaseCSVAnomaly"}`, auth), 409, "jobDefinitionName")
	waitStatus(t, ts, key, "ShowCaseCSVAnomaly", "running")
	w = ts.do("POST", "/jas/job/runs/"+started["runId"]+"/cancel", "", auth)
	wantStatus(t, w, 200)
	t0 := time.Now()
	st = waitStatus(t, ts, key, "ShowCaseCSVAnomaly", "cancelled", "succeeded", "failed")
	if st.Status != "cancelled" {
		t.Fatalf("after cancel: %+v", st)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("the cancel took %v", d)
	}
	wantError(t, ts.do("POST", "/jas/job/runs/"+started["runId"]+"/cancel", "", auth), 409, "runId")
	wantError(t, ts.do("POST", "/jas/job/cancel", `{"jobDefinitionName":"ShowCaseCSVAnomaly"}`, auth), 409, "jobDefinitionName")

	// The definitions are searchable.
	w = ts.do("POST", "/jas/entity/search/autoid/api/job_definition", `{"query": {"sort": [{"job_name.keyword": {"order": "asc"}}, {"metadata.primaryKey.keyword": {"order": "desc"}}], "size": 10, "track_total_hits": true, "query": {"match_all": {}}}}`, auth)
	wantStatus(t, w, 200)
	var hits searchHits
	decodeBody(t, w, &hits)
	if hits.Hits.Total.Value != 2 || hits.Hits.Hits[0].ID != "ShowCaseCSVAnomaly" || hits.Hits.Hits[1].Source["job_parameters"].(map[string]any)["driverCores"] != 3.0 {
		t.Fatalf("search: %s", w.Body)
	}
	decodeBody(t, ts.do("GET", "/jas/job/search", `{"query": {"query": {"term": {"job_type": "ingest"}}}}`, auth), &hits)
	if hits.Hits.Total.Value != 1 || hits.Hits.Hits[0].ID != "ShowCaseCSVIngest" {
		t.Fatalf("term search: %+v", hits)
	}
}

func TestJobsBadInput(t *testing.T) {
	ts := newTestServer(t, withRunner(t))
	key, _ := ts.addKey("jobs", "")
	auth := header{"X-API-KEY", key}
	for _, c := range []struct {
		body  any
		field string
	}{
		{persist("X", "frobnicate", nil), "entityData[0].job_type"},
		{persist("", "audit", nil), "entityData[0].job_name"},
		{persist("X", "", nil), "entityData[0].job_type"},
		{persist("X", "train", map[string]any{"driverCores": "three"}), "entityData[0].job_parameters.driverCores"},
		{persist("X", "train", map[string]any{"min_confidence": 2}), "entityData[0].job_parameters.min_confidence"},
		{persist("X", "train", map[string]any{"colour": "blue"}), "entityData[0].job_parameters.colour"},
		{persist("X", "ingest", map[string]any{}), "entityData[0].job_parameters.datasourceId"},
		{`{"entityData": [{"job_name": "X", "job_type": "audit", "schedule": "every tuesday"}]}`, "entityData[0].schedule"},
		{`{"entityData": [{"job_name": "X", "job_type": "audit", "timeout": "soon"}]}`, "entityData[0].timeout"},
		{`{"entityData": [{"job_name": 7, "job_type": "audit"}]}`, "entityData.job_name"},
		{`{"entityData": []}`, "entityData"},
		{`{"entityData": [{"job_name": "A", "job_type": "audit"}, {"job_name": "B", "job_type": "nope"}]}`, "entityData[1].job_type"},
		{`{"entityData": `, "body"},
	} {
		wantError(t, ts.do("POST", "/api/job_definition", c.body, auth), 400, c.field)
	}
	// Nothing was written, not even the good first definition.
	var hits searchHits
	decodeBody(t, ts.do("POST", "/jas/job/search", "", auth), &hits)
	if hits.Hits.Total.Value != 0 {
		t.Fatalf("bad definitions were stored: %+v", hits)
	}
	// A bare definition is taken.
	wantStatus(t, ts.do("POST", "/api/job_definition", `{"job_name": "A", "job_type": "audit"}`, auth), 200)
	wantError(t, ts.do("POST", "/jas/job/run", `{"jobDefinitionName": "nope"}`, auth), 404, "jobDefinitionName")
	wantError(t, ts.do("POST", "/jas/job/run", `{"jobType": "train", "jobDefinitionName": "A"}`, auth), 400, "jobType")
	wantError(t, ts.do("POST", "/jas/job/run", `{}`, auth), 400, "jobDefinitionName")
	wantError(t, ts.do("GET", "/jas/job/status", `{"jobDefinitionName": "A"}`, auth), 404, "jobDefinitionName")
	wantError(t, ts.do("GET", "/jas/job/runs?limit=0", nil, auth), 400, "limit")
}

func TestJobsWithoutRunner(t *testing.T) {
	ts := newTestServer(t)
	wantError(t, ts.admin("POST", "/jas/job/run", `{"jobDefinitionName": "A"}`), 503, "")
}

// TestLogStreamEndsOnClose: a client following the log of a run that does
// not end is let go when the server shuts down.
func TestLogStreamEndsOnClose(t *testing.T) {
	ts := newTestServer(t, withRunner(t))
	if err := ts.db.InsertRun(t.Context(), store.Run{ID: "stuck", JobName: "x", JobType: "audit", Owner: "elsewhere"}, false); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(ts.srv.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/jas/job/runs/stuck/logs", nil)
	req.Header.Set("Authorization", "Bearer "+ts.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %s", resp.Status)
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	select {
	case <-done:
		t.Fatal("the stream ended while the run is queued")
	case <-time.After(300 * time.Millisecond):
	}
	ts.srv.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream did not end on Close")
	}
}
