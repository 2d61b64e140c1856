package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

func newIngestCmd(g *globals) *cobra.Command {
	var dir, sourceFile, mappingFile, sync string
	c := &cobra.Command{
		Use:   "ingest (--dir DIR | --source FILE) [--mapping FILE] [--sync full|incremental|enrichment|delete]",
		Short: "Load applications, entitlements, identities and assignments into the workspace",
		Long: `ingest reads the four entities, applies the mapping and the sync type, and
publishes a new set of entity tables in the workspace. Rows that cannot be taken
go to the rejects table with file, line, column and reason; a file that cannot
be read at all fails the ingest and leaves the previous tables untouched.

--dir DIR holds applications, entitlements, identities and assignments as .csv,
.parquet or .jsonl files (any subset; missing entities keep their current table).
Header names match the canonical names case-insensitively (USR_ID is usr_id);
other names need a mapping file (YAML or JSON), entity -> source -> canonical:

    entitlements:
      ENT_OWNER: ent_owner_id

--source FILE names a data source instead (YAML or JSON): id, name,
connectionType (csv, parquet, generic for JSON lines, jdbc for a PostgreSQL
table or query read from a postgres:// url), entities (entity -> file or
table), syncType, active.

Sync types: full replaces each given table (the default); incremental adds rows
and replaces rows with the same key; enrichment patches the given columns of
existing keys; delete removes the listed keys.`,
		Example: `  autoid ingest --dir ../shared/data/showcase --mapping showcase-mapping.yaml
  autoid ingest --dir ./changes --sync incremental`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (dir == "") == (sourceFile == "") {
				return usageError{cmd: "ingest", err: fmt.Errorf("give exactly one of --dir and --source")}
			}
			var src stages.DataSource
			var err error
			if dir != "" {
				src, err = stages.DirSource(dir)
			} else {
				src, err = stages.LoadDataSource(sourceFile)
			}
			if err != nil {
				return err
			}
			if !src.Active {
				return fmt.Errorf("data source %q is not active", src.ID)
			}
			var m stages.Mapping
			if mappingFile != "" {
				if m, err = stages.LoadMapping(mappingFile); err != nil {
					return err
				}
			}
			ws, err := workspace.Open(g.workspace)
			if err != nil {
				return err
			}
			log := g.logger()
			res, err := stages.Ingest(cmd.Context(), ws, stages.IngestOptions{Source: src, Mapping: m, Sync: sync, Logger: log})
			if err != nil {
				return err
			}
			if err := saveSource(cmd.Context(), g, ws, src, m); err != nil {
				return fmt.Errorf("ingest succeeded (%s), but recording its data source failed: %w", res.Generation, err)
			}
			pipeline.WriteIngestSummary(g.stdout, res)
			if n := res.RejectsTotal(); n > 0 {
				fmt.Fprintf(g.stdout, "  %d rejected rows: autoid export rejects --format csv\n", n)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "dir", "", "directory with the entity files")
	c.Flags().StringVar(&sourceFile, "source", "", "data source file (YAML or JSON)")
	c.Flags().StringVar(&mappingFile, "mapping", "", "mapping file (YAML or JSON): entity -> source column -> canonical column")
	c.Flags().StringVar(&sync, "sync", "", "sync type: full, incremental, enrichment or delete (default: the source's, else full)")
	return c
}

// saveSource records the data source and its mapping in the store (the
// embedded one, or --database-url) and as files in the workspace.
func saveSource(ctx context.Context, g *globals, ws *workspace.Workspace, src stages.DataSource, m stages.Mapping) error {
	db, err := store.Open(ctx, store.DSN(g.databaseURL), ws.Root, g.logger())
	if err != nil {
		return err
	}
	defer db.Close()
	return pipeline.RecordSource(ctx, ws, db, src, m)
}
