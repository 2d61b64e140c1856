package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"
)

// TestKilledLoad re-executes the test binary as a child that loads a large
// table and blocks in the middle of the copy (PostgreSQL) or of the insert
// transaction (SQLite); the parent kills it with SIGKILL and checks that
// the previous run is still served, whole, and that the next load works.
func TestKilledLoad(t *testing.T) {
	if os.Getenv("STORE_KILL_CHILD") == "1" {
		killChild()
		return
	}
	forEachBackend(t, func(t *testing.T, h harness) {
		db, dsn, dir := h.open(t)
		mustLoad(t, db, newFakeRun(t, "run-1", true, 1))
		before := readState(t, db)
		mark := filepath.Join(t.TempDir(), "mid-load")
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledLoad$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STORE_KILL_CHILD=1", "STORE_KILL_DSN="+dsn, "STORE_KILL_DIR="+dir, "STORE_KILL_MARK="+mark)
		out, err := os.CreateTemp(t.TempDir(), "child")
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if _, err := os.Stat(mark); err == nil {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				cmd.Wait()
				b, _ := os.ReadFile(out.Name())
				t.Fatalf("the child never reached the middle of the load; its output:\n%s", b)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		// A fresh connection sees the previous run, whole.
		db2, err := Open(context.Background(), dsn, dir, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db2.Close()
		if after := readState(t, db2); !reflect.DeepEqual(before, after) {
			t.Errorf("state after a killed load:\n%+v\nwant\n%+v", after, before)
		}
		mustLoad(t, db2, newFakeRun(t, "run-3", true, 0.5))
		if p, _ := db2.Published(context.Background()); p.RunID != "run-3" {
			t.Errorf("served %s after the next load", p.RunID)
		}
	})
}

// killChild publishes a table whose rows stop coming halfway: it marks
// the file and waits to be killed.
func killChild() {
	db, err := Open(context.Background(), os.Getenv("STORE_KILL_DSN"), os.Getenv("STORE_KILL_DIR"), nil)
	if err != nil {
		os.Stderr.WriteString("child: " + err.Error() + "\n")
		os.Exit(3)
	}
	src := &genRows{n: 1 << 30, onRow: func(i int) {
		if i == 100000 {
			os.WriteFile(os.Getenv("STORE_KILL_MARK"), nil, 0o644)
			time.Sleep(time.Hour)
		}
	}}
	_, err = db.Publish(context.Background(), Publication{RunID: "run-2", Generation: "g2",
		Tables: []TableData{{Name: "assignments", Columns: genColumns, Rows: src}}})
	os.Stderr.WriteString("child: publish returned: " + errString(err) + "\n")
	os.Exit(4)
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
