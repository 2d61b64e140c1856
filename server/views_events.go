package server

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/workspace"
)

// identityChange is one row of the EventBasedCertification report: an
// identity whose attributes changed between the last two ingests
// (type update: the changed attributes' old and new values), appeared
// (create) or disappeared (delete). batch_id is the current generation.
type identityChange struct {
	ID       string            `json:"id"`
	Type     string            `json:"type"`
	BatchID  string            `json:"batch_id"`
	Original map[string]string `json:"original"`
	Update   map[string]string `json:"update"`
}

// ignoredIdentityColumn: the key and the ingest's bookkeeping columns.
func ignoredIdentityColumn(name string) bool {
	switch name {
	case "usr_id", "usr_idx", "src_file", "src_line":
		return true
	}
	return false
}

// identityValues reads a generation's identities: usr_id -> column ->
// value (nulls omitted).
func identityValues(ctx context.Context, g workspace.Generation) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if !g.Has("identities") {
		return out, nil
	}
	rec, err := formats.ReadTable(ctx, g.TablePath("identities"), nil)
	if err != nil {
		return nil, fmt.Errorf("identities of %s: %w", g.Name, err)
	}
	defer rec.Release()
	idCol := -1
	for i, f := range rec.Schema().Fields() {
		if f.Name == "usr_id" {
			idCol = i
		}
	}
	if idCol < 0 {
		return nil, fmt.Errorf("identities of %s: no usr_id column", g.Name)
	}
	ids := rec.Column(idCol)
	for r := 0; r < int(rec.NumRows()); r++ {
		if ids.IsNull(r) {
			continue
		}
		vals := map[string]string{}
		for i, f := range rec.Schema().Fields() {
			if ignoredIdentityColumn(f.Name) {
				continue
			}
			if c := rec.Column(i); !c.IsNull(r) {
				vals[f.Name] = valueText(c, r)
			}
		}
		out[ids.ValueStr(r)] = vals
	}
	return out, nil
}

func valueText(a arrow.Array, i int) string { return a.ValueStr(i) }

// identityChanges compares the identities of the current generation with
// the previous one, in usr_id order.
func identityChanges(ctx context.Context, wsDir string) ([]identityChange, error) {
	out := []identityChange{}
	if wsDir == "" {
		return out, nil
	}
	ws, err := workspace.Open(wsDir)
	if err != nil {
		return nil, err
	}
	cur, err := ws.Current()
	if err != nil {
		return out, nil // nothing ingested yet
	}
	prevGen, ok := ws.Previous()
	if !ok {
		return out, nil
	}
	now, err := identityValues(ctx, cur)
	if err != nil {
		return nil, err
	}
	before, err := identityValues(ctx, prevGen)
	if err != nil {
		return nil, err
	}
	for id, vals := range now {
		old, had := before[id]
		if !had {
			out = append(out, identityChange{ID: id, Type: "create", BatchID: cur.Name, Original: map[string]string{}, Update: vals})
			continue
		}
		o, u := map[string]string{}, map[string]string{}
		for k, v := range vals {
			if old[k] != v {
				o[k], u[k] = old[k], v
			}
		}
		for k, v := range old {
			if _, still := vals[k]; !still {
				o[k], u[k] = v, ""
			}
		}
		if len(u) > 0 {
			out = append(out, identityChange{ID: id, Type: "update", BatchID: cur.Name, Original: o, Update: u})
		}
	}
	for id, vals := range before {
		if _, still := now[id]; !still {
			out = append(out, identityChange{ID: id, Type: "delete", BatchID: cur.Name, Original: vals, Update: map[string]string{}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
