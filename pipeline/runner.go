package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// Errors of the runner.
var (
	// ErrOverlap: the definition's overlap policy is skip and a run of it
	// is active (it is store.ErrActiveRun).
	ErrOverlap = store.ErrActiveRun
	// ErrRunEnded: the run has already ended (cancel).
	ErrRunEnded = errors.New("the run has already ended")
	// ErrTransient marks an error worth retrying (wrap with Transient).
	ErrTransient = errors.New("transient")
)

// Causes of a run's context ending.
var (
	errCancelled    = errors.New("cancelled")
	errRunTimeout   = errors.New("the run's timeout passed")
	errStageTimeout = errors.New("the stage's timeout passed")
	errShutdown     = errors.New("the process executing the run stopped")
)

// Transient marks err as transient: the stage is retried (a bounded number
// of times) instead of failing the run.
func Transient(err error) error { return fmt.Errorf("%w: %w", ErrTransient, err) }

// IsTransient reports whether err is worth retrying: marked by Transient,
// or an error that says it is temporary or a time-out of the network.
// Cancellation and deadlines of the run itself never are.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrTransient) {
		return true
	}
	var tmp interface{ Temporary() bool }
	if errors.As(err, &tmp) && tmp.Temporary() {
		return true
	}
	var to interface{ Timeout() bool }
	return errors.As(err, &to) && to.Timeout()
}

// RunnerConfig configures a Runner. Workspace and Store are required.
type RunnerConfig struct {
	Workspace *workspace.Workspace
	// Store records definitions, runs, their stages and logs.
	Store *store.DB
	// Registry holds the job types (nil: NewRegistry()).
	Registry *Registry
	// DatabaseURL is the serving store the load stages publish to ("" =
	// DATABASE_URL, else the embedded store of the workspace).
	DatabaseURL string
	// Logger also receives every run's log records (nil: only the store).
	Logger *slog.Logger
	// Out receives the stages' human-readable summaries (nil: discarded).
	Out io.Writer
	// Heartbeat is how often a running run records its progress and
	// heartbeat and looks for a cancellation asked by another process
	// (default 1s).
	Heartbeat time.Duration
	// StaleAfter: Recover fails a run of another host (or of a process it
	// cannot check) whose heartbeat is older than this (default 1m).
	StaleAfter time.Duration
	// Retries is how many times a stage is retried after a transient error
	// (default 2; negative: never).
	Retries int
	// RetryDelay is the wait before the first retry, doubled after each
	// (default 1s).
	RetryDelay time.Duration
}

func (c *RunnerConfig) withDefaults() error {
	if c.Workspace == nil || c.Store == nil {
		return errors.New("pipeline: a runner needs a workspace and a store")
	}
	if c.Registry == nil {
		c.Registry = NewRegistry()
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = time.Minute
	}
	if c.Retries == 0 {
		c.Retries = 2
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return nil
}

// Runner triggers and executes runs of the pipeline over one workspace and
// records them in the store. Runs execute in the background, one at a time
// per workspace (a file lock serialises runs of every process); a trigger
// returns at once with the run id.
type Runner struct {
	cfg   RunnerConfig
	owner string // host/pid/token: the runs this runner executes
	host  string
	token string

	base context.Context
	stop context.CancelCauseFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	active map[string]*activeRun
	closed bool
}

type activeRun struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
	state  atomicState
}

// atomicState holds the run's live stages once it executes.
type atomicState struct {
	mu sync.Mutex
	st *runState
}

func (a *atomicState) set(st *runState) {
	a.mu.Lock()
	a.st = st
	a.mu.Unlock()
}

func (a *atomicState) get() *runState {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// NewRunner returns a runner; call Recover once at start, and Close at the
// end.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	rand.Read(rnd[:])
	token := hex.EncodeToString(rnd[:])
	base, stop := context.WithCancelCause(context.Background())
	return &Runner{cfg: cfg, host: host, token: token, owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), token),
		base: base, stop: stop, active: map[string]*activeRun{}}, nil
}

// Registry returns the runner's job types.
func (r *Runner) Registry() *Registry { return r.cfg.Registry }

// Store returns the runner's store.
func (r *Runner) Store() *store.DB { return r.cfg.Store }

