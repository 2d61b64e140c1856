package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/internal/pgtest"
	"github.com/autoid-oss/autoid/internal/shared"
	"github.com/autoid-oss/autoid/store"
)

// autoid run over the showcase with its mapping runs every job type end to
// end; a second identical run skips every stage; a changed parameter
// re-runs only the stage that reads it; on the embedded store and on
// PostgreSQL.
func TestRunShowcasePipelineCLI(t *testing.T) {
	dir := shared.Showcase(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "")
			ws := t.TempDir()
			global := []string{"--workspace", ws}
			if backend == "postgres" {
				global = append(global, "--database-url", pgtest.DSN(t))
			}
			cli := func(want int, args ...string) (string, string) {
				t.Helper()
				var out, errb bytes.Buffer
				if code := run(context.Background(), append(append([]string{}, global...), args...), &out, &errb); code != want {
					t.Fatalf("%v: exit %d, want %d: %s", args, code, want, errb.String())
				}
				return out.String(), errb.String()
			}
			status := func() store.Run {
				t.Helper()
				out, _ := cli(0, "jobs", "status", "--json")
				var r store.Run
				if err := json.Unmarshal([]byte(out), &r); err != nil {
					t.Fatalf("status: %v\n%s", err, out)
				}
				return r
			}
			stages := func(r store.Run) string {
				var parts []string
				for _, s := range r.Stages {
					parts = append(parts, s.Job+":"+s.Status)
				}
				return strings.Join(parts, " ")
			}
			all := []string{"ingest", "audit", "train", "predict-as-is", "recommend", "mine", "anomaly", "insight", "load",
				"create-assignment-index", "create-assignment-index-report"}

			out, _ := cli(0, "run", "--dir", dir, "--mapping", shared.MappingFile())
			if !strings.Contains(out, "succeeded: 11 stages run, 0 up to date") || !strings.Contains(out, "index of ") {
				t.Errorf("first run:\n%s", out)
			}
			r := status()
			var want []string
			for _, j := range all {
				want = append(want, j+":succeeded")
			}
			if got := stages(r); got != strings.Join(want, " ") {
				t.Errorf("first run stages: %s", got)
			}
			for _, s := range r.Stages {
				if s.Seconds <= 0 || s.PeakRSS <= 0 || s.Fingerprint == "" {
					t.Errorf("stage %s: %.3fs, peak %d, fingerprint %q", s.Job, s.Seconds, s.PeakRSS, s.Fingerprint)
				}
			}

			out, _ = cli(0, "run", "--dir", dir, "--mapping", shared.MappingFile())
			if !strings.Contains(out, "succeeded: 0 stages run, 11 up to date") {
				t.Errorf("identical second run:\n%s", out)
			}
			if got := stages(status()); strings.Count(got, ":skipped") != 11 {
				t.Errorf("second run stages: %s", got)
			}

			out, _ = cli(0, "run", "mine", "--param", "role_min_members=10")
			if !strings.Contains(out, "succeeded: 1 stages run, 3 up to date") {
				t.Errorf("changed role_min_members:\n%s", out)
			}
			if got := stages(status()); got != "audit:skipped train:skipped predict-as-is:skipped mine:succeeded" {
				t.Errorf("changed role_min_members: %s", got)
			}

			_, errOut := cli(2, "run", "train", "--param", "min_confidence=2")
			if !strings.Contains(errOut, "parameter min_confidence: 2 is outside [0, 1]") {
				t.Errorf("bad parameter: %s", errOut)
			}
			logs, _ := cli(0, "jobs", "logs", status().ID)
			if !strings.Contains(logs, `"msg":"stage up to date"`) || !strings.Contains(logs, `"job":"train"`) {
				t.Errorf("logs:\n%s", logs)
			}
		})
	}
}
