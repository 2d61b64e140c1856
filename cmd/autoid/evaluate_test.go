package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// gen, ingest, run and evaluate end to end on a small generated company:
// every planted rule is found, and anomaly's flags are noise.
func TestEvaluateCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	ws, company := t.TempDir(), filepath.Join(t.TempDir(), "company")
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(context.Background(), append([]string{"--workspace", ws}, args...), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	cli("gen", "--preset", "small", "--identities", "2000", "--seed", "5", "--quiet", "--out", company)
	cli("ingest", "--dir", company)
	cli("run", "train", "predict-as-is", "mine", "anomaly")
	text := cli("evaluate", "--truth", filepath.Join(company, "truth"))
	for _, s := range []string{"rules (train):", "roles (mine):", "policy precision", "set precision", "anomalies (anomaly):"} {
		if !strings.Contains(text, s) {
			t.Errorf("no %q in\n%s", s, text)
		}
	}
	var ev struct {
		Rules struct {
			Planted, Recovered int
		}
		Roles struct {
			Planted, Matched, Sets            int
			PolicyRoles, PolicyTrue, Unbacked int
		}
		Anomalies struct {
			Noise, Flagged, TruePositives int
		}
	}
	if err := json.Unmarshal([]byte(cli("evaluate", "--truth", filepath.Join(company, "truth"), "--json")), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Rules.Planted == 0 || ev.Rules.Recovered != ev.Rules.Planted {
		t.Errorf("rules: %+v", ev.Rules)
	}
	if ev.Roles.Planted != ev.Rules.Planted || ev.Roles.Matched == 0 || ev.Roles.Sets == 0 ||
		ev.Roles.PolicyTrue == 0 || ev.Roles.PolicyTrue+ev.Roles.Unbacked > ev.Roles.PolicyRoles {
		t.Errorf("roles: %+v", ev.Roles)
	}
	if ev.Anomalies.Noise == 0 || ev.Anomalies.Flagged == 0 || ev.Anomalies.TruePositives*2 < ev.Anomalies.Flagged {
		t.Errorf("anomalies: %+v", ev.Anomalies)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--workspace", ws, "evaluate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--truth is required") {
		t.Errorf("without --truth: exit %d, %q", code, errb.String())
	}
}
