package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/internal/pgtest"
	"github.com/autoid-oss/autoid/internal/shared"
	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// showcaseServer is a server over the showcase data, ingested and run
// through the pipeline up to the assignment index.
func showcaseServer(t *testing.T) *testServer {
	t.Helper()
	dir := shared.Showcase(t)
	ts := newTestServer(t)
	ctx := context.Background()
	ws, err := workspace.Open(ts.cfg.WorkspaceDir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := stages.DirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := stages.LoadMapping(shared.MappingFile())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.Ingest(ctx, ws, stages.IngestOptions{Source: src, Mapping: m}); err != nil {
		t.Fatal(err)
	}
	jobs := []string{"train", "predict-as-is", "recommend", "mine", "anomaly", "insight", "load", "create-assignment-index"}
	if _, err := pipeline.NewRegistry().Run(ctx, ws, pipeline.Options{Jobs: jobs, Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	return ts
}

// addViewUser stores a user in groups and returns a bearer token for it.
func (ts *testServer) addViewUser(uid string, groups ...Group) string {
	ts.t.Helper()
	var names []string
	for _, g := range groups {
		names = append(names, string(g))
	}
	if err := ts.db.CreateUser(context.Background(), store.User{Username: uid + "@example.com", UID: uid, DisplayName: uid, Groups: names,
		Created: time.Now(), Updated: time.Now()}); err != nil {
		ts.t.Fatal(err)
	}
	return ts.token(uid + "@example.com")
}

// call sends a request with a token and decodes the JSON answer into out
// (nil: none), failing unless the status is want.
func (ts *testServer) call(t *testing.T, token, method, path string, body any, want int, out any) {
	t.Helper()
	w := ts.do(method, path, body, bearer(token))
	if w.Code != want {
		t.Fatalf("%s %s: status %d, want %d: %.500s", method, path, w.Code, want, w.Body)
	}
	if out != nil {
		decodeBody(t, w, out)
	}
}

type docJust struct{ ID, Title, Value string }

type docAssignment struct {
	EntID         string    `json:"ent_id"`
	UsrID         string    `json:"usr_id"`
	Score         *float64  `json:"score"`
	Justification []docJust `json:"justification"`
}

func scoreOf(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

// TestViewsShowcase checks the query views on the showcase data: the
// documented examples (SPEC 13), shapes, paging to the end, filters,
// scoping and bad input.
func TestViewsShowcase(t *testing.T) {
	ts := showcaseServer(t)
	admin := ts.adminToken
	// The four assignments of aaron.fischer the reference shows, after its cursor.
	documented := map[string]string{
		"WEB_user_Web_Local Access 32 All_II_Europe":           "null",
		"WEB_user_Web_Shared_Edit_ADMIN_Europe":                "null",
		"WEB_user_Web_WEB RCQ Flare NonIT Distribution_Europe": "0.98",
		"Web_Flare NonIT Distribution":                         "0.6",
	}

	t.Run("same answers on PostgreSQL", func(t *testing.T) { sameOnPostgres(t, ts) })

	t.Run("documented assignments", func(t *testing.T) {
		var out struct {
			Cursor      *string         `json:"cursor"`
			Assignments []docAssignment `json:"assignments"`
		}
		ts.call(t, admin, "POST", "/api/assignments", map[string]any{"pageSize": 4,
			"cursor": "WyJhYXJvbi5maXNjaGVyIiwiV0VCX3VzZXJfU2hhcmVkX0VkaXRfQURNSU5fSUkiXQ=="}, 200, &out)
		if len(out.Assignments) != 4 || out.Cursor == nil {
			t.Fatalf("page: %+v", out)
		}
		for _, a := range out.Assignments {
			if a.UsrID != "aaron.fischer" || documented[a.EntID] != scoreOf(a.Score) {
				t.Errorf("%s/%s score %s", a.UsrID, a.EntID, scoreOf(a.Score))
			}
			switch a.EntID {
			case "WEB_user_Web_WEB RCQ Flare NonIT Distribution_Europe":
				if len(a.Justification) != 2 || a.Justification[1] != (docJust{"CHIEF_YES_NO", "CHIEF_YES_NO", "Yes"}) {
					t.Errorf("justification %+v", a.Justification)
				}
			case "Web_Flare NonIT Distribution":
				if len(a.Justification) != 3 {
					t.Errorf("justification %+v", a.Justification)
				}
			default:
				if len(a.Justification) != 0 {
					t.Errorf("unscored with justification %+v", a.Justification)
				}
			}
		}
	})

	t.Run("documented user details", func(t *testing.T) {
		var out struct {
			UserEntt []struct {
				Entitlement      string   `json:"entitlement"`
				Score            *float64 `json:"score"`
				Freq             *string  `json:"freq"`
				Frequnion        *string  `json:"frequnion"`
				RawJustification []string `json:"rawJustification"`
			} `json:"userEntt"`
			User struct {
				DisplayName string `json:"displayName"`
				HRData      []struct{ Title, ID, Value string }
			} `json:"user"`
			EntitlementsCount int64 `json:"entitlementsCount"`
		}
		ts.call(t, admin, "POST", "/api/userDetails", map[string]string{"employeeId": "aaron.fischer"}, 200, &out)
		found := 0
		for _, e := range out.UserEntt {
			if want, ok := documented[e.Entitlement]; ok {
				found++
				if scoreOf(e.Score) != want {
					t.Errorf("%s: score %s, want %s", e.Entitlement, scoreOf(e.Score), want)
				}
			}
			if e.Entitlement == "WEB_user_Web_WEB RCQ Flare NonIT Distribution_Europe" && (*e.Freq != "134.0" || *e.Frequnion != "131" || !containsStr(e.RawJustification, "CHIEF_YES_NO_Yes")) {
				t.Errorf("freq %s frequnion %s raw %v", *e.Freq, *e.Frequnion, e.RawJustification)
			}
		}
		if found != 4 || out.EntitlementsCount != 10 || out.User.DisplayName != "Aaron Fischer" || len(out.User.HRData) == 0 {
			t.Errorf("found %d of 4, count %d, user %+v", found, out.EntitlementsCount, out.User)
		}
	})

	t.Run("documented recommendations", func(t *testing.T) {
		body := map[string]any{"confidenceThreshold": 0.1, "maxResults": 1000, "offset": 0, "userAttributes": []string{
			"0E_USR_MANAGER_ID_gregory.suhr", "13_USR_DEPARTMENT_NAME_Facilities Area A", "0C_CHIEF_YES_NO_No",
			"0C_MANAGER_NAME_Gregory Suhr", "0C_USR_EMP_TYPE_Employee", "13_USR_DEPARTMENT_NAME_Wireless Operations"}}
		var all []itemRec
		ts.call(t, admin, "GET", "/api/entitlements/recommendations", body, 200, &all)
		got := map[string]itemRec{}
		for _, r := range all {
			got[r.Entitlement] = r
		}
		a := got["06_ENT_ID_WEB_user_WEB RCQ Flare NonIT Distribution_II"]
		b := got["06_ENT_ID_Web_tildeNon-security plus"]
		if a.Confidence != 0.14 || a.Frequency != 22 || len(a.Attributes) != 2 || a.Attributes[0] != "0C_CHIEF_YES_NO_No" {
			t.Errorf("first rule: %+v", a)
		}
		if b.Confidence != 0.14 || b.Frequency != 28 || strings.Join(b.Attributes, "|") != "0C_MANAGER_NAME_Gregory Suhr|13_USR_DEPARTMENT_NAME_Facilities Area A" {
			t.Errorf("second rule: %+v", b)
		}
		// Ordered by confidence desc (exact, so displayed ties may differ in freq).
		for i := 1; i < len(all); i++ {
			if all[i].Confidence > all[i-1].Confidence {
				t.Errorf("%s (%v) after %s (%v)", all[i].Entitlement, all[i].Confidence, all[i-1].Entitlement, all[i-1].Confidence)
			}
		}
		// The documented body skips 200 results (SPEC 5: skip offset, then take maxResults).
		body["offset"] = 200
		var tail []itemRec
		ts.call(t, admin, "GET", "/api/entitlements/recommendations", body, 200, &tail)
		if want := max(0, len(all)-200); len(tail) != want {
			t.Errorf("offset 200: %d results, want %d", len(tail), want)
		}
		body["offset"], body["maxResults"] = 3, 2
		var page []itemRec
		ts.call(t, admin, "POST", "/api/entitlements/recommendations", body, 200, &page)
		if len(page) != 2 || page[0].Entitlement != all[3].Entitlement || page[1].Entitlement != all[4].Entitlement {
			t.Errorf("offset 3 max 2: %+v", page)
		}
	})

	t.Run("assignments paged to the end", func(t *testing.T) {
		seen := map[string]bool{}
		last := ""
		cursor := ""
		for pages := 0; ; pages++ {
			var out struct {
				Cursor      *string         `json:"cursor"`
				Assignments []docAssignment `json:"assignments"`
			}
			ts.call(t, admin, "POST", "/api/assignments", map[string]any{"pageSize": 5000, "cursor": cursor}, 200, &out)
			for _, a := range out.Assignments {
				k := a.UsrID + "\x00" + a.EntID
				if seen[k] || k <= last {
					t.Fatalf("%q repeated or out of order", k)
				}
				seen[k], last = true, k
			}
			if out.Cursor == nil {
				break
			}
			cursor = *out.Cursor
		}
		if len(seen) != 47935 {
			t.Errorf("%d assignments, want 47935", len(seen))
		}
		var one struct {
			Assignments []docAssignment `json:"assignments"`
		}
		ts.call(t, admin, "POST", "/api/assignments", map[string]any{"usr_id": "aaron.fischer", "app_id": "SAP"}, 200, &one)
		if len(one.Assignments) != 2 {
			t.Errorf("aaron.fischer in SAP: %+v", one.Assignments)
		}
	})

	t.Run("user details paged", func(t *testing.T) {
		var ents, recs []string
		last, lastRec := "", ""
		for i := 0; i < 10; i++ {
			var out struct {
				UserEntt        []struct{ Entitlement string } `json:"userEntt"`
				RecommendedEntt struct {
					Predictions []struct {
						Ent  string  `json:"ent"`
						Conf *string `json:"conf"`
					} `json:"predictions"`
					LastEntitlementID *string `json:"lastEntitlementId"`
				} `json:"recommendedEntt"`
				LastEntitlementID          *string `json:"lastEntitlementId"`
				EntitlementsRemainingCount int64   `json:"entitlementsRemainingCount"`
			}
			ts.call(t, admin, "POST", "/api/userDetails", map[string]any{"employeeId": "aaron.fischer", "pageSize": 3,
				"lastEntitlementId": last, "lastRecommendedEnttId": lastRec}, 200, &out)
			for _, e := range out.UserEntt {
				ents = append(ents, e.Entitlement)
			}
			for _, p := range out.RecommendedEntt.Predictions {
				recs = append(recs, p.Ent)
				if p.Conf == nil || *p.Conf < "0.75" {
					t.Errorf("recommendation %s below recommend_threshold: %v", p.Ent, p.Conf)
				}
			}
			if out.LastEntitlementID != nil {
				last = *out.LastEntitlementID
			}
			if out.RecommendedEntt.LastEntitlementID != nil {
				lastRec = *out.RecommendedEntt.LastEntitlementID
			}
			if len(out.UserEntt) == 0 && len(out.RecommendedEntt.Predictions) == 0 {
				break
			}
		}
		if len(ents) != 10 || !sort.StringsAreSorted(ents) || hasDup(ents) || hasDup(recs) {
			t.Errorf("entitlements %v, recommendations %v", ents, recs)
		}
		var desc struct {
			UserEntt []struct{ Entitlement string } `json:"userEntt"`
		}
		ts.call(t, admin, "POST", "/api/userDetails", map[string]any{"employeeId": "aaron.fischer", "sortDir": "desc", "pageSize": 2}, 200, &desc)
		if len(desc.UserEntt) != 2 || desc.UserEntt[0].Entitlement != ents[9] {
			t.Errorf("desc: %+v", desc.UserEntt)
		}
	})

	t.Run("distinct users and entitlements", func(t *testing.T) {
		cursorOf := func(id string) string {
			b, _ := json.Marshal(map[string]string{"usr_id": id})
			return store.EncodeCursor(json.RawMessage(b))
		}
		n, cursor := 0, ""
		var prev string
		for {
			var out []map[string]any
			ts.call(t, admin, "POST", "/api/userDetails/distinct", map[string]any{"pageSize": 1000, "cursor": cursor}, 200, &out)
			if len(out) == 0 {
				break
			}
			for _, u := range out {
				id := u["usr_id"].(string)
				if id <= prev {
					t.Fatalf("%q after %q", id, prev)
				}
				prev = id
				n++
			}
			cursor = cursorOf(prev)
		}
		if n != 5200 {
			t.Errorf("%d users, want 5200", n)
		}
		var op []map[string]any
		ts.call(t, admin, "POST", "/api/userDetails/distinct", map[string]any{"pageSize": 2, "cost_center": "OP"}, 200, &op)
		if len(op) != 2 || !strings.HasPrefix(op[0]["cost_center"].(string), "OP") {
			t.Errorf("cost_center OP: %v", op)
		}
		var ents []distinctEnt
		ts.call(t, admin, "GET", "/api/entitlements/distinct", nil, 200, &ents)
		if len(ents) != 2591 || ents[0].EntOwnerID == nil {
			t.Errorf("%d entitlements", len(ents))
		}
	})

	t.Run("company view", func(t *testing.T) {
		var cv struct {
			CompanyView map[string]json.RawMessage `json:"companyView"`
		}
		ts.call(t, admin, "GET", "/api/companyview", nil, 200, &cv)
		for _, k := range []string{"employeeTypes", "employees_wo_manager", "employees_w_manager", "entitlements_without_roleowners",
			"entitlements_with_roleowners", "total_employees", "coverage", "entitlementsDistribution"} {
			if cv.CompanyView[k] == nil {
				t.Errorf("companyView has no %s", k)
			}
		}
		var groups avgGroupsBody
		ts.call(t, admin, "GET", "/api/companyview/allEntitlementAvgGroups", nil, 200, &groups)
		var sum int64
		for _, g := range groups.EntitlementList {
			sum += g.EntitlementCount
		}
		if len(groups.EntitlementList) != 20 || groups.EntitlementList[1].Start != 0.06 || groups.EntitlementList[1].End != 0.1 || sum == 0 {
			t.Errorf("groups %+v", groups)
		}
		var crit []criticalEnt
		ts.call(t, admin, "GET", "/api/companyview/mostCriticalEntitlements", nil, 200, &crit)
		if len(crit) != 10 || *crit[0].AvgConfScore > *crit[9].AvgConfScore || crit[1].Seq != 1 {
			t.Errorf("critical %+v", crit)
		}
		var st assignmentStatsBody
		ts.call(t, admin, "GET", "/api/companyview/assignmentsStats?assignmentsLimit=5", nil, 200, &st)
		if st.Total != 47935 || st.Unscored != 8795 || len(st.MostAssigned) != 5 || st.MostAssigned[0].Count != 344 {
			t.Errorf("stats %+v", st)
		}
		now := time.Now().UTC()
		var months []monthBody
		ts.call(t, admin, "GET", fmt.Sprintf("/api/companyview/assignmentHistConfSummary/%d/%d", now.Year(), int(now.Month())), nil, 200, &months)
		if len(months) != 12 || months[11].Total != 17726+16797+4617 {
			t.Errorf("months %+v", months)
		}
		ts.call(t, admin, "GET", "/api/companyview/assignmentHistConfSummary/2020/13", nil, 400, nil)
	})

	t.Run("applications", func(t *testing.T) {
		var apps appsBody
		var ids []string
		cursor := ""
		for {
			ts.call(t, admin, "GET", "/api/applications?pageSize=2&cursor="+url.QueryEscape(cursor), nil, 200, &apps)
			for _, a := range apps.Applications {
				ids = append(ids, a.AppID)
			}
			if apps.Cursor == nil {
				break
			}
			cursor = *apps.Cursor
		}
		if len(ids) != 7 || int64(len(ids)) != apps.TotalApplications || hasDup(ids) || apps.TotalAssignments != 47935 {
			t.Errorf("apps %v %+v", ids, apps)
		}
		var ents appEntsBody
		ts.call(t, admin, "POST", "/api/applications/SAP", map[string]any{"filters": []map[string]any{{"type": "user", "attribute": "city", "value": []string{"Jacksonville"}}}}, 200, &ents)
		var all appEntsBody
		ts.call(t, admin, "POST", "/api/applications/SAP?pageSize=10000", nil, 200, &all)
		if ents.TotalUsers == 0 || ents.TotalUsers >= all.TotalUsers || len(ents.Entitlements) == 0 {
			t.Errorf("filtered %d users of %d", ents.TotalUsers, all.TotalUsers)
		}
		var asg appAssignmentsBody
		n := 0
		cursor = ""
		for {
			ts.call(t, admin, "POST", "/api/applications/SAP/assignments?sortBy=confidence&sortDir=desc&pageSize=500&cursor="+url.QueryEscape(cursor),
				map[string]any{"filters": []map[string]any{{"type": "user", "attribute": "CITY", "value": "Jacksonville"}}}, 200, &asg)
			n += len(asg.Assignments)
			if asg.Cursor == nil {
				break
			}
			cursor = *asg.Cursor
		}
		if int64(n) != asg.TotalAssignments || n == 0 {
			t.Errorf("%d assignments, total %d", n, asg.TotalAssignments)
		}
		var search appSearchBody
		ts.call(t, admin, "GET", "/api/applications/search?q=sap", nil, 200, &search)
		if len(search.Values) != 2 {
			t.Errorf("search sap: %+v", search)
		}
		ts.call(t, admin, "POST", "/api/applications/nope", nil, 404, nil)
		w := ts.do("POST", "/api/applications/SAP/assignments?cursor=bad", nil, bearer(admin))
		wantError(t, w, 400, "cursor")
	})

	t.Run("entitlements", func(t *testing.T) {
		var d entDetailBody
		ts.call(t, admin, "GET", "/api/entitlements/id/"+url.PathEscape("AccessType : XMLP_ADMIN"), nil, 200, &d)
		var holders int64
		for _, u := range d.UserScores {
			holders += u.Count
		}
		if len(d.Users) != 172 || holders != 172 || d.Scores.High+d.Scores.Medium+d.Scores.Low != 172 || len(d.DrivingFactors) == 0 {
			t.Errorf("detail: %d users, %+v", len(d.Users), d.Scores)
		}
		w := ts.do("GET", "/api/entitlements/id/nope", nil, bearer(admin))
		e := wantError(t, w, 404, "entitlement")
		if !strings.Contains(e.Error.Message, "nope") {
			t.Errorf("message %q does not name the id", e.Error.Message)
		}
		var search entSearchBody
		ts.call(t, admin, "GET", "/api/entitlements/search?q=xmlp&appId=Salesforce", nil, 200, &search)
		if len(search.Values) == 0 || *search.Values[0].AppID != "Salesforce" {
			t.Errorf("search: %+v", search)
		}
		var un unscoredBody
		ts.call(t, admin, "GET", "/api/entitlements/unscored", nil, 200, &un)
		n := 0
		for _, e := range un.Entitlements {
			n += len(e.Users)
		}
		if n != 8795 {
			t.Errorf("%d unscored assignments, want 8795", n)
		}
		var df []drivingFactor
		ts.call(t, admin, "POST", "/api/userDetails/drivingFactor", map[string]string{"entitlement": "AccessType : XMLP_ADMIN"}, 200, &df)
		if len(df) == 0 || df[0].Count < df[len(df)-1].Count {
			t.Errorf("driving factors %+v", df)
		}
	})

	t.Run("rules", func(t *testing.T) {
		var info rulesInfoBody
		ts.call(t, admin, "GET", "/api/rules/info?by=appOwner&user=derick.hui", nil, 200, &info)
		if info.CountApplications == 0 || info.CountRules == 0 {
			t.Errorf("info %+v", info)
		}
		ent := "AccessType : XMLP_ADMIN"
		f, _ := json.Marshal(map[string]any{"entitlement": ent})
		seen := map[string]bool{}
		cursor := ""
		var total int64
		for {
			var out rulesBody
			ts.call(t, admin, "GET", "/api/rules?pageSize=300&filter="+url.QueryEscape(string(f))+"&cursor="+url.QueryEscape(cursor), nil, 200, &out)
			for _, r := range out.Rules {
				k := strings.Join(r.RawJustification, "|")
				if seen[k] || *r.Entitlement["ent_id"] != ent {
					t.Fatalf("rule %s repeated or of another entitlement", k)
				}
				seen[k] = true
			}
			total = out.TotalRulesCount
			if out.Cursor == nil {
				break
			}
			cursor = *out.Cursor
		}
		if int64(len(seen)) != total || total != 786 {
			t.Errorf("%d rules, total %d", len(seen), total)
		}
		hf, _ := json.Marshal(map[string]any{"entitlement": ent, "highConfidence": true})
		var high rulesBody
		ts.call(t, admin, "GET", "/api/rules?pageSize=1000&filter="+url.QueryEscape(string(hf)), nil, 200, &high)
		for _, r := range high.Rules {
			if r.Confidence < 0.75 {
				t.Errorf("high filter: %v", r.Confidence)
			}
		}
		if high.TotalRulesCount == 0 || high.TotalRulesCount >= total {
			t.Errorf("high: %d of %d", high.TotalRulesCount, total)
		}
	})

	t.Run("decisions", func(t *testing.T) {
		ts.call(t, admin, "POST", "/api/userDetails/decisions", map[string]any{"assignments": []map[string]any{{"user": "aaron.fischer",
			"entitlements": []string{"Web_Flare NonIT Distribution"}}}, "is_certified": true, "reason": "fine"}, 200, nil)
		var ds decisionsBody
		ts.call(t, admin, "GET", "/api/userDetails/decisions?user=aaron.fischer&datasinkStatus=nack", nil, 200, &ds)
		if len(ds.Decisions) != 1 || !ds.Decisions[0].IsCertified || ds.Decisions[0].DatasinkStatus != "nack" || *ds.Decisions[0].Author == "" || *ds.Decisions[0].Conf != 0.6 {
			t.Fatalf("decisions %+v", ds)
		}
		ts.call(t, admin, "GET", "/api/userDetails/decisions?user=aaron.fischer&datasinkStatus=ack", nil, 200, &ds)
		if len(ds.Decisions) != 0 {
			t.Errorf("ack: %+v", ds)
		}
		past := url.QueryEscape(`{"timestampThresholds":{"lt":"2000-01-01T00:00:00.000Z"}}`)
		ts.call(t, admin, "GET", "/api/userDetails/decisions?user=aaron.fischer&filter="+past, nil, 200, &ds)
		if len(ds.Decisions) != 0 {
			t.Errorf("lt 2000: %+v", ds)
		}
		var asg appAssignmentsBody
		ts.call(t, admin, "POST", "/api/applications/SAP%20Finance/assignments?user=aaron.fischer", nil, 200, &asg)
		certified := 0
		for _, a := range asg.Assignments {
			if a.IsCertified && a.DateCertified != nil && a.ApprovalAuthor != nil {
				certified++
			}
		}
		if certified != 1 {
			t.Errorf("application view shows %d certified", certified)
		}
		w := ts.do("POST", "/api/userDetails/decisions", map[string]any{"assignments": []map[string]any{{"user": "nobody.here", "entitlements": []string{"x"}}},
			"is_revoked": true}, bearer(admin))
		if e := wantError(t, w, 404, "user"); !strings.Contains(e.Error.Message, "nobody.here") {
			t.Errorf("message %q", e.Error.Message)
		}
		gtgte := url.QueryEscape(`{"timestampThresholds":{"gt":"2000-01-01T00:00:00.000Z","gte":"2000-01-01T00:00:00.000Z"}}`)
		wantError(t, ts.do("GET", "/api/userDetails/decisions?user=aaron.fischer&filter="+gtgte, nil, bearer(admin)), 400, "filter.timestampThresholds.gte")
	})

	t.Run("rule decisions, autoprovision and autoAction", func(t *testing.T) {
		ud, err := ts.db.UserDetails(context.Background(), store.UserDetailsQuery{UsrID: "aaron.fischer", RecommendMin: 0.5})
		if err != nil || len(ud.Recommendations) == 0 {
			t.Fatalf("recommendations: %v", err)
		}
		rec := ud.Recommendations[0]
		ts.call(t, admin, "POST", "/api/rules/decision", map[string]any{"rules": []map[string]any{{"entitlement": rec.EntID, "justification": rec.Justification}},
			"is_autocertify": false, "is_autorequest": true, "autorequest_reason": "ok"}, 204, nil)
		var ap autoprovisionBody
		ts.call(t, admin, "POST", "/api/userDetails/ent/autoprovision", map[string]string{"user": "aaron.fischer"}, 200, &ap)
		if len(ap.Ents) != 1 || ap.Ents[0].EntID != rec.EntID {
			t.Errorf("autoprovision %+v", ap)
		}
		f, _ := json.Marshal(map[string]any{"autoRequest": true, "datasinkStatus": "nack"})
		var rules rulesBody
		ts.call(t, admin, "GET", "/api/rules?filter="+url.QueryEscape(string(f)), nil, 200, &rules)
		if rules.TotalRulesCount != 1 || !rules.Rules[0].IsAutoRequest || rules.Rules[0].AutoRequestDate == nil {
			t.Errorf("auto-request rules %+v", rules)
		}
		var aa autoActionBody
		ts.call(t, admin, "POST", "/api/userDetails/autoAction", map[string]any{"action": "revokeAccess", "usrId": "aaron.fischer", "thresholds": map[string]any{"lt": 0.5}}, 200, &aa)
		for _, x := range aa.Items {
			if x.Score == nil || *x.Score >= 0.5 {
				t.Errorf("revoke candidate %+v", x)
			}
		}
		if len(aa.Items) != 2 {
			t.Errorf("%d revoke candidates, want 2 (0.42 and 0.34)", len(aa.Items))
		}
		wantError(t, ts.do("POST", "/api/userDetails/autoAction", map[string]any{"action": "addAccess", "usrId": "aaron.fischer",
			"thresholds": map[string]any{"gt": 0.1, "gte": 0.2}}, bearer(admin)), 400, "thresholds.gte")
		wantError(t, ts.do("POST", "/api/userDetails/autoAction", map[string]any{"action": "addAccess", "usrId": "aaron.fischer", "cursor": "%%%"}, bearer(admin)), 400, "cursor")
		wantError(t, ts.do("POST", "/api/userDetails/ent/autoprovision", map[string]string{"user": "nobody.here"}, bearer(admin)), 404, "user")
	})

	t.Run("scoping by group", func(t *testing.T) {
		sup := ts.addViewUser("sarah.cary", GroupSupervisor)
		var mine, other struct {
			UserEntt          []json.RawMessage `json:"userEntt"`
			EntitlementsCount int64             `json:"entitlementsCount"`
		}
		ts.call(t, sup, "POST", "/api/userDetails", map[string]string{"employeeId": "aaron.fischer"}, 200, &mine)
		ts.call(t, sup, "POST", "/api/userDetails", map[string]string{"employeeId": "aaron.ballonado"}, 200, &other)
		if mine.EntitlementsCount != 10 || other.EntitlementsCount != 0 || len(other.UserEntt) != 0 {
			t.Errorf("supervisor sees %d of a report, %d of another", mine.EntitlementsCount, other.EntitlementsCount)
		}
		var st entStatsBody
		ts.call(t, sup, "POST", "/api/entitlements/stats?by=supervisor", map[string]any{"ownerId": "someone.else"}, 200, &st)
		reports, err := ts.db.Query(context.Background(), `SELECT COUNT(*) FROM identities WHERE usr_manager_id = 'sarah.cary'`)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for reports.Next() {
			reports.Scan(&n)
		}
		reports.Close()
		if st.TotalSubordinates != n || n == 0 || len(st.Users) == 0 {
			t.Errorf("stats: %d subordinates, want %d", st.TotalSubordinates, n)
		}
		ts.call(t, sup, "GET", "/api/companyview", nil, 403, nil)

		owner := ts.addViewUser("derick.hui", GroupApplicationOwner)
		var apps appsBody
		ts.call(t, owner, "GET", "/api/applications", nil, 200, &apps)
		var all appsBody
		ts.call(t, admin, "GET", "/api/applications?ownerId=derick.hui", nil, 200, &all)
		if apps.TotalApplications == 0 || apps.TotalApplications != all.TotalApplications {
			t.Errorf("app owner sees %d applications, owns %d", apps.TotalApplications, all.TotalApplications)
		}
		var entOwner = ts.addViewUser("julie.yee", GroupEntitlementOwner)
		var un unscoredBody
		ts.call(t, entOwner, "GET", "/api/entitlements/unscored?by=supervisor&user=sarah.cary", nil, 200, &un)
		owned, _ := ts.db.SearchEntitlements(context.Background(), store.ByEntOwner, "julie.yee", "", "", 10000)
		ownedSet := map[string]bool{}
		for _, e := range owned {
			ownedSet[e.EntID] = true
		}
		for _, e := range un.Entitlements {
			if !ownedSet[e.EntID] {
				t.Errorf("entitlement owner sees %s", e.EntID)
			}
		}
		w := ts.do("POST", "/api/userDetails/decisions", map[string]any{"assignments": []map[string]any{{"user": "aaron.ballonado",
			"entitlements": []string{"Flare NonIT Distribution_II_7HQ"}}}, "is_revoked": true}, bearer(sup))
		wantError(t, w, 403, "assignments")
	})

	t.Run("filters", func(t *testing.T) {
		var all, sup, app filtersBody
		ts.call(t, admin, "GET", "/api/filters/owner", nil, 200, &all)
		ts.call(t, admin, "GET", "/api/filters/owner?by=supervisor&user=sarah.cary", nil, 200, &sup)
		ts.call(t, admin, "GET", "/api/filters/app?id=SAP", nil, 200, &app)
		count := func(b filtersBody, attr string) (n int64) {
			for _, it := range b.Items {
				if it.Field == attr {
					for _, o := range it.Filters.Options {
						n += o.Count
					}
				}
			}
			return n
		}
		if count(all, "CITY") != 5200 || count(sup, "CITY") == 0 || count(sup, "CITY") >= 5200 || count(app, "CITY") == 0 {
			t.Errorf("CITY counts: %d %d %d", count(all, "CITY"), count(sup, "CITY"), count(app, "CITY"))
		}
		for _, it := range all.Items {
			if it.Field == "USR_DISPLAY_NAME" {
				t.Error("a unique attribute is filterable")
			}
		}
	})

	t.Run("roles", func(t *testing.T) {
		ts.call(t, admin, "POST", "/api/roles", map[string]any{"action": "create", "role": map[string]any{"role_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
			"entitlements": []string{"AccessType : XMLP_ADMIN"}, "justifications": []string{"04_CITY_Anaheim"},
			"role_metadata": map[string]string{"role_name": "Anaheim", "role_owner_id": "derick.hui"}}}, 204, nil)
		ts.call(t, admin, "POST", "/api/roles", map[string]any{"action": "create", "role": map[string]any{"role_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}}, 409, nil)
		ts.call(t, admin, "POST", "/api/roles", map[string]any{"action": "publish", "role": map[string]any{"role_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}}, 204, nil)
		var ex rolesExportBody
		ts.call(t, admin, "POST", "/api/roles/export", map[string]any{"entId": "AccessType : XMLP_ADMIN", "status": "active"}, 200, &ex)
		if len(ex.Roles) != 1 || ex.Roles[0].TempRoleName != "Anaheim" || ex.Roles[0].EntitlementsMetadata[0]["application"] == nil {
			t.Fatalf("export %+v", ex)
		}
		ts.call(t, admin, "POST", "/api/roles/export", map[string]any{"usrId": "jesse.heredia", "datasinkStatus": "nack"}, 200, &ex)
		if len(ex.Roles) != 36 || len(ex.Roles[0].Users) == 0 || len(ex.Roles[0].Users[0].Attributes) == 0 {
			t.Errorf("jesse.heredia's roles: %d", len(ex.Roles))
		}
		ts.call(t, admin, "POST", "/api/roles/delete", map[string]any{"role_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "status": "active"}, 204, nil)
		ts.call(t, admin, "POST", "/api/roles/delete", map[string]any{"role_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "status": "active"}, 404, nil)
	})

	t.Run("user endpoints", func(t *testing.T) {
		var hr hrDataBody
		ts.call(t, admin, "POST", "/api/userDetails/hrData", map[string]string{"employeeId": "aaron.fischer"}, 200, &hr)
		if hr.DisplayName == nil || *hr.DisplayName != "Aaron Fischer" || len(hr.User) != 13 || hr.User[0].ID != "DEPARTMENT" {
			t.Errorf("hrData %+v", hr)
		}
		var found searchBody
		ts.call(t, admin, "POST", "/api/userDetails/search", map[string]string{"username": "SARAH.C"}, 200, &found)
		if len(found.Values) != 1 || found.Values[0].User != "sarah.cary" || found.Values[0].IsSupervisor != "true" {
			t.Errorf("search %+v", found)
		}
		var sv singleViewBody
		ts.call(t, admin, "POST", "/api/singleViewWithApp/employees", map[string]string{"employeeId": "aaron.fischer", "includeLastAccessed": "true", "pageSize": "5"}, 200, &sv)
		if sv.High+sv.Medium+sv.Low != 8 || len(sv.UserEntt) != 5 || sv.EntitlementsCount != 10 || sv.EntitlementsRemainingCount != 5 || sv.AvgScore == nil {
			t.Errorf("single view %+v", sv)
		}
		var all, essential entStatsBody
		ts.call(t, admin, "POST", "/api/entitlements/stats?by=roleOwner", map[string]any{"ownerId": "julie.yee"}, 200, &all)
		ts.call(t, admin, "POST", "/api/entitlements/stats?by=roleOwner", map[string]any{"ownerId": "julie.yee", "isHighRiskOnly": true,
			"filters": []map[string]any{{"type": "app_id", "group": "criticality", "value": "Essential"}}}, 200, &essential)
		if all.TotalEntitlements == 0 || essential.TotalEntitlements >= all.TotalEntitlements {
			t.Errorf("stats: %d, high risk essential %d", all.TotalEntitlements, essential.TotalEntitlements)
		}
		for _, e := range essential.Entitlements {
			if e.HighRisk == nil || *e.HighRisk != "High" {
				t.Errorf("high-risk filter kept %+v", e)
			}
		}
		wantError(t, ts.do("POST", "/api/entitlements/stats?by=roleOwner", map[string]any{"ownerId": "julie.yee", "filters": []map[string]any{{"type": "nope", "group": "x", "value": "y"}}}, bearer(admin)), 400, "filters[0]")
		e := wantError(t, ts.do("POST", "/api/userDetails", map[string]string{"employeeId": "nobody.here"}, bearer(admin)), 404, "user")
		if !strings.Contains(e.Error.Message, "nobody.here") {
			t.Errorf("message %q", e.Error.Message)
		}
		wantError(t, ts.do("POST", "/api/assignments", map[string]any{"cursor": "bm90IGpzb24="}, bearer(admin)), 400, "cursor")
		wantError(t, ts.do("GET", "/api/rules?cursor=WyJhIl0=", nil, bearer(admin)), 400, "cursor")
		wantError(t, ts.do("POST", "/api/userDetails/drivingFactor", map[string]string{"entitlement": "nope"}, bearer(admin)), 404, "entitlement")
	})

	t.Run("report", func(t *testing.T) {
		var out struct {
			Rows []map[string]any `json:"rows"`
		}
		ts.call(t, admin, "POST", "/api/report", map[string]any{"reportType": "FullOutputFeed", "fields": []string{"usr_id", "ent_id", "score"}}, 200, &out)
		if len(out.Rows) != 47935 || len(out.Rows[0]) != 3 {
			t.Errorf("%d rows", len(out.Rows))
		}
		ts.call(t, admin, "POST", "/api/report", map[string]any{"reportType": "AnomalyReport"}, 200, &out)
		if len(out.Rows) != 3714 {
			t.Errorf("%d anomalies", len(out.Rows))
		}
		for _, kind := range []string{"RoleMining", "RecommendPredictions", "AutomaticRecertificationFeed"} {
			ts.call(t, admin, "POST", "/api/report", map[string]any{"reportType": kind}, 200, &out)
			if kind != "AutomaticRecertificationFeed" && len(out.Rows) == 0 {
				t.Errorf("%s: no rows", kind)
			}
		}
		// EventBasedCertification: one identity's city changes in an enrichment ingest.
		var events struct {
			Rows []identityChange `json:"rows"`
		}
		ts.call(t, admin, "POST", "/api/report", map[string]any{"reportType": "EventBasedCertification"}, 200, &events)
		if len(events.Rows) != 0 {
			t.Errorf("changes after one ingest: %+v", events.Rows)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "identities.csv"), []byte("usr_id,CITY\naaron.fischer,Akron\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ws, err := workspace.Open(ts.cfg.WorkspaceDir)
		if err != nil {
			t.Fatal(err)
		}
		src, err := stages.DirSource(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stages.Ingest(context.Background(), ws, stages.IngestOptions{Source: src, Sync: "enrichment"}); err != nil {
			t.Fatal(err)
		}
		ts.call(t, admin, "POST", "/api/report", map[string]any{"reportType": "EventBasedCertification", "fields": []string{"id", "type", "batch_id", "original", "update"}}, 200, &events)
		if len(events.Rows) != 1 || events.Rows[0].ID != "aaron.fischer" || events.Rows[0].Type != "update" || events.Rows[0].BatchID != "g000002" ||
			events.Rows[0].Original["CITY"] != "Jacksonville" || events.Rows[0].Update["CITY"] != "Akron" || len(events.Rows[0].Update) != 1 {
			t.Errorf("changes: %+v", events.Rows)
		}
		wantError(t, ts.do("POST", "/api/report", map[string]any{"reportType": "FullOutputFeed", "fields": []string{"nope"}}, bearer(admin)), 400, "fields")
		wantError(t, ts.do("POST", "/api/report", map[string]any{"reportType": "Nope"}, bearer(admin)), 400, "reportType")
	})
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func hasDup(list []string) bool {
	seen := map[string]bool{}
	for _, v := range list {
		if seen[v] {
			return true
		}
		seen[v] = true
	}
	return false
}

// pgServer is a server over a fresh schema of TEST_DATABASE_URL with the
// workspace's latest run loaded; the test skips without the variable
// (fails under CI=true).
func pgServer(t *testing.T, wsDir string) *testServer {
	t.Helper()
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	ws, err := workspace.Open(wsDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.NewRegistry().Run(ctx, ws, pipeline.Options{Jobs: []string{"load", "create-assignment-index"}, Out: io.Discard, DatabaseURL: dsn}); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, dsn, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := EnsureAdmin(ctx, db, testAdmin, testPassword, testArgon2); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: db, WorkspaceDir: wsDir, Argon2: testArgon2, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, db: db, cfg: srv.cfg}
	ts.adminToken = ts.token(testAdmin)
	return ts
}

// sameOnPostgres checks that the query views answer byte for byte the
// same from the embedded store and from PostgreSQL on the showcase data
// (before any workflow write).
func sameOnPostgres(t *testing.T, lite *testServer) {
	pg := pgServer(t, lite.cfg.WorkspaceDir)
	recs := map[string]any{"confidenceThreshold": 0.1, "maxResults": 1000, "offset": 0, "userAttributes": []string{
		"0E_USR_MANAGER_ID_gregory.suhr", "13_USR_DEPARTMENT_NAME_Facilities Area A", "0C_CHIEF_YES_NO_No",
		"0C_MANAGER_NAME_Gregory Suhr", "0C_USR_EMP_TYPE_Employee", "13_USR_DEPARTMENT_NAME_Wireless Operations"}}
	cityFilter := map[string]any{"filters": []map[string]any{{"type": "user", "attribute": "CITY", "value": []string{"Jacksonville", "Akron"}}}}
	now := time.Now().UTC()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/companyview", nil},
		{"GET", "/api/companyview/allEntitlementsAvgGroups", nil},
		{"GET", "/api/companyview/mostCriticalEntitlements?limit=50", nil},
		{"GET", "/api/companyview/assignmentStats?assignmentLimit=20", nil},
		{"GET", fmt.Sprintf("/api/companyview/assignmentHistConfSummary/%d/%d", now.Year(), int(now.Month())), nil},
		{"POST", "/api/userDetails", map[string]any{"employeeId": "aaron.fischer"}},
		{"POST", "/api/userDetails", map[string]any{"employeeId": "jesse.heredia", "sortDir": "desc", "pageSize": 5, "lastEntitlementId": "Web_Z"}},
		{"POST", "/api/userDetails/hrData", map[string]any{"employeeId": "aaron.fischer"}},
		{"POST", "/api/userDetails/search", map[string]any{"username": "aa"}},
		{"POST", "/api/userDetails/drivingFactor", map[string]any{"entitlement": "AccessType : XMLP_ADMIN"}},
		{"POST", "/api/userDetails/distinct", map[string]any{"pageSize": 50, "city": "A"}},
		{"POST", "/api/userDetails/autoAction", map[string]any{"action": "certifyAccess", "entId": "AccessType : XMLP_ADMIN", "thresholds": map[string]any{"gte": 0.5}}},
		{"POST", "/api/userDetails/autoAction", map[string]any{"action": "addAccess", "usrId": "aaron.fischer"}},
		{"POST", "/api/singleViewWithApp/employees", map[string]any{"employeeId": "aaron.fischer", "pageSize": "5"}},
		{"GET", "/api/applications", nil},
		{"GET", "/api/applications/search?q=a", nil},
		{"POST", "/api/applications/SAP", cityFilter},
		{"POST", "/api/applications/SAP/assignments?sortBy=confidence&pageSize=300", cityFilter},
		{"GET", "/api/entitlements/search?q=web", nil},
		{"POST", "/api/entitlements/stats?by=supervisor", map[string]any{"ownerId": "sarah.cary", "isUserEntitlementsIncluded": true}},
		{"POST", "/api/entitlements/stats?by=roleOwner", map[string]any{"ownerId": "julie.yee", "filters": []map[string]any{{"type": "app_id", "group": "criticality", "value": "Essential"}}}},
		{"GET", "/api/entitlements/id/" + url.PathEscape("AccessType : XMLP_ADMIN"), nil},
		{"GET", "/api/entitlements/unscored?by=supervisor&user=sarah.cary", nil},
		{"GET", "/api/entitlements/distinct", nil},
		{"GET", "/api/entitlements/recommendations", recs},
		{"POST", "/api/assignments", map[string]any{"pageSize": 2000, "cursor": "WyJhYXJvbi5maXNjaGVyIiwiV0VCX3VzZXJfU2hhcmVkX0VkaXRfQURNSU5fSUkiXQ=="}},
		{"GET", "/api/rules/info?by=appOwner&user=derick.hui", nil},
		{"GET", "/api/rules?pageSize=200&filter=" + url.QueryEscape(`{"medConfidence":true,"app_id":["SAP"]}`), nil},
		{"GET", "/api/filters/owner?by=supervisor&user=sarah.cary", nil},
		{"GET", "/api/filters/app?id=SAP", nil},
		{"POST", "/api/roles/export", map[string]any{"usrId": "jesse.heredia"}},
		{"POST", "/api/report", map[string]any{"reportType": "RecommendPredictions"}},
	} {
		a := lite.do(c.method, c.path, c.body, bearer(lite.adminToken))
		b := pg.do(c.method, c.path, c.body, bearer(pg.adminToken))
		if a.Code != 200 || a.Code != b.Code || a.Body.String() != b.Body.String() {
			t.Errorf("%s %s: embedded %d, PostgreSQL %d:\n%.300s\n%.300s", c.method, c.path, a.Code, b.Code, a.Body, b.Body)
		}
	}
}

// TestRolesExportJSON: the export's hand-made encoding is json.Marshal's.
func TestRolesExportJSON(t *testing.T) {
	n := int64(3)
	when := "2026-01-02T03:04:05.000Z"
	for _, out := range []rolesExportJSON{
		{Roles: []exportedRoleJSON{}},
		{Roles: []exportedRoleJSON{
			{TempRoleName: "Role <a&b>", NormalizedRoleName: "role <a&b>", MemberCount: &n, EntitlementCount: 2, RoleID: "r1", Status: "active",
				Entitlements: []string{"e1", "e\"2"}, EntitlementsMetadata: []json.RawMessage{json.RawMessage(`{"ent_id":"e1"}`), json.RawMessage(`{"ent_id":"e\"2"}`)},
				Justifications: []string{}, RoleMetadata: &roleMetadata{RoleName: "n", RoleOwnerID: "o"},
				Users: []json.RawMessage{json.RawMessage(`{"usr_id":"u1","usr_display_name":null,"attributes":[]}`)}, DatasinkStatus: "nack", LastUpdated: &when},
			{TempRoleName: "Role r2", RoleID: "r2", CustomRole: true, EntitlementsMetadata: []json.RawMessage{}, Users: []json.RawMessage{}},
		}},
	} {
		got, err := out.appendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
