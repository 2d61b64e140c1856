package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a buffer written by the server and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeRefusesWithoutUsers(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("AUTOID_ADMIN_USER", "")
	t.Setenv("AUTOID_ADMIN_PASSWORD", "")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--workspace", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "refusing to start") || !strings.Contains(errb.String(), "AUTOID_ADMIN_USER and AUTOID_ADMIN_PASSWORD") {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}

func TestServeStartsAndStops(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("AUTOID_ADMIN_USER", "admin@example.com")
	t.Setenv("AUTOID_ADMIN_PASSWORD", "a long password")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	errb := &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--workspace", t.TempDir(), "--addr", "127.0.0.1:0"}, &out, errb)
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(errb.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr = rec.Addr
			}
		}
	}
	if addr == "" {
		t.Fatalf("the server did not start: %s", errb.String())
	}
	resp, err := http.Post("http://"+addr+"/api/authentication/login", "application/json",
		strings.NewReader(`{"username": "admin@example.com", "password": "a long password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %s", resp.Status)
	}
	cancel() // what SIGTERM does through main's signal context
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop")
	}
	if !strings.Contains(errb.String(), `"msg":"stopped"`) || !strings.Contains(errb.String(), `"msg":"request"`) {
		t.Errorf("log: %s", errb.String())
	}
}
