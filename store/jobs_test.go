package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Job definitions and runs round-trip through both stores: upsert and
// create, the overlap key, compare-and-swap transitions, progress and
// events read while a run goes on.
func TestJobDefinitionsAndRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		ctx := context.Background()
		db, _, _ := h.open(t)
		d := JobDefinition{Name: "nightly", Type: "train", Parameters: map[string]any{"min_freq": "7"}, Schedule: "0 2 * * *", Timeout: time.Minute}
		if err := db.CreateJobDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateJobDefinition(ctx, d); !errors.Is(err, ErrConflict) {
			t.Errorf("second create: %v, want ErrConflict", err)
		}
		d.Overlap = "sometimes"
		if err := db.PutJobDefinition(ctx, d); err == nil {
			t.Error("a bad overlap policy must fail")
		}
		d.Overlap, d.Parameters = OverlapQueue, map[string]any{"min_freq": 9.0}
		if err := db.PutJobDefinition(ctx, d); err != nil {
			t.Fatal(err)
		}
		got, err := db.JobDefinition(ctx, "nightly")
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != "train" || got.Overlap != OverlapQueue || got.Schedule != "0 2 * * *" || got.Timeout != time.Minute || got.Parameters["min_freq"] != 9.0 {
			t.Errorf("definition %+v", got)
		}
		if _, err := db.JobDefinition(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing definition: %v", err)
		}

		r := Run{ID: "r1", JobName: "nightly", JobType: "train", Jobs: []string{"train"}, Params: map[string]string{"min_freq": "9"}, Trigger: "api"}
		if err := db.InsertRun(ctx, r, true); err != nil {
			t.Fatal(err)
		}
		if err := db.InsertRun(ctx, Run{ID: "r2", JobName: "nightly", JobType: "train"}, true); !errors.Is(err, ErrActiveRun) {
			t.Errorf("second exclusive run: %v, want ErrActiveRun", err)
		}
		if err := db.InsertRun(ctx, Run{ID: "r3", JobName: "nightly", JobType: "train"}, false); err != nil {
			t.Errorf("a non-exclusive run: %v", err)
		}
		ok, err := db.TransitionRun(ctx, "r1", RunTransition{From: []string{RunQueued}, To: RunRunning, Owner: "host/1/x"})
		if err != nil || !ok {
			t.Fatalf("start: %v %v", ok, err)
		}
		if ok, _ := db.TransitionRun(ctx, "r1", RunTransition{From: []string{RunQueued}, To: RunRunning}); ok {
			t.Error("a second start must lose the compare and swap")
		}
		st, err := db.SaveRunProgress(ctx, "r1", []RunStage{{Job: "train", Status: "running", Done: 3, Total: 10}}, time.Now())
		if err != nil || st != RunRunning {
			t.Fatalf("progress: %q %v", st, err)
		}
		evs := []RunEvent{{Seq: 1, At: time.Now(), Kind: "log", Body: json.RawMessage(`{"msg":"a"}`)}, {Seq: 2, At: time.Now(), Kind: "log", Body: json.RawMessage(`{"msg":"b"}`)}}
		if err := db.AppendRunEvents(ctx, "r1", evs); err != nil {
			t.Fatal(err)
		}
		after, err := db.RunEvents(ctx, "r1", 1, 0)
		if err != nil || len(after) != 1 || after[0].Seq != 2 || string(after[0].Body) != `{"msg":"b"}` {
			t.Errorf("events after 1: %+v %v", after, err)
		}
		if n, err := db.LastRunEventSeq(ctx, "r1"); err != nil || n != 2 {
			t.Errorf("last seq %d %v", n, err)
		}
		if ok, err := db.TransitionRun(ctx, "r1", RunTransition{From: []string{RunRunning}, To: RunFailed, Message: "boom"}); err != nil || !ok {
			t.Fatalf("fail: %v %v", ok, err)
		}
		got1, err := db.Run(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if got1.Status != RunFailed || got1.Message != "boom" || got1.Attempts != 1 || got1.Owner != "host/1/x" || got1.Started.IsZero() || got1.Ended.IsZero() ||
			len(got1.Stages) != 1 || got1.Stages[0].Done != 3 || got1.Params["min_freq"] != "9" || got1.Trigger != "api" {
			t.Errorf("run %+v", got1)
		}
		// The key is released: a new exclusive run is accepted.
		if err := db.InsertRun(ctx, Run{ID: "r4", JobName: "nightly", JobType: "train"}, true); err != nil {
			t.Errorf("exclusive run after the end of the first: %v", err)
		}
		active, err := db.Runs(ctx, RunFilter{Active: true})
		if err != nil || len(active) != 2 {
			t.Errorf("active runs %d %v", len(active), err)
		}
	})
}
