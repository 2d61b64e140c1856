package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/gen"
	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/workspace"
)

func newDemoCmd(g *globals) *cobra.Command {
	var preset string
	var seed uint64
	c := &cobra.Command{
		Use:   "demo [--preset small|medium|large|xl] [--seed N]",
		Short: "Generate a synthetic company, ingest it and run the whole pipeline (nothing to install)",
		Long: `demo is the end-to-end run in one command: it generates a synthetic company
(autoid gen) into <workspace>/demo-input, ingests it, and runs every job of the
pipeline with the embedded store. Afterwards 'autoid tables' and 'autoid export'
show the results.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			cfg, err := gen.Preset(preset)
			if err != nil {
				return usageError{cmd: "demo", err: err}
			}
			cfg.Seed = seed
			dir := filepath.Join(ws.Root, "demo-input")
			res, err := gen.Generate(ctx, cfg, dir, gen.Options{Preset: preset})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "generated %d identities, %d entitlements, %d assignments in %s\n",
				res.Identities, res.Entitlements, res.Assignments, dir)
			src, err := stages.DirSource(dir)
			if err != nil {
				return err
			}
			ing, err := stages.Ingest(ctx, ws, stages.IngestOptions{Source: src, Logger: g.logger()})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "ingested %s in %.2fs (%d rejected rows)\n", ing.Generation, ing.Seconds, ing.RejectsTotal())
			if err := stages.WriteDefaultConfig(ws.ConfigPath()); err != nil {
				return err
			}
			run, err := pipeline.NewRegistry().Run(ctx, ws, pipeline.Options{Log: g.logger(), Out: g.stdout, DatabaseURL: g.databaseURL})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "run %s succeeded; see 'autoid --workspace %s tables'\n", run.ID, ws.Root)
			return nil
		},
	}
	c.Flags().StringVar(&preset, "preset", "small", "size preset of the synthetic company")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	return c
}
