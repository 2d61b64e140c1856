package gen

import (
	"context"
	"os"
	"testing"
)

func benchmarkPreset(b *testing.B, name string, format Format) {
	cfg, err := Preset(name)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Format = format
	dir := b.TempDir()
	var res *Result
	for b.Loop() {
		if res, err = Generate(context.Background(), cfg, dir, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Assignments)*float64(b.N)/b.Elapsed().Seconds(), "assignments/s")
	for _, f := range res.Files {
		if f.Path == "assignments.csv" || f.Path == "assignments.parquet" {
			b.ReportMetric(float64(f.Bytes)/(1<<20), "MiB")
		}
	}
}

func BenchmarkGenerateSmall(b *testing.B)  { benchmarkPreset(b, "small", FormatCSV) }
func BenchmarkGenerateMedium(b *testing.B) { benchmarkPreset(b, "medium", FormatCSV) }

// BenchmarkGenerateLarge writes the large preset (100k identities, ~10M
// assignments, ~500 MB of CSV) once per iteration.
func BenchmarkGenerateLarge(b *testing.B) { benchmarkPreset(b, "large", FormatCSV) }

func BenchmarkGenerateLargeParquet(b *testing.B) { benchmarkPreset(b, "large", FormatParquet) }

// TestGeneratePresetDir writes a preset into a directory named by the
// environment, for manual inspection:
//
//	GEN_PRESET=large GEN_OUT=/tmp/large go test ./gen -run TestGeneratePresetDir -v
func TestGeneratePresetDir(t *testing.T) {
	name, out := os.Getenv("GEN_PRESET"), os.Getenv("GEN_OUT")
	if name == "" || out == "" {
		t.Skip("set GEN_PRESET and GEN_OUT")
	}
	cfg, err := Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("GEN_FORMAT"); f != "" {
		cfg.Format = Format(f)
	}
	res, err := Generate(context.Background(), cfg, out, Options{Progress: os.Stderr, Preset: name})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Files {
		t.Logf("%-30s %10d rows %12d bytes", f.Path, f.Rows, f.Bytes)
	}
	t.Logf("%d planted rules, %d noise of %d assignments in %v", res.PlantedRules, res.NoiseAssignments, res.Assignments, res.Duration)
}
