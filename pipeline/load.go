package pipeline

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/autoid-oss/autoid/store"
)

// runLoad publishes the results of the latest runs (each run table from
// this run or the latest run that has it) and the current entity tables to
// the serving store: the embedded one in the workspace, or the database
// given by --database-url (or DATABASE_URL). The served content is identified by the runs whose
// tables it holds and the entity generation, so loading the same results
// twice is a no-op.
func runLoad(ctx context.Context, env *Env) error {
	db, err := store.Open(ctx, store.DSN(env.DatabaseURL), env.WS.Root, env.Log)
	if err != nil {
		return err
	}
	defer db.Close()
	paths := map[string]string{}
	runs := map[string]bool{}
	for _, t := range store.RunInputs() {
		p, err := env.Input(t)
		if err != nil {
			continue // published from what exists
		}
		paths[t] = p
		runs[filepath.Base(filepath.Dir(p))] = true
	}
	ids := make([]string, 0, len(runs))
	for id := range runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	runID := strings.Join(ids, "+")
	if runID == "" {
		runID = "entities-only"
	}
	res, err := db.Load(ctx, store.LoadOptions{
		RunID: runID, Generation: env.Gen.Name, RunFinished: time.Now(),
		RunTable: func(t string) (string, bool) {
			p, ok := paths[t]
			return p, ok
		},
		EntityTable: func(t string) (string, bool) { return env.Gen.TablePath(t), env.Gen.Has(t) },
		High:        env.Config.High, Medium: env.Config.Medium,
		RecommendMinConfidence: env.Config.RecommendMinConfidence,
	})
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if res.Skipped {
		fmt.Fprintf(env.Out, "load: %s (generation %s) is already served; nothing to do\n", runID, env.Gen.Name)
		return nil
	}
	names := make([]string, 0, len(res.Rows))
	for n := range res.Rows {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(env.Out, "load: published %s (generation %s) to the %s store in %.2fs\n", runID, env.Gen.Name, db.Dialect(), res.Seconds)
	for _, n := range names {
		fmt.Fprintf(env.Out, "  %-18s %10d rows\n", n, res.Rows[n])
	}
	return nil
}
