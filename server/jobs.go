package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/autoid-oss/autoid/pipeline"
	"github.com/autoid-oss/autoid/store"
)

// jobRoutes are the jobs endpoints of the reference (SPEC 12 gives their
// answers) and our additions in the same style: runs, one run with its
// stages, its log as server-sent events, cancel. The reference prints no
// role list: administrators, and API keys.
func (s *Server) jobRoutes() []route {
	a := users(groupsAdmin()...).orKey()
	rs := []route{
		{Method: "POST", Path: "/api/job_definition", Access: a, Tag: "Jobs",
			Summary: "Create or replace job definitions (the entityData envelope; job_name, job_type, job_parameters, schedule, overlap, timeout)",
			Request: definitionEnvelope{}, Response: definitionsResponse{}, Handle: s.putDefinitions},
		{Method: "POST", Path: "/jas/entity/persist/autoid/api/job_definition", Access: a, Tag: "Jobs",
			Summary: "Create or replace job definitions (as /api/job_definition)",
			Request: definitionEnvelope{}, Response: definitionsResponse{}, Handle: s.putDefinitions},
		{Method: "POST", Path: "/jas/job/run", Access: a, Tag: "Jobs",
			Summary: "Run a job definition: the run id at once; the run executes in the background",
			Request: jobRef{}, Response: runStarted{}, Handle: s.runJob},
		{Method: "POST", Path: "/jas/entity/search/autoid/api/job_definition", Access: a, Tag: "Jobs",
			Summary: "Search the job definitions (sort, size, from, match_all, term, match, bool); the search-engine envelope",
			Request: searchRequestDoc{}, Response: searchHits{}, Handle: s.searchDefinitions},
		{Method: "GET", Path: "/jas/job/runs", Access: a, Tag: "Jobs",
			Summary: "Runs, newest first (query: jobDefinitionName, active=true, limit)", Response: runsResponse{}, Handle: s.listRuns},
		{Method: "GET", Path: "/jas/job/runs/{runId}", Access: a, Tag: "Jobs",
			Summary: "One run with the progress of each stage", Response: runDetail{}, Handle: s.getRun},
		{Method: "GET", Path: "/jas/job/runs/{runId}/logs", Access: a, Tag: "Jobs",
			Summary: "A run's log as server-sent events (id: sequence number; resume with Last-Event-ID or after=N), ending with an end event when the run has ended",
			Handle:  s.runLogs},
		{Method: "POST", Path: "/jas/job/runs/{runId}/cancel", Access: a, Tag: "Jobs",
			Summary: "Cancel a run: it goes to cancelling, then cancelled", Response: runStarted{}, Handle: s.cancelRun},
		{Method: "POST", Path: "/jas/job/cancel", Access: a, Tag: "Jobs",
			Summary: "Cancel the active run of a job definition (body or query: jobDefinitionName)", Request: jobRef{}, Response: runStarted{}, Handle: s.cancelJob},
	}
	// The reference documents GET with a body; its examples send POST.
	for _, m := range []string{"GET", "POST"} {
		rs = append(rs,
			route{Method: m, Path: "/jas/job/status", Access: a, Tag: "Jobs",
				Summary: "The latest run of a job definition (body or query: jobType, jobDefinitionName; or runId)",
				Request: jobRef{}, Response: jobStatus{}, Handle: s.jobStatus},
			route{Method: m, Path: "/jas/job/search", Access: a, Tag: "Jobs",
				Summary: "Search the job definitions (as /jas/entity/search/autoid/api/job_definition)",
				Request: searchRequestDoc{}, Response: searchHits{}, Handle: s.searchDefinitions},
		)
	}
	return rs
}

// runner returns the job runner, or a 503 when the server has none.
func (s *Server) runner() (*pipeline.Runner, error) {
	if s.cfg.Runner == nil {
		return nil, errorf(KindUnavailable, "", "this server runs no jobs (it was started without a job runner)")
	}
	return s.cfg.Runner, nil
}

