package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

func newTablesCmd(g *globals) *cobra.Command {
	var runID string
	return &cobra.Command{
		Use:   "tables [TABLE]",
		Short: "List the workspace's tables with their row counts and columns",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			names := entityTables
			if len(args) == 1 {
				names = args
			}
			for _, t := range names {
				path, err := tablePath(ws, t, runID)
				if err != nil {
					if len(args) == 1 {
						return err
					}
					continue
				}
				r, closeFn, err := formats.OpenParquet(path)
				if err != nil {
					return err
				}
				schema, err := r.Schema()
				rows := r.ParquetReader().NumRows()
				closeFn()
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s (%d rows)\n", t, rows)
				for _, f := range schema.Fields() {
					fmt.Fprintf(g.stdout, "  %-24s %s\n", f.Name, f.Type)
				}
			}
			return nil
		},
	}
}
