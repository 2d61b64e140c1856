package server

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// chunked is a body of unknown length (no Content-Length).
type chunked struct{ io.Reader }

func TestOversizeBody(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.MaxBodyBytes = 1024 })
	big := `{"id": "eaa19702-3806-4ee7-9466-91f0968699d9", "name": "x", "config": {"pad": "` + strings.Repeat("a", 2000) + `"}}`
	// With a Content-Length: refused before reading.
	wantError(t, ts.admin("POST", "/api/datasink/create", big), 413, "body")
	// Without one: refused while reading.
	req := httptest.NewRequest("POST", "/api/datasink/create", chunked{strings.NewReader(big)})
	req.Header.Set("Authorization", "Bearer "+ts.adminToken)
	req.ContentLength = -1
	w := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(w, req)
	wantError(t, w, 413, "body")
	// Nothing was written.
	key, _ := ts.addKey("k", "")
	if w := ts.do("POST", "/api/datasink/query", "{}", apiKey(key)); strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("an oversize body was stored: %s", w.Body)
	}
	// Under the limit it goes through.
	wantStatus(t, ts.admin("POST", "/api/datasink/create", `{"id": "eaa19702-3806-4ee7-9466-91f0968699d9", "name": "x"}`), 200)
}

func TestMalformedBodies(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []struct{ body, field string }{
		{`{"id": "eaa19702-3806-4ee7-9466-91f0968699d9", "name": 5}`, "name"},
		{`{"id": ["x"], "name": "n"}`, "id"},
		{`{"id": "eaa19702-3806-4ee7-9466-91f0968699d9", "name": "n"} trailing`, "body"},
		{`[1, 2]`, "body"},
		{`{"id": "eaa19702-3806-4ee7-9466-91f0968699d9", "name": "n",}`, "body"},
		{`not json`, "body"},
		{``, "body"},
	} {
		e := wantError(t, ts.admin("POST", "/api/datasink/create", c.body), 400, c.field)
		if e.Error.Kind != KindBadData {
			t.Errorf("%s: kind %s", c.body, e.Error.Kind)
		}
	}
}
