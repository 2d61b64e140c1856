// Package pipeline runs jobs over the workspace: it knows the job types,
// their order, and how a run records its outputs.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// Env is what a job sees: the workspace, the entity tables it reads, the
// run folder it writes, its configuration and where to report.
type Env struct {
	WS       *workspace.Workspace
	Gen      workspace.Generation
	Run      workspace.Run
	Manifest *workspace.RunManifest
	Config   stages.Config
	// Params are the stage's parameters as text (the engine parameters it
	// uses, its own and the common ones that were set).
	Params map[string]string
	Log    *slog.Logger
	Out    io.Writer // the human-readable summary
	// DatabaseURL selects the serving store ("" = DATABASE_URL, else the
	// embedded store in the workspace).
	DatabaseURL string
	// Source is the data source of an ingest stage (nil elsewhere).
	Source *Source

	stage *stageState
}

// JobFunc runs one job type. It must return soon after ctx ends, publish
// its tables only through Env.Output, and may report progress with
// Env.Progress.
type JobFunc func(ctx context.Context, env *Env) error

// JobType is a registered job type: a stage of the DAG.
type JobType struct {
	Name string
	Doc  string
	Run  JobFunc
	// Needs are the stages whose outputs this one reads (SPEC 12).
	Needs []string
	// Outputs are the tables it writes to its run folder.
	Outputs []string
	// EngineParams are the engine parameters (stages.Config) it reads;
	// only these enter its fingerprint.
	EngineParams []string
	// Params are its own parameters besides the engine's and the common
	// ones (the ingest's source).
	Params []ParamSpec
	// Version is the code version of the stage: change it when the stage
	// computes something different from the same inputs, so that outputs
	// of the older code are not taken as up to date.
	Version string
	// Serving marks a stage whose output is in the serving store (its
	// fingerprint includes which store).
	Serving bool
	// Source marks the ingest stage: it runs only when the run is given a
	// data source, and reads it rather than the entity tables.
	Source bool
}

// Registry holds the job types in pipeline (topological) order.
type Registry struct {
	types []JobType
}

// NewRegistry returns the registry of every job type the engine has, in the
// order of SPEC 12.
func NewRegistry() *Registry {
	r := &Registry{}
	bands := []string{"high", "medium"}
	r.Register(JobType{Name: "ingest", Doc: "read a data source into a new generation of the entity tables (only when the run is given a source)",
		Run: runIngest, Source: true, Params: ingestParams()})
	r.Register(JobType{Name: "audit", Doc: "validate the entity tables; table audit_findings", Run: runAudit,
		Needs: []string{"ingest"}, Outputs: []string{"audit_findings"}, EngineParams: []string{"features"}})
	r.Register(JobType{Name: "train", Doc: "learn the stemmed association rules; tables rules, driving_factors", Run: runTrain,
		Needs: []string{"audit"}, Outputs: []string{"rules", "driving_factors"},
		EngineParams: []string{"features", "min_freq", "min_frequnion", "min_confidence", "max_rule_length", "stem_delta", "driving_factor_threshold"}})
	r.Register(JobType{Name: "predict-as-is", Doc: "score every valid assignment with its best rule; table assignment_scores", Run: runPredictAsIs,
		Needs: []string{"train"}, Outputs: []string{"assignment_scores"}, EngineParams: bands})
	r.Register(JobType{Name: "recommend", Doc: "recommend missing entitlements from the rules; table recommendations", Run: runRecommend,
		Needs: []string{"train"}, Outputs: []string{"recommendations"},
		EngineParams: []string{"high", "medium", "recommend_min_confidence", "recommend_max_per_user"}})
	r.Register(JobType{Name: "mine", Doc: "candidate roles from the confident rules; tables roles, role_summary", Run: runMine,
		Needs: []string{"train", "predict-as-is"}, Outputs: []string{"roles", "role_summary"},
		EngineParams: []string{"role_min_confidence", "role_min_entitlements", "role_min_members"}})
	r.Register(JobType{Name: "anomaly", Doc: "flag low-scored assignments of well-explained entitlements; table anomalies", Run: runAnomaly,
		Needs: []string{"train", "predict-as-is"}, Outputs: []string{"anomalies"}, EngineParams: []string{"high", "medium", "anomaly_min_assignees"}})
	r.Register(JobType{Name: "insight", Doc: "the insight report (insight_report.txt/.xlsx/.html in the run folder); table insight; reads the coverage of mine", Run: runInsight,
		Needs: []string{"train", "predict-as-is", "mine"}, Outputs: []string{"insight"}, EngineParams: bands})
	r.Register(JobType{Name: "load", Doc: "publish the latest results and entity tables to the serving store (DATABASE_URL, else <workspace>/serving.db)", Run: runLoad,
		Needs: []string{"audit", "train", "predict-as-is", "recommend", "mine", "anomaly", "insight"}, Serving: true,
		EngineParams: []string{"high", "medium", "recommend_min_confidence", "auto_access", "recommend_threshold"}})
	r.Register(JobType{Name: "create-assignment-index", Doc: "verify the serving store's assignment index (the published assignments in key order, built by load) and count its entries", Run: runCreateAssignmentIndex,
		Needs: []string{"load"}, Serving: true})
	r.Register(JobType{Name: "create-assignment-index-report", Doc: "reconcile the assignment index with the run's assignments and scores; table assignment_index_report", Run: runCreateAssignmentIndexReport,
		Needs: []string{"create-assignment-index"}, Outputs: []string{"assignment_index_report"}, Serving: true})
	return r
}

