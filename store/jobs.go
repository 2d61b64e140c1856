package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrActiveRun: a definition whose overlap policy is skip already has a
// queued, running or cancelling run.
var ErrActiveRun = errors.New("store: a run of this job definition is already active")

// Run states. A run is queued, then running, then ends succeeded, failed,
// cancelled or timed_out; cancelling is a running run asked to stop.
const (
	RunQueued     = "queued"
	RunRunning    = "running"
	RunCancelling = "cancelling"
	RunSucceeded  = "succeeded"
	RunFailed     = "failed"
	RunCancelled  = "cancelled"
	RunTimedOut   = "timed_out"
)

// RunEnded reports whether a state is final.
func RunEnded(status string) bool {
	switch status {
	case RunSucceeded, RunFailed, RunCancelled, RunTimedOut:
		return true
	}
	return false
}

// Overlap policies of a job definition: what a trigger does while a run of
// the same definition is active.
const (
	OverlapSkip  = "skip"  // refuse the new run (ErrActiveRun)
	OverlapQueue = "queue" // queue it behind the active one
	OverlapAllow = "allow" // start it (runs over one workspace still write one at a time)
)

// JobDefinition is a stored job definition.
type JobDefinition struct {
	Name string // unique
	Type string // a job type of the pipeline
	// Parameters are the definition's job_parameters (a JSON object).
	Parameters map[string]any
	Schedule   string        // cron expression; "" : triggered only on demand
	Overlap    string        // skip (default), queue or allow
	Timeout    time.Duration // 0: none
	Created    time.Time
	Updated    time.Time
}

func (d *JobDefinition) check() error {
	if d.Name == "" || d.Type == "" {
		return fmt.Errorf("job definition: name and type are required")
	}
	switch d.Overlap {
	case "":
		d.Overlap = OverlapSkip
	case OverlapSkip, OverlapQueue, OverlapAllow:
	default:
		return fmt.Errorf("job definition %s: overlap %q: want skip, queue or allow", d.Name, d.Overlap)
	}
	if d.Timeout < 0 {
		return fmt.Errorf("job definition %s: timeout %v is negative", d.Name, d.Timeout)
	}
	if d.Updated.IsZero() {
		d.Updated = time.Now()
	}
	return nil
}

