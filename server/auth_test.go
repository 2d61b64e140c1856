package server

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// addUser creates a user through the API and returns a token for it.
func (ts *testServer) addUser(email string, groups ...Group) string {
	ts.t.Helper()
	gs := []string{}
	for _, g := range groups {
		gs = append(gs, string(g))
	}
	w := ts.admin("POST", "/api/admin/createUser", map[string]any{
		"email": email, "password": testPassword, "displayName": "User " + email, "groups": gs,
		"dn": "cn=" + email + ",ou=People", "gidNumber": "321", "controls": []string{}})
	if w.Code != 200 {
		ts.t.Fatalf("createUser %s: %d %s", email, w.Code, w.Body)
	}
	return ts.token(email)
}

// addKey creates an API key and returns its secret and id.
func (ts *testServer) addKey(name, expiration string) (secret, id string) {
	ts.t.Helper()
	w := ts.admin("POST", "/api/admin/createApiToken", map[string]string{"name": name, "description": "d", "expiration": expiration})
	if w.Code != 200 {
		ts.t.Fatalf("createApiToken: %d %s", w.Code, w.Body)
	}
	var out createKeyResponse
	decodeBody(ts.t, w, &out)
	return out.Token, out.ID
}

func TestLoginVerifyRenew(t *testing.T) {
	clock := &fixedClock{t: time.Now()}
	ts := newTestServer(t, func(c *Config) { c.Now = clock.now; c.TokenTTL = time.Hour })
	w := ts.do("POST", "/api/authentication/login", map[string]string{"username": testAdmin, "password": testPassword})
	wantStatus(t, w, 200)
	var lr struct {
		User  map[string]any `json:"user"`
		Token string         `json:"token"`
	}
	decodeBody(t, w, &lr)
	for _, k := range []string{"dn", "controls", "gidNumber", "uid", "displayName", "_groups"} {
		if _, ok := lr.User[k]; !ok {
			t.Errorf("login user lacks %s: %s", k, w.Body)
		}
	}
	if lr.User["uid"] != "admin" || lr.User["_groups"].([]any)[0] != "Zoran Admin" {
		t.Errorf("login user %v", lr.User)
	}
	// The expiry is in the token's exp claim.
	parts := strings.Split(lr.Token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var cl map[string]any
	json.Unmarshal(payload, &cl)
	if exp := int64(cl["exp"].(float64)); exp != clock.t.Add(time.Hour).Unix() {
		t.Errorf("exp %d, want now + 1h", exp)
	}

	w = ts.do("GET", "/api/authentication/verify", nil, bearer(lr.Token))
	wantStatus(t, w, 200)
	var vr struct {
		User map[string]any `json:"user"`
	}
	decodeBody(t, w, &vr)
	for _, k := range []string{"controls", "displayName", "email", "dn", "gidNumber", "uid", "_groups", "iat", "exp", "aud", "sub"} {
		if _, ok := vr.User[k]; !ok {
			t.Errorf("verify user lacks %s: %s", k, w.Body)
		}
	}
	if vr.User["email"] != testAdmin || vr.User["sub"] != testAdmin {
		t.Errorf("verify %v", vr.User)
	}

	// The bare authorization header and "Token" scheme work too.
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, header{"Authorization", lr.Token}), 200)
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, header{"Authorization", "Token " + lr.Token}), 200)

	clock.t = clock.t.Add(30 * time.Minute)
	w = ts.do("POST", "/api/authentication/renewToken", "", bearer(lr.Token))
	wantStatus(t, w, 200)
	var rr loginResponse
	decodeBody(t, w, &rr)
	if rr.Token == "" || rr.Token == lr.Token || rr.User.Email != testAdmin {
		t.Fatalf("renew: %s", w.Body)
	}
	// After the first token expires, only the renewed one works.
	clock.t = clock.t.Add(45 * time.Minute)
	wantError(t, ts.do("GET", "/api/authentication/verify", nil, bearer(lr.Token)), 401, "Authorization")
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, bearer(rr.Token)), 200)
}

