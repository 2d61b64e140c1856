package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runGenCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestGenCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "company")
	code, _, stderr := runGenCLI(t, "gen", "--preset", "small", "--identities", "600", "--seed", "3", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range []string{"applications.csv", "entitlements.csv", "identities.csv", "assignments.csv",
		"truth/planted_rules.csv", "truth/noise_assignments.csv", "truth/birthright.csv", "truth/summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
		if !strings.Contains(stderr, name) {
			t.Errorf("no summary line for %s in %q", name, stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "truth/summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Preset     string `json:"preset"`
		NoiseModel string `json:"noise_model"`
		Config     struct {
			Seed        uint64 `json:"seed"`
			Identities  int    `json:"identities"`
			Assignments int64  `json:"assignments"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	// Overriding identities keeps the preset's assignments per identity.
	if sum.Preset != "small" || sum.NoiseModel != "misplaced" || sum.Config.Seed != 3 || sum.Config.Identities != 600 || sum.Config.Assignments != 6000 {
		t.Errorf("summary %+v", sum)
	}

	pq := filepath.Join(t.TempDir(), "pq")
	if code, _, stderr := runGenCLI(t, "gen", "--identities", "300", "--format", "parquet", "--noise-model", "Uniform", "--quiet", "--out", pq); code != 0 || stderr != "" {
		t.Fatalf("parquet: exit %d: %q", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(pq, "truth/summary.json")); err != nil || !strings.Contains(string(b), `"noise_model": "uniform"`) {
		t.Errorf("summary of --noise-model uniform (%v):\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(pq, "assignments.parquet")); err != nil {
		t.Error(err)
	}
}

func TestGenUsageErrors(t *testing.T) {
	out := t.TempDir()
	for _, args := range [][]string{
		{"gen"}, // no --out
		{"gen", "--preset", "huge", "--out", out},        // unknown preset
		{"gen", "--format", "xlsx", "--out", out},        // unknown format
		{"gen", "--noise-rate", "2", "--out", out},       // out of range
		{"gen", "--noise-model", "bursty", "--out", out}, // unknown noise model
		{"gen", "--identities", "x", "--out", out},       // not a number
		{"gen", "extra", "--out", out},                   // positional argument
	} {
		code, _, stderr := runGenCLI(t, args...)
		if code != 2 || !strings.Contains(stderr, "autoid gen --help") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with a usage hint", args, code, stderr)
		}
	}
}

func TestGenHelp(t *testing.T) {
	code, stdout, _ := runGenCLI(t, "gen", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--preset", "--seed", "--format", "--out", "--noise-rate", "--noise-model", "misplaced", "planted_rules.csv", "xl"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