// TriggerRequest asks for a run: of a stored job definition, or of jobs
// given here (ad hoc).
type TriggerRequest struct {
	// Definition names a stored job definition; its type is the target
	// and its parameters apply to that stage.
	Definition string
	// Jobs are the targets of an ad-hoc run (empty: the whole pipeline).
	Jobs []string
	// Params override engine and common parameters for every stage of this
	// run (--param).
	Params map[string]string
	// Source gives the run an ingest stage.
	Source *Source
	// Timeout bounds the whole run (0: the definition's, else none).
	Timeout time.Duration
	// Trigger says who asked: cli, api or schedule (default cli).
	Trigger string
}

// plannedRun is what a trigger resolved.
type plannedRun struct {
	id        string
	plan      []JobType
	target    string            // the definition's job type ("" ad hoc)
	defParams map[string]string // apply to the target stage only
	overrides map[string]string
	source    *Source
	timeout   time.Duration
	res       Resources
}

// Trigger validates the request, records a queued run and starts it in
// the background; it returns the run id. Invalid parameters are refused
// with a *ParamError; a definition with overlap policy skip and an active
// run gives ErrOverlap.
func (r *Runner) Trigger(ctx context.Context, req TriggerRequest) (string, error) {
	p := plannedRun{overrides: req.Params, source: req.Source, timeout: req.Timeout}
	rec := store.Run{JobName: req.Definition, Trigger: req.Trigger, Params: map[string]string{}}
	exclusive := false
	targets := req.Jobs
	if req.Definition != "" {
		d, err := r.cfg.Store.JobDefinition(ctx, req.Definition)
		if err != nil {
			return "", err
		}
		t, ok := r.cfg.Registry.Type(d.Type)
		if !ok {
			return "", fmt.Errorf("job definition %s: %w %q", d.Name, ErrUnknownJob, d.Type)
		}
		if p.defParams, err = t.ValidateParams(d.Parameters); err != nil {
			return "", fmt.Errorf("job definition %s: %w", d.Name, err)
		}
		if t.Source && p.source == nil {
			p.source = sourceFromParams(p.defParams)
		}
		targets, p.target = []string{d.Type}, d.Type
		rec.JobType = d.Type
		exclusive = d.Overlap == store.OverlapSkip
		if p.timeout == 0 {
			p.timeout = d.Timeout
		}
		for k, v := range p.defParams {
			rec.Params[k] = v
		}
	}
	for _, j := range targets {
		if t, ok := r.cfg.Registry.Type(j); ok && t.Source && p.source == nil {
			return "", &ParamError{Param: "dir", Reason: "the ingest job needs a data source (dir, source or datasourceId)"}
		}
	}
	plan, err := r.cfg.Registry.Plan(targets, p.source != nil)
	if err != nil {
		return "", err
	}
	if err := r.cfg.Registry.validateOverrides(req.Params, plan); err != nil {
		return "", err
	}
	if p.source != nil {
		if _, err := p.source.resolve(r.cfg.Workspace); err != nil {
			return "", err
		}
	}
	for k, v := range req.Params {
		rec.Params[k] = v
	}
	p.res = resourcesOf(rec.Params)
	p.plan = plan
	if rec.JobType == "" {
		rec.JobType = "pipeline"
		if len(req.Jobs) > 0 {
			rec.JobType = strings.Join(req.Jobs, ",")
		}
	}
	p.id = newRunID(time.Now())
	rec.ID = p.id
	rec.Timeout = p.timeout
	rec.Owner = r.owner
	rec.Folder = filepath.Join(r.cfg.Workspace.Root, "runs", p.id)
	for _, t := range plan {
		rec.Jobs = append(rec.Jobs, t.Name)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return "", errors.New("pipeline: the runner is closed")
	}
	if err := r.cfg.Store.InsertRun(ctx, rec, exclusive); err != nil {
		return "", err
	}
	if _, err := r.cfg.Store.SaveRunProgress(ctx, p.id, newRunState(plan).snapshot(), time.Now()); err != nil {
		return "", err
	}
	runCtx, cancel := context.WithCancelCause(r.base)
	a := &activeRun{cancel: cancel, done: make(chan struct{})}
	r.active[p.id] = a
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(a.done)
		defer func() {
			r.mu.Lock()
			delete(r.active, p.id)
			r.mu.Unlock()
		}()
		r.execute(runCtx, p)
	}()
	return p.id, nil
}