func TestLoginFailures(t *testing.T) {
	ts := newTestServer(t)
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": testAdmin, "password": "wrong password"}), 401, "password")
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": "nobody@example.com", "password": "x"}), 401, "password")
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": testAdmin}), 400, "password")
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"password": "x"}), 400, "username")
	wantError(t, ts.do("POST", "/api/authentication/login", `{"username": 5, "password": "x"}`), 400, "username")
	wantError(t, ts.do("POST", "/api/authentication/login", `{"username": "a",`), 400, "body")
	wantError(t, ts.do("POST", "/api/authentication/login", ``), 400, "body")
}

func TestLoginRateLimit(t *testing.T) {
	clock := &fixedClock{t: time.Now()}
	ts := newTestServer(t, func(c *Config) { c.Now = clock.now; c.LoginAttempts = 3; c.LoginWindow = time.Minute })
	ts.addUser("u@example.com", GroupUser)
	bad := map[string]string{"username": "u@example.com", "password": "wrong password"}
	for i := 0; i < 3; i++ {
		wantError(t, ts.do("POST", "/api/authentication/login", bad), 401, "")
	}
	// Blocked now, even with the right password.
	w := ts.do("POST", "/api/authentication/login", map[string]string{"username": "u@example.com", "password": testPassword})
	wantError(t, w, 429, "username")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Per address too: the same client cannot move on to another user.
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": testAdmin, "password": testPassword}), 429, "")
	clock.t = clock.t.Add(61 * time.Second)
	wantStatus(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": "u@example.com", "password": testPassword}), 200)
}

func TestBadTokens(t *testing.T) {
	ts := newTestServer(t)
	tok := ts.adminToken
	parts := strings.Split(tok, ".")

	// A tampered payload (groups changed) fails the signature.
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), `"admin"`, `"root"`, 1)
	bad := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2]
	wantError(t, ts.do("GET", "/api/admin/getUsers", nil, bearer(bad)), 401, "Authorization")

	// alg none is refused.
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": testAdmin, "iss": "autoid", "aud": "autoid-api",
		"exp": time.Now().Add(time.Hour).Unix(), "_groups": []string{"Zoran Admin"}})
	s, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, ts.do("GET", "/api/admin/getUsers", nil, bearer(s)), 401, "Authorization")

	// Signed with another key.
	other := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": testAdmin, "iss": "autoid", "aud": "autoid-api",
		"exp": time.Now().Add(time.Hour).Unix()})
	s, _ = other.SignedString([]byte("not the server's key"))
	wantError(t, ts.do("GET", "/api/admin/getUsers", nil, bearer(s)), 401, "Authorization")

	// Garbage.
	wantError(t, ts.do("GET", "/api/admin/getUsers", nil, bearer("a.b.c")), 401, "Authorization")
	// No credentials.
	wantError(t, ts.do("GET", "/api/admin/getUsers", nil), 401, "Authorization")
}

func TestUsersEndpoints(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testUsersEndpoints(t, b) })
	}
}

