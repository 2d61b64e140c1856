package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/model"
	"github.com/autoid-oss/autoid/store"
)

// TestViewsLoad is the load benchmark of the query views (benchmarks/
// README.md): for each endpoint, AUTOID_LOAD_CLIENTS (default 50)
// concurrent clients send requests with random parameters for
// AUTOID_LOAD_SECONDS (default 10) to a server over the store at
// AUTOID_LOAD_DSN (the workspace AUTOID_LOAD_WORKSPACE holds its
// engine.yaml), over HTTP on the loopback; it prints p50, p99 and max
// latency, throughput and errors per endpoint, and fails when an endpoint
// misses its target (lookups and paging p99 < 50 ms, filtered aggregates
// p99 < 500 ms) or answers an error. AUTOID_LOAD_ONLY, a regular
// expression, keeps the endpoints whose name it matches. With
// AUTOID_LOAD_DUMP set to a directory, it instead writes the answers to
// the same 20 requests per endpoint there (NN-MM.json: endpoint, request),
// to compare two builds. It skips without
// AUTOID_LOAD_DSN.
func TestViewsLoad(t *testing.T) {
	dsn := os.Getenv("AUTOID_LOAD_DSN")
	if dsn == "" {
		t.Skip("AUTOID_LOAD_DSN is not set: no load benchmark")
	}
	clients := envInt("AUTOID_LOAD_CLIENTS", 50)
	only, err := regexp.Compile(os.Getenv("AUTOID_LOAD_ONLY"))
	if err != nil {
		t.Fatalf("AUTOID_LOAD_ONLY: %v", err)
	}
	seconds := envInt("AUTOID_LOAD_SECONDS", 10)
	ctx := context.Background()
	db, err := store.Open(ctx, dsn, os.Getenv("AUTOID_LOAD_WORKSPACE"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := EnsureAdmin(ctx, db, testAdmin, testPassword, testArgon2); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Store: db, WorkspaceDir: os.Getenv("AUTOID_LOAD_WORKSPACE"), Argon2: testArgon2, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.User(ctx, testAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := srv.tokens.issue(u)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}}

	s := sampleLoad(t, db)
	type endpoint struct {
		name      string
		aggregate bool
		req       func(r *rand.Rand) (method, path string, body any)
	}
	pick := func(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }
	cityFilter := func(r *rand.Rand) any {
		return map[string]any{"filters": []map[string]any{{"type": "user", "attribute": s.attr, "value": []string{pick(r, s.attrValues)}}}}
	}
	eps := []endpoint{
		{"POST /api/assignments (page after a random cursor)", false, func(r *rand.Rand) (string, string, any) {
			i := r.IntN(len(s.pairs))
			return "POST", "/api/assignments", map[string]any{"pageSize": 100, "cursor": store.Cursor(s.pairs[i][0], s.pairs[i][1])}
		}},
		{"POST /api/userDetails", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/userDetails", map[string]any{"employeeId": pick(r, s.users)}
		}},
		{"POST /api/userDetails/hrData", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/userDetails/hrData", map[string]any{"employeeId": pick(r, s.users)}
		}},
		{"GET /api/userDetails/decisions", false, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/userDetails/decisions?user=" + url.QueryEscape(pick(r, s.users)), nil
		}},
		{"POST /api/userDetails/search", false, func(r *rand.Rand) (string, string, any) {
			u := pick(r, s.users)
			return "POST", "/api/userDetails/search", map[string]any{"username": u[:min(len(u), 5)]}
		}},
		{"POST /api/userDetails/drivingFactor", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/userDetails/drivingFactor", map[string]any{"entitlement": pick(r, s.ents)}
		}},
		{"POST /api/userDetails/autoAction (addAccess)", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/userDetails/autoAction", map[string]any{"action": "addAccess", "usrId": pick(r, s.users), "thresholds": map[string]any{"gte": 0.5}}
		}},
		{"POST /api/userDetails/ent/autoprovision", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/userDetails/ent/autoprovision", map[string]any{"user": pick(r, s.users)}
		}},
		{"POST /api/userDetails/distinct (page after a random user)", false, func(r *rand.Rand) (string, string, any) {
			c, _ := json.Marshal(map[string]string{"usr_id": pick(r, s.users)})
			return "POST", "/api/userDetails/distinct", map[string]any{"pageSize": 100, "cursor": store.EncodeCursor(json.RawMessage(c))}
		}},
		{"POST /api/singleViewWithApp/employees", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/singleViewWithApp/employees", map[string]any{"employeeId": pick(r, s.users), "pageSize": "20"}
		}},
		{"GET /api/entitlements/search", false, func(r *rand.Rand) (string, string, any) {
			e := pick(r, s.ents)
			return "GET", "/api/entitlements/search?q=" + url.QueryEscape(e[:min(len(e), 6)]), nil
		}},
		{"GET /api/entitlements/recommendations (a random identity's items)", false, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/entitlements/recommendations", map[string]any{"confidenceThreshold": 0.1, "maxResults": 100, "userAttributes": s.items[r.IntN(len(s.items))]}
		}},
		{"GET /api/rules (one entitlement's rules, first page)", false, func(r *rand.Rand) (string, string, any) {
			f, _ := json.Marshal(map[string]any{"entitlement": pick(r, s.ents)})
			return "GET", "/api/rules?pageSize=50&filter=" + url.QueryEscape(string(f)), nil
		}},
		{"GET /api/applications", false, func(r *rand.Rand) (string, string, any) { return "GET", "/api/applications", nil }},
		{"GET /api/companyview", false, func(r *rand.Rand) (string, string, any) { return "GET", "/api/companyview", nil }},
		{"GET /api/companyview/allEntitlementsAvgGroups", false, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/companyview/allEntitlementsAvgGroups", nil
		}},
		{"GET /api/companyview/mostCriticalEntitlements", false, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/companyview/mostCriticalEntitlements", nil
		}},
		{"GET /api/companyview/assignmentHistConfSummary", false, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/companyview/assignmentHistConfSummary/2026/11", nil
		}},
		{"POST /api/roles/export (a random identity's roles)", false, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/roles/export", map[string]any{"usrId": pick(r, s.users)}
		}},
		{"GET /api/companyview/assignmentStats", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/companyview/assignmentStats?assignmentLimit=20", nil
		}},
		{"GET /api/entitlements/id/{id}", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/entitlements/id/" + url.PathEscape(pick(r, s.ents)), nil
		}},
		{"POST /api/applications/{appId} (holder attribute filter)", true, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/applications/" + url.PathEscape(pick(r, s.apps)), cityFilter(r)
		}},
		{"POST /api/applications/{appId}/assignments (filter, by confidence)", true, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/applications/" + url.PathEscape(pick(r, s.apps)) + "/assignments?sortBy=confidence&pageSize=100", cityFilter(r)
		}},
		{"POST /api/entitlements/stats?by=supervisor", true, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/entitlements/stats?by=supervisor", map[string]any{"ownerId": pick(r, s.managers)}
		}},
		{"POST /api/entitlements/stats?by=roleOwner", true, func(r *rand.Rand) (string, string, any) {
			return "POST", "/api/entitlements/stats?by=roleOwner", map[string]any{"ownerId": pick(r, s.entOwners)}
		}},
		{"GET /api/entitlements/unscored?by=supervisor", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/entitlements/unscored?by=supervisor&user=" + url.QueryEscape(pick(r, s.managers)), nil
		}},
		{"GET /api/rules/info?by=enttOwner", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/rules/info?by=enttOwner&user=" + url.QueryEscape(pick(r, s.entOwners)), nil
		}},
		{"GET /api/filters/owner?by=supervisor", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/filters/owner?by=supervisor&user=" + url.QueryEscape(pick(r, s.managers)), nil
		}},
		{"GET /api/filters/app", true, func(r *rand.Rand) (string, string, any) {
			return "GET", "/api/filters/app?id=" + url.QueryEscape(pick(r, s.apps)), nil
		}},
	}
	if dir := os.Getenv("AUTOID_LOAD_DUMP"); dir != "" {
		for k, ep := range eps {
			if !only.MatchString(ep.name) {
				continue
			}
			r := rand.New(rand.NewPCG(uint64(k), 11))
			for i := 0; i < 20; i++ {
				method, path, body := ep.req(r)
				var rd io.Reader
				if body != nil {
					b, _ := json.Marshal(body)
					rd = bytes.NewReader(b)
				}
				req, _ := http.NewRequest(method, hs.URL+path, rd)
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				text, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatal(err)
				}
				text = append([]byte(fmt.Sprintf("%s %s %d\n", method, path, resp.StatusCode)), text...)
				if err := os.WriteFile(fmt.Sprintf("%s/%02d-%02d.json", dir, k, i), text, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		return
	}
	fmt.Printf("| endpoint | kind | requests | req/s | p50 ms | p99 ms | max ms | errors | target |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, ep := range eps {
		if !only.MatchString(ep.name) {
			continue
		}
		var mu sync.Mutex
		var lat []time.Duration
		errs := 0
		firstErr := ""
		deadline := time.Now().Add(time.Duration(seconds) * time.Second)
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 7))
				for time.Now().Before(deadline) {
					method, path, body := ep.req(r)
					var rd io.Reader
					if body != nil {
						b, _ := json.Marshal(body)
						rd = bytes.NewReader(b)
					}
					req, _ := http.NewRequest(method, hs.URL+path, rd)
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					t0 := time.Now()
					resp, err := client.Do(req)
					var status int
					var text []byte
					if err == nil {
						text, _ = io.ReadAll(resp.Body)
						resp.Body.Close()
						status = resp.StatusCode
					}
					d := time.Since(t0)
					mu.Lock()
					lat = append(lat, d)
					if err != nil || status != 200 {
						errs++
						if firstErr == "" {
							firstErr = fmt.Sprintf("%v %d %.200s", err, status, text)
						}
					}
					mu.Unlock()
				}
			}(uint64(c))
		}
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		q := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		target, kind := 50.0, "lookup/paging"
		if ep.aggregate {
			target, kind = 500, "filtered aggregate"
		}
		verdict := "met"
		if q(0.99) >= target || errs > 0 {
			verdict = "**missed**"
			t.Errorf("%s: p99 %.1f ms (target %.0f), %d errors %s", ep.name, q(0.99), target, errs, firstErr)
		}
		fmt.Printf("| %s | %s | %d | %.0f | %.1f | %.1f | %.1f | %d | p99 < %.0f ms: %s |\n", ep.name, kind, len(lat),
			float64(len(lat))/float64(seconds), q(0.5), q(0.99), q(1), errs, target, verdict)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// loadSamples are the ids the load benchmark draws its parameters from.
