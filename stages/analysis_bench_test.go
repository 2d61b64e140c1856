package stages_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/stages"
)

// cpuTime is the process's user + system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAnalysisJobsWorkspace runs mine, anomaly and insight (one
// sub-benchmark each, tables and reports written to a temporary folder) on
// an existing workspace whose latest runs have rules and
// assignment_scores: AUTOID_BENCH_WORKSPACE names it (skipped when unset),
// AUTOID_BENCH_JOBS the jobs (comma-separated; default all three),
// AUTOID_BENCH_PARAMS parameters (NAME=VALUE separated by ';'). Reports
// cpu-s/op (user + system time of the process) beside the wall time,
// since the reference machine is shared.
func BenchmarkAnalysisJobsWorkspace(b *testing.B) {
	ws, gen, cfg := benchWorkspace(b)
	input := func(table string) string {
		run, err := ws.LatestRunWith(table)
		if err != nil {
			b.Fatal(err)
		}
		return run.TablePath(table)
	}
	rulesPath, scoresPath := input("rules"), input("assignment_scores")
	jobs := "mine,anomaly,insight"
	if j := os.Getenv("AUTOID_BENCH_JOBS"); j != "" {
		jobs = j
	}
	dir := b.TempDir()
	ctx := context.Background()
	write := func(b *testing.B, name string, rec arrow.Record) {
		defer rec.Release()
		if err := formats.WriteParquet(filepath.Join(dir, name+".parquet"), rec); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rec.NumRows()), name+"-rows")
	}
	for _, job := range strings.Split(jobs, ",") {
		b.Run(job, func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				var sum bytes.Buffer
				switch job {
				case "mine":
					r, err := stages.Mine(ctx, gen, cfg, rulesPath, scoresPath)
					if err != nil {
						b.Fatal(err)
					}
					write(b, "roles", r.RolesRecord())
					write(b, "role_summary", r.SummaryRecord())
					r.Summary(&sum)
					r.Release()
				case "anomaly":
					r, err := stages.Anomaly(ctx, gen, cfg, rulesPath, scoresPath)
					if err != nil {
						b.Fatal(err)
					}
					write(b, "anomalies", r.Record())
					r.Summary(&sum)
					r.Release()
				case "insight":
					summary := ""
					if _, err := os.Stat(filepath.Join(dir, "role_summary.parquet")); err == nil {
						summary = filepath.Join(dir, "role_summary.parquet")
					}
					r, err := stages.Insight(ctx, gen, cfg, rulesPath, scoresPath, summary)
					if err != nil {
						b.Fatal(err)
					}
					write(b, "insight", r.Record())
					if err := r.WriteReports(dir); err != nil {
						b.Fatal(err)
					}
					r.Summary(&sum)
				default:
					b.Fatalf("unknown job %q", job)
				}
				if i == 0 {
					b.Log(sum.String())
				}
			}
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		})
	}
}
