package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/autoid-oss/autoid/store"
)

// Define validates a job definition (its type, parameters, schedule and
// overlap policy) and stores it: created when create is set (ErrConflict
// when the name is taken), else created or replaced. Invalid parameters
// give a *ParamError.
func (r *Runner) Define(ctx context.Context, d store.JobDefinition, create bool) error {
	if d.Name == "" {
		return &ParamError{Param: "job_name", Reason: "is required"}
	}
	t, ok := r.cfg.Registry.Type(d.Type)
	if !ok {
		return &ParamError{Param: "job_type", Reason: fmt.Sprintf("%q is not a job type (known: %v)", d.Type, r.cfg.Registry.names())}
	}
	params, err := t.ValidateParams(d.Parameters)
	if err != nil {
		return err
	}
	if t.Source && sourceFromParams(params) == nil {
		return &ParamError{Param: "datasourceId", Reason: "an ingest definition names its data source (datasourceId, dir or source)"}
	}
	if d.Schedule != "" {
		if _, err := ParseSchedule(d.Schedule); err != nil {
			return &ParamError{Param: "schedule", Reason: err.Error()}
		}
	}
	switch d.Overlap {
	case "", store.OverlapSkip, store.OverlapQueue, store.OverlapAllow:
	default:
		return &ParamError{Param: "overlap", Reason: fmt.Sprintf("%q: want skip, queue or allow", d.Overlap)}
	}
	if create {
		return r.cfg.Store.CreateJobDefinition(ctx, d)
	}
	return r.cfg.Store.PutJobDefinition(ctx, d)
}

// Scheduler triggers the job definitions that carry a schedule, at their
// times, through a Runner (trigger "schedule"). A definition whose overlap
// policy is skip is not started again while its previous run is active.
type Scheduler struct {
	runner *Runner
	log    *slog.Logger
	// Reload is how often the definitions are read again (default 10s).
	Reload time.Duration
}

// NewScheduler returns a scheduler over a runner; start it with Run.
func NewScheduler(rn *Runner, log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{runner: rn, log: log, Reload: 10 * time.Second}
}

type scheduled struct {
	expr  string
	sched Schedule
	next  time.Time
}

// Run triggers scheduled definitions until ctx ends; it returns nil then.
func (s *Scheduler) Run(ctx context.Context) error {
	entries := map[string]*scheduled{}
	var loaded time.Time
	for {
		now := time.Now()
		if now.Sub(loaded) >= s.Reload {
			s.load(ctx, entries, now)
			loaded = now
		}
		wake := loaded.Add(s.Reload)
		for name, e := range entries {
			if !e.next.IsZero() && !e.next.After(now) {
				s.fire(ctx, name)
				e.next = e.sched.Next(now)
			}
			if !e.next.IsZero() && e.next.Before(wake) {
				wake = e.next
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Until(wake)):
		}
	}
}

// load reads the scheduled definitions; a changed schedule starts over
// from now.
func (s *Scheduler) load(ctx context.Context, entries map[string]*scheduled, now time.Time) {
	defs, err := s.runner.cfg.Store.JobDefinitions(ctx)
	if err != nil {
		s.log.Error("scheduler: reading job definitions failed", "err", err)
		return
	}
	seen := map[string]bool{}
	for _, d := range defs {
		if d.Schedule == "" {
			continue
		}
		seen[d.Name] = true
		if e, ok := entries[d.Name]; ok && e.expr == d.Schedule {
			continue
		}
		sc, err := ParseSchedule(d.Schedule)
		if err != nil {
			s.log.Error("scheduler: bad schedule", "definition", d.Name, "err", err)
			continue
		}
		entries[d.Name] = &scheduled{expr: d.Schedule, sched: sc, next: sc.Next(now)}
		s.log.Info("scheduled", "definition", d.Name, "schedule", d.Schedule, "next", entries[d.Name].next)
	}
	for name := range entries {
		if !seen[name] {
			delete(entries, name)
		}
	}
}

func (s *Scheduler) fire(ctx context.Context, name string) {
	id, err := s.runner.Trigger(ctx, TriggerRequest{Definition: name, Trigger: "schedule"})
	switch {
	case errors.Is(err, ErrOverlap):
		s.log.Info("scheduled run skipped: the previous one is still active", "definition", name)
	case err != nil:
		s.log.Error("scheduled run refused", "definition", name, "err", err)
	default:
		s.log.Info("scheduled run triggered", "definition", name, "run", id)
	}
}
