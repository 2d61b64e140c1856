package server

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/store"
)

func TestServiceEndpoints(t *testing.T) {
	clock := &fixedClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ts := newTestServer(t, func(c *Config) { c.Now = clock.now; c.Version = "1.2.3" })
	clock.t = clock.t.Add(90*time.Minute + 12*time.Second)

	w := ts.do("GET", "/health-check", nil)
	wantStatus(t, w, 200)
	var hc healthCheck
	decodeBody(t, w, &hc)
	if hc.Status != "zoran-api: OK" || hc.Uptime != 5412 || hc.UptimeFormatted != "1:30:12" {
		t.Errorf("health-check: %+v", hc)
	}

	w = ts.do("GET", "/version", nil)
	wantStatus(t, w, 200)
	if strings.TrimSpace(w.Body.String()) != `{"version":"1.2.3"}` {
		t.Errorf("version: %s", w.Body)
	}
	wantStatus(t, ts.do("GET", "/healthz", nil), 200)
	w = ts.do("GET", "/readyz", nil)
	wantStatus(t, w, 200)
	if !strings.Contains(w.Body.String(), `"ready"`) {
		t.Errorf("readyz: %s", w.Body)
	}
	// After the store is closed, the server is not ready.
	ts.db.Close()
	wantError(t, ts.do("GET", "/readyz", nil), 503, "")
}

func TestMetricsAndRequestIDs(t *testing.T) {
	ts := newTestServer(t)
	w := ts.do("GET", "/healthz", nil, header{"X-Request-Id", "abc-123"})
	if got := w.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("request id %q, want the client's", got)
	}
	w = ts.do("GET", "/healthz", nil, header{"X-Request-Id", "bad id with spaces"})
	if got := w.Header().Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("request id %q, want a fresh one", got)
	}
	w = ts.do("GET", "/metrics", nil)
	wantStatus(t, w, 200)
	body := w.Body.String()
	for _, want := range []string{
		`autoid_http_requests_total{code="200",method="GET",route="/healthz"} 2`,
		`autoid_http_request_duration_seconds_bucket{method="GET",route="/healthz"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	ts := newTestServer(t)
	e := wantError(t, ts.do("GET", "/api/nothing-here", nil), 404, "")
	if e.Error.Kind != KindNotFound {
		t.Errorf("kind %s", e.Error.Kind)
	}
	wantError(t, ts.do("DELETE", "/version", nil), 405, "")
}

func TestTenantHeader(t *testing.T) {
	open := newTestServer(t)
	wantStatus(t, open.do("GET", "/version", nil, header{"x-tenant-id", "anything"}), 200)

	ts := newTestServer(t, func(c *Config) { c.TenantID = "8700f5cb" })
	wantStatus(t, ts.do("GET", "/version", nil), 200)
	wantStatus(t, ts.do("GET", "/version", nil, header{"x-tenant-id", "8700f5cb"}), 200)
	wantError(t, ts.do("GET", "/version", nil, header{"x-tenant-id", "other"}), 403, "x-tenant-id")
}

func TestEnsureAdminRefusesWithoutUsers(t *testing.T) {
	ts := newTestServer(t)
	// Users exist: the variables are ignored.
	if created, err := EnsureAdmin(t.Context(), ts.db, "", "", testArgon2); err != nil || created {
		t.Fatalf("with users: created %v, err %v", created, err)
	}
}

func TestEnsureAdminOnEmptyStore(t *testing.T) {
	db, err := store.Open(t.Context(), "", t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := EnsureAdmin(t.Context(), db, "", "", testArgon2); !errors.Is(err, ErrNoUsers) {
		t.Fatalf("no users, no variables: %v, want ErrNoUsers", err)
	}
	if _, err := EnsureAdmin(t.Context(), db, "root@example.com", "short", testArgon2); err == nil {
		t.Fatal("a short password was taken")
	}
	if created, err := EnsureAdmin(t.Context(), db, "root@example.com", "long enough pass", testArgon2); err != nil || !created {
		t.Fatalf("created %v, err %v", created, err)
	}
	u, err := db.User(t.Context(), "root@example.com")
	if err != nil || len(u.Groups) != 1 || u.Groups[0] != string(GroupAdmin) || !checkPassword(u.PasswordHash, "long enough pass") {
		t.Fatalf("first administrator: %+v, %v", u, err)
	}
}

func TestNoContentHasNoBody(t *testing.T) {
	ts := newTestServer(t)
	rt := route{Method: "POST", Path: "/x", Access: public(), Handle: func(*http.Request) (any, error) {
		return response{Status: http.StatusNoContent}, nil
	}}
	w := httptest.NewRecorder()
	ts.srv.endpoint(rt).ServeHTTP(w, httptest.NewRequest("POST", "/x", nil))
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("%d %q", w.Code, w.Body)
	}
}