// Register adds a job type; names are unique and the stages it needs must
// be registered before it.
func (r *Registry) Register(t JobType) {
	for _, x := range r.types {
		if x.Name == t.Name {
			panic("pipeline: job type registered twice: " + t.Name)
		}
	}
	for _, n := range t.Needs {
		if _, ok := r.Type(n); !ok {
			panic("pipeline: job type " + t.Name + " needs " + n + ", which is not registered before it")
		}
	}
	if t.Version == "" {
		t.Version = "1"
	}
	t.Spec() // panics on an unknown engine parameter
	r.types = append(r.types, t)
}

// Types returns the job types in pipeline order.
func (r *Registry) Types() []JobType { return r.types }

// Type returns the job type of that name.
func (r *Registry) Type(name string) (JobType, bool) {
	for _, t := range r.types {
		if t.Name == name {
			return t, true
		}
	}
	return JobType{}, false
}

func (r *Registry) names() []string {
	var n []string
	for _, t := range r.types {
		n = append(n, t.Name)
	}
	return n
}

// Plan returns the stages a run of the target jobs executes, in pipeline
// order: the targets and everything they need upstream (the source stage
// only when withSource). No target means every stage.
func (r *Registry) Plan(targets []string, withSource bool) ([]JobType, error) {
	want := map[string]bool{}
	var unknown []string
	for _, j := range targets {
		if _, ok := r.Type(j); !ok {
			unknown = append(unknown, j)
		}
		want[j] = true
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("%w %s (known: %s)", ErrUnknownJob, strings.Join(unknown, ", "), strings.Join(r.names(), ", "))
	}
	all := len(want) == 0
	// Walk backwards: a stage is in the plan when wanted or needed by one.
	in := map[string]bool{}
	for i := len(r.types) - 1; i >= 0; i-- {
		t := r.types[i]
		if all || want[t.Name] || in[t.Name] {
			in[t.Name] = true
			for _, n := range t.Needs {
				in[n] = true
			}
		}
	}
	var plan []JobType
	for _, t := range r.types {
		if in[t.Name] && (!t.Source || withSource) {
			plan = append(plan, t)
		}
	}
	return plan, nil
}

