package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/internal/pgtest"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// engineBackends are the stores the engine tests run against.
func engineBackends() []string { return []string{"sqlite", "postgres"} }

// engineStoreURL returns a DSN for a fresh store: the embedded one in dir,
// or a schema of its own on TEST_DATABASE_URL (skipped without it, failed
// under CI=true).
func engineStoreURL(t *testing.T, backend, dir string) string {
	t.Helper()
	if backend == "sqlite" {
		return "sqlite:" + filepath.Join(dir, "serving.db")
	}
	return pgtest.DSN(t)
}

// oneRow is a one-column, one-row table.
func oneRow(v int64) arrow.Record {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(v)
	col := b.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
	return array.NewRecord(schema, []arrow.Array{col}, 1)
}

// testJobs are small job types that exercise the engine: a -> b -> c,
// slow (writes its table, then works until its context ends or "ms"
// passes), fails (fails while the marker file exists), flaky (a transient
// error on its first attempt) and the runs each made.
type testJobs struct {
	reg    *Registry
	marker string
	calls  map[string]*atomic.Int64
	active atomic.Int64 // stages running now
	most   atomic.Int64 // most stages running at once
}

func newTestJobs(t *testing.T) *testJobs {
	tj := &testJobs{reg: &Registry{}, marker: filepath.Join(t.TempDir(), "fail"), calls: map[string]*atomic.Int64{}}
	write := func(name, table string, body func(ctx context.Context, env *Env) error) JobFunc {
		tj.calls[name] = &atomic.Int64{}
		return func(ctx context.Context, env *Env) error {
			n := tj.active.Add(1)
			defer tj.active.Add(-1)
			for {
				m := tj.most.Load()
				if n <= m || tj.most.CompareAndSwap(m, n) {
					break
				}
			}
			tj.calls[name].Add(1)
			if body != nil {
				if err := body(ctx, env); err != nil {
					return err
				}
			}
			if table == "" {
				return nil
			}
			rec := oneRow(int64(env.Config.MaxRuleLength))
			defer rec.Release()
			return env.Output(table, rec)
		}
	}
	readInput := func(table string) func(ctx context.Context, env *Env) error {
		return func(ctx context.Context, env *Env) error {
			p, err := env.Input(table)
			if err != nil {
				return err
			}
			_, err = os.Stat(p)
			return err
		}
	}
	tj.reg.Register(JobType{Name: "a", Run: write("a", "a_out", nil), Outputs: []string{"a_out"}, EngineParams: []string{"features"}})
	tj.reg.Register(JobType{Name: "b", Run: write("b", "b_out", readInput("a_out")), Needs: []string{"a"}, Outputs: []string{"b_out"},
		EngineParams: []string{"max_rule_length"}})
	tj.reg.Register(JobType{Name: "c", Run: write("c", "c_out", readInput("b_out")), Needs: []string{"b"}, Outputs: []string{"c_out"},
		EngineParams: []string{"role_min_members"}})
	tj.reg.Register(JobType{Name: "slow", Outputs: []string{"slow_out"}, Params: []ParamSpec{{Name: "ms", Type: TypeInt, Default: "60000", Doc: "how long it works"}},
		Run: write("slow", "", func(ctx context.Context, env *Env) error {
			rec := oneRow(1)
			defer rec.Release()
			if err := env.Output("slow_out", rec); err != nil {
				return err
			}
			ms := 60000
			if v := env.Params["ms"]; v != "" {
				fmt.Sscan(v, &ms)
			}
			end := time.Now().Add(time.Duration(ms) * time.Millisecond)
			for i := int64(0); time.Now().Before(end); i++ {
				if err := ctx.Err(); err != nil {
					return err
				}
				if i%20 == 0 {
					env.Log.Info("working", "done", i, "total", 100000)
				}
				time.Sleep(5 * time.Millisecond)
			}
			return nil
		})})
	tj.reg.Register(JobType{Name: "fails", Needs: []string{"a"}, Outputs: []string{"fails_out"},
		Run: write("fails", "fails_out", func(ctx context.Context, env *Env) error {
			if _, err := os.Stat(tj.marker); err == nil {
				return errors.New("the marker file says fail")
			}
			return nil
		})})
	tj.reg.Register(JobType{Name: "after", Needs: []string{"fails"}, Outputs: []string{"after_out"}, Run: write("after", "after_out", readInput("fails_out"))})
	var flaky atomic.Int64
	tj.reg.Register(JobType{Name: "flaky", Outputs: []string{"flaky_out"}, Run: write("flaky", "flaky_out", func(ctx context.Context, env *Env) error {
		if flaky.Add(1) == 1 {
			return Transient(errors.New("the database went away for a moment"))
		}
		return nil
	})})
	return tj
}