// definitionDoc is a job definition as the API reads and writes it.
type definitionDoc struct {
	JobName       string         `json:"job_name"`
	JobType       string         `json:"job_type"`
	JobParameters map[string]any `json:"job_parameters"`
	// Schedule is a cron expression (5 or 6 fields, @daily, @every 1h);
	// empty: run on demand only.
	Schedule string `json:"schedule,omitempty"`
	// Overlap: skip (default), queue or allow another run while one is
	// active.
	Overlap string `json:"overlap,omitempty"`
	// Timeout bounds a run ("90m", "2h"); empty: none.
	Timeout string `json:"timeout,omitempty"`
}

// definitionEnvelope is the reference's persist body.
type definitionEnvelope struct {
	Branch           string          `json:"branch,omitempty"`
	ContextID        string          `json:"contextId,omitempty"`
	EntityData       []definitionDoc `json:"entityData"`
	IndexingRequired bool            `json:"indexingRequired,omitempty"`
	Tags             map[string]any  `json:"tags,omitempty"`
	IndexInSync      bool            `json:"indexInSync,omitempty"`
}

type definitionsResponse struct {
	Message    string          `json:"message"`
	EntityData []definitionDoc `json:"entityData"`
}

// putDefinitions validates every definition, then stores them: nothing is
// stored when one is bad. The envelope's entityData may also be a single
// object, and a bare definition is taken as well.
func (s *Server) putDefinitions(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := decodeJSON(r, &raw); err != nil {
		return nil, err
	}
	var docs []definitionDoc
	field := "entityData"
	if ed, ok := raw["entityData"]; ok {
		if bytes.HasPrefix(bytes.TrimSpace(ed), []byte("{")) {
			ed = append(append([]byte("["), ed...), ']')
		}
		if err := unmarshalBody(ed, &docs); err != nil {
			e := asError(err)
			if e.Field == "body" || e.Field == "" {
				e.Field = "entityData"
			} else {
				e.Field = "entityData." + e.Field
			}
			return nil, e
		}
	} else {
		var d definitionDoc
		b, _ := json.Marshal(raw)
		if err := unmarshalBody(b, &d); err != nil {
			return nil, err
		}
		docs, field = []definitionDoc{d}, ""
	}
	if len(docs) == 0 {
		return nil, errorf(KindBadData, "entityData", "entityData is required: at least one job definition")
	}
	defs := make([]store.JobDefinition, len(docs))
	seen := map[string]bool{}
	for i, d := range docs {
		prefix := ""
		if field != "" {
			prefix = fmt.Sprintf("%s[%d].", field, i)
		}
		if err := required(prefix+"job_name", d.JobName); err != nil {
			return nil, err
		}
		if seen[d.JobName] {
			return nil, errorf(KindBadData, prefix+"job_name", "job %q is defined twice", d.JobName)
		}
		seen[d.JobName] = true
		if err := required(prefix+"job_type", d.JobType); err != nil {
			return nil, err
		}
		t, ok := rn.Registry().Type(d.JobType)
		if !ok {
			var known []string
			for _, t := range rn.Registry().Types() {
				known = append(known, t.Name)
			}
			return nil, errorf(KindBadData, prefix+"job_type", "unknown job type %q (known: %s)", d.JobType, strings.Join(known, ", "))
		}
		params, err := t.ValidateParams(d.JobParameters)
		if err != nil {
			return nil, paramError(prefix+"job_parameters.", err)
		}
		if t.Source && params["dir"] == "" && params["source"] == "" && params["datasourceId"] == "" {
			return nil, errorf(KindBadData, prefix+"job_parameters.datasourceId", "an %s definition names its data source (datasourceId, dir or source)", t.Name)
		}
		if d.Schedule != "" {
			if _, err := pipeline.ParseSchedule(d.Schedule); err != nil {
				return nil, errorf(KindBadData, prefix+"schedule", "%v", err)
			}
		}
		switch d.Overlap {
		case "", store.OverlapSkip, store.OverlapQueue, store.OverlapAllow:
		default:
			return nil, errorf(KindBadData, prefix+"overlap", "want skip, queue or allow, got %q", d.Overlap)
		}
		def := store.JobDefinition{Name: d.JobName, Type: d.JobType, Parameters: d.JobParameters, Schedule: d.Schedule, Overlap: d.Overlap}
		if d.Timeout != "" {
			to, err := time.ParseDuration(d.Timeout)
			if err != nil || to < 0 {
				return nil, errorf(KindBadData, prefix+"timeout", "want a duration such as 90m or 2h, got %q", d.Timeout)
			}
			def.Timeout = to
		}
		defs[i] = def
	}
	// Every definition was checked as Define checks it, so the request is
	// all or nothing.
	out := definitionsResponse{Message: "ok"}
	for i, d := range defs {
		if err := rn.Define(r.Context(), d, false); err != nil {
			return nil, paramError("", err)
		}
		out.EntityData = append(out.EntityData, docs[i])
		if out.EntityData[i].JobParameters == nil {
			out.EntityData[i].JobParameters = map[string]any{}
		}
	}
	return out, nil
}

