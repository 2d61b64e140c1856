// Package pgtest gives a test a PostgreSQL schema of its own on the server
// at TEST_DATABASE_URL. Without the variable the test is skipped, or fails
// when the environment has CI=true (bash scripts/test.sh starts a server).
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL returns TEST_DATABASE_URL, skipping the test without it (failing
// under CI=true).
func URL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("TEST_DATABASE_URL is not set (CI=true needs a PostgreSQL server: run the tests with bash scripts/test.sh)")
		}
		tb.Skip("TEST_DATABASE_URL is not set: skipping the PostgreSQL tests (bash scripts/test.sh starts a server)")
	}
	return url
}

// Schema creates a fresh schema on TEST_DATABASE_URL, dropped when the test
// ends, and returns its name and a DSN whose search_path is that schema.
func Schema(tb testing.TB) (dsn, schema string) {
	tb.Helper()
	base := URL(tb)
	ctx := context.Background()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema = "test_" + hex.EncodeToString(rnd[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		if c, err := pgx.Connect(context.Background(), base); err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema, schema
}

// DSN is Schema's DSN alone.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn, _ := Schema(tb)
	return dsn
}
