package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// entityTables live in the workspace's current generation; every other
// table is a run's output.
var entityTables = []string{"applications", "entitlements", "identities", "assignments", "rejects"}

func newExportCmd(g *globals) *cobra.Command {
	var runID, format, out string
	c := &cobra.Command{
		Use:   "export TABLE [--run ID|latest] --format csv|parquet|jsonl [--out FILE]",
		Short: "Write an entity or run table as CSV, Parquet or JSON lines",
		Long: `export writes one table. Entity tables (applications, entitlements, identities,
assignments, rejects) come from the current ingest; run tables (audit_findings,
and the tables of later jobs) from the given run, by default the latest run that
produced the table. In CSV, list values are JSON arrays and nulls are empty
fields. Without --out the table goes to standard output (not for parquet).
'autoid tables' lists the tables and their columns.`,
		Example: `  autoid export identities --format csv --out identities.csv
  autoid export audit_findings --run latest --format jsonl`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{cmd: "export", err: errors.New("give one TABLE to export ('autoid tables' lists them)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			table := args[0]
			if !slices.Contains(formats.ExportFormats(), format) {
				return usageError{cmd: "export", err: fmt.Errorf("--format %q: want %s", format, strings.Join(formats.ExportFormats(), ", "))}
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			path, err := tablePath(ws, table, runID)
			if err != nil {
				return err
			}
			if format == "parquet" {
				if out == "" {
					return usageError{cmd: "export", err: errors.New("--format parquet needs --out FILE")}
				}
				return copyFile(path, out)
			}
			var w io.Writer = g.stdout
			var af *formats.AtomicFile
			if out != "" {
				if af, err = formats.CreateAtomic(out); err != nil {
					return err
				}
				defer af.Abort()
				w = af
			}
			if err := formats.Export(cmd.Context(), path, format, w); err != nil {
				return err
			}
			if af != nil {
				return af.Commit()
			}
			return nil
		},
	}
	c.Flags().StringVar(&runID, "run", "", "run id, or latest (default: the latest run that produced the table)")
	c.Flags().StringVar(&format, "format", "csv", "csv, parquet or jsonl")
	c.Flags().StringVarP(&out, "out", "o", "", "output file (default: standard output)")
	return c
}

// tablePath finds a table: entity tables in the current generation, run
// tables in the given run or the latest run that has them.
func tablePath(ws *workspace.Workspace, table, runID string) (string, error) {
	if slices.Contains(entityTables, table) {
		if runID != "" {
			return "", fmt.Errorf("table %s is an entity table: it belongs to the workspace, not to a run (drop --run)", table)
		}
		gen, err := ws.Current()
		if err != nil {
			return "", err
		}
		if !gen.Has(table) {
			return "", fmt.Errorf("table %s: the current ingest (%s) has none", table, gen.Name)
		}
		return gen.TablePath(table), nil
	}
	if runID == "" {
		run, err := ws.LatestRunWith(table)
		if err != nil {
			return "", err
		}
		return run.TablePath(table), nil
	}
	run, m, err := ws.Run(runID)
	if err != nil {
		return "", err
	}
	if _, ok := m.Tables[table]; !ok {
		return "", fmt.Errorf("run %s has no table %q", run.ID, table)
	}
	return run.TablePath(table), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	af, err := formats.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer af.Abort()
	if _, err := io.Copy(af, in); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return af.Commit()
}
