package server

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// testIssuer is a small OpenID Connect issuer: discovery, authorize (which
// signs in its one configured user at once), token and keys.
type testIssuer struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	client string
	secret string
	mu     sync.Mutex
	codes  map[string]string // code -> nonce
	// claims of the ID token it issues (besides iss, aud, exp, nonce).
	claims jwt.MapClaims
	// nonceOverride, when set, replaces the nonce in the ID token.
	nonceOverride string
}

func newTestIssuer(t *testing.T) *testIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, client: "autoid", secret: "s3cret", codes: map[string]string{},
		claims: jwt.MapClaims{"email": "sso.user@example.com", "name": "SSO User", "groups": []string{"Zoran Supervisor", "Unknown Group"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"issuer": is.srv.URL, "authorization_endpoint": is.srv.URL + "/authorize",
			"token_endpoint": is.srv.URL + "/token", "jwks_uri": is.srv.URL + "/keys", "end_session_endpoint": is.srv.URL + "/logout"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k1", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != is.client || q.Get("response_type") != "code" {
			http.Error(w, "bad request", 400)
			return
		}
		code := randomText()
		is.mu.Lock()
		is.codes[code] = q.Get("nonce")
		is.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		r.ParseForm()
		is.mu.Lock()
		nonce, ok := is.codes[r.Form.Get("code")]
		delete(is.codes, r.Form.Get("code"))
		is.mu.Unlock()
		if id != is.client || secret != is.secret || !ok {
			writeJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		}
		if is.nonceOverride != "" {
			nonce = is.nonceOverride
		}
		c := jwt.MapClaims{"iss": is.srv.URL, "aud": is.client, "sub": "42", "exp": time.Now().Add(time.Hour).Unix(), "nonce": nonce}
		for k, v := range is.claims {
			c[k] = v
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = "k1"
		s, _ := tok.SignedString(key)
		writeJSON(w, 200, map[string]string{"id_token": s, "access_token": "at", "token_type": "Bearer"})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

// signIn runs the browser's part of the flow: start, the issuer's
// authorize, and finish with the cookie.
func signIn(t *testing.T, ts *testServer) *httptest.ResponseRecorder {
	t.Helper()
	w := ts.do("GET", "/api/sso/start", nil)
	if w.Code != http.StatusFound {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	cookie := w.Result().Cookies()[0]
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Path != "/api/sso/finish" {
		t.Fatalf("the issuer sent the browser to %q", resp.Header.Get("Location"))
	}
	return ts.do("GET", "/api/sso/finish?"+back.RawQuery, nil, header{"Cookie", cookie.Name + "=" + cookie.Value})
}

func TestSSO(t *testing.T) {
	is := newTestIssuer(t)
	ts := newTestServer(t, func(c *Config) {
		c.OIDC = &OIDCConfig{Issuer: is.srv.URL, ClientID: is.client, ClientSecret: is.secret, RedirectURL: "https://autoid.example.com/api/sso/finish"}
	})
	w := signIn(t, ts)
	wantStatus(t, w, 200)
	var lr loginResponse
	decodeBody(t, w, &lr)
	if lr.User.Email != "sso.user@example.com" || lr.User.DisplayName != "SSO User" || len(lr.User.Groups) != 1 || lr.User.Groups[0] != "Zoran Supervisor" {
		t.Fatalf("SSO user: %+v", lr.User)
	}
	// The token works; the user cannot sign in with a password.
	wantStatus(t, ts.do("GET", "/api/authentication/verify", nil, bearer(lr.Token)), 200)
	wantError(t, ts.do("POST", "/api/authentication/login", map[string]string{"username": "sso.user@example.com", "password": "anything"}), 401, "")
	// The groups claim updates the groups at the next sign-in.
	is.claims["groups"] = []string{"Zoran Executive"}
	decodeBody(t, signIn(t, ts), &lr)
	if lr.User.Groups[0] != "Zoran Executive" {
		t.Errorf("groups after a second sign-in: %v", lr.User.Groups)
	}
	w = ts.do("GET", "/api/slo/logout", nil, bearer(lr.Token))
	wantStatus(t, w, 200)
	if !strings.HasPrefix(w.Body.String(), `{"message":"success","logoutUrl":"`+is.srv.URL+`/logout?client_id=autoid"`) {
		t.Errorf("logout: %s", w.Body)
	}

	// A replayed or mismatched state, a missing cookie, a bad nonce.
	start := ts.do("GET", "/api/sso/start", nil)
	cookie := start.Result().Cookies()[0]
	wantError(t, ts.do("GET", "/api/sso/finish?code=x&state=wrong", nil, header{"Cookie", cookie.Name + "=" + cookie.Value}), 400, "state")
	wantError(t, ts.do("GET", "/api/sso/finish?code=x&state=y", nil), 400, ssoCookie)
	wantError(t, ts.do("GET", "/api/sso/finish?state=y", nil), 400, "code")
	is.nonceOverride = "replayed"
	wantError(t, signIn(t, ts), 401, "id_token")
	is.nonceOverride = ""
	// A disabled user cannot sign in.
	wantStatus(t, ts.admin("POST", "/api/admin/disableUser", map[string]string{"email": "sso.user@example.com"}), 200)
	wantError(t, signIn(t, ts), 401, "id_token")
}

func TestSSONotConfigured(t *testing.T) {
	ts := newTestServer(t)
	for _, p := range []string{"/api/sso/start", "/api/sso/finish?code=a&state=b"} {
		e := wantError(t, ts.do("GET", p, nil), 501, "")
		if !strings.Contains(e.Error.Message, "SSO is not configured") {
			t.Errorf("%s: %s", p, e.Error.Message)
		}
	}
	wantError(t, ts.admin("GET", "/api/slo/logout", nil), 501, "")
	var cfg UIConfig
	decodeBody(t, ts.do("GET", "/api/config", nil), &cfg)
	if cfg.Authorizers.OIDC {
		t.Error("config says oidc")
	}
}
