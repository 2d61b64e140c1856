package server

import (
	"bufio"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/internal/shared"
)

// expectation is who may call an endpoint according to the reference's
// endpoint inventory (../shared/reference/endpoints.md), read
// independently of the route table.
type expectation struct {
	area    string
	public  bool
	groups  []Group // signed-in users in these groups; empty: any signed-in user
	apiKey  bool
	keyOnly bool
}

// Deliberate readings of the inventory, each for a reason:
var (
	// Public although the reference prints "All" or a token: the sign-in
	// steps themselves, and the configuration the sign-in page reads
	// (which authorizers exist).
	publicPaths = []string{"/health-check", "/version", "/api/authentication/login", "/api/sso/start", "/api/sso/finish", "/api/config"}
	// Any signed-in user although the reference prints no role list: they
	// concern the caller's own session or account.
	ownAccountPaths = []string{"/api/authentication/verify", "/api/slo/logout", "/api/admin/updateSelf"}
	// API keys accepted where the reference's text says so though its
	// table prints no auth: "a valid API key ... or an authorized
	// admin-level bearer token".
	keyPaths = []string{"/api/assignments"}
	// Aliases the inventory's preamble accepts, to the inventory's path.
	aliasPaths = map[string]string{
		"/api/companyview/assignmentsStats":                          "/api/companyview/assignmentStats",
		"/api/companyview/assignmentsHistConfSummary/{year}/{month}": "/api/companyview/assignmentHistConfSummary/{year}/{month}",
		"/api/companyview/allEntitlementAvgGroups":                   "/api/companyview/allEntitlementsAvgGroups",
		"/api/rules/decisions":                                       "/api/rules/decision",
		"/jas/entity/search/autoid/api/job_definition":               "/jas/job/search",
	}
	// Our additions, not in the reference, and who may call them.
	additions = map[string]expectation{
		"/healthz":                     {public: true},
		"/readyz":                      {public: true},
		"/metrics":                     {public: true},
		"/api/openapi.json":            {public: true},
		"/jas/job/runs":                {groups: []Group{GroupAdmin}, apiKey: true},
		"/jas/job/runs/{runId}":        {groups: []Group{GroupAdmin}, apiKey: true},
		"/jas/job/runs/{runId}/logs":   {groups: []Group{GroupAdmin}, apiKey: true},
		"/jas/job/runs/{runId}/cancel": {groups: []Group{GroupAdmin}, apiKey: true},
		"/jas/job/cancel":              {groups: []Group{GroupAdmin}, apiKey: true},
	}
)

