package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestMigrateCmd(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ws := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, "applied 0001\napplied 0002\napplied 0003\napplied 0004\nsqlite store at schema version 4\n"},
		{[]string{"migrate"}, "sqlite store at schema version 4\n"},
		{[]string{"migrate", "--down", "2"}, "reverted 0004\nreverted 0003\nsqlite store at schema version 2\n"},
		{[]string{"migrate"}, "applied 0003\napplied 0004\nsqlite store at schema version 4\n"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"--workspace", ws}, c.args...), &out, &errb)
		if code != 0 || out.String() != c.want {
			t.Errorf("%v: code %d, out %q, want %q; stderr %s", c.args, code, out.String(), c.want, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--workspace", ws, "migrate", "--database-url", "mysql://x"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "bad database URL") {
		t.Errorf("bad URL: code %d, %s", code, errb.String())
	}
}
