package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runFim(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	g := &globals{stdout: &out, stderr: &errb}
	cmd := newFimCmd(g)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func writeDat(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "toy.dat")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const toyDat = "1 3 4 \n2 3 5\n\n1 2 3 5\n2 5 5\n1 2 3 5"

func TestFimOutput(t *testing.T) {
	in := writeDat(t, toyDat)
	out, _, err := runFim(t, "--input", in, "--min-support", "2", "--closed")
	if err != nil {
		t.Fatal(err)
	}
	want := "3 (4)\n2 5 (4)\n1 3 (3)\n2 3 5 (3)\n1 2 3 5 (2)\n"
	if got := sortLines(out); got != sortLines(want) {
		t.Errorf("closed output:\n%s\nwant (any order):\n%s", out, want)
	}
	// 0.4 is a fraction: ceil(0.4*5) = 2, the same as the count 2.
	a, _, err := runFim(t, "--input", in, "--min-support", "0.4")
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := runFim(t, "--input", in, "--min-support", "2")
	if a != b || strings.Count(a, "\n") != 15 {
		t.Errorf("fraction vs count output differ or wrong size:\n%s\n%s", a, b)
	}
	o := filepath.Join(t.TempDir(), "out.txt")
	if _, _, err := runFim(t, "--input", in, "--min-support", "2", "--out", o); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(o); string(data) != b {
		t.Errorf("--out file differs from stdout output")
	}
}

func sortLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	for i := range l {
		for j := i + 1; j < len(l); j++ {
			if l[j] < l[i] {
				l[i], l[j] = l[j], l[i]
			}
		}
	}
	return strings.Join(l, "\n")
}

func TestFimCountOnly(t *testing.T) {
	in := writeDat(t, toyDat)
	out, errOut, err := runFim(t, "--input", in, "--min-support", "2", "--count-only", "--max-len", "2")
	if err != nil {
		t.Fatal(err)
	}
	if out != "10\n" {
		t.Errorf("count-only stdout %q, want 10", out)
	}
	if !strings.Contains(errOut, "length 2: 6") || !strings.Contains(errOut, "mine") {
		t.Errorf("stderr lacks per-length counts or timing:\n%s", errOut)
	}
}

func TestFimErrors(t *testing.T) {
	bad := writeDat(t, "1 2\n3 4x\n")
	_, _, err := runFim(t, "--input", bad, "--min-support", "1")
	if err == nil || !strings.Contains(err.Error(), bad+":2:") || !strings.Contains(err.Error(), "4x") {
		t.Errorf("bad token: %v", err)
	}
	in := writeDat(t, toyDat)
	for _, args := range [][]string{
		{"--min-support", "2"},
		{"--input", in},
		{"--input", in, "--min-support", "0"},
		{"--input", in, "--min-support", "1.5"},
		{"--input", in, "--min-support", "abc"},
		{"--input", in, "--min-support", "2", "--max-len", "-1"},
	} {
		_, _, err := runFim(t, args...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

func TestParseMinSupport(t *testing.T) {
	for _, c := range []struct {
		in    string
		count int
		frac  float64
	}{{"10", 10, 0}, {"1", 1, 0}, {"0.01", 0, 0.01}, {".5", 0, 0.5}, {"1.0", 0, 1}, {"1e-4", 0, 1e-4}} {
		n, f, err := parseMinSupport(c.in)
		if err != nil || n != c.count || f != c.frac {
			t.Errorf("parseMinSupport(%q) = %d, %g, %v", c.in, n, f, err)
		}
	}
}
