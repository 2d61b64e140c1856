package pipeline

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// TestEngineCrashHelper is the process that TestEngineCrashRecovery kills:
// it starts a long run and waits to be killed.
func TestEngineCrashHelper(t *testing.T) {
	root, dsn := os.Getenv("AUTOID_CRASH_WS"), os.Getenv("AUTOID_CRASH_DSN")
	if root == "" {
		t.Skip("runs as a subprocess of TestEngineCrashRecovery")
	}
	ws, err := workspace.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), dsn, root, nil)
	if err != nil {
		t.Fatal(err)
	}
	rn, err := NewRunner(RunnerConfig{Workspace: ws, Store: db, Registry: newTestJobs(t).reg, Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	id, err := rn.Trigger(context.Background(), TriggerRequest{Jobs: []string{"slow"}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("RUN", id)
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

// A process killed during a run leaves a run that the next start marks
// failed, with the reason, its partial output discarded; a re-run
// completes.
func TestEngineCrashRecovery(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		cmd := exec.Command(os.Args[0], "-test.run", "^TestEngineCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), "AUTOID_CRASH_WS="+e.ws.Root, "AUTOID_CRASH_DSN="+e.dsn)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		sc := bufio.NewScanner(out)
		id := ""
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "RUN "); ok {
				id = rest
				break
			}
		}
		if id == "" {
			t.Fatal("the helper process started no run")
		}
		waitStage(t, e, id, "slow")
		folder := filepath.Join(e.ws.Root, "runs", id)
		if _, err := os.Stat(filepath.Join(folder, "slow_out.parquet")); err != nil {
			t.Fatalf("the slow stage wrote no partial output: %v", err)
		}
		pid := cmd.Process.Pid
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		cmd.Wait()

		// A new process starts: the run is failed with the reason.
		rn, err := NewRunner(RunnerConfig{Workspace: e.ws, Store: e.db, Registry: e.tj.reg})
		if err != nil {
			t.Fatal(err)
		}
		defer rn.Close()
		failed, err := rn.Recover(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(failed) != 1 || failed[0] != id {
			t.Fatalf("recovered %v, want [%s]", failed, id)
		}
		r, err := rn.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != store.RunFailed || !strings.Contains(r.Message, fmt.Sprintf("pid %d", pid)) || r.Ended.IsZero() {
			t.Errorf("crashed run: %s %q", r.Status, r.Message)
		}
		if _, err := os.Stat(filepath.Join(folder, "slow_out.parquet")); err == nil {
			t.Error("the partial output of the crashed run was kept")
		}
		if again, _ := rn.Recover(ctx); len(again) != 0 {
			t.Errorf("a second recovery failed %v", again)
		}
		id2, err := rn.Trigger(ctx, TriggerRequest{Jobs: []string{"slow"}, Params: map[string]string{"ms": "20"}})
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := rn.Wait(ctx, id2); r.Status != store.RunSucceeded {
			t.Errorf("re-run after the crash: %s %s", r.Status, r.Message)
		}
	})
}

// A definition with an every-second schedule runs at least twice in three
// seconds and never twice at once.
func TestSchedulerRunsDefinitions(t *testing.T) {
	forEachEngineBackend(t, func(t *testing.T, e *engineEnv) {
		ctx := context.Background()
		if err := e.rn.Define(ctx, store.JobDefinition{Name: "tick", Type: "slow", Schedule: "@every 1s",
			Parameters: map[string]any{"ms": 1200}}, true); err != nil {
			t.Fatal(err)
		}
		if err := e.rn.Define(ctx, store.JobDefinition{Name: "every-second", Type: "a", Schedule: "* * * * * *"}, true); err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithTimeout(ctx, 3100*time.Millisecond)
		defer cancel()
		if err := NewScheduler(e.rn, nil).Run(sctx); err != nil {
			t.Fatal(err)
		}
		// tick takes 1.2s: triggers while it runs are skipped.
		for _, def := range []string{"tick", "every-second"} {
			runs, err := e.rn.Runs(ctx, store.RunFilter{JobName: def})
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) < 2 {
				t.Errorf("%s ran %d times in 3s", def, len(runs))
			}
			sort.Slice(runs, func(i, j int) bool { return runs[i].Created.Before(runs[j].Created) })
			for i, r := range runs {
				if r.Trigger != "schedule" {
					t.Errorf("%s: trigger %q", r.ID, r.Trigger)
				}
				if i > 0 && !runs[i-1].Ended.IsZero() && r.Started.Before(runs[i-1].Ended) && !r.Started.IsZero() {
					t.Errorf("%s: %s started at %v before %s ended at %v", def, r.ID, r.Started, runs[i-1].ID, runs[i-1].Ended)
				}
			}
		}
		e.rn.Close()
		if e.tj.most.Load() != 1 {
			t.Errorf("%d stages ran at once", e.tj.most.Load())
		}
	})
}

func TestParseSchedule(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct{ expr, from, want string }{
		{"* * * * *", "2026-03-01 10:00:30", "2026-03-01 10:01:00"},
		{"*/15 * * * *", "2026-03-01 10:07:00", "2026-03-01 10:15:00"},
		{"0 2 * * *", "2026-03-01 10:00:00", "2026-03-02 02:00:00"},
		{"30 9 * * mon-fri", "2026-03-06 10:00:00", "2026-03-09 09:30:00"}, // Friday -> Monday
		{"0 0 1 * *", "2026-01-31 12:00:00", "2026-02-01 00:00:00"},
		{"0 0 29 2 *", "2026-03-01 00:00:00", "2028-02-29 00:00:00"},
		{"0 0 * * 7", "2026-03-02 00:00:00", "2026-03-08 00:00:00"},  // 7 is Sunday
		{"0 0 13 * 5", "2026-03-01 00:00:00", "2026-03-06 00:00:00"}, // day 13 or a Friday
		{"10-20/5 * * * *", "2026-03-01 10:16:00", "2026-03-01 10:20:00"},
		{"0 12 * jun *", "2026-03-01 00:00:00", "2026-06-01 12:00:00"},
		{"*/2 * * * * *", "2026-03-01 00:00:01", "2026-03-01 00:00:02"},
		{"@hourly", "2026-03-01 10:59:59", "2026-03-01 11:00:00"},
		{"@every 90s", "2026-03-01 10:00:00", "2026-03-01 10:01:30"},
	} {
		s, err := ParseSchedule(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := s.Next(at(tc.from)); !got.Equal(at(tc.want)) {
			t.Errorf("%q after %s: %s, want %s", tc.expr, tc.from, got.Format("2006-01-02 15:04:05 Mon"), tc.want)
		}
	}
	for _, bad := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "5-1 * * * *", "*/0 * * * *", "@sometimes", "@every 0s", "* * * * * * *"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}
