package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/internal/pgtest"
	"github.com/autoid-oss/autoid/store"
)

// testArgon2 keeps password hashing cheap in tests.
var testArgon2 = Argon2Params{Time: 1, Memory: 64, Threads: 1}

// testServer is a Server over a fresh embedded store, called through
// httptest without a network.
type testServer struct {
	t   testing.TB
	srv *Server
	db  *store.DB
	cfg Config
	// adminToken is a bearer token of the first administrator.
	adminToken string
}

const (
	testAdmin    = "admin@example.com"
	testPassword = "correct horse battery"
)

// backend names the store a test server uses.
type backend string

const (
	embedded backend = "sqlite"
	postgres backend = "postgres"
)

// backends are the stores the tests that run per backend use.
func backends() []backend { return []backend{embedded, postgres} }

// newTestServer opens a fresh embedded store (or, given postgres, a fresh
// schema of the server at TEST_DATABASE_URL) in a temporary workspace,
// creates the first administrator and issues it a token. Functions of type
// func(*Config) change the configuration before the server is built.
func newTestServer(t testing.TB, opts ...any) *testServer {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	var edit []func(*Config)
	dsn := ""
	for _, o := range opts {
		switch o := o.(type) {
		case func(*Config):
			edit = append(edit, o)
		case backend:
			if o == postgres {
				dsn = pgtest.DSN(t)
			}
		default:
			t.Fatalf("newTestServer: option %T", o)
		}
	}
	db, err := store.Open(ctx, dsn, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := EnsureAdmin(ctx, db, testAdmin, testPassword, testArgon2); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: db, WorkspaceDir: dir, Argon2: testArgon2, Logger: testLogger()}
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{t: t, srv: srv, db: db, cfg: srv.cfg}
	ts.adminToken = ts.token(testAdmin)
	return ts
}

func testLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("AUTOID_TEST_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// header is one request header.
type header struct{ name, value string }

func bearer(token string) header { return header{"Authorization", "Bearer " + token} }
func apiKey(key string) header   { return header{"X-API-KEY", key} }

// do sends a request; body is sent as is when a string or []byte, else as
// JSON (nil: no body).
func (ts *testServer) do(method, path string, body any, hs ...header) *httptest.ResponseRecorder {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range hs {
		req.Header.Set(h.name, h.value)
	}
	w := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(w, req)
	return w
}

// admin sends a request as the first administrator.
func (ts *testServer) admin(method, path string, body any, hs ...header) *httptest.ResponseRecorder {
	ts.t.Helper()
	return ts.do(method, path, body, append([]header{bearer(ts.adminToken)}, hs...)...)
}

// token issues a bearer token for a stored user without a login.
func (ts *testServer) token(username string) string {
	ts.t.Helper()
	u, err := ts.db.User(context.Background(), username)
	if err != nil {
		ts.t.Fatal(err)
	}
	tok, _, err := ts.srv.tokens.issue(u)
	if err != nil {
		ts.t.Fatal(err)
	}
	return tok
}

// login signs a user in and returns the token.
func (ts *testServer) login(username, password string) string {
	ts.t.Helper()
	w := ts.do("POST", "/api/authentication/login", map[string]string{"username": username, "password": password})
	if w.Code != 200 {
		ts.t.Fatalf("login %s: %d %s", username, w.Code, w.Body)
	}
	var out struct{ Token string }
	decodeBody(ts.t, w, &out)
	return out.Token
}

// decodeBody reads a JSON response into v.
func decodeBody(t testing.TB, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("response %d is not JSON: %v: %s", w.Code, err, w.Body)
	}
}

// wantError checks a response is the error envelope with this status and,
// when field is not "", this field.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, field string) envelope {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	var e envelope
	decodeBody(t, w, &e)
	if e.Error == nil || e.Error.Message == "" || e.Error.Kind == "" {
		t.Fatalf("not an error envelope: %s", w.Body)
	}
	if field != "" && e.Error.Field != field {
		t.Fatalf("error names field %q, want %q: %s", e.Error.Field, field, w.Body)
	}
	return e
}

// wantStatus checks a response's status.
func wantStatus(t testing.TB, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
}

// fixedClock is a settable clock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) now() time.Time { return c.t }
