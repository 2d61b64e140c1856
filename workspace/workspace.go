// Package workspace owns the on-disk layout of the engine's working data:
// the current entity tables (as generations, so that an ingest replaces
// them all at once), data sources and mappings, and one folder per run.
//
//	<root>/engine.yaml            engine configuration
//	<root>/sources/<id>.json      data sources
//	<root>/mappings/<name>        mappings used by ingests
//	<root>/tables/CURRENT         name of the current generation
//	<root>/tables/g000042/        entity tables, rejects and manifest.json
//	<root>/runs/<run-id>/         a run's output tables and manifest.json
//
// Every file is written under a temporary name and renamed when complete;
// a generation becomes current by an atomic rename of CURRENT, so a failed
// or interrupted ingest leaves the previous tables in place.
package workspace

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/autoid-oss/autoid/formats"
)

// ErrNoTables means no ingest has produced entity tables yet.
var ErrNoTables = errors.New("the workspace has no entity tables yet: run 'autoid ingest' first")

// ErrNoRun means no run has produced the requested table.
var ErrNoRun = errors.New("no run has produced this table")

// Workspace is an opened workspace directory.
type Workspace struct {
	Root string
}

// Open opens (creating if needed) the workspace at root.
func Open(root string) (*Workspace, error) {
	for _, d := range []string{"", "tables", "runs", "sources", "mappings"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, fmt.Errorf("workspace %s: %w", root, err)
		}
	}
	return &Workspace{Root: root}, nil
}

// Lock takes the workspace's writer lock (an advisory file lock), waiting
// for another writer to finish. Call the returned function to release it.
func (w *Workspace) Lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(w.Root, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock workspace: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock workspace: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// ConfigPath is the path of the engine configuration file.
func (w *Workspace) ConfigPath() string { return filepath.Join(w.Root, "engine.yaml") }

// Generation is one complete set of entity tables.
type Generation struct {
	Name string // g000042
	Dir  string
}

// TablePath returns the path of a table of the generation.
func (g Generation) TablePath(table string) string {
	return filepath.Join(g.Dir, table+".parquet")
}

// Has reports whether the generation holds the table.
func (g Generation) Has(table string) bool {
	_, err := os.Stat(g.TablePath(table))
	return err == nil
}

// Current returns the current generation, or ErrNoTables.
func (w *Workspace) Current() (Generation, error) {
	b, err := os.ReadFile(filepath.Join(w.Root, "tables", "CURRENT"))
	if errors.Is(err, os.ErrNotExist) {
		return Generation{}, ErrNoTables
	}
	if err != nil {
		return Generation{}, fmt.Errorf("read current tables: %w", err)
	}
	name := strings.TrimSpace(string(b))
	return Generation{Name: name, Dir: filepath.Join(w.Root, "tables", name)}, nil
}

// Previous returns the generation before the current one, if any is kept.
func (w *Workspace) Previous() (Generation, bool) {
	gens := w.generations()
	cur, err := w.Current()
	if err != nil {
		return Generation{}, false
	}
	for i := len(gens) - 1; i > 0; i-- {
		if gens[i] == cur.Name {
			return Generation{Name: gens[i-1], Dir: filepath.Join(w.Root, "tables", gens[i-1])}, true
		}
	}
	return Generation{}, false
}

func (w *Workspace) generations() []string {
	ents, _ := os.ReadDir(filepath.Join(w.Root, "tables"))
	var names []string
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), "g") {
			if _, err := strconv.Atoi(e.Name()[1:]); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	return names
}

// NewGeneration creates the directory of the next generation. It is not
// current until Publish.
func (w *Workspace) NewGeneration() (Generation, error) {
	next := 1
	if gens := w.generations(); len(gens) > 0 {
		n, _ := strconv.Atoi(gens[len(gens)-1][1:])
		next = n + 1
	}
	name := fmt.Sprintf("g%06d", next)
	dir := filepath.Join(w.Root, "tables", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Generation{}, fmt.Errorf("new tables generation: %w", err)
	}
	return Generation{Name: name, Dir: dir}, nil
}

