package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// Stage states within a run (besides the run states running, succeeded,
// failed, cancelled and timed_out).
const (
	StagePending = "pending" // not reached yet
	StageSkipped = "skipped" // its published output is up to date
	StageNotRun  = "not_run" // an earlier stage ended the run
)

// runState is a run's stages as they go, shared by the executing
// goroutine and the monitor.
type runState struct {
	mu      sync.Mutex
	stages  []store.RunStage
	current int // index of the running stage, -1 when none
	cur     *stageState
}

func newRunState(plan []JobType) *runState {
	s := &runState{current: -1}
	for _, t := range plan {
		s.stages = append(s.stages, store.RunStage{Job: t.Name, Status: StagePending})
	}
	return s
}

func (s *runState) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.stages))
	for i, st := range s.stages {
		out[i] = st.Job
	}
	return out
}

// snapshot copies the stages with rate and ETA computed now.
func (s *runState) snapshot() []store.RunStage {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]store.RunStage(nil), s.stages...)
	if s.current >= 0 {
		st := &out[s.current]
		secs := time.Since(st.Started).Seconds()
		st.Seconds = secs
		if secs > 0 && st.Done > 0 {
			st.Rate = float64(st.Done) / secs
			if st.Total > st.Done {
				st.ETA = float64(st.Total-st.Done) / st.Rate
			}
		}
	}
	return out
}

// stageState is what a stage attempt reports through its Env.
type stageState struct {
	rs    *runState
	i     int
	store *store.DB
	// outputs finds a table's published path by its producing stage.
	outputs func(table string) (string, bool)

	mu         sync.Mutex
	wroteNames []string
	rows       map[string]int64
	generation string // ingest: the generation it published
}

func (s *runState) start(i, attempt int) *stageState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stages[i]
	st.Status, st.Attempts, st.Started, st.Done, st.Total, st.Message = store.RunRunning, attempt, time.Now().UTC(), 0, 0, ""
	st.Rate, st.ETA = 0, 0
	s.current = i
	s.cur = &stageState{rs: s, i: i, rows: map[string]int64{}}
	return s.cur
}

func (s *runState) end(i int, status, fp, out, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stages[i]
	st.Status, st.Fingerprint, st.OutputRun, st.Message = status, fp, out, msg
	if !st.Started.IsZero() {
		st.Ended = time.Now().UTC()
		st.Seconds = st.Ended.Sub(st.Started).Seconds()
		st.Rate, st.ETA = 0, 0
	}
	if status == store.RunSucceeded || status == StageSkipped {
		if st.Total == 0 {
			st.Total = 1
		}
		st.Done = st.Total
	}
	if s.current == i {
		s.current, s.cur = -1, nil
	}
}

func (s *runState) skip(i int, fp, out string) { s.end(i, StageSkipped, fp, out, "up to date") }
func (s *runState) succeed(i int, fp, out string) {
	s.end(i, store.RunSucceeded, fp, out, "")
}
func (s *runState) fail(i int, status, msg string) { s.end(i, status, "", "", msg) }

// finishPending marks the stages not reached as not run.
func (s *runState) finishPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.stages {
		if s.stages[i].Status == StagePending {
			s.stages[i].Status = StageNotRun
		}
	}
}

func (s *runState) seconds(i int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Since(s.stages[i].Started).Seconds()
}

func (s *runState) peakRSS(i int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stages[i].PeakRSS
}

func (s *runState) tables(i int) map[string]int64 {
	s.mu.Lock()
	cur := s.cur
	s.mu.Unlock()
	out := map[string]int64{}
	if cur != nil && cur.i == i {
		cur.mu.Lock()
		for k, v := range cur.rows {
			out[k] = v
		}
		cur.mu.Unlock()
	}
	return out
}