type loadSamples struct {
	users, ents, apps, managers, entOwners []string
	pairs                                  [][2]string
	items                                  [][]string
	attr                                   string
	attrValues                             []string
}

func loadSamplesOf(t *testing.T, db *store.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("no sample for %s", q)
	}
	return out
}

func sampleLoad(t *testing.T, db *store.DB) loadSamples {
	var s loadSamples
	s.users = loadSamplesOf(t, db, `SELECT usr_id FROM identities ORDER BY usr_id`)
	s.ents = loadSamplesOf(t, db, `SELECT ent_id FROM entitlements ORDER BY ent_id`)
	s.apps = loadSamplesOf(t, db, `SELECT app_id FROM applications ORDER BY app_id`)
	s.managers = loadSamplesOf(t, db, `SELECT DISTINCT usr_manager_id FROM identities WHERE usr_manager_id IS NOT NULL ORDER BY usr_manager_id`)
	s.entOwners = loadSamplesOf(t, db, `SELECT DISTINCT ent_owner_id FROM entitlements WHERE ent_owner_id IS NOT NULL ORDER BY ent_owner_id`)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		u := s.users[r.IntN(len(s.users))]
		as, _, err := db.Assignments(context.Background(), store.AssignmentQuery{UsrID: u, PageSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) > 0 {
			s.pairs = append(s.pairs, [2]string{as[0].UsrID, as[0].EntID})
		}
		if i < 200 {
			id, err := db.GetIdentity(context.Background(), u)
			if err != nil {
				t.Fatal(err)
			}
			var items []string
			for _, a := range id.Attrs {
				if it, err := model.EncodeItem(a.Name, a.Value); err == nil {
					items = append(items, it)
				}
			}
			s.items = append(s.items, items)
		}
	}
	// The attribute filter: the attribute with the most values up to 1000.
	attrs := loadSamplesOf(t, db, `SELECT attribute FROM filter_options GROUP BY attribute HAVING COUNT(*) <= 1000 ORDER BY COUNT(*) DESC, attribute`)
	s.attr = attrs[0]
	s.attrValues = loadSamplesOf(t, db, `SELECT value FROM filter_options WHERE attribute = '`+s.attr+`' ORDER BY count DESC`)
	return s
}
