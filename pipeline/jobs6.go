package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// analysisInputs returns the rules and assignment_scores tables the
// analysis jobs (mine, anomaly, insight) read.
func analysisInputs(env *Env) (rules, scores string, err error) {
	if rules, err = env.Input("rules"); err != nil {
		return "", "", err
	}
	if scores, err = env.Input("assignment_scores"); err != nil {
		return "", "", err
	}
	return rules, scores, nil
}

// output writes a table and releases the record.
func output(env *Env, name string, rec arrow.Record) error {
	defer rec.Release()
	return env.Output(name, rec)
}

func runMine(ctx context.Context, env *Env) error {
	rules, scores, err := analysisInputs(env)
	if err != nil {
		return err
	}
	res, err := stages.Mine(ctx, env.Gen, env.Config, rules, scores)
	if err != nil {
		return err
	}
	defer res.Release()
	if err := output(env, "roles", res.RolesRecord()); err != nil {
		return err
	}
	if err := output(env, "role_summary", res.SummaryRecord()); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runAnomaly(ctx context.Context, env *Env) error {
	rules, scores, err := analysisInputs(env)
	if err != nil {
		return err
	}
	res, err := stages.Anomaly(ctx, env.Gen, env.Config, rules, scores)
	if err != nil {
		return err
	}
	defer res.Release()
	if err := output(env, "anomalies", res.Record()); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runInsight(ctx context.Context, env *Env) error {
	rules, scores, err := analysisInputs(env)
	if err != nil {
		return err
	}
	// The coverage figures of mine, when a run has them.
	summary, err := env.Input("role_summary")
	if errors.Is(err, workspace.ErrNoRun) {
		summary = ""
	} else if err != nil {
		return err
	}
	res, err := stages.Insight(ctx, env.Gen, env.Config, rules, scores, summary)
	if err != nil {
		return err
	}
	if err := output(env, "insight", res.Record()); err != nil {
		return err
	}
	if err := res.WriteReports(env.Run.Dir); err != nil {
		return fmt.Errorf("insight: %w", err)
	}
	if err := res.WriteText(env.Out); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runCreateAssignmentIndex(ctx context.Context, env *Env) error {
	db, err := store.Open(ctx, store.DSN(env.DatabaseURL), env.WS.Root, env.Log)
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.VerifyAssignmentIndex(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Out, "create-assignment-index: %d entries from %s (generation %s) in the %s store, in key order; %.2fs\n",
		res.Entries, res.RunID, res.Generation, db.Dialect(), res.Seconds)
	return nil
}

func runCreateAssignmentIndexReport(ctx context.Context, env *Env) error {
	db, err := store.Open(ctx, store.DSN(env.DatabaseURL), env.WS.Root, env.Log)
	if err != nil {
		return err
	}
	defer db.Close()
	cur, err := db.Published(ctx)
	if err != nil {
		return fmt.Errorf("assignment index report: %w", err)
	}
	if cur.Generation != env.Gen.Name {
		return fmt.Errorf("assignment index report: the store serves entity generation %s, the workspace holds %s: run load first", cur.Generation, env.Gen.Name)
	}
	scores, err := env.Input("assignment_scores")
	if err != nil {
		scores = "" // no run scored: every entry must be unscored
	}
	var served store.PublishedRun
	rep, err := stages.ReconcileIndex(ctx, env.Gen, scores, func(fn stages.IndexEntryFunc) error {
		var err error
		served, err = db.EachIndexEntry(ctx, func(e store.IndexEntry) error { return fn(e.UsrID, e.EntID, e.Band, e.Scored) })
		return err
	})
	if err != nil {
		return err
	}
	if served.RunID != cur.RunID || served.Generation != cur.Generation {
		return fmt.Errorf("assignment index report: a load of %s replaced %s while the report read it: run the report again", served.RunID, cur.RunID)
	}
	rep.RunID, rep.Generation = served.RunID, served.Generation
	if err := output(env, "assignment_index_report", rep.Record()); err != nil {
		return err
	}
	rep.Summary(env.Out)
	if !rep.OK() {
		return fmt.Errorf("assignment index and the run's assignments disagree: %d missing in the index, %d not in the run, %d mismatched, %d entries for %d assignments",
			rep.MissingInIndex, rep.MissingInAssignments, rep.Mismatched, rep.Entries, rep.Published)
	}
	return nil
}
