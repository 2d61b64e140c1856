package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

func newRunCmd(g *globals) *cobra.Command {
	var params []string
	var definition string
	var src pipeline.Source
	var timeout time.Duration
	reg := pipeline.NewRegistry()
	var types []string
	for _, t := range reg.Types() {
		types = append(types, fmt.Sprintf("  %-31s %s", t.Name, t.Doc))
	}
	c := &cobra.Command{
		Use:   "run [JOB...] [--definition NAME] [--param NAME=VALUE ...] [--dir DIR --mapping FILE]",
		Short: "Run jobs and what they need upstream (default: the whole pipeline)",
		Long: "run executes the named jobs, and every stage upstream of them whose output is\n" +
			"missing or out of date (SPEC 12), in a new run folder of the workspace, and\n" +
			"prints each job's summary. Without a job name it runs them all. A stage whose\n" +
			"inputs, parameters and code are those of its published output is skipped, so\n" +
			"an identical second run does nothing; after a failure a run resumes at the\n" +
			"stage that failed. With --dir, --source or --datasource the run starts with an\n" +
			"ingest of that source.\n\n" +
			"Job types:\n" + strings.Join(types, "\n") + "\n\n" +
			"--param sets a parameter for this run only (lists comma-separated): an engine\n" +
			"parameter (the workspace's engine.yaml holds the defaults; " + strings.Join(stages.ParamNames(), ", ") + "),\n" +
			"or driverMemory, driverCores, executorMemory, executorCores (the run's memory\n" +
			"budget and worker count), or timeout (per stage). 'autoid jobs types' lists\n" +
			"each job type's parameters. --definition runs a stored job definition\n" +
			"('autoid jobs define').\n\n" +
			"The run is recorded in the serving store (its state, stages, logs): see\n" +
			"'autoid jobs status' and 'autoid jobs logs'. Ctrl-C cancels it. Exit status 0\n" +
			"when it succeeded; otherwise 1 and a one-line reason.",
		Example: `  autoid run
  autoid run --dir ../shared/data/showcase --mapping testdata/showcase-mapping.yaml
  autoid run mine --param role_min_members=10
  autoid run --definition nightly-train`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams("run", params)
			if err != nil {
				return err
			}
			if definition != "" && len(args) > 0 {
				return usageError{cmd: "run", err: errors.New("give job names or --definition, not both")}
			}
			req := pipeline.TriggerRequest{Definition: definition, Jobs: args, Params: p, Timeout: timeout, Trigger: "cli"}
			if src != (pipeline.Source{}) {
				if src.Dir == "" && src.File == "" && src.DatasourceID == "" {
					return usageError{cmd: "run", err: errors.New("--mapping and --sync need --dir, --source or --datasource")}
				}
				s := src
				req.Source = &s
			}
			return runPipeline(cmd.Context(), g, req)
		},
	}
	c.Flags().StringArrayVar(&params, "param", nil, "NAME=VALUE: set a parameter for this run (repeatable)")
	c.Flags().StringVar(&definition, "definition", "", "run the stored job definition NAME")
	c.Flags().StringVar(&src.Dir, "dir", "", "start with an ingest of this directory of entity files")
	c.Flags().StringVar(&src.File, "source", "", "start with an ingest of this data source file")
	c.Flags().StringVar(&src.DatasourceID, "datasource", "", "start with an ingest of a data source recorded by an earlier ingest")
	c.Flags().StringVar(&src.Mapping, "mapping", "", "mapping file of the ingest")
	c.Flags().StringVar(&src.Sync, "sync", "", "sync type of the ingest: full, incremental, enrichment or delete")
	c.Flags().DurationVar(&timeout, "timeout", 0, "fail the run as timed_out after this long (default: the definition's, else none)")
	return c
}

// parseParams reads NAME=VALUE flags.
func parseParams(cmd string, kvs []string) (map[string]string, error) {
	p := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{cmd: cmd, err: fmt.Errorf("--param %q: want NAME=VALUE", kv)}
		}
		p[k] = v
	}
	return p, nil
}