// Options of one synchronous run (Registry.Run).
type Options struct {
	Jobs   []string          // empty: the whole pipeline
	Params map[string]string // overrides for this run
	Source *Source           // the data source of an ingest stage; nil: start from the current tables
	Log    *slog.Logger
	Out    io.Writer
	// DatabaseURL selects the serving store for load and for the record of
	// runs ("" = DATABASE_URL, else the embedded store).
	DatabaseURL string
}

// Run runs the jobs (and what they need upstream that is not up to date)
// and waits for the end. The run is recorded in the serving store like any
// other. It returns the run folder (empty when every stage was up to date).
func (r *Registry) Run(ctx context.Context, ws *workspace.Workspace, opts Options) (workspace.Run, error) {
	db, err := store.Open(ctx, store.DSN(opts.DatabaseURL), ws.Root, opts.Log)
	if err != nil {
		return workspace.Run{}, err
	}
	defer db.Close()
	rn, err := NewRunner(RunnerConfig{Workspace: ws, Store: db, Registry: r, DatabaseURL: opts.DatabaseURL, Logger: opts.Log, Out: opts.Out})
	if err != nil {
		return workspace.Run{}, err
	}
	defer rn.Close()
	if _, err := rn.Recover(ctx); err != nil {
		return workspace.Run{}, err
	}
	id, err := rn.Trigger(ctx, TriggerRequest{Jobs: opts.Jobs, Params: opts.Params, Source: opts.Source})
	if err != nil {
		return workspace.Run{}, err
	}
	st, err := rn.Wait(ctx, id)
	if err != nil {
		return workspace.Run{}, err
	}
	var run workspace.Run
	if st.Folder != "" {
		run = workspace.Run{ID: filepath.Base(st.Folder), Dir: st.Folder}
	}
	if st.Status != store.RunSucceeded {
		return run, fmt.Errorf("run %s %s: %s", st.ID, st.Status, st.Message)
	}
	return run, nil
}

// Input returns the path of a table a job reads: this run's, when an
// earlier stage of the run wrote it, else the published output of the
// stage that produces it, else the latest succeeded run's.
func (e *Env) Input(table string) (string, error) {
	if _, ok := e.Manifest.Tables[table]; ok {
		return e.Run.TablePath(table), nil
	}
	if e.stage != nil && e.stage.outputs != nil {
		if p, ok := e.stage.outputs(table); ok {
			return p, nil
		}
	}
	run, err := e.WS.LatestRunWith(table)
	if err != nil {
		return "", fmt.Errorf("%w: run the job that produces it first", err)
	}
	return run.TablePath(table), nil
}

// Output writes a table of the run and records its row count. The table
// becomes an input of later stages only when the stage succeeds.
func (e *Env) Output(table string, rec arrow.Record) error {
	if e.stage != nil {
		e.stage.wrote(table)
	}
	if err := formats.WriteParquet(e.Run.TablePath(table), rec); err != nil {
		return err
	}
	e.Manifest.Tables[table] = rec.NumRows()
	if e.stage != nil {
		e.stage.setRows(table, rec.NumRows())
	}
	return e.Run.SaveManifest(*e.Manifest)
}

// Progress reports how far the stage has come: done of total units (rows,
// entitlements...); total 0 when unknown.
func (e *Env) Progress(done, total int64) {
	if e.stage != nil {
		e.stage.progress(done, total)
	}
}

func runAudit(ctx context.Context, env *Env) error {
	res, err := stages.Audit(ctx, env.Gen, env.Config)
	if err != nil {
		return err
	}
	if err := output(env, "audit_findings", res.FindingsRecord()); err != nil {
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
	if err := output(env, "rules", res.RulesRecord()); err != nil {
		return err
	}
	if err := output(env, "driving_factors", res.DrivingFactorsRecord()); err != nil {
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
	if err := output(env, "assignment_scores", res.Record()); err != nil {
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
	if err := output(env, "recommendations", res.Record()); err != nil {
		return err
	}
	res.Summary(env.Out)
	return nil
}
