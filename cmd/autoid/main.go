// Command autoid is the identity-analytics engine: it ingests identities,
// entitlements, applications and assignments, learns association rules,
// scores access, and serves the results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the process exit status. Errors
// are printed as one line on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "autoid: %v\nRun 'autoid %s --help' for usage.\n", err, ue.cmd)
			return 2
		}
		fmt.Fprintf(stderr, "autoid: %v\n", err)
		return 1
	}
	return 0
}

// globals are the flags every command takes.
type globals struct {
	workspace   string
	databaseURL string
	verbose     bool
	stdout      io.Writer
	stderr      io.Writer
}

type usageError struct {
	cmd string
	err error
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "autoid",
		Short: "Identity analytics: rules, scores, recommendations and roles from who-has-what data",
		Long: `autoid learns association rules "these attributes -> this entitlement" from a
company's identities, entitlements and assignments, scores every assignment with
a justification, recommends missing access, mines candidate roles and flags
anomalous access.

Typical use:
  autoid gen --preset small --out ./company           # a synthetic company
  autoid ingest --dir ./company                       # load it into the workspace
  autoid run                                          # run the pipeline
  autoid export assignment_scores --format csv        # read a result table`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.workspace, "workspace", envOr("AUTOID_WORKSPACE", "./autoid-data"),
		"workspace directory holding tables, runs and configuration (env AUTOID_WORKSPACE)")
	root.PersistentFlags().StringVar(&g.databaseURL, "database-url", "",
		"serving store: a postgres:// URL (default: env DATABASE_URL, else the embedded store <workspace>/serving.db)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log debug detail (phase timings)")
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (for tuning)")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(*cobra.Command, []string) {
		if cpuProfile != "" {
			pprof.StopCPUProfile()
		}
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{cmd: c.Name(), err: err}
	})
	root.AddCommand(
		newDemoCmd(g),
		newIngestCmd(g),
		newRunCmd(g),
		newJobsCmd(g),
		newExportCmd(g),
		newTablesCmd(g),
		newFimCmd(g),
		newGenCmd(g),
		newMigrateCmd(g),
		newServeCmd(g),
		newEvaluateCmd(g),
	)
	return root
}

// logger returns the command's structured logger (text on stderr).
func (g *globals) logger() *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