func (d JobDefinition) args() ([]any, error) {
	p := d.Parameters
	if p == nil {
		p = map[string]any{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("job definition %s: parameters: %w", d.Name, err)
	}
	return []any{d.Name, d.Type, string(b), nullable(d.Schedule), d.Overlap, d.Timeout.Milliseconds(), d.Updated.UnixMicro()}, nil
}

// PutJobDefinition creates or replaces a job definition. The caller
// validates the type and parameters (pipeline.Registry does).
func (db *DB) PutJobDefinition(ctx context.Context, d JobDefinition) error {
	if err := d.check(); err != nil {
		return err
	}
	args, err := d.args()
	if err != nil {
		return err
	}
	if _, err := db.b.Exec(ctx, q("job_definition_upsert"), args...); err != nil {
		return fmt.Errorf("job definition %s: %w", d.Name, err)
	}
	return nil
}

// CreateJobDefinition creates a job definition; ErrConflict when the name
// is taken.
func (db *DB) CreateJobDefinition(ctx context.Context, d JobDefinition) error {
	if err := d.check(); err != nil {
		return err
	}
	args, err := d.args()
	if err != nil {
		return err
	}
	n, err := db.b.Exec(ctx, q("job_definition_insert"), args...)
	if err != nil {
		return fmt.Errorf("job definition %s: %w", d.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("job definition %q: %w", d.Name, ErrConflict)
	}
	return nil
}

// DeleteJobDefinition removes a job definition (its runs stay); ErrNotFound
// when there is none.
func (db *DB) DeleteJobDefinition(ctx context.Context, name string) error {
	n, err := db.b.Exec(ctx, `DELETE FROM job_definitions WHERE job_name = $1`, name)
	if err != nil {
		return fmt.Errorf("job definition %s: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("job definition %q: %w", name, ErrNotFound)
	}
	return nil
}

// JobDefinitions lists the job definitions by name.
func (db *DB) JobDefinitions(ctx context.Context) ([]JobDefinition, error) {
	return db.jobDefinitions(ctx, nil)
}

// JobDefinition returns one job definition, or ErrNotFound.
func (db *DB) JobDefinition(ctx context.Context, name string) (JobDefinition, error) {
	ds, err := db.jobDefinitions(ctx, name)
	if err != nil {
		return JobDefinition{}, err
	}
	if len(ds) == 0 {
		return JobDefinition{}, fmt.Errorf("job definition %q: %w", name, ErrNotFound)
	}
	return ds[0], nil
}

func (db *DB) jobDefinitions(ctx context.Context, name any) ([]JobDefinition, error) {
	rows, err := db.b.Query(ctx, q("job_definition_list"), name)
	if err != nil {
		return nil, fmt.Errorf("job definitions: %w", err)
	}
	defer rows.Close()
	var out []JobDefinition
	for rows.Next() {
		var d JobDefinition
		var params string
		var timeout, created, updated int64
		if err := rows.Scan(&d.Name, &d.Type, &params, &d.Schedule, &d.Overlap, &timeout, &created, &updated); err != nil {
			return nil, fmt.Errorf("job definitions: %w", err)
		}
		if err := json.Unmarshal([]byte(params), &d.Parameters); err != nil {
			return nil, fmt.Errorf("job definition %s: parameters: %w", d.Name, err)
		}
		d.Timeout = time.Duration(timeout) * time.Millisecond
		d.Created, d.Updated = time.UnixMicro(created).UTC(), time.UnixMicro(updated).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job definitions: %w", err)
	}
	return out, nil
}

// RunStage is one stage (job) of a run as the run sees it.
type RunStage struct {
	Job         string    `json:"job"`
	Status      string    `json:"status"` // pending, running, skipped (up to date), succeeded, failed, cancelled, timed_out, not_run
	Done        int64     `json:"done"`
	Total       int64     `json:"total"`
	Rate        float64   `json:"rate,omitempty"`  // done per second
	ETA         float64   `json:"eta_s,omitempty"` // seconds left, when known
	Attempts    int       `json:"attempts,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	Ended       time.Time `json:"ended,omitzero"`
	Seconds     float64   `json:"seconds,omitempty"`
	PeakRSS     int64     `json:"peak_rss_bytes,omitempty"`  // process resident memory, highest sample during the stage
	PeakHeap    int64     `json:"peak_heap_bytes,omitempty"` // Go heap in use, highest sample during the stage
	Message     string    `json:"message,omitempty"`
	OutputRun   string    `json:"output_run,omitempty"` // the run folder holding the stage's output
}

// Run is one recorded run of the pipeline.
type Run struct {
	ID      string
	JobName string // the job definition; "" for an ad-hoc run
	JobType string // the definition's type, or the jobs asked for
	Jobs    []string
	Status  string
	Params  map[string]string
	Trigger string // cli, api, schedule
	// Attempts counts the starts of the run (a run is started once; its
	// stages count their own retries).
	Attempts  int
	Stages    []RunStage
	Message   string
	Owner     string // the process executing it: host/pid/token
	Folder    string // the workspace run folder
	Timeout   time.Duration
	Created   time.Time
	Started   time.Time // zero until it runs
	Ended     time.Time // zero until it ends
	Heartbeat time.Time // zero until it runs
}

// InsertRun records a new queued run. With exclusive set, it fails with
// ErrActiveRun while another run of the same job name is queued, running
// or cancelling with exclusive set.
func (db *DB) InsertRun(ctx context.Context, r Run, exclusive bool) error {
	params, err := json.Marshal(orEmpty(r.Params))
	if err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	jobs, err := json.Marshal(orEmptySlice(r.Jobs))
	if err != nil {
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	var key any
	if exclusive {
		key = r.JobName
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	trig := r.Trigger
	if trig == "" {
		trig = "cli"
	}
	n, err := db.b.Exec(ctx, q("job_run_insert"), r.ID, r.JobName, r.JobType, string(params), string(jobs), trig,
		r.Timeout.Milliseconds(), nullable(r.Owner), nullable(r.Folder), key, r.Created.UnixMicro())
	if err != nil {
		// Two triggers raced past the check: the unique index refused one.
		if exclusive {
			if active, aerr := db.Runs(ctx, RunFilter{JobName: r.JobName, Active: true, Limit: 1}); aerr == nil && len(active) > 0 {
				return fmt.Errorf("job definition %q: run %s: %w", r.JobName, active[0].ID, ErrActiveRun)
			}
		}
		return fmt.Errorf("run %s: %w", r.ID, err)
	}
	if n == 0 {
		active, err := db.Runs(ctx, RunFilter{JobName: r.JobName, Active: true, Limit: 1})
		if err == nil && len(active) > 0 {
			return fmt.Errorf("job definition %q: run %s: %w", r.JobName, active[0].ID, ErrActiveRun)
		}
		return fmt.Errorf("job definition %q: %w", r.JobName, ErrActiveRun)
	}
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func orEmptySlice(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RunTransition changes a run's state.
type RunTransition struct {
	From    []string // the states it may leave; the change happens only from one of them
	To      string
	Message string // set when not empty
	Owner   string // set when not empty (the process that starts the run)
	Folder  string // set when not empty
	At      time.Time
}

// TransitionRun moves a run from one of t.From to t.To, as a compare and
// swap: it reports false when the run was in none of t.From (another
// process changed it first). Entering running counts an attempt and sets
// the start time and heartbeat; a final state sets the end time and
// releases the definition's overlap key.
func (db *DB) TransitionRun(ctx context.Context, id string, t RunTransition) (bool, error) {
	if len(t.From) == 0 {
		return false, fmt.Errorf("run %s: a transition names the states it leaves", id)
	}
	if t.At.IsZero() {
		t.At = time.Now()
	}
	at := t.At.UnixMicro()
	set := []string{"status = $2"}
	args := []any{id, t.To}
	add := func(expr string, v any) {
		args = append(args, v)
		set = append(set, fmt.Sprintf(expr, len(args)))
	}
	if t.Message != "" {
		add("message = $%d", t.Message)
	}
	if t.Owner != "" {
		add("owner = $%d", t.Owner)
	}
	if t.Folder != "" {
		add("folder = $%d", t.Folder)
	}
	switch {
	case t.To == RunRunning:
		add("started_at = COALESCE(started_at, $%d)", at)
		add("heartbeat_at = $%d", at)
		set = append(set, "attempts = attempts + 1")
	case RunEnded(t.To):
		add("ended_at = $%d", at)
		set = append(set, "active_key = NULL")
	}
	var in []string
	for _, s := range t.From {
		args = append(args, s)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	sqlText := "UPDATE runs SET " + strings.Join(set, ", ") + " WHERE run_id = $1 AND status IN (" + strings.Join(in, ", ") + ")"
	n, err := db.b.Exec(ctx, sqlText, args...)
	if err != nil {
		return false, fmt.Errorf("run %s: %s: %w", id, t.To, err)
	}
	return n == 1, nil
}

// SaveRunProgress records a run's stages and heartbeat and returns the
// run's state (so the process executing it sees a cancellation asked by
// another process).
func (db *DB) SaveRunProgress(ctx context.Context, id string, stages []RunStage, heartbeat time.Time) (string, error) {
	if stages == nil {
		stages = []RunStage{}
	}
	b, err := json.Marshal(stages)
	if err != nil {
		return "", fmt.Errorf("run %s: %w", id, err)
	}
	if _, err := db.b.Exec(ctx, `UPDATE runs SET stages = $2, heartbeat_at = $3 WHERE run_id = $1`, id, string(b), heartbeat.UnixMicro()); err != nil {
		return "", fmt.Errorf("run %s: progress: %w", id, err)
	}
	r, err := db.Run(ctx, id)
	if err != nil {
		return "", err
	}
	return r.Status, nil
}

// RunFilter selects runs.
type RunFilter struct {
	JobName string // "" : every definition and ad-hoc run
	Active  bool   // only queued, running and cancelling runs
	Limit   int    // default 100
}

// Runs lists runs, newest first.
func (db *DB) Runs(ctx context.Context, f RunFilter) ([]Run, error) {
	var active any
	if f.Active {
		active = "yes"
	}
	return db.runs(ctx, nil, nullable(f.JobName), active, f.Limit)
}

// Run returns one run, or ErrNotFound.
func (db *DB) Run(ctx context.Context, id string) (Run, error) {
	rs, err := db.runs(ctx, id, nil, nil, 1)
	if err != nil {
		return Run{}, err
	}
	if len(rs) == 0 {
		return Run{}, fmt.Errorf("run %q: %w", id, ErrNotFound)
	}
	return rs[0], nil
}

func (db *DB) runs(ctx context.Context, id, job, active any, limit int) ([]Run, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.b.Query(ctx, q("job_run_list"), id, job, active, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		var params, jobs, stages string
		var attempts, timeout, created int64
		var started, ended, beat sql.NullInt64
		if err := rows.Scan(&r.ID, &r.JobName, &r.JobType, &r.Status, &params, &jobs, &r.Trigger, &attempts, &stages,
			&r.Message, &r.Owner, &r.Folder, &timeout, &created, &started, &ended, &beat); err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
			return nil, fmt.Errorf("run %s: params: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(jobs), &r.Jobs); err != nil {
			return nil, fmt.Errorf("run %s: jobs: %w", r.ID, err)
		}
		if err := json.Unmarshal([]byte(stages), &r.Stages); err != nil {
			return nil, fmt.Errorf("run %s: stages: %w", r.ID, err)
		}
		r.Attempts = int(attempts)
		r.Timeout = time.Duration(timeout) * time.Millisecond
		r.Created = time.UnixMicro(created).UTC()
		r.Started, r.Ended, r.Heartbeat = fromMicros(started), fromMicros(ended), fromMicros(beat)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	return out, nil
}

// RunEvent is one entry of a run's log: a structured log record (kind
// "log", the slog JSON object as body) or a state change (kind "state").
type RunEvent struct {
	Seq  int64
	At   time.Time
	Kind string
	Body json.RawMessage
}

// AppendRunEvents adds events to a run's log; sequence numbers are the
// caller's (increasing per run).
func (db *DB) AppendRunEvents(ctx context.Context, id string, evs []RunEvent) error {
	if len(evs) == 0 {
		return nil
	}
	return db.b.Tx(ctx, func(c Conn) error {
		for _, e := range evs {
			body := e.Body
			if len(body) == 0 {
				body = json.RawMessage("{}")
			}
			if _, err := c.Exec(ctx, `INSERT INTO run_events (run_id, seq, at, kind, body) VALUES ($1, $2, $3, $4, $5)`,
				id, e.Seq, e.At.UnixMicro(), e.Kind, string(body)); err != nil {
				return fmt.Errorf("run %s: event %d: %w", id, e.Seq, err)
			}
		}
		return nil
	})
}

// RunEvents returns a run's events after sequence number after, in order,
// at most limit (default 1000).
func (db *DB) RunEvents(ctx context.Context, id string, after int64, limit int) ([]RunEvent, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.b.Query(ctx, q("job_run_events"), id, after, int64(limit))
	if err != nil {
		return nil, fmt.Errorf("run %s: events: %w", id, err)
	}
	defer rows.Close()
	var out []RunEvent
	for rows.Next() {
		var e RunEvent
		var at int64
		var body string
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &body); err != nil {
			return nil, fmt.Errorf("run %s: events: %w", id, err)
		}
		e.At = time.UnixMicro(at).UTC()
		e.Body = json.RawMessage(body)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("run %s: events: %w", id, err)
	}
	return out, nil
}

// LastRunEventSeq returns the highest sequence number of a run's events (0
// when it has none).
func (db *DB) LastRunEventSeq(ctx context.Context, id string) (int64, error) {
	rows, err := db.b.Query(ctx, `SELECT COALESCE(MAX(seq), 0) FROM run_events WHERE run_id = $1`, id)
	if err != nil {
		return 0, fmt.Errorf("run %s: events: %w", id, err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("run %s: events: %w", id, err)
		}
	}
	return n, rows.Err()
}