// paramError names the parameter of a *pipeline.ParamError.
func paramError(prefix string, err error) error {
	var pe *pipeline.ParamError
	if errors.As(err, &pe) {
		field := pe.Param
		switch field {
		case "job_name", "job_type", "schedule", "overlap", "timeout":
		default:
			if !strings.HasSuffix(prefix, "job_parameters.") {
				field = "job_parameters." + field
			}
		}
		return errorf(KindBadData, prefix+field, "%s", pe.Reason)
	}
	return err
}

// jobRef names a job definition (and optionally a run).
type jobRef struct {
	JobType           string `json:"jobType,omitempty"`
	JobDefinitionName string `json:"jobDefinitionName"`
	RunID             string `json:"runId,omitempty"`
}

// readJobRef reads a jobRef from the body and the query (the query wins).
func readJobRef(r *http.Request) (jobRef, error) {
	var j jobRef
	if err := decodeOptionalJSON(r, &j); err != nil {
		return j, err
	}
	q := r.URL.Query()
	for k, p := range map[string]*string{"jobType": &j.JobType, "jobDefinitionName": &j.JobDefinitionName, "runId": &j.RunID} {
		if v := q.Get(k); v != "" {
			*p = v
		}
	}
	return j, nil
}

// definitionOf finds the named definition and checks the jobType given
// with it.
func (s *Server) definitionOf(ctx context.Context, j jobRef) (store.JobDefinition, error) {
	if err := required("jobDefinitionName", j.JobDefinitionName); err != nil {
		return store.JobDefinition{}, err
	}
	d, err := s.db.JobDefinition(ctx, j.JobDefinitionName)
	if errors.Is(err, store.ErrNotFound) {
		return d, errNotFoundf("jobDefinitionName", "no job definition %q", j.JobDefinitionName)
	}
	if err != nil {
		return d, err
	}
	if j.JobType != "" && j.JobType != d.Type {
		return d, errorf(KindBadData, "jobType", "job definition %q is of type %s, not %s", d.Name, d.Type, j.JobType)
	}
	return d, nil
}

type runStarted struct {
	RunID             string `json:"runId"`
	JobDefinitionName string `json:"jobDefinitionName"`
	JobType           string `json:"jobType"`
	Status            string `json:"status"`
}

