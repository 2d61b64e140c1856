// Package pipeline runs jobs over the workspace: it knows the job types,
// their order, and how a run records its outputs.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/workspace"
)

// Env is what a job sees: the workspace, the entity tables it reads, the
// run folder it writes, the configuration and where to report.
type Env struct {
	WS       *workspace.Workspace
	Gen      workspace.Generation
	Run      workspace.Run
	Manifest *workspace.RunManifest
	Config   stages.Config
	Log      *slog.Logger
	Out      io.Writer // the human-readable summary
	// DatabaseURL selects the serving store ("" = DATABASE_URL, else the
	// embedded store in the workspace).
	DatabaseURL string
}

// JobFunc runs one job type.
type JobFunc func(ctx context.Context, env *Env) error

// JobType is a registered job type.
type JobType struct {
	Name string
	Doc  string
	Run  JobFunc
}

// Registry holds the job types in pipeline order.
type Registry struct {
	types []JobType
}

// NewRegistry returns the registry of every job type the engine has.
func NewRegistry() *Registry {
	r := &Registry{}
	r.Register(JobType{Name: "audit", Doc: "validate the entity tables; table audit_findings", Run: runAudit})
	r.Register(JobType{Name: "train", Doc: "learn the stemmed association rules; tables rules, driving_factors", Run: runTrain})
	r.Register(JobType{Name: "predict-as-is", Doc: "score every valid assignment with its best rule; table assignment_scores", Run: runPredictAsIs})
	r.Register(JobType{Name: "recommend", Doc: "recommend missing entitlements from the rules; table recommendations", Run: runRecommend})
	r.Register(JobType{Name: "mine", Doc: "candidate roles from the confident rules; tables roles, role_summary", Run: runMine})
	r.Register(JobType{Name: "anomaly", Doc: "flag low-scored assignments of well-explained entitlements; table anomalies", Run: runAnomaly})
	r.Register(JobType{Name: "insight", Doc: "the insight report (insight_report.txt/.xlsx/.html in the run folder); table insight", Run: runInsight})
	r.Register(JobType{Name: "load", Doc: "publish the latest results and entity tables to the serving store (DATABASE_URL, else <workspace>/serving.db)", Run: runLoad})
	r.Register(JobType{Name: "create-assignment-index", Doc: "fill the serving store's assignment index from the published assignments", Run: runCreateAssignmentIndex})
	r.Register(JobType{Name: "create-assignment-index-report", Doc: "reconcile the assignment index with the published assignments; table assignment_index_report", Run: runCreateAssignmentIndexReport})
	return r
}

// Register adds a job type; names are unique.
func (r *Registry) Register(t JobType) {
	for _, x := range r.types {
		if x.Name == t.Name {
			panic("pipeline: job type registered twice: " + t.Name)
		}
	}
	r.types = append(r.types, t)
}

// Types returns the job types in pipeline order.
func (r *Registry) Types() []JobType { return r.types }

func (r *Registry) names() []string {
	var n []string
	for _, t := range r.types {
		n = append(n, t.Name)
	}
	return n
}

// Options of one run.
type Options struct {
	Jobs   []string          // empty: the whole pipeline
	Params map[string]string // overrides for this run
	Log    *slog.Logger
	Out    io.Writer
	// DatabaseURL selects the serving store for load ("" = DATABASE_URL,
	// else the embedded store).
	DatabaseURL string
}