// readInventory parses the endpoint table of endpoints.md: path ->
// expectation.
func readInventory(t *testing.T) map[string]expectation {
	t.Helper()
	f, err := os.Open(shared.Path(t, "reference", "endpoints.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]expectation{}
	pathRE := regexp.MustCompile("`([^` ]+)")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cells := strings.Split(sc.Text(), "|")
		if len(cells) != 9 || !regexp.MustCompile(`^\s*\d+\s*$`).MatchString(cells[1]) {
			continue
		}
		area, groups, auth := strings.TrimSpace(cells[2]), strings.TrimSpace(cells[5]), strings.ToLower(cells[6])
		m := pathRE.FindStringSubmatch(cells[4])
		if m == nil {
			t.Fatalf("no path in %q", sc.Text())
		}
		path := m[1]
		e := expectation{area: area}
		e.apiKey = strings.Contains(auth, "api")
		e.keyOnly = e.apiKey && !strings.Contains(auth, "bearer")
		if slices.Contains(keyPaths, path) {
			e.apiKey = true
		}
		switch {
		case slices.Contains(publicPaths, path):
			e.public = true
		case groups == "All", slices.Contains(ownAccountPaths, path):
		case groups == "":
			if !e.keyOnly {
				e.groups = []Group{GroupAdmin}
			}
		default:
			for _, g := range strings.Split(groups, ",") {
				gg, ok := ParseGroup(g)
				if !ok {
					t.Fatalf("unknown group %q in %q", g, sc.Text())
				}
				e.groups = append(e.groups, gg)
			}
		}
		out[strings.TrimSpace(cells[3])+" "+path] = e
	}
	if len(out) != 78 {
		t.Fatalf("read %d endpoints from endpoints.md, want 78", len(out))
	}
	return out
}

// expected returns the expectation of a registered route: the inventory's
// for its method and path, else for its path with the other method (the
// reference's examples use GET and POST interchangeably for some), else
// our additions'.
func expected(inv map[string]expectation, method, path string) (expectation, bool) {
	if a, ok := aliasPaths[path]; ok {
		path = a
	}
	if e, ok := inv[method+" "+path]; ok {
		return e, true
	}
	for _, m := range []string{"GET", "POST"} {
		if e, ok := inv[m+" "+path]; ok {
			return e, true
		}
	}
	e, ok := additions[path]
	return e, ok
}

// TestRoutesCoverInventory checks that every endpoint of the inventory is
// registered and every route is in the inventory or a known addition.
func TestRoutesCoverInventory(t *testing.T) {
	inv := readInventory(t)
	ts := newTestServer(t)
	registered := map[string]bool{}
	for _, r := range ts.srv.table {
		registered[r.Method+" "+r.Path] = true
		if _, ok := expected(inv, r.Method, r.Path); !ok {
			t.Errorf("%s %s is neither in the reference's inventory nor a known addition", r.Method, r.Path)
		}
	}
	for path, e := range inv {
		if registered[path] || path == "GET /jas/job/search" && registered["POST /jas/job/search"] {
			continue
		}
		t.Errorf("%s (%s) is not registered", path, e.area)
	}
}

// TestAuthorizationMatrix sends every route a request as every group, as
// an API key and anonymously, and checks the answer against the
// inventory: refused with 401/403 exactly where the reference says so.
func TestAuthorizationMatrix(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testAuthorizationMatrix(t, b) })
	}
}

func testAuthorizationMatrix(t *testing.T, b backend) {
	inv := readInventory(t)
	ts := newTestServer(t, b)
	tokens := map[Group]string{}
	for _, g := range AllGroups() {
		email := strings.ToLower(strings.ReplaceAll(string(g), " ", ".")) + "@example.com"
		if g == GroupAdmin {
			tokens[g] = ts.adminToken
			continue
		}
		tokens[g] = ts.addUser(email, g)
	}
	key, _ := ts.addKey("matrix", "")
	param := regexp.MustCompile(`\{[^}]+\}`)
	for _, r := range ts.srv.table {
		e, ok := expected(inv, r.Method, r.Path)
		if !ok {
			continue // reported by TestRoutesCoverInventory
		}
		if r.Path == "/jas/job/runs/{runId}/logs" {
			continue // a stream; its access is checked in the jobs tests
		}
		path := param.ReplaceAllString(r.Path, "x")
		var body any
		if r.Method != "GET" {
			body = "{}"
		}
		check := func(who string, allowed bool, hs ...header) {
			t.Helper()
			w := ts.do(r.Method, path, body, hs...)
			refused := w.Code == 401 || w.Code == 403
			if allowed && refused {
				t.Errorf("%s %s as %s: %d, want it allowed: %s", r.Method, r.Path, who, w.Code, w.Body)
			}
			if !allowed && !refused {
				t.Errorf("%s %s as %s: %d, want 401 or 403", r.Method, r.Path, who, w.Code)
			}
			if !allowed && !e.public && who == "anonymous" && w.Code != 401 {
				t.Errorf("%s %s anonymous: %d, want 401", r.Method, r.Path, w.Code)
			}
		}
		check("anonymous", e.public)
		check("API key", e.public || e.apiKey, apiKey(key))
		for _, g := range AllGroups() {
			allowed := e.public || (!e.keyOnly && (len(e.groups) == 0 || slices.Contains(e.groups, g)))
			check(string(g), allowed, bearer(tokens[g]))
		}
	}
}