func (s *Server) runJob(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	j, err := readJobRef(r)
	if err != nil {
		return nil, err
	}
	d, err := s.definitionOf(r.Context(), j)
	if err != nil {
		return nil, err
	}
	id, err := rn.Trigger(r.Context(), pipeline.TriggerRequest{Definition: d.Name, Trigger: "api"})
	if errors.Is(err, pipeline.ErrOverlap) {
		return nil, errorf(KindConflict, "jobDefinitionName", "a run of %q is already active (overlap policy %s)", d.Name, d.Overlap)
	}
	if err != nil {
		return nil, paramError("", err)
	}
	run, err := rn.Run(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return runStarted{RunID: id, JobDefinitionName: d.Name, JobType: d.Type, Status: run.Status}, nil
}

// stageDoc is a stage in a status answer (SPEC 12).
type stageDoc struct {
	Job    string `json:"job"`
	Status string `json:"status"`
	Done   int64  `json:"done"`
	Total  int64  `json:"total"`
}

// jobStatus is the answer of /jas/job/status (SPEC 12).
type jobStatus struct {
	RunID             string     `json:"runId"`
	JobDefinitionName string     `json:"jobDefinitionName"`
	JobType           string     `json:"jobType"`
	Status            string     `json:"status"`
	StartTime         *string    `json:"startTime"`
	EndTime           *string    `json:"endTime"`
	Message           *string    `json:"message"`
	Stages            []stageDoc `json:"stages"`
}

func timeOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

func statusOfRun(run store.Run) jobStatus {
	js := jobStatus{RunID: run.ID, JobDefinitionName: run.JobName, JobType: run.JobType, Status: run.Status,
		StartTime: timeOrNull(run.Started), EndTime: timeOrNull(run.Ended), Stages: []stageDoc{}}
	if run.Message != "" {
		js.Message = &run.Message
	}
	for _, st := range run.Stages {
		js.Stages = append(js.Stages, stageDoc{Job: st.Job, Status: st.Status, Done: st.Done, Total: st.Total})
	}
	return js
}

func (s *Server) jobStatus(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	j, err := readJobRef(r)
	if err != nil {
		return nil, err
	}
	if j.RunID != "" {
		run, err := s.runByID(r.Context(), rn, j.RunID)
		if err != nil {
			return nil, err
		}
		return statusOfRun(run), nil
	}
	if err := required("jobDefinitionName", j.JobDefinitionName); err != nil {
		return nil, err
	}
	// The latest run first: the common case costs one query.
	run, err := rn.Latest(r.Context(), j.JobDefinitionName)
	if errors.Is(err, store.ErrNotFound) {
		d, err := s.definitionOf(r.Context(), j)
		if err != nil {
			return nil, err
		}
		return nil, errNotFoundf("jobDefinitionName", "job definition %q has not run yet", d.Name)
	}
	if err != nil {
		return nil, err
	}
	if j.JobType != "" && j.JobType != run.JobType {
		return nil, errorf(KindBadData, "jobType", "job definition %q is of type %s, not %s", run.JobName, run.JobType, j.JobType)
	}
	return statusOfRun(run), nil
}

func (s *Server) runByID(ctx context.Context, rn *pipeline.Runner, id string) (store.Run, error) {
	run, err := rn.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return run, errNotFoundf("runId", "no run %q", id)
	}
	return run, err
}

// runDetail is one run with every stage's progress.
type runDetail struct {
	jobStatus
	Trigger string            `json:"trigger"`
	Params  map[string]string `json:"params"`
	Created string            `json:"created"`
	Stages  []store.RunStage  `json:"stages"`
}

func detailOf(run store.Run) runDetail {
	d := runDetail{jobStatus: statusOfRun(run), Trigger: run.Trigger, Params: run.Params, Created: formatTime(run.Created), Stages: run.Stages}
	if d.Stages == nil {
		d.Stages = []store.RunStage{}
	}
	if d.Params == nil {
		d.Params = map[string]string{}
	}
	return d
}

type runsResponse struct {
	Runs []jobStatus `json:"runs"`
}

func (s *Server) listRuns(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 10000 {
		return nil, errorf(KindBadData, "limit", "want 1 to 10000")
	}
	f := store.RunFilter{JobName: q.Get("jobDefinitionName"), Limit: limit}
	switch q.Get("active") {
	case "", "false":
	case "true":
		f.Active = true
	default:
		return nil, errorf(KindBadData, "active", "want true or false")
	}
	runs, err := rn.Runs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := runsResponse{Runs: []jobStatus{}}
	for _, run := range runs {
		out.Runs = append(out.Runs, statusOfRun(run))
	}
	return out, nil
}

func (s *Server) getRun(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	run, err := s.runByID(r.Context(), rn, chi.URLParam(r, "runId"))
	if err != nil {
		return nil, err
	}
	return detailOf(run), nil
}