// Run runs the jobs in pipeline order in a new run folder and returns it.
func (r *Registry) Run(ctx context.Context, ws *workspace.Workspace, opts Options) (workspace.Run, error) {
	var jobs []JobType
	want := map[string]bool{}
	for _, j := range opts.Jobs {
		want[j] = true
	}
	all := len(want) == 0
	for _, t := range r.types {
		if all || want[t.Name] {
			jobs = append(jobs, t)
			delete(want, t.Name)
		}
	}
	if len(want) > 0 {
		var unknown []string
		for j := range want {
			unknown = append(unknown, j)
		}
		sort.Strings(unknown)
		return workspace.Run{}, fmt.Errorf("unknown job type %s (known: %s)", strings.Join(unknown, ", "), strings.Join(r.names(), ", "))
	}
	cfg, err := stages.LoadConfig(ws.ConfigPath())
	if err != nil {
		return workspace.Run{}, err
	}
	names := make([]string, 0, len(opts.Params))
	for k := range opts.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := cfg.Set(k, opts.Params[k]); err != nil {
			return workspace.Run{}, err
		}
	}
	gen, err := ws.Current()
	if err != nil {
		return workspace.Run{}, err
	}
	run, err := ws.NewRun(time.Now())
	if err != nil {
		return workspace.Run{}, err
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &workspace.RunManifest{ID: run.ID, Status: "running", Generation: gen.Name, Started: time.Now().UTC(),
		Tables: map[string]int64{}, Params: opts.Params}
	for _, j := range jobs {
		m.Jobs = append(m.Jobs, j.Name)
	}
	if err := run.SaveManifest(*m); err != nil {
		return run, err
	}
	env := &Env{WS: ws, Gen: gen, Run: run, Manifest: m, Config: cfg, Log: log.With("run", run.ID), Out: opts.Out, DatabaseURL: opts.DatabaseURL}
	if env.Out == nil {
		env.Out = io.Discard
	}
	finish := func(err error) error {
		now := time.Now().UTC()
		m.Finished = &now
		m.Status = "succeeded"
		if err != nil {
			m.Status = "failed"
			m.Message = err.Error()
		}
		if serr := run.SaveManifest(*m); serr != nil && err == nil {
			err = serr
		}
		return err
	}
	for _, j := range jobs {
		t0 := time.Now()
		env.Log.Info("job started", "job", j.Name)
		if err := j.Run(ctx, env); err != nil {
			return run, finish(fmt.Errorf("%s: %w", j.Name, err))
		}
		env.Log.Info("job finished", "job", j.Name, "seconds", time.Since(t0).Seconds())
	}
	return run, finish(nil)
}

// Input returns the path of a table a job reads: the current run's, when
// an earlier job of this run wrote it, else the latest succeeded run's.
func (e *Env) Input(table string) (string, error) {
	if _, ok := e.Manifest.Tables[table]; ok {
		return e.Run.TablePath(table), nil
	}
	run, err := e.WS.LatestRunWith(table)
	if err != nil {
		return "", fmt.Errorf("%w: run the job that produces it first", err)
	}
	return run.TablePath(table), nil
}

// Output writes a table of the run and records its row count.
func (e *Env) Output(table string, rec arrow.Record) error {
	if err := formats.WriteParquet(e.Run.TablePath(table), rec); err != nil {
		return err
	}
	e.Manifest.Tables[table] = rec.NumRows()
	return e.Run.SaveManifest(*e.Manifest)
}

func runAudit(ctx context.Context, env *Env) error {
	res, err := stages.Audit(ctx, env.Gen, env.Config)
	if err != nil {
		return err
	}
	rec := res.FindingsRecord()
	defer rec.Release()
	if err := env.Output("audit_findings", rec); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runTrain(ctx context.Context, env *Env) error {
	res, err := stages.Train(ctx, env.Gen, env.Config)
	if err != nil {
		return err
	}
	defer res.Release()
	rules := res.RulesRecord()
	defer rules.Release()
	if err := env.Output("rules", rules); err != nil {
		return err
	}
	dfs := res.DrivingFactorsRecord()
	defer dfs.Release()
	if err := env.Output("driving_factors", dfs); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runPredictAsIs(ctx context.Context, env *Env) error {
	path, err := env.Input("rules")
	if err != nil {
		return err
	}
	res, err := stages.PredictAsIs(ctx, env.Gen, env.Config, path)
	if err != nil {
		return err
	}
	defer res.Release()
	rec := res.Record()
	defer rec.Release()
	if err := env.Output("assignment_scores", rec); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}

func runRecommend(ctx context.Context, env *Env) error {
	path, err := env.Input("rules")
	if err != nil {
		return err
	}
	res, err := stages.Recommend(ctx, env.Gen, env.Config, path)
	if err != nil {
		return err
	}
	defer res.Release()
	rec := res.Record()
	defer rec.Release()
	if err := env.Output("recommendations", rec); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}
