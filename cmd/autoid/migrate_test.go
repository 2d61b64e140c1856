package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/store"
)

func TestMigrateCmd(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ws := t.TempDir()
	ms, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	latest := ms[len(ms)-1].Version
	var all, top2, revert2 string
	for _, m := range ms {
		all += fmt.Sprintf("applied %04d\n", m.Version)
	}
	for _, m := range ms[len(ms)-2:] {
		top2 += fmt.Sprintf("applied %04d\n", m.Version)
	}
	revert2 = fmt.Sprintf("reverted %04d\nreverted %04d\n", latest, ms[len(ms)-2].Version)
	at := func(v int) string { return fmt.Sprintf("sqlite store at schema version %d\n", v) }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"migrate"}, all + at(latest)},
		{[]string{"migrate"}, at(latest)},
		{[]string{"migrate", "--down", "2"}, revert2 + at(ms[len(ms)-3].Version)},
		{[]string{"migrate"}, top2 + at(latest)},
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
