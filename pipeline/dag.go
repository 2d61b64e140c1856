package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/autoid-oss/autoid/workspace"
)

// EngineVersion enters every stage's fingerprint: change it when outputs
// of every stage must be recomputed (a new table format).
const EngineVersion = "autoid-1"

// ErrUnknownJob: a job type that is not registered.
var ErrUnknownJob = errors.New("unknown job type")

// stageOutput is the published output of a stage: the fingerprint of what
// produced it and where its tables are. It is kept in
// <workspace>/stages/<job>.json and replaced (atomically) only when the
// stage succeeds, so a failed or cancelled stage leaves the previous output
// in place and publishes nothing.
type stageOutput struct {
	Job         string           `json:"job"`
	Fingerprint string           `json:"fingerprint"`
	Run         string           `json:"run"`                  // run folder id holding the tables
	Tables      map[string]int64 `json:"tables"`               // table -> rows
	Generation  string           `json:"generation,omitempty"` // the entity tables it read (ingest: produced)
	// Served is, for a serving stage, the publication the store served
	// when it ended: a store loaded since (or a new database) re-runs it.
	Served   string    `json:"served,omitempty"`
	Finished time.Time `json:"finished"`
	Seconds  float64   `json:"seconds"`
}

func outputPath(ws *workspace.Workspace, job string) string {
	return filepath.Join(ws.Root, "stages", job+".json")
}

// readOutput returns a stage's published output; ok is false when there is
// none or its tables are gone.
func readOutput(ws *workspace.Workspace, job string) (stageOutput, bool) {
	var o stageOutput
	if err := workspace.ReadJSON(outputPath(ws, job), &o); err != nil {
		return stageOutput{}, false
	}
	for t := range o.Tables {
		if _, err := os.Stat(filepath.Join(ws.Root, "runs", o.Run, t+".parquet")); err != nil {
			return stageOutput{}, false
		}
	}
	return o, true
}

func writeOutput(ws *workspace.Workspace, o stageOutput) error {
	if err := os.MkdirAll(filepath.Join(ws.Root, "stages"), 0o755); err != nil {
		return fmt.Errorf("publish %s: %w", o.Job, err)
	}
	return workspace.WriteJSON(outputPath(ws, o.Job), o)
}

// publishedTables returns every table path referenced by a published
// stage output (these must never be discarded).
func publishedTables(ws *workspace.Workspace) map[string]bool {
	out := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(ws.Root, "stages", "*.json"))
	for _, f := range files {
		var o stageOutput
		if workspace.ReadJSON(f, &o) != nil {
			continue
		}
		for t := range o.Tables {
			out[filepath.Join(ws.Root, "runs", o.Run, t+".parquet")] = true
		}
	}
	return out
}

// fingerprint hashes what determines a stage's output: the engine and
// stage code versions, its engine parameters, the entity generation it
// reads, the fingerprints of the stages it needs, and, for serving
// stages, which store. Extra lines (the ingest's source) are added as
// given.
type fingerprint struct {
	lines []string
}

func (f *fingerprint) add(k, v string) { f.lines = append(f.lines, k+"="+v) }

func (f *fingerprint) sum() string {
	sort.Strings(f.lines)
	h := sha256.New()
	for _, l := range f.lines {
		io.WriteString(h, l)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// sourceFingerprint describes an ingest's source: each file's path, size
// and modification time (a table or query of a PostgreSQL source is read
// again every time: it cannot be known unchanged), the mapping and the
// sync type.
func sourceFingerprint(f *fingerprint, src resolvedSource) {
	f.add("source.id", src.ds.ID)
	f.add("source.type", src.ds.ConnectionType)
	f.add("source.sync", src.sync)
	ents := make([]string, 0, len(src.ds.Entities))
	for e := range src.ds.Entities {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	for _, e := range ents {
		loc := src.ds.Entities[e]
		path := strings.TrimPrefix(loc, "file://")
		if st, err := os.Stat(path); err == nil && src.ds.URL == "" {
			f.add("source."+e, fmt.Sprintf("%s|%d|%d", path, st.Size(), st.ModTime().UnixNano()))
		} else {
			// Not a file we can stat: never up to date.
			f.add("source."+e, fmt.Sprintf("%s|%d", loc, time.Now().UnixNano()))
		}
	}
	f.add("source.mapping", src.mappingDigest)
}