func testUsersEndpoints(t *testing.T, b backend) {
	ts := newTestServer(t, b)
	userTok := ts.addUser("john.doe@example.com", GroupSupervisor, GroupRoleEngineer)

	// Conflicts and bad input.
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"email": "john.doe@example.com", "password": testPassword, "groups": []string{"Zoran User"}}), 409, "email")
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"email": "x@example.com", "password": testPassword, "groups": []string{"Zoran Wizard"}}), 400, "groups")
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"email": "x@example.com", "password": "short", "groups": []string{"Admin"}}), 400, "password")
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"email": "x@example.com", "groups": []string{"Admin"}}), 400, "password")
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"password": testPassword, "groups": []string{"Admin"}}), 400, "email")
	wantError(t, ts.admin("POST", "/api/admin/createUser", map[string]any{"email": "x@example.com", "password": testPassword, "groups": "Admin"}), 400, "groups")

	// getUsers: the reference's shape, paging and sorting.
	w := ts.admin("GET", "/api/admin/getUsers", `{"maxResults": 1, "offset": 1, "sortBy": "uid"}`)
	wantStatus(t, w, 200)
	var us []map[string]any
	decodeBody(t, w, &us)
	if len(us) != 1 || us[0]["uid"] != "john.doe" || us[0]["enabled"] != true || us[0]["gidNumber"] != "321" {
		t.Fatalf("getUsers: %s", w.Body)
	}
	for _, k := range []string{"controls", "displayName", "email", "dn", "gidNumber", "uid", "_groups", "enabled"} {
		if _, ok := us[0][k]; !ok {
			t.Errorf("getUsers lacks %s", k)
		}
	}
	wantError(t, ts.admin("GET", "/api/admin/getUsers?sortBy=shoeSize", nil), 400, "sortBy")
	wantError(t, ts.admin("GET", "/api/admin/getUsers?maxResults=x", nil), 400, "maxResults")

	// updateUser changes groups and password.
	wantStatus(t, ts.admin("POST", "/api/admin/updateUser", map[string]any{"email": "john.doe@example.com", "password": "a new password", "groups": []string{"Zoran Executive"}}), 200)
	ts.login("john.doe@example.com", "a new password")
	wantError(t, ts.admin("POST", "/api/admin/updateUser", map[string]any{"email": "ghost@example.com", "password": "a new password"}), 404, "email")

	// updateSelf: own password; not someone else's, not own groups.
	wantStatus(t, ts.do("POST", "/api/admin/updateSelf", map[string]any{"password": "my own password"}, bearer(userTok)), 200)
	ts.login("john.doe@example.com", "my own password")
	wantError(t, ts.do("POST", "/api/admin/updateSelf", map[string]any{"email": testAdmin, "password": "hijacked!!"}, bearer(userTok)), 403, "email")
	wantError(t, ts.do("POST", "/api/admin/updateSelf", map[string]any{"groups": []string{"Zoran Admin"}}, bearer(userTok)), 403, "groups")

	// disableUser stops logins and tokens; enableUser restores them.
	wantStatus(t, ts.admin("POST", "/api/admin/disableUser", map[string]string{"email": "john.doe@example.com"}), 200)
	wantError(t, ts.do("GET", "/api/authentication/verify", nil, bearer(userTok)), 401, "Authorization")
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": "john.doe@example.com", "password": "my own password"}), 401, "username")
	wantStatus(t, ts.admin("POST", "/api/admin/enableUser", map[string]string{"email": "john.doe@example.com"}), 200)
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, bearer(userTok)), 200)
	wantError(t, ts.admin("POST", "/api/admin/disableUser", map[string]string{"email": testAdmin}), 400, "email")
	wantError(t, ts.admin("POST", "/api/admin/enableUser", map[string]string{"email": "ghost@example.com"}), 404, "email")
	if w := ts.admin("POST", "/api/admin/enableUser", map[string]string{"email": "john.doe@example.com"}); strings.TrimSpace(w.Body.String()) != `{"message":"success"}` {
		t.Errorf("enableUser: %s", w.Body)
	}
}