// engineEnv is a workspace with the tiny company's tables, a store and a
// runner over the test jobs.
type engineEnv struct {
	ws  *workspace.Workspace
	db  *store.DB
	dsn string
	rn  *Runner
	tj  *testJobs
}

// tinyWorkspace is a fresh workspace with the tiny company ingested.
func tinyWorkspace(t *testing.T) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := stages.DirSource(filepath.Join("..", "testdata", "tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.Ingest(context.Background(), ws, stages.IngestOptions{Source: src}); err != nil {
		t.Fatal(err)
	}
	return ws
}

func newEngineEnv(t *testing.T, backend string) *engineEnv {
	t.Helper()
	ctx := context.Background()
	ws := tinyWorkspace(t)
	dsn := engineStoreURL(t, backend, ws.Root)
	db, err := store.Open(ctx, dsn, ws.Root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tj := newTestJobs(t)
	rn, err := NewRunner(RunnerConfig{Workspace: ws, Store: db, Registry: tj.reg, DatabaseURL: dsn, Heartbeat: 100 * time.Millisecond, RetryDelay: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rn.Close() })
	return &engineEnv{ws: ws, db: db, dsn: dsn, rn: rn, tj: tj}
}

// run triggers and waits.
func (e *engineEnv) run(t *testing.T, req TriggerRequest) store.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := e.rn.Trigger(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.rn.Wait(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// stageStatus renders a run's stages as "job:status ...".
func stageStatus(r store.Run) string {
	var parts []string
	for _, s := range r.Stages {
		parts = append(parts, s.Job+":"+s.Status)
	}
	return strings.Join(parts, " ")
}

func forEachEngineBackend(t *testing.T, fn func(t *testing.T, e *engineEnv)) {
	for _, b := range engineBackends() {
		t.Run(b, func(t *testing.T) {
			fn(t, newEngineEnv(t, b))
		})
	}
}

// An identical re-run skips every stage; a changed parameter re-runs the
// stage that reads it and what is downstream only.
func TestEngineSkipsUpToDateStages(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		r := e.run(t, TriggerRequest{Jobs: []string{"c"}})
		if r.Status != store.RunSucceeded || stageStatus(r) != "a:succeeded b:succeeded c:succeeded" {
			t.Fatalf("first run: %s %s %s", r.Status, r.Message, stageStatus(r))
		}
		r = e.run(t, TriggerRequest{Jobs: []string{"c"}})
		if r.Status != store.RunSucceeded || stageStatus(r) != "a:skipped b:skipped c:skipped" {
			t.Errorf("identical re-run: %s %s", r.Status, stageStatus(r))
		}
		if _, err := os.Stat(r.Folder); err == nil {
			t.Errorf("a run of up-to-date stages made a run folder %s", r.Folder)
		}
		r = e.run(t, TriggerRequest{Jobs: []string{"c"}, Params: map[string]string{"max_rule_length": "5"}})
		if stageStatus(r) != "a:skipped b:succeeded c:succeeded" {
			t.Errorf("b's parameter changed: %s", stageStatus(r))
		}
		r = e.run(t, TriggerRequest{Jobs: []string{"c"}, Params: map[string]string{"max_rule_length": "5", "role_min_members": "9"}})
		if stageStatus(r) != "a:skipped b:skipped c:succeeded" {
			t.Errorf("c's parameter changed: %s", stageStatus(r))
		}
		for job, want := range map[string]int64{"a": 1, "b": 2, "c": 3} {
			if got := e.tj.calls[job].Load(); got != want {
				t.Errorf("%s ran %d times, want %d", job, got, want)
			}
		}
		// The run is in the store with its stages, log and memory.
		got, err := e.rn.Run(context.Background(), r.ID)
		if err != nil || got.Attempts != 1 || got.Stages[2].PeakHeap == 0 || (runtime.GOOS == "linux" && got.Stages[2].PeakRSS == 0) || got.Stages[2].Fingerprint == "" {
			t.Errorf("recorded run %+v %v", got, err)
		}
		evs, err := e.rn.Logs(context.Background(), r.ID, 0)
		if err != nil || len(evs) == 0 || !strings.Contains(string(evs[len(evs)-1].Body), store.RunSucceeded) {
			t.Errorf("logs %d events, %v", len(evs), err)
		}
	})
}

// A failing stage stops its downstream, keeps its upstream outputs, and a
// re-run resumes at the failed stage.
func TestEngineFailureResumes(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		if err := os.WriteFile(e.tj.marker, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		r := e.run(t, TriggerRequest{Jobs: []string{"after"}})
		if r.Status != store.RunFailed || !strings.Contains(r.Message, "fails: the marker file says fail") ||
			stageStatus(r) != "a:succeeded fails:failed after:not_run" {
			t.Fatalf("failing run: %s %q %s", r.Status, r.Message, stageStatus(r))
		}
		if r.Stages[1].Attempts != 1 {
			t.Errorf("a permanent error was retried: %d attempts", r.Stages[1].Attempts)
		}
		if _, ok := readOutput(e.ws, "fails"); ok {
			t.Error("the failed stage published an output")
		}
		if _, err := os.Stat(filepath.Join(r.Folder, "fails_out.parquet")); err == nil {
			t.Error("the failed stage's table was kept")
		}
		os.Remove(e.tj.marker)
		r = e.run(t, TriggerRequest{Jobs: []string{"after"}})
		if r.Status != store.RunSucceeded || stageStatus(r) != "a:skipped fails:succeeded after:succeeded" {
			t.Errorf("re-run: %s %s %s", r.Status, r.Message, stageStatus(r))
		}
	})
}

