package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/workspace"
)

func newRunCmd(g *globals) *cobra.Command {
	var params []string
	reg := pipeline.NewRegistry()
	var types []string
	for _, t := range reg.Types() {
		types = append(types, fmt.Sprintf("  %-14s %s", t.Name, t.Doc))
	}
	c := &cobra.Command{
		Use:   "run [JOB...] [--param NAME=VALUE ...]",
		Short: "Run jobs over the current entity tables (default: the whole pipeline)",
		Long: "run executes the named jobs, in pipeline order, in a new run folder of the\n" +
			"workspace, and prints each job's summary. Without a job name it runs them all.\n\n" +
			"Job types:\n" + strings.Join(types, "\n") + "\n\n" +
			"--param sets an analytic parameter for this run only (lists comma-separated);\n" +
			"the workspace's engine.yaml holds the defaults. Parameters: " + strings.Join(stages.ParamNames(), ", ") + ".",
		Example: `  autoid run
  autoid run audit --param features=CITY,JOBCODE_NAME`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p := map[string]string{}
			for _, kv := range params {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageError{cmd: "run", err: fmt.Errorf("--param %q: want NAME=VALUE", kv)}
				}
				p[k] = v
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			if err := stages.WriteDefaultConfig(ws.ConfigPath()); err != nil {
				return err
			}
			log := g.logger()
			run, err := reg.Run(cmd.Context(), ws, pipeline.Options{Jobs: args, Params: p, Log: log, Out: g.stdout, DatabaseURL: g.databaseURL})
			if err != nil {
				if run.ID != "" {
					return fmt.Errorf("run %s: %w", run.ID, err)
				}
				return err
			}
			fmt.Fprintf(g.stdout, "run %s succeeded\n", run.ID)
			return nil
		},
	}
	c.Flags().StringArrayVar(&params, "param", nil, "NAME=VALUE: set a parameter for this run (repeatable)")
	return c
}