// openRunner opens the workspace, the store and a runner over them, and
// fails the runs a crashed process left behind. Call the returned
// function when done.
func openRunner(ctx context.Context, g *globals, log *slog.Logger) (*pipeline.Runner, func(), error) {
	ws, err := workspace.Open(g.workspace)
	if err != nil {
		return nil, nil, err
	}
	if err := stages.WriteDefaultConfig(ws.ConfigPath()); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, store.DSN(g.databaseURL), ws.Root, log)
	if err != nil {
		return nil, nil, err
	}
	rn, err := pipeline.NewRunner(pipeline.RunnerConfig{Workspace: ws, Store: db, DatabaseURL: g.databaseURL, Logger: log, Out: g.stdout})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if _, err := rn.Recover(ctx); err != nil {
		rn.Close()
		db.Close()
		return nil, nil, err
	}
	return rn, func() { rn.Close(); db.Close() }, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runPipeline triggers a run, shows its progress until it ends (a bar on a
// terminal, a log line every few seconds otherwise) and returns an error
// unless it succeeded. Ctrl-C cancels the run.
func runPipeline(ctx context.Context, g *globals, req pipeline.TriggerRequest) error {
	tty := isTerminal(g.stderr)
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	} else if tty {
		level = slog.LevelWarn // the bar shows the progress
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	rn, done, err := openRunner(context.WithoutCancel(ctx), g, log)
	if err != nil {
		return err
	}
	defer done()
	id, err := rn.Trigger(ctx, req)
	if err != nil {
		var pe *pipeline.ParamError
		if errors.As(err, &pe) {
			return usageError{cmd: "run", err: err}
		}
		return err
	}
	run, err := watchRun(ctx, rn, id, g.stderr, tty)
	if err != nil {
		return err
	}
	ran, skipped := 0, 0
	for _, s := range run.Stages {
		switch s.Status {
		case store.RunSucceeded:
			ran++
		case pipeline.StageSkipped:
			skipped++
		}
	}
	if run.Status != store.RunSucceeded {
		return fmt.Errorf("run %s %s: %s", run.ID, run.Status, run.Message)
	}
	fmt.Fprintf(g.stdout, "run %s succeeded: %d stages run, %d up to date, %.1fs\n", run.ID, ran, skipped, run.Ended.Sub(run.Created).Seconds())
	return nil
}

// watchRun shows a run's progress until it ends; when ctx ends (Ctrl-C)
// it cancels the run and waits for it to stop.
func watchRun(ctx context.Context, rn *pipeline.Runner, id string, w io.Writer, tty bool) (store.Run, error) {
	bg := context.WithoutCancel(ctx)
	every := 200 * time.Millisecond
	if !tty {
		every = time.Second
	}
	var lastLine time.Time
	lastStatus := map[string]string{}
	cancelled := false
	for {
		select {
		case <-ctx.Done():
			if !cancelled {
				cancelled = true
				if err := rn.Cancel(bg, id); err != nil && !errors.Is(err, pipeline.ErrRunEnded) {
					return store.Run{}, err
				}
			}
		case <-time.After(every):
		}
		run, err := rn.Run(bg, id)
		if err != nil {
			return run, err
		}
		if tty {
			fmt.Fprint(w, "\r\033[K"+progressBar(run))
		} else {
			for _, s := range run.Stages {
				if s.Status != lastStatus[s.Job] && s.Status != pipeline.StagePending {
					lastStatus[s.Job] = s.Status
					if s.Status != store.RunRunning && s.Status != pipeline.StageNotRun {
						fmt.Fprintf(w, "%s stage %s %s %.1fs\n", time.Now().UTC().Format(time.RFC3339), s.Job, s.Status, s.Seconds)
					}
				}
			}
			if time.Since(lastLine) >= 10*time.Second {
				lastLine = time.Now()
				fmt.Fprintf(w, "%s run %s %s: %s\n", time.Now().UTC().Format(time.RFC3339), id, run.Status, progressText(run))
			}
		}
		if store.RunEnded(run.Status) {
			if tty {
				fmt.Fprintln(w)
			}
			return run, nil
		}
	}
}

// progressText says which stage runs and how far it is.
func progressText(run store.Run) string {
	finished := 0
	cur := ""
	for _, s := range run.Stages {
		switch s.Status {
		case store.RunSucceeded, pipeline.StageSkipped:
			finished++
		case store.RunRunning:
			cur = s.Job
			if s.Total > 0 {
				cur += fmt.Sprintf(" %d/%d", s.Done, s.Total)
				if s.ETA > 0 {
					cur += fmt.Sprintf(" ETA %.0fs", s.ETA)
				}
			}
			cur += fmt.Sprintf(" %.1fs", s.Seconds)
		}
	}
	if cur == "" {
		cur = "-"
	}
	return fmt.Sprintf("%d/%d stages done, running %s", finished, len(run.Stages), cur)
}

// progressBar draws one line: a bar over the stages and the running one.
func progressBar(run store.Run) string {
	const width = 24
	n := len(run.Stages)
	if n == 0 {
		return run.Status
	}
	var done float64
	for _, s := range run.Stages {
		switch s.Status {
		case store.RunSucceeded, pipeline.StageSkipped:
			done++
		case store.RunRunning:
			if s.Total > 0 {
				done += float64(s.Done) / float64(s.Total)
			}
		}
	}
	fill := int(done / float64(n) * width)
	return fmt.Sprintf("[%s%s] %s %s", strings.Repeat("#", fill), strings.Repeat(".", width-fill), run.Status, progressText(run))
}