func (s *Server) cancel(ctx context.Context, rn *pipeline.Runner, id string) (any, error) {
	err := rn.Cancel(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFoundf("runId", "no run %q", id)
	}
	if errors.Is(err, pipeline.ErrRunEnded) {
		return nil, errorf(KindConflict, "runId", "%v", err)
	}
	if err != nil {
		return nil, err
	}
	run, err := rn.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	return runStarted{RunID: run.ID, JobDefinitionName: run.JobName, JobType: run.JobType, Status: run.Status}, nil
}

func (s *Server) cancelRun(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	return s.cancel(r.Context(), rn, chi.URLParam(r, "runId"))
}

func (s *Server) cancelJob(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	j, err := readJobRef(r)
	if err != nil {
		return nil, err
	}
	if j.RunID != "" {
		return s.cancel(r.Context(), rn, j.RunID)
	}
	d, err := s.definitionOf(r.Context(), j)
	if err != nil {
		return nil, err
	}
	runs, err := rn.Runs(r.Context(), store.RunFilter{JobName: d.Name, Active: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(runs) == 0 {
		return nil, errorf(KindConflict, "jobDefinitionName", "job definition %q has no active run", d.Name)
	}
	return s.cancel(r.Context(), rn, runs[0].ID)
}

// runLogs streams a run's log as server-sent events until the run has
// ended and every event is sent (or the client goes).
func (s *Server) runLogs(r *http.Request) (any, error) {
	rn, err := s.runner()
	if err != nil {
		return nil, err
	}
	id := chi.URLParam(r, "runId")
	if _, err := s.runByID(r.Context(), rn, id); err != nil {
		return nil, err
	}
	after := int64(0)
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, errorf(KindBadData, "after", "want a sequence number, got %q", v)
		}
		after = n
	}
	return stream(func(w http.ResponseWriter, r *http.Request) error {
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		defer context.AfterFunc(s.streams, cancel)()
		rc := http.NewResponseController(w)
		rc.SetWriteDeadline(time.Time{}) // a log may stream for as long as the run
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		rc.Flush()
		err := rn.Follow(ctx, id, after, func(e store.RunEvent) error {
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Kind, compactJSON(e.Body)); err != nil {
				return err
			}
			return rc.Flush()
		})
		if err != nil {
			return err
		}
		run, err := rn.Run(ctx, id)
		if err != nil {
			return err
		}
		b, _ := json.Marshal(statusOfRun(run))
		fmt.Fprintf(w, "event: end\ndata: %s\n\n", b)
		return rc.Flush()
	}), nil
}

// compactJSON puts a JSON value on one line (an event's data line).
func compactJSON(b json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return bytes.ReplaceAll(b, []byte("\n"), []byte(" "))
	}
	return buf.Bytes()
}

// searchDefinitions searches the job definitions.
func (s *Server) searchDefinitions(r *http.Request) (any, error) {
	started := time.Now()
	sr, err := readSearch(r)
	if err != nil {
		return nil, err
	}
	defs, err := s.db.JobDefinitions(r.Context())
	if err != nil {
		return nil, err
	}
	docs := make([]searchDoc, 0, len(defs))
	for _, d := range defs {
		params := d.Parameters
		if params == nil {
			params = map[string]any{}
		}
		src := map[string]any{"job_name": d.Name, "job_type": d.Type, "job_parameters": params,
			"metadata": map[string]any{"primaryKey": d.Name, "entityType": "/autoid/api/job_definition",
				"created": formatTime(d.Created), "updated": formatTime(d.Updated), "tenantId": s.tenantName()}}
		if d.Schedule != "" {
			src["schedule"] = d.Schedule
		}
		if d.Overlap != "" {
			src["overlap"] = d.Overlap
		}
		if d.Timeout > 0 {
			src["timeout"] = d.Timeout.String()
		}
		// Round-trip through JSON so that the search sees plain values.
		b, err := json.Marshal(src)
		if err != nil {
			return nil, err
		}
		var plain map[string]any
		json.Unmarshal(b, &plain)
		docs = append(docs, searchDoc{ID: d.Name, Source: plain})
	}
	return sr.run(s.tenantName()+"_autoid_api_job_definition_latest", docs, started), nil
}