// sampleNow reads the process's resident and heap bytes into the running
// stage's peaks. The monitor calls it every 100 ms; stages also call it
// when they start and finish, so that a stage shorter than the period has
// figures too.
func (s *runState) sampleNow() {
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(samples)
	var heap int64
	if samples[0].Value.Kind() == metrics.KindUint64 {
		heap = int64(samples[0].Value.Uint64())
	}
	s.sample(residentBytes(), heap)
}

// sample records the process's memory in the running stage's peaks.
func (s *runState) sample(rss, heap int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current < 0 {
		return
	}
	st := &s.stages[s.current]
	st.PeakRSS = max(st.PeakRSS, rss)
	st.PeakHeap = max(st.PeakHeap, heap)
}

func (ss *stageState) wrote(table string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.wroteNames = append(ss.wroteNames, table)
}

func (ss *stageState) written() []string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]string(nil), ss.wroteNames...)
}

func (ss *stageState) setRows(table string, n int64) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.rows[table] = n
}

func (ss *stageState) progress(done, total int64) {
	ss.rs.mu.Lock()
	defer ss.rs.mu.Unlock()
	st := &ss.rs.stages[ss.i]
	st.Done, st.Total = done, total
}

// monitor records a running run's progress, heartbeat, memory peaks and
// log events, and watches for a cancellation asked through the store.
type monitorHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (m monitorHandle) stop() {
	m.cancel()
	<-m.done
}

func (r *Runner) monitor(runCtx context.Context, id string, st *runState, sink *eventSink) monitorHandle {
	ctx, cancel := context.WithCancel(context.WithoutCancel(runCtx))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	// Memory peaks, sampled every 100ms.
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			st.sampleNow()
		}
	}()
	// Store writes (which may wait while the embedded store is loading):
	// log events every 300ms, progress and heartbeat every Heartbeat.
	go func() {
		defer wg.Done()
		t := time.NewTicker(300 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			sink.flush(ctx)
			if time.Since(last) < r.cfg.Heartbeat {
				continue
			}
			last = time.Now()
			status, err := r.cfg.Store.SaveRunProgress(ctx, id, st.snapshot(), time.Now())
			if err == nil && status == store.RunCancelling {
				r.mu.Lock()
				a := r.active[id]
				r.mu.Unlock()
				if a != nil {
					a.cancel(errCancelled)
				}
			}
		}
	}()
	go func() {
		wg.Wait()
		close(done)
	}()
	return monitorHandle{cancel: cancel, done: done}
}

// residentBytes is the process's resident memory (Linux /proc), 0 when
// unknown.
func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}

// processAlive reports whether a process of this host exists.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// lockRuns takes the workspace's run lock (an advisory file lock, distinct
// from the ingest's table lock), waiting while another run holds it, until
// ctx ends.
func lockRuns(ctx context.Context, ws *workspace.Workspace) (func(), error) {
	f, err := os.OpenFile(filepath.Join(ws.Root, ".runs.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("run lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("run lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, context.Cause(ctx)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// eventSink buffers a run's events and writes them to the store.
type eventSink struct {
	db *store.DB
	id string

	mu      sync.Mutex
	seq     int64
	pending []store.RunEvent
	flushMu sync.Mutex
}

func newEventSink(db *store.DB, id string, seq int64) *eventSink {
	return &eventSink{db: db, id: id, seq: seq}
}

func (s *eventSink) addRaw(kind string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.pending = append(s.pending, store.RunEvent{Seq: s.seq, At: time.Now(), Kind: kind, Body: body})
}

func (s *eventSink) add(kind string, body map[string]any) {
	b, err := json.Marshal(body)
	if err != nil {
		b = []byte(`{}`)
	}
	s.addRaw(kind, b)
}

// flush writes the pending events; on failure they are kept for the next.
func (s *eventSink) flush(ctx context.Context) {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	evs := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	if err := s.db.AppendRunEvents(ctx, s.id, evs); err != nil {
		s.mu.Lock()
		s.pending = append(evs, s.pending...)
		s.mu.Unlock()
	}
}
