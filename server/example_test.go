package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/autoid-oss/autoid/server"
	"github.com/autoid-oss/autoid/store"
)

// A server over an embedded store, its first administrator signing in.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "autoid-example")
	defer os.RemoveAll(dir)
	db, err := store.Open(ctx, "", dir, nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	cheap := server.Argon2Params{Time: 1, Memory: 64, Threads: 1}
	if _, err := server.EnsureAdmin(ctx, db, "admin@example.com", "a long password", cheap); err != nil {
		panic(err)
	}
	srv, err := server.New(server.Config{Store: db, WorkspaceDir: dir, Version: "1.0", Argon2: cheap})
	if err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/version")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))

	resp, err = http.Post(hs.URL+"/api/authentication/login", "application/json",
		strings.NewReader(`{"username": "admin@example.com", "password": "a long password"}`))
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// {"version":"1.0"}
	// 200 OK
}