// A transient error is retried; the stage counts its attempts.
func TestEngineRetriesTransientErrors(t *testing.T) {
	e := newEngineEnv(t, "sqlite")
	r := e.run(t, TriggerRequest{Jobs: []string{"flaky"}})
	if r.Status != store.RunSucceeded || r.Stages[0].Attempts != 2 {
		t.Errorf("flaky: %s %s, %d attempts", r.Status, r.Message, r.Stages[0].Attempts)
	}
}

// waitStage waits until a run's stage is running.
func waitStage(t *testing.T, e *engineEnv, id, job string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r, err := e.rn.Run(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Stages {
			if s.Job == job && s.Status == store.RunRunning {
				return
			}
		}
		if store.RunEnded(r.Status) {
			t.Fatalf("run ended %s before %s ran: %s", r.Status, job, r.Message)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("stage %s never ran", job)
}

// Cancel during a long stage reaches cancelled within a second, and the
// stage publishes nothing.
func TestEngineCancel(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		id, err := e.rn.Trigger(ctx, TriggerRequest{Jobs: []string{"slow"}})
		if err != nil {
			t.Fatal(err)
		}
		waitStage(t, e, id, "slow")
		// Progress (from the stage's log records) and the log are readable
		// while the stage runs.
		deadline := time.Now().Add(5 * time.Second)
		for {
			r, err := e.rn.Run(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := e.rn.Logs(ctx, id, 0)
			if err != nil {
				t.Fatal(err)
			}
			s := r.Stages[0]
			if s.Total == 100000 && s.Done > 0 && s.Rate > 0 && s.ETA > 0 && len(evs) > 0 && strings.Contains(string(evs[len(evs)-1].Body), `"msg":"working"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no progress while running: %+v, %d log events", s, len(evs))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t0 := time.Now()
		if err := e.rn.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		r, err := e.rn.Wait(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); r.Status != store.RunCancelled || d > time.Second {
			t.Errorf("cancel: %s after %v (%s)", r.Status, d, r.Message)
		}
		if _, ok := readOutput(e.ws, "slow"); ok {
			t.Error("the cancelled stage published its output")
		}
		if _, err := os.Stat(filepath.Join(r.Folder, "slow_out.parquet")); err == nil {
			t.Error("the cancelled stage's table was kept")
		}
		if err := e.rn.Cancel(ctx, id); !errors.Is(err, ErrRunEnded) {
			t.Errorf("cancelling an ended run: %v", err)
		}
	})
}

// A stage past its timeout, or a run past its definition's, ends
// timed_out.
func TestEngineTimeout(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		r := e.run(t, TriggerRequest{Jobs: []string{"slow"}, Params: map[string]string{"timeout": "300ms"}})
		if r.Status != store.RunTimedOut || r.Stages[0].Status != store.RunTimedOut || !strings.Contains(r.Message, "timeout") {
			t.Errorf("stage timeout: %s %q %s", r.Status, r.Message, stageStatus(r))
		}
		ctx := context.Background()
		if err := e.rn.Define(ctx, store.JobDefinition{Name: "slowdef", Type: "slow", Timeout: 300 * time.Millisecond}, true); err != nil {
			t.Fatal(err)
		}
		r = e.run(t, TriggerRequest{Definition: "slowdef"})
		if r.Status != store.RunTimedOut || r.JobName != "slowdef" {
			t.Errorf("run timeout: %s %q", r.Status, r.Message)
		}
	})
}

// Overlap policy skip refuses a second concurrent run of a definition;
// queue accepts it and runs it after the first.
func TestEngineOverlap(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		if err := e.rn.Define(ctx, store.JobDefinition{Name: "long", Type: "slow", Overlap: store.OverlapSkip}, true); err != nil {
			t.Fatal(err)
		}
		id, err := e.rn.Trigger(ctx, TriggerRequest{Definition: "long"})
		if err != nil {
			t.Fatal(err)
		}
		waitStage(t, e, id, "slow")
		if _, err := e.rn.Trigger(ctx, TriggerRequest{Definition: "long"}); !errors.Is(err, ErrOverlap) {
			t.Errorf("second run with overlap skip: %v, want ErrOverlap", err)
		}
		if err := e.rn.Define(ctx, store.JobDefinition{Name: "queued", Type: "slow", Overlap: store.OverlapQueue,
			Parameters: map[string]any{"ms": 50}}, true); err != nil {
			t.Fatal(err)
		}
		q, err := e.rn.Trigger(ctx, TriggerRequest{Definition: "queued"})
		if err != nil {
			t.Fatalf("queue policy: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		if r, _ := e.rn.Run(ctx, q); r.Status != store.RunQueued {
			t.Errorf("second run while the first holds the workspace: %s, want queued", r.Status)
		}
		e.rn.Cancel(ctx, id)
		if r, _ := e.rn.Wait(ctx, q); r.Status != store.RunSucceeded {
			t.Errorf("queued run: %s %s", r.Status, r.Message)
		}
		if e.tj.most.Load() != 1 {
			t.Errorf("%d stages ran at once", e.tj.most.Load())
		}
		// The first run has ended: skip accepts a new one.
		id2, err := e.rn.Trigger(ctx, TriggerRequest{Definition: "long"})
		if err != nil {
			t.Errorf("after the first run ended: %v", err)
		} else {
			e.rn.Cancel(ctx, id2)
			e.rn.Wait(ctx, id2)
		}
	})
}

// Invalid parameters are refused naming the parameter and the reason.
func TestEngineRefusesInvalidParameters(t *testing.T) {
	e := newEngineEnv(t, "sqlite")
	ctx := context.Background()
	rn, err := NewRunner(RunnerConfig{Workspace: e.ws, Store: e.db})
	if err != nil {
		t.Fatal(err)
	}
	defer rn.Close()
	for _, tc := range []struct {
		def   store.JobDefinition
		param string
		why   string
	}{
		{store.JobDefinition{Name: "x", Type: "train", Parameters: map[string]any{"max_rule_length": "three"}}, "max_rule_length", "not a whole number"},
		{store.JobDefinition{Name: "x", Type: "train", Parameters: map[string]any{"min_confidence": 1.5}}, "min_confidence", "outside [0, 1]"},
		{store.JobDefinition{Name: "x", Type: "train", Parameters: map[string]any{"role_min_members": 3}}, "role_min_members", "not a parameter of job type train"},
		{store.JobDefinition{Name: "x", Type: "predict-as-is", Parameters: map[string]any{"medium": 0.9, "high": 0.5}}, "medium", "above high"},
		{store.JobDefinition{Name: "x", Type: "train", Parameters: map[string]any{"executorMemory": "lots"}}, "executorMemory", "not a memory size"},
		{store.JobDefinition{Name: "x", Type: "nope"}, "job_type", "not a job type"},
		{store.JobDefinition{Name: "x", Type: "train", Schedule: "61 * * * *"}, "schedule", "minute"},
		{store.JobDefinition{Name: "x", Type: "ingest"}, "datasourceId", "names its data source"},
	} {
		err := rn.Define(ctx, tc.def, true)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != tc.param || !strings.Contains(pe.Reason, tc.why) {
			t.Errorf("%+v: %v, want parameter %s: ...%s...", tc.def, err, tc.param, tc.why)
		}
	}
	_, err = rn.Trigger(ctx, TriggerRequest{Jobs: []string{"train"}, Params: map[string]string{"high": "2"}})
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "high" {
		t.Errorf("--param high=2: %v", err)
	}
	if _, err := rn.Trigger(ctx, TriggerRequest{Jobs: []string{"train"}, Params: map[string]string{"bogus": "1"}}); !errors.As(err, &pe) || pe.Param != "bogus" {
		t.Errorf("--param bogus=1: %v", err)
	}
	if err := rn.Define(ctx, store.JobDefinition{Name: "ok", Type: "train", Parameters: map[string]any{"min_freq": 0.01, "features": []any{"CITY", "JOBCODE_NAME"},
		"driverMemory": "2g", "executorCores": 2}}, true); err != nil {
		t.Errorf("a valid definition: %v", err)
	}
}

// The Spark knobs map to the run's memory budget and worker count.
func TestResourcesFromSparkKnobs(t *testing.T) {
	r := resourcesOf(map[string]string{"driverMemory": "1g", "executorMemory": "512m", "driverCores": "1", "executorCores": "1"})
	if r.MemoryBytes != 1<<30+512<<20 || r.Workers != min(2, runtimeCPUs()) {
		t.Errorf("%+v", r)
	}
	for in, want := range map[string]int64{"2048": 2 << 30, "4g": 4 << 30, "100kb": 100 << 10, "1.5g": 3 << 29, "10b": 10} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// Every engine parameter is described, with the configuration's default.
func TestEngineParamsDocumented(t *testing.T) {
	spec := engineSpec()
	for _, n := range stages.ParamNames() {
		if _, ok := spec[n]; !ok {
			t.Errorf("engine parameter %s has no description", n)
		}
	}
	if len(spec) != len(stages.ParamNames()) {
		t.Errorf("%d described, %d in the configuration", len(spec), len(stages.ParamNames()))
	}
	if spec["min_freq"].Default != "5" || spec["min_confidence"].Default != "0.1" {
		t.Errorf("defaults %+v %+v", spec["min_freq"], spec["min_confidence"])
	}
}

func runtimeCPUs() int { return runtime.NumCPU() }