// Publish makes g the current generation and removes generations older
// than the previous one (the last two ingests are kept).
func (w *Workspace) Publish(g Generation) error {
	af, err := formats.CreateAtomic(filepath.Join(w.Root, "tables", "CURRENT"))
	if err != nil {
		return err
	}
	defer af.Abort()
	if _, err := af.WriteString(g.Name + "\n"); err != nil {
		return fmt.Errorf("publish tables: %w", err)
	}
	if err := af.Commit(); err != nil {
		return fmt.Errorf("publish tables: %w", err)
	}
	gens := w.generations()
	for i, name := range gens {
		if name == g.Name {
			for _, old := range gens[:max(0, i-1)] {
				os.RemoveAll(filepath.Join(w.Root, "tables", old))
			}
			// Generations after g were abandoned by failed ingests.
			for _, dead := range gens[i+1:] {
				os.RemoveAll(filepath.Join(w.Root, "tables", dead))
			}
			break
		}
	}
	return nil
}

// Discard removes a generation that will not be published.
func (w *Workspace) Discard(g Generation) {
	os.RemoveAll(g.Dir)
}

// CarryOver links (or copies) a table of one generation into another.
func CarryOver(from, to Generation, table string) error {
	src, dst := from.TablePath(table), to.TablePath(table)
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("carry over %s: %w", table, err)
	}
	af, err := formats.CreateAtomic(dst)
	if err != nil {
		return err
	}
	defer af.Abort()
	if _, err := af.Write(b); err != nil {
		return fmt.Errorf("carry over %s: %w", table, err)
	}
	return af.Commit()
}

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	af, err := formats.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer af.Abort()
	if _, err := af.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return af.Commit()
}

// ReadJSON reads a JSON file into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// Run is one folder of job outputs.
type Run struct {
	ID  string
	Dir string
}

// TablePath returns the path of a table of the run.
func (r Run) TablePath(table string) string { return filepath.Join(r.Dir, table+".parquet") }

// RunManifest records what a run did; it is rewritten as the run goes.
type RunManifest struct {
	ID         string            `json:"id"`
	Jobs       []string          `json:"jobs"`
	Status     string            `json:"status"` // running, succeeded, failed
	Message    string            `json:"message,omitempty"`
	Generation string            `json:"generation"` // entity tables it read
	Started    time.Time         `json:"started"`
	Finished   *time.Time        `json:"finished,omitempty"`
	Tables     map[string]int64  `json:"tables"` // table -> rows
	Params     map[string]string `json:"params,omitempty"`
}

// NewRun creates a run folder with a time-ordered id.
func (w *Workspace) NewRun(now time.Time) (Run, error) {
	var rnd [3]byte
	rand.Read(rnd[:])
	id := now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
	dir := filepath.Join(w.Root, "runs", id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Run{}, fmt.Errorf("new run: %w", err)
	}
	return Run{ID: id, Dir: dir}, nil
}

// Run returns the run with the given id ("latest" is the newest run).
func (w *Workspace) Run(id string) (Run, RunManifest, error) {
	if id == "latest" {
		ids := w.runIDs()
		if len(ids) == 0 {
			return Run{}, RunManifest{}, ErrNoRun
		}
		id = ids[len(ids)-1]
	}
	r := Run{ID: id, Dir: filepath.Join(w.Root, "runs", id)}
	var m RunManifest
	if err := ReadJSON(filepath.Join(r.Dir, "manifest.json"), &m); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Run{}, RunManifest{}, fmt.Errorf("run %q: no such run", id)
		}
		return Run{}, RunManifest{}, err
	}
	return r, m, nil
}

// SaveManifest writes a run's manifest.
func (r Run) SaveManifest(m RunManifest) error {
	return WriteJSON(filepath.Join(r.Dir, "manifest.json"), m)
}

func (w *Workspace) runIDs() []string {
	ents, _ := os.ReadDir(filepath.Join(w.Root, "runs"))
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids
}

// LatestRunWith returns the newest succeeded run whose output has the table.
func (w *Workspace) LatestRunWith(table string) (Run, error) {
	ids := w.runIDs()
	for i := len(ids) - 1; i >= 0; i-- {
		r, m, err := w.Run(ids[i])
		if err != nil || m.Status != "succeeded" {
			continue
		}
		if _, ok := m.Tables[table]; ok {
			return r, nil
		}
	}
	return Run{}, fmt.Errorf("table %q: %w", table, ErrNoRun)
}
