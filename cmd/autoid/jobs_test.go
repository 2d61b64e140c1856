package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Job definitions through the command line: define (refused with the
// parameter's name), list, show, run by definition, status, runs, logs,
// cancel of an ended run.
func TestJobsCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ws := t.TempDir()
	cli := func(want int, args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"--workspace", ws}, args...), &out, &errb); code != want {
			t.Fatalf("%v: exit %d, want %d: %s%s", args, code, want, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}
	cli(0, "ingest", "--dir", filepath.Join("..", "..", "testdata", "tiny"))
	_, errOut := cli(1, "jobs", "define", "strict", "--type", "train", "--param", "min_confidence=x")
	if !strings.Contains(errOut, `parameter min_confidence: "x" is not a number`) {
		t.Errorf("bad parameter: %s", errOut)
	}
	cli(0, "jobs", "define", "strict", "--type", "train", "--param", "min_confidence=0.5", "--param", "executorMemory=1g", "--cron", "0 2 * * *")
	if _, errOut := cli(1, "jobs", "define", "strict", "--type", "train"); !strings.Contains(errOut, "already exists") {
		t.Errorf("second define: %s", errOut)
	}
	out, _ := cli(0, "jobs", "list")
	if !strings.Contains(out, "strict") || !strings.Contains(out, "0 2 * * *") {
		t.Errorf("list:\n%s", out)
	}
	out, _ = cli(0, "jobs", "show", "strict")
	if !strings.Contains(out, `"min_confidence": "0.5"`) {
		t.Errorf("show:\n%s", out)
	}
	out, _ = cli(0, "run", "--definition", "strict")
	if !strings.Contains(out, "succeeded: 2 stages run, 0 up to date") {
		t.Errorf("run --definition:\n%s", out)
	}
	out, _ = cli(0, "jobs", "status", "--definition", "strict")
	if !strings.Contains(out, ": succeeded") || !strings.Contains(out, "min_confidence=0.5") || !strings.Contains(out, "train ") {
		t.Errorf("status:\n%s", out)
	}
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")
	out, _ = cli(0, "jobs", "runs", "--definition", "strict")
	if !strings.Contains(out, id) {
		t.Errorf("runs:\n%s", out)
	}
	out, _ = cli(0, "jobs", "logs", id)
	if !strings.Contains(out, `"msg":"stage finished"`) || !strings.Contains(out, `"kind":"state"`) {
		t.Errorf("logs:\n%s", out)
	}
	if _, errOut := cli(1, "jobs", "cancel", id); !strings.Contains(errOut, "already ended") {
		t.Errorf("cancel of an ended run: %s", errOut)
	}
	out, _ = cli(0, "jobs", "types")
	if !strings.Contains(out, "executorMemory") || !strings.Contains(out, "max_rule_length           int       3") {
		t.Errorf("types:\n%s", out)
	}
}
