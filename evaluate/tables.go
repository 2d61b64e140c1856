package evaluate

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/model"
	"github.com/autoid-oss/autoid/scoring"
)

// ReadRules reads the rules table written by train.
func ReadRules(ctx context.Context, path string) ([]Rule, error) {
	stored, err := scoring.ReadRules(ctx, path)
	if err != nil {
		return nil, err
	}
	out := make([]Rule, len(stored))
	for i, r := range stored {
		out[i] = Rule{Ent: r.EntID, Items: r.Items, Freq: r.Freq, Frequnion: r.Frequnion}
	}
	return out, nil
}

// ReadRoles reads the roles table written by mine.
func ReadRoles(ctx context.Context, path string) ([]Role, error) {
	rec, err := formats.ReadTable(ctx, path, []string{"role_id", "policy", "entitlements", "members"})
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	defer rec.Release()
	id, err := scoring.TextOf(rec.Column(0))
	if err != nil {
		return nil, fmt.Errorf("roles %s: role_id: %w", path, err)
	}
	policy, err := textLists(rec.Column(1))
	if err != nil {
		return nil, fmt.Errorf("roles %s: policy: %w", path, err)
	}
	ents, err := textLists(rec.Column(2))
	if err != nil {
		return nil, fmt.Errorf("roles %s: entitlements: %w", path, err)
	}
	members, err := textLists(rec.Column(3))
	if err != nil {
		return nil, fmt.Errorf("roles %s: members: %w", path, err)
	}
	out := make([]Role, rec.NumRows())
	for i := range out {
		s, _ := id(i)
		out[i] = Role{ID: s, Policy: policy(i), Ents: ents(i), Members: members(i)}
	}
	return out, nil
}

// notItems are the identity table's columns that never yield items: the
// identity's id and name (SPEC 2) and the workspace's bookkeeping.
var notItems = map[string]bool{"usr_id": true, "usr_name": true, "usr_idx": true, "src_file": true, "src_line": true}

// ReadIdentities reads the identities entity table: per identity its
// usr_id and the items of its text columns (a null or empty value yields no
// item).
func ReadIdentities(ctx context.Context, path string) ([]Identity, error) {
	rec, err := formats.ReadTable(ctx, path, nil)
	if err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	defer rec.Release()
	idCol := rec.Schema().FieldIndices("usr_id")
	if len(idCol) == 0 {
		return nil, fmt.Errorf("identities %s: no usr_id column", path)
	}
	id, err := scoring.TextOf(rec.Column(idCol[0]))
	if err != nil {
		return nil, fmt.Errorf("identities %s: usr_id: %w", path, err)
	}
	type column struct {
		name string
		text scoring.TextColumn
	}
	var cols []column
	for k, f := range rec.Schema().Fields() {
		if notItems[strings.ToLower(f.Name)] {
			continue
		}
		if text, err := scoring.TextOf(rec.Column(k)); err == nil {
			cols = append(cols, column{f.Name, text})
		}
	}
	out := make([]Identity, rec.NumRows())
	for i := range out {
		u, _ := id(i)
		items := make([]string, 0, len(cols))
		for _, c := range cols {
			v, ok := c.text(i)
			if !ok {
				continue
			}
			it, err := model.EncodeItem(c.name, v)
			if err != nil {
				return nil, fmt.Errorf("identities %s: %s: %w", path, c.name, err)
			}
			items = append(items, it)
		}
		out[i] = Identity{ID: strings.Clone(u), Items: items}
	}
	return out, nil
}

// ReadAnomalies reads the flagged assignments of the anomalies table.
func ReadAnomalies(ctx context.Context, path string) ([]Pair, error) {
	rec, err := formats.ReadTable(ctx, path, []string{"usr_id", "ent_id"})
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	defer rec.Release()
	usr, err := scoring.TextOf(rec.Column(0))
	if err != nil {
		return nil, fmt.Errorf("anomalies %s: usr_id: %w", path, err)
	}
	ent, err := scoring.TextOf(rec.Column(1))
	if err != nil {
		return nil, fmt.Errorf("anomalies %s: ent_id: %w", path, err)
	}
	out := make([]Pair, rec.NumRows())
	for i := range out {
		u, _ := usr(i)
		e, _ := ent(i)
		out[i] = Pair{Usr: u, Ent: e}
	}
	return out, nil
}

// textLists returns a reader of a list<text> column (a null list reads as
// empty).
func textLists(a arrow.Array) (func(i int) []string, error) {
	l, ok := a.(*array.List)
	if !ok {
		return nil, fmt.Errorf("column of type %s is not a list", a.DataType())
	}
	vals, err := scoring.TextOf(l.ListValues())
	if err != nil {
		return nil, err
	}
	return func(i int) []string {
		if l.IsNull(i) {
			return nil
		}
		lo, hi := l.ValueOffsets(i)
		out := make([]string, 0, hi-lo)
		for j := lo; j < hi; j++ {
			s, _ := vals(int(j))
			out = append(out, s)
		}
		return out
	}, nil
}