func newRunID(now time.Time) string {
	var rnd [3]byte
	rand.Read(rnd[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
}

// Cancel asks a run to stop: the run goes to cancelling, its stage sees
// its context end, and it ends cancelled. A run executed by another
// process stops at its next heartbeat.
func (r *Runner) Cancel(ctx context.Context, id string) error {
	ok, err := r.cfg.Store.TransitionRun(ctx, id, store.RunTransition{From: []string{store.RunQueued, store.RunRunning}, To: store.RunCancelling})
	if err != nil {
		return err
	}
	if !ok {
		run, err := r.cfg.Store.Run(ctx, id)
		if err != nil {
			return err
		}
		if store.RunEnded(run.Status) {
			return fmt.Errorf("run %s is %s: %w", id, run.Status, ErrRunEnded)
		}
	}
	r.mu.Lock()
	a := r.active[id]
	r.mu.Unlock()
	if a != nil {
		a.cancel(errCancelled)
	}
	return nil
}

// Run returns a run with its stages. A run this runner executes shows its
// live stages (the store's copy is written at each heartbeat).
func (r *Runner) Run(ctx context.Context, id string) (store.Run, error) {
	run, err := r.cfg.Store.Run(ctx, id)
	if err != nil {
		return run, err
	}
	r.mu.Lock()
	a := r.active[id]
	r.mu.Unlock()
	if a != nil && !store.RunEnded(run.Status) {
		if st := a.state.get(); st != nil {
			run.Stages = st.snapshot()
		}
	}
	return run, nil
}

// Runs lists runs, newest first.
func (r *Runner) Runs(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	return r.cfg.Store.Runs(ctx, f)
}

// Latest returns the latest run of a job definition, or store.ErrNotFound.
func (r *Runner) Latest(ctx context.Context, definition string) (store.Run, error) {
	rs, err := r.cfg.Store.Runs(ctx, store.RunFilter{JobName: definition, Limit: 1})
	if err != nil {
		return store.Run{}, err
	}
	if len(rs) == 0 {
		return store.Run{}, fmt.Errorf("job definition %q has no run: %w", definition, store.ErrNotFound)
	}
	return rs[0], nil
}

// Logs returns a run's log events after sequence number after (the body
// of a "log" event is the slog JSON record).
func (r *Runner) Logs(ctx context.Context, id string, after int64) ([]store.RunEvent, error) {
	if _, err := r.cfg.Store.Run(ctx, id); err != nil {
		return nil, err
	}
	return r.cfg.Store.RunEvents(ctx, id, after, 0)
}

// Follow calls fn with each log event of a run after sequence number
// after, as they are recorded, until the run has ended and every event is
// delivered, ctx ends, or fn fails.
func (r *Runner) Follow(ctx context.Context, id string, after int64, fn func(store.RunEvent) error) error {
	const poll = 200 * time.Millisecond
	for {
		run, err := r.cfg.Store.Run(ctx, id)
		if err != nil {
			return err
		}
		evs, err := r.cfg.Store.RunEvents(ctx, id, after, 0)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(evs) > 0 {
			continue
		}
		if store.RunEnded(run.Status) {
			// Events are flushed before the final state: none will come.
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Wait waits for a run to end and returns it.
func (r *Runner) Wait(ctx context.Context, id string) (store.Run, error) {
	r.mu.Lock()
	a := r.active[id]
	r.mu.Unlock()
	if a != nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			return store.Run{}, ctx.Err()
		}
	}
	for {
		run, err := r.cfg.Store.Run(ctx, id)
		if err != nil || store.RunEnded(run.Status) {
			return run, err
		}
		select {
		case <-ctx.Done():
			return store.Run{}, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops accepting triggers, cancels the runs in flight (they end
// cancelled, saying the process stopped) and waits for them.
func (r *Runner) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.stop(errShutdown)
	r.wg.Wait()
	return nil
}

// Recover fails the runs left queued, running or cancelling by a process
// that is gone: on this host when its process no longer exists, elsewhere
// when its heartbeat is older than StaleAfter. Their partial outputs (run
// folder tables no stage published) are removed. It returns the ids.
func (r *Runner) Recover(ctx context.Context) ([]string, error) {
	runs, err := r.cfg.Store.Runs(ctx, store.RunFilter{Active: true, Limit: 10000})
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, run := range runs {
		if run.Owner == r.owner {
			continue
		}
		reason := r.deadReason(run)
		if reason == "" {
			continue
		}
		ok, err := r.cfg.Store.TransitionRun(ctx, run.ID, store.RunTransition{
			From: []string{store.RunQueued, store.RunRunning, store.RunCancelling}, To: store.RunFailed, Message: reason})
		if err != nil {
			return failed, err
		}
		if !ok {
			continue
		}
		r.discardPartial(run.Folder, reason)
		r.event(ctx, run.ID, "state", map[string]any{"status": store.RunFailed, "message": reason})
		r.cfg.loggerOrDiscard().Warn("run failed: its process is gone", "run", run.ID, "reason", reason)
		failed = append(failed, run.ID)
	}
	return failed, nil
}

func (c *RunnerConfig) loggerOrDiscard() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// deadReason says why a run's process is gone ("" when it may be alive).
func (r *Runner) deadReason(run store.Run) string {
	parts := strings.Split(run.Owner, "/")
	if len(parts) == 3 && parts[0] == r.host {
		// On this host the process tells: its heartbeat may lag behind
		// while the embedded store is busy with a load.
		pid, err := strconv.Atoi(parts[1])
		if err == nil && pid != os.Getpid() && !processAlive(pid) {
			return fmt.Sprintf("the process executing it (pid %d on %s) ended while the run was %s; its partial outputs were discarded", pid, r.host, run.Status)
		}
		if err == nil {
			return ""
		}
	}
	last := run.Heartbeat
	if last.IsZero() {
		last = run.Created
	}
	if time.Since(last) > r.cfg.StaleAfter {
		return fmt.Sprintf("no heartbeat from its process (%s) since %s; its partial outputs were discarded", run.Owner, last.Format(time.RFC3339))
	}
	return ""
}

// discardPartial removes the tables of a run folder that no stage
// published, and half-written files, and marks the folder's manifest.
func (r *Runner) discardPartial(folder, reason string) {
	if folder == "" {
		return
	}
	pub := publishedTables(r.cfg.Workspace)
	files, _ := filepath.Glob(filepath.Join(folder, "*.parquet"))
	tmps, _ := filepath.Glob(filepath.Join(folder, ".*.tmp-*"))
	for _, f := range append(files, tmps...) {
		if !pub[f] {
			os.Remove(f)
		}
	}
	run := workspace.Run{ID: filepath.Base(folder), Dir: folder}
	var m workspace.RunManifest
	if err := workspace.ReadJSON(filepath.Join(folder, "manifest.json"), &m); err == nil {
		for t := range m.Tables {
			if !pub[run.TablePath(t)] {
				delete(m.Tables, t)
			}
		}
		m.Status, m.Message = store.RunFailed, reason
		now := time.Now().UTC()
		m.Finished = &now
		run.SaveManifest(m)
	}
}

// event records one event of a run outside its log (recovery, state).
func (r *Runner) event(ctx context.Context, id, kind string, body map[string]any) {
	seq, err := r.cfg.Store.LastRunEventSeq(ctx, id)
	if err != nil {
		return
	}
	b, _ := json.Marshal(body)
	r.cfg.Store.AppendRunEvents(ctx, id, []store.RunEvent{{Seq: seq + 1, At: time.Now(), Kind: kind, Body: b}})
}

// execute runs a triggered run to its end.
func (r *Runner) execute(ctx context.Context, p plannedRun) {
	bg := context.WithoutCancel(ctx)
	startSeq, _ := r.cfg.Store.LastRunEventSeq(bg, p.id)
	sink := newEventSink(r.cfg.Store, p.id, startSeq)
	handlers := []slog.Handler{sink.handler()}
	if r.cfg.Logger != nil {
		handlers = append(handlers, r.cfg.Logger.Handler())
	}
	log := slog.New(fanout(handlers)).With("run", p.id)
	st := newRunState(p.plan)
	r.mu.Lock()
	if a := r.active[p.id]; a != nil {
		a.state.set(st)
	}
	r.mu.Unlock()
	mon := r.monitor(ctx, p.id, st, sink)
	finish := func(status, message string) {
		mon.stop()
		st.finishPending()
		if message != "" {
			log.Error("run "+status, "status", status, "message", message)
		} else {
			log.Info("run "+status, "status", status)
		}
		sink.add("state", map[string]any{"status": status, "message": message})
		sink.flush(bg)
		r.cfg.Store.SaveRunProgress(bg, p.id, st.snapshot(), time.Now())
		if _, err := r.cfg.Store.TransitionRun(bg, p.id, store.RunTransition{
			From: []string{store.RunQueued, store.RunRunning, store.RunCancelling}, To: status, Message: message}); err != nil {
			r.cfg.loggerOrDiscard().Error("recording the end of a run failed", "run", p.id, "err", err)
		}
	}

	// Queued until this workspace has no other run in progress.
	unlock, err := lockRuns(ctx, r.cfg.Workspace)
	if err != nil {
		status, msg := endOf(ctx, err)
		finish(status, msg)
		return
	}
	defer unlock()
	ok, err := r.cfg.Store.TransitionRun(bg, p.id, store.RunTransition{From: []string{store.RunQueued}, To: store.RunRunning, Owner: r.owner})
	if err != nil || !ok {
		if err == nil {
			err = errCancelled // cancelled while queued
		}
		finish(endOf(ctx, err))
		return
	}
	sink.add("state", map[string]any{"status": store.RunRunning})
	log.Info("run started", "jobs", st.names(), "trigger", p.target)
	if p.res.MemoryBytes > 0 {
		prev := debug.SetMemoryLimit(p.res.MemoryBytes)
		defer debug.SetMemoryLimit(prev)
	}
	if p.res.Workers > 0 {
		prev := runtime.GOMAXPROCS(p.res.Workers)
		defer runtime.GOMAXPROCS(prev)
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, p.timeout, errRunTimeout)
		defer cancel()
	}
	status, msg := r.runStages(ctx, p, st, log)
	finish(status, msg)
}

// endOf turns the error that ended a run into its final state and message.
func endOf(ctx context.Context, err error) (string, string) {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errShutdown):
		return store.RunCancelled, errShutdown.Error()
	case errors.Is(cause, errCancelled), errors.Is(err, errCancelled):
		return store.RunCancelled, "cancelled"
	case errors.Is(cause, errRunTimeout):
		return store.RunTimedOut, errRunTimeout.Error()
	case errors.Is(err, errStageTimeout):
		return store.RunTimedOut, err.Error()
	}
	return store.RunFailed, err.Error()
}

// runStages executes the plan: each stage runs unless its published
// output is up to date. The first failing stage stops the run.
func (r *Runner) runStages(ctx context.Context, p plannedRun, st *runState, log *slog.Logger) (string, string) {
	ws := r.cfg.Workspace
	base, err := stages.LoadConfig(ws.ConfigPath())
	if err != nil {
		return store.RunFailed, err.Error()
	}
	eng := engineSpec()
	keys := make([]string, 0, len(p.overrides))
	for k := range p.overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := eng[k]; ok {
			if err := base.Set(k, p.overrides[k]); err != nil {
				return store.RunFailed, err.Error()
			}
		}
	}
	folder := workspace.Run{ID: p.id, Dir: filepath.Join(ws.Root, "runs", p.id)}
	var manifest *workspace.RunManifest
	fps := map[string]string{}
	dsn := store.DSN(r.cfg.DatabaseURL)
	served := &servedStore{dsn: dsn, root: ws.Root}
	defer served.close()
	for i, t := range p.plan {
		if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
			return endOf(ctx, err)
		}
		// The stage's parameters: engine configuration, --param, and the
		// definition's own for its target stage.
		cfg := base
		params := map[string]string{}
		for k, v := range p.overrides {
			params[k] = v
		}
		if t.Name == p.target {
			pk := make([]string, 0, len(p.defParams))
			for k := range p.defParams {
				pk = append(pk, k)
			}
			sort.Strings(pk)
			for _, k := range pk {
				params[k] = p.defParams[k]
				if _, ok := eng[k]; ok {
					if err := cfg.Set(k, p.defParams[k]); err != nil {
						return store.RunFailed, err.Error()
					}
				}
			}
		}
		vals := configValues(cfg)
		fp := &fingerprint{}
		fp.add("engine", EngineVersion)
		fp.add("job", t.Name)
		fp.add("version", t.Version)
		for _, n := range t.EngineParams {
			fp.add("param."+n, vals[n])
			params[n] = vals[n]
		}
		for _, n := range t.Needs {
			// The source stage's effect is the generation, added below, so
			// a run without a source finds the same fingerprints.
			if nt, _ := r.cfg.Registry.Type(n); nt.Source {
				continue
			}
			if f, ok := fps[n]; ok {
				fp.add("needs."+n, f)
			}
		}
		var gen workspace.Generation
		var src resolvedSource
		if t.Source {
			if src, err = p.source.resolve(ws); err != nil {
				st.fail(i, store.RunFailed, err.Error())
				return store.RunFailed, t.Name + ": " + err.Error()
			}
			sourceFingerprint(fp, src)
		} else {
			if gen, err = ws.Current(); err != nil {
				st.fail(i, store.RunFailed, err.Error())
				return store.RunFailed, t.Name + ": " + err.Error()
			}
			fp.add("generation", gen.Name)
		}
		if t.Serving {
			fp.add("store", dsn)
		}
		sum := fp.sum()
		fps[t.Name] = sum
		if out, ok := readOutput(ws, t.Name); ok && out.Fingerprint == sum && (!t.Source || r.currentIs(out.Generation)) &&
			(!t.Serving || out.Served == served.mark(ctx)) {
			st.skip(i, sum, out.Run)
			log.Info("stage up to date", "job", t.Name, "fingerprint", sum, "output_run", out.Run)
			continue
		}
		if manifest == nil {
			if err := os.MkdirAll(folder.Dir, 0o755); err != nil {
				return store.RunFailed, fmt.Sprintf("run folder: %v", err)
			}
			manifest = &workspace.RunManifest{ID: p.id, Status: "running", Generation: gen.Name, Started: time.Now().UTC(),
				Tables: map[string]int64{}, Params: p.overrides, Jobs: st.names()}
			if err := folder.SaveManifest(*manifest); err != nil {
				return store.RunFailed, err.Error()
			}
		}
		if gen.Name != "" {
			manifest.Generation = gen.Name
		}
		env := &Env{WS: ws, Gen: gen, Run: folder, Manifest: manifest, Config: cfg, Params: params,
			Log: log.With("job", t.Name), Out: r.cfg.Out, DatabaseURL: r.cfg.DatabaseURL}
		if t.Source {
			env.Source = p.source
		}
		status, err := r.runStage(ctx, i, t, env, st, params)
		if err != nil {
			manifest.Status, manifest.Message = status, t.Name+": "+err.Error()
			now := time.Now().UTC()
			manifest.Finished = &now
			folder.SaveManifest(*manifest)
			if status == store.RunFailed {
				return status, t.Name + ": " + err.Error()
			}
			_, msg := endOf(ctx, err)
			return status, t.Name + ": " + msg
		}
		o := stageOutput{Job: t.Name, Fingerprint: sum, Run: p.id, Tables: st.tables(i), Generation: gen.Name,
			Finished: time.Now().UTC(), Seconds: st.seconds(i)}
		if t.Source {
			o.Generation = env.stage.generation
		}
		if t.Serving {
			served.reset()
			o.Served = served.mark(ctx)
		}
		if err := writeOutput(ws, o); err != nil {
			return store.RunFailed, t.Name + ": " + err.Error()
		}
		st.succeed(i, sum, p.id)
	}
	if manifest != nil {
		manifest.Status = store.RunSucceeded
		now := time.Now().UTC()
		manifest.Finished = &now
		if err := folder.SaveManifest(*manifest); err != nil {
			return store.RunFailed, err.Error()
		}
	}
	return store.RunSucceeded, ""
}

// servedStore reads which publication the serving store serves, opening
// it on first use.
type servedStore struct {
	dsn, root string
	db        *store.DB
	cached    string
}

// mark names the served publication ("none" before any load; "" when the
// store cannot be read, which matches no recorded mark).
func (s *servedStore) mark(ctx context.Context) string {
	if s.cached != "" {
		return s.cached
	}
	if s.db == nil {
		db, err := store.Open(ctx, s.dsn, s.root, nil)
		if err != nil {
			return ""
		}
		s.db = db
	}
	p, err := s.db.Published(ctx)
	switch {
	case errors.Is(err, store.ErrNotPublished):
		s.cached = "none"
	case err != nil:
		return ""
	default:
		// The load time tells apart two loads of one run into stores
		// that share a name and sequence (a database dropped and made
		// again).
		s.cached = fmt.Sprintf("%d/%s/%s/%d", p.Seq, p.RunID, p.Generation, p.LoadedAt.UnixMicro())
	}
	return s.cached
}

func (s *servedStore) reset() { s.cached = "" }

func (s *servedStore) close() {
	if s.db != nil {
		s.db.Close()
	}
}

func (r *Runner) currentIs(gen string) bool {
	cur, err := r.cfg.Workspace.Current()
	return err == nil && cur.Name == gen
}

// runStage runs one stage with its timeout and bounded retries of
// transient errors. On failure it removes what the stage wrote and returns
// the stage's final state.
func (r *Runner) runStage(ctx context.Context, i int, t JobType, env *Env, st *runState, params map[string]string) (string, error) {
	timeout, _ := parseDuration(params[ParamTimeout])
	delay := r.cfg.RetryDelay
	for attempt := 1; ; attempt++ {
		ss := st.start(i, attempt)
		ss.store = r.cfg.Store
		ss.outputs = r.outputLookup
		env.stage = ss
		if attempt == 1 {
			env.Log = slog.New(progressHandler{Handler: env.Log.Handler(), ss: ss})
		} else if ph, ok := env.Log.Handler().(progressHandler); ok {
			env.Log = slog.New(progressHandler{Handler: ph.Handler, ss: ss})
		}
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if timeout > 0 {
			sctx, cancel = context.WithTimeoutCause(ctx, timeout, errStageTimeout)
		}
		env.Log.Info("stage started", "attempt", attempt)
		st.sampleNow()
		err := safeRun(sctx, t.Run, env)
		st.sampleNow()
		// Hand the stage's freed memory back to the system now, so that
		// the next stage starts from what is live and the run's peak is
		// one stage's, not the sum of retained heaps.
		debug.FreeOSMemory()
		if err == nil {
			cancel()
			env.Log.Info("stage finished", "seconds", st.seconds(i), "peak_rss_bytes", st.peakRSS(i))
			return store.RunSucceeded, nil
		}
		cause := context.Cause(sctx)
		cancel()
		r.discardStage(env, ss)
		var status string
		switch {
		case errors.Is(cause, errStageTimeout):
			status, err = store.RunTimedOut, fmt.Errorf("%w (%s)", errStageTimeout, timeout)
		case ctx.Err() != nil:
			status, _ = endOf(ctx, err)
		case IsTransient(err) && attempt <= r.cfg.Retries:
			env.Log.Warn("stage failed with a transient error; retrying", "attempt", attempt, "err", err.Error(), "retry_in", delay.String())
			select {
			case <-ctx.Done():
				status, _ = endOf(ctx, err)
				st.fail(i, status, err.Error())
				return status, err
			case <-time.After(delay):
			}
			delay *= 2
			continue
		default:
			status = store.RunFailed
		}
		env.Log.Error("stage "+status, "err", err.Error())
		st.fail(i, status, err.Error())
		return status, err
	}
}

// outputLookup finds the published path of a table by the stage that
// produces it.
func (r *Runner) outputLookup(table string) (string, bool) {
	for _, t := range r.cfg.Registry.Types() {
		for _, o := range t.Outputs {
			if o != table {
				continue
			}
			out, ok := readOutput(r.cfg.Workspace, t.Name)
			if !ok {
				return "", false
			}
			if _, has := out.Tables[table]; !has {
				return "", false
			}
			return filepath.Join(r.cfg.Workspace.Root, "runs", out.Run, table+".parquet"), true
		}
	}
	return "", false
}

// discardStage removes the tables a failed stage attempt wrote.
func (r *Runner) discardStage(env *Env, ss *stageState) {
	for _, t := range ss.written() {
		os.Remove(env.Run.TablePath(t))
		delete(env.Manifest.Tables, t)
	}
	tmps, _ := filepath.Glob(filepath.Join(env.Run.Dir, ".*.tmp-*"))
	for _, f := range tmps {
		os.Remove(f)
	}
	env.Run.SaveManifest(*env.Manifest)
}

// safeRun runs a job, turning a panic into an error.
func safeRun(ctx context.Context, fn JobFunc, env *Env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, env)
}