func TestActions(t *testing.T) {
	ts := newTestServer(t)
	w := ts.admin("GET", "/api/authentication/actions", nil)
	wantStatus(t, w, 200)
	var a actionsResponse
	decodeBody(t, w, &a)
	if len(a.UserActions) != 1 || a.UserActions[0] != "*" || a.RoleTitle != "Admin" || a.Homepage != "company" {
		t.Errorf("admin actions %+v", a)
	}
	tok := ts.addUser("sup@example.com", GroupSupervisor)
	w = ts.do("GET", "/api/authentication/actions", nil, bearer(tok))
	decodeBody(t, w, &a)
	if a.RoleTitle != "Supervisor" || a.Homepage != "users" || !slicesContains(a.UserActions, "GET /api/authentication/verify") ||
		slicesContains(a.UserActions, "GET /api/admin/getUsers") {
		t.Errorf("supervisor actions %+v", a)
	}
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestAPIKeys(t *testing.T) {
	for _, b := range backends() {
		t.Run(string(b), func(t *testing.T) { testAPIKeys(t, b) })
	}
}

func testAPIKeys(t *testing.T, b backend) {
	clock := &fixedClock{t: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	ts := newTestServer(t, b, func(c *Config) { c.Now = clock.now })
	secret, id := ts.addKey("Ingest Key", "2026-04-01")
	if secret == "" || id == "" {
		t.Fatal("no key")
	}
	w := ts.admin("GET", "/api/admin/verifyApiToken/"+id, nil)
	wantStatus(t, w, 200)
	var kd map[string]any
	decodeBody(t, w, &kd)
	if kd["name"] != "Ingest Key" || kd["is_valid"] != true || kd["expiration"] != "2026-04-01T00:00:00.000Z" ||
		kd["creator"] != testAdmin || kd["modifier"] != testAdmin || kd["description"] != "d" {
		t.Errorf("verifyApiToken: %s", w.Body)
	}
	// The secret names the key too.
	wantStatus(t, ts.admin("GET", "/api/admin/verifyApiToken/"+secret, nil), 200)
	wantError(t, ts.admin("GET", "/api/admin/verifyApiToken/nothing", nil), 404, "token")

	w = ts.admin("GET", "/api/admin/getTokens", `{"maxResults": 6, "offset": 0}`)
	wantStatus(t, w, 200)
	var list []map[string]any
	decodeBody(t, w, &list)
	if len(list) != 1 || list[0]["token"] != id || list[0]["is_valid"] != true {
		t.Errorf("getTokens: %s", w.Body)
	}
	if strings.Contains(w.Body.String(), secret) {
		t.Error("getTokens shows a secret")
	}

	// The key works as X-API-KEY and as a bare authorization header.
	wantStatus(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret)), 200)
	wantStatus(t, ts.do("POST", "/api/ingest/datasources", "", header{"Authorization", secret}), 200)
	wantError(t, ts.do("POST", "/api/ingest/datasources", "", apiKey("not-a-key")), 401, "X-API-KEY")

	// Bad input.
	wantError(t, ts.admin("POST", "/api/admin/createApiToken", map[string]string{"description": "x"}), 400, "name")
	wantError(t, ts.admin("POST", "/api/admin/createApiToken", map[string]string{"name": "x", "expiration": "tomorrow"}), 400, "expiration")
	wantError(t, ts.admin("POST", "/api/admin/createApiToken", map[string]string{"name": "x", "expiration": "2021-08-12T12:00:00.000Z"}), 400, "expiration")

	// Expired.
	clock.t = time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)
	e := wantError(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret)), 401, "X-API-KEY")
	if !strings.Contains(e.Error.Message, "expired") {
		t.Errorf("expired key: %s", e.Error.Message)
	}

	// Revoked.
	ts.adminToken = ts.token(testAdmin)
	secret2, _ := ts.addKey("Second", "")
	wantStatus(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret2)), 200)
	w = ts.admin("POST", "/api/admin/revokeApiToken", map[string]string{"token": secret2})
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != `{"message":"User token disabled"}` {
		t.Errorf("revoke: %s", w.Body)
	}
	e = wantError(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret2)), 401, "X-API-KEY")
	if !strings.Contains(e.Error.Message, "revoked") {
		t.Errorf("revoked key: %s", e.Error.Message)
	}
	wantError(t, ts.admin("POST", "/api/admin/revokeApiToken", map[string]string{"token": "nothing"}), 404, "token")
	wantError(t, ts.admin("POST", "/api/admin/revokeApiToken", map[string]string{}), 400, "token")
}

func TestAuthCache(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.AuthCacheTTL = 200 * time.Millisecond })
	secret, id := ts.addKey("cached", "")
	wantStatus(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret)), 200)
	// Revoked by another process: refused once the remembered row is older
	// than the TTL.
	if err := ts.db.RevokeAPIKey(t.Context(), id, "elsewhere", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(250 * time.Millisecond)
	wantError(t, ts.do("POST", "/api/ingest/datasources", "", apiKey(secret)), 401, "X-API-KEY")

	// Changed through this server: at once.
	tok := ts.addUser("c@example.com", GroupUser)
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, bearer(tok)), 200)
	wantStatus(t, ts.admin("POST", "/api/admin/disableUser", map[string]string{"email": "c@example.com"}), 200)
	wantError(t, ts.do("GET", "/api/authentication/verify", nil, bearer(tok)), 401, "Authorization")
}

func TestLimiterForgetsOldKeys(t *testing.T) {
	clock := &fixedClock{t: time.Now()}
	l := newLimiter(3, time.Minute, clock.now)
	for i := 0; i < limiterSweep; i++ {
		l.fail("user:" + strconv.Itoa(i))
	}
	clock.t = clock.t.Add(2 * time.Minute)
	l.fail("user:new")
	if n := len(l.fails); n != 1 {
		t.Fatalf("%d keys kept after their window", n)
	}
}
