package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestConfigEndpoints(t *testing.T) {
	ts := newTestServer(t)
	w := ts.do("GET", "/api/config", nil)
	wantStatus(t, w, 200)
	var got map[string]any
	decodeBody(t, w, &got)
	// The reference's example, plus display titles and filterable attributes.
	want := `{"thresholds":{"top":1.01,"high":0.75,"medium":0.35,"low":0,"autoAccess":0.5},
"volumeThresholds":{"high":90,"low":20},"mostAssignedStats":{"count":100},
"highVolumeStats":{"high":{"minScore":0.9,"minUsersCount":100},"low":{"maxScore":0.2,"minUsersCount":100}},
"authorizers":{"ldap":true,"oidc":false},"displayTitles":{},"filterableAttributes":[]}`
	var wantMap map[string]any
	json.Unmarshal([]byte(want), &wantMap)
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(wantMap)
	if string(gb) != string(wb) {
		t.Errorf("config:\n got %s\nwant %s", gb, wb)
	}

	// Edit the files, reload, and see the change.
	dir := ts.cfg.WorkspaceDir
	os.WriteFile(filepath.Join(dir, "engine.yaml"), []byte("high: 0.8\nauto_access: 0.6\n"), 0o644)
	os.WriteFile(filepath.Join(dir, UIConfigFile), []byte("volumeThresholds: {high: 95, low: 10}\ndisplayTitles: {USR_DEPARTMENT_NAME: Department}\nfilterableAttributes: [USR_DEPARTMENT_NAME]\n"), 0o644)
	if c := ts.srv.UI(); c.Thresholds.High != 0.75 {
		t.Fatal("changed before the reload")
	}
	userTok := ts.addUser("u@example.com", GroupUser)
	w = ts.do("GET", "/api/admin/reloadUIConfig", nil, bearer(userTok))
	wantStatus(t, w, 200)
	c := ts.srv.UI()
	if c.Thresholds.High != 0.8 || c.Thresholds.AutoAccess != 0.6 || c.VolumeThresholds.High != 95 ||
		c.DisplayTitle("USR_DEPARTMENT_NAME") != "Department" || c.DisplayTitle("CITY") != "CITY" || len(c.FilterableAttributes) != 1 {
		t.Fatalf("after reload: %+v", c)
	}

	// A bad file is refused and the configuration kept.
	os.WriteFile(filepath.Join(dir, UIConfigFile), []byte("volumeTresholds: {high: 95}\n"), 0o644)
	wantError(t, ts.admin("GET", "/api/admin/reloadUIConfig", nil), 400, UIConfigFile)
	if ts.srv.UI().VolumeThresholds.High != 95 {
		t.Fatal("a bad file changed the configuration")
	}
}
