package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/autoid-oss/autoid/store"
)

func newMigrateCmd(g *globals) *cobra.Command {
	var down int
	c := &cobra.Command{
		Use:   "migrate [--database-url DSN] [--down N]",
		Short: "Apply (or revert) the serving store's schema migrations",
		Long: `migrate brings the serving store's schema to the latest version this binary
knows (opening a store does this too), or with --down N reverts the last N
migrations. The store is PostgreSQL when --database-url (or env DATABASE_URL)
gives a postgres:// URL, else the embedded SQLite file <workspace>/serving.db.`,
		Example: `  autoid migrate
  autoid migrate --database-url postgres://autoid@db/autoid
  autoid migrate --down 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if down < 0 {
				return usageError{cmd: "migrate", err: fmt.Errorf("--down %d: want a positive count", down)}
			}
			log := g.logger()
			db, err := store.OpenNoMigrate(cmd.Context(), store.DSN(g.databaseURL), g.workspace, log)
			if err != nil {
				return err
			}
			defer db.Close()
			var done []int
			if down > 0 {
				done, err = db.MigrateDown(cmd.Context(), down)
			} else {
				done, err = db.Migrate(cmd.Context(), -1)
			}
			if err != nil {
				return err
			}
			v, err := db.Version(cmd.Context())
			if err != nil {
				return err
			}
			for _, m := range done {
				if m < 0 {
					fmt.Fprintf(g.stdout, "reverted %04d\n", -m)
				} else {
					fmt.Fprintf(g.stdout, "applied %04d\n", m)
				}
			}
			fmt.Fprintf(g.stdout, "%s store at schema version %d\n", db.Dialect(), v)
			return nil
		},
	}
	c.Flags().IntVar(&down, "down", 0, "revert the last N migrations")
	return c
}
