package stages

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/model"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// TrainParams resolves the training parameters of a configuration for a
// number of identities: fractional counts become ⌈f × identities⌉ and
// thresholds exact decimal ratios.
func TrainParams(cfg Config, identities int) (scoring.Params, error) {
	var p scoring.Params
	var err error
	if p.MinFreq, err = scoring.ResolveCount(cfg.MinFreq, identities); err != nil {
		return p, fmt.Errorf("parameter min_freq: %w", err)
	}
	if p.MinFrequnion, err = scoring.ResolveCount(cfg.MinFrequnion, identities); err != nil {
		return p, fmt.Errorf("parameter min_frequnion: %w", err)
	}
	for _, r := range []struct {
		name string
		v    float64
		dst  *mining.Ratio
	}{{"min_confidence", cfg.MinConfidence, &p.MinConfidence}, {"stem_delta", cfg.StemDelta, &p.StemDelta},
		{"driving_factor_threshold", cfg.DrivingFactorThreshold, &p.DrivingFactorThreshold}} {
		if *r.dst, err = mining.RatioOf(r.v); err != nil {
			return p, fmt.Errorf("parameter %s: %w", r.name, err)
		}
	}
	p.MaxRuleLength = cfg.MaxRuleLength
	return p, nil
}

// ruleData is what the rule jobs read from the entity tables: the
// identities' items, the entitlement keys and the valid assignments.
type ruleData struct {
	items    *scoring.Items
	usrIDs   arrow.Array // utf8, row = usr_idx
	entIDs   arrow.Array // utf8, row = ent_idx
	entText  scoring.TextColumn
	entIndex map[string]int32
	// Valid assignments, sorted by (usr_idx, ent_idx).
	users, ents []int32
	holders     [][]int32 // per entitlement, ascending
	invalid     int
}

func (d *ruleData) release() {
	d.usrIDs.Release()
	d.entIDs.Release()
}

func (d *ruleData) entID(e int32) string {
	s, _ := d.entText(int(e))
	return s
}

// keyArray copies a key column as a plain utf8 array.
func keyArray(rec arrow.Record, name string) (arrow.Array, error) {
	ci := scoring.FindColumn(rec, name)
	if ci < 0 {
		return nil, fmt.Errorf("no %s column", name)
	}
	text, err := scoring.TextOf(rec.Column(ci))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return formats.StringArray(int(rec.NumRows()), func(i int) []byte {
		s, _ := text(i)
		return []byte(s)
	}), nil
}

// loadRuleData reads the current entity tables. features selects the item
// columns; with featuresOf set, they are chosen from the identities record
// instead (used by the scoring jobs to encode the columns a rule set names).
func loadRuleData(ctx context.Context, gen workspace.Generation, features []string, featuresOf func(arrow.Record) ([]string, error)) (*ruleData, error) {
	ids, err := formats.ReadTable(ctx, gen.TablePath("identities"), nil)
	if err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	defer ids.Release()
	if featuresOf != nil {
		if features, err = featuresOf(ids); err != nil {
			return nil, err
		}
	}
	d := &ruleData{}
	if d.items, err = scoring.EncodeIdentities(ids, features); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	if d.usrIDs, err = keyArray(ids, "usr_id"); err != nil {
		return nil, fmt.Errorf("identities: %w", err)
	}
	ents, err := formats.ReadTable(ctx, gen.TablePath("entitlements"), []string{"ent_id"})
	if err != nil {
		d.usrIDs.Release()
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	d.entIDs, err = keyArray(ents, "ent_id")
	ents.Release()
	if err != nil {
		d.usrIDs.Release()
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	d.entText, _ = scoring.TextOf(d.entIDs)
	d.entIndex = make(map[string]int32, d.entIDs.Len())
	for i := 0; i < d.entIDs.Len(); i++ {
		d.entIndex[d.entID(int32(i))] = int32(i)
	}
	nu, ne := int32(d.items.NumIdentities()), int32(d.entIDs.Len())
	d.holders = make([][]int32, ne)
	if gen.Has("assignments") {
		as, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx"})
		if err != nil {
			d.release()
			return nil, fmt.Errorf("assignments: %w", err)
		}
		defer as.Release()
		uc, ok1 := as.Column(0).(*array.Int32)
		ec, ok2 := as.Column(1).(*array.Int32)
		if !ok1 || !ok2 {
			d.release()
			return nil, fmt.Errorf("assignments: usr_idx and ent_idx must be int32")
		}
		n := int(as.NumRows())
		d.users, d.ents = make([]int32, 0, n), make([]int32, 0, n)
		sorted := true
		cnt := make([]int32, ne)
		for i := 0; i < n; i++ {
			if uc.IsNull(i) || ec.IsNull(i) {
				d.invalid++
				continue
			}
			u, e := uc.Value(i), ec.Value(i)
			if u < 0 || u >= nu || e < 0 || e >= ne {
				d.release()
				return nil, fmt.Errorf("assignments row %d: usr_idx %d / ent_idx %d out of range", i, u, e)
			}
			if k := len(d.users); k > 0 && (d.users[k-1] > u || d.users[k-1] == u && d.ents[k-1] >= e) {
				sorted = false
			}
			d.users, d.ents = append(d.users, u), append(d.ents, e)
			cnt[e]++
		}
		if !sorted {
			d.sortAssignments()
			cnt = make([]int32, ne)
			for _, e := range d.ents {
				cnt[e]++
			}
		}
		flat := make([]int32, len(d.users))
		pos := 0
		for e := range d.holders {
			d.holders[e] = flat[pos : pos : pos+int(cnt[e])]
			pos += int(cnt[e])
		}
		for i, u := range d.users {
			d.holders[d.ents[i]] = append(d.holders[d.ents[i]], u)
		}
	}
	return d, nil
}

// sortAssignments sorts the valid assignments by (usr_idx, ent_idx) and
// drops repeated pairs.
func (d *ruleData) sortAssignments() {
	packed := make([]uint64, len(d.users))
	for i := range d.users {
		packed[i] = uint64(d.users[i])<<32 | uint64(d.ents[i])
	}
	slices.Sort(packed)
	packed = slices.Compact(packed)
	d.users, d.ents = d.users[:len(packed)], d.ents[:len(packed)]
	for i, p := range packed {
		d.users[i], d.ents[i] = int32(p>>32), int32(uint32(p))
	}
}

// featuresOfRules returns a function choosing the identity columns that the
// items of a rule set name.
func featuresOfRules(stored []scoring.StoredRule) func(arrow.Record) ([]string, error) {
	return func(ids arrow.Record) ([]string, error) {
		names := map[string]bool{}
		var cols []string
		for _, r := range stored {
			for _, s := range r.Items {
				it, err := model.ParseItem(s)
				name := it.Name
				if err != nil || names[name] {
					continue
				}
				names[name] = true
				if ci := scoring.FindColumn(ids, name); ci >= 0 {
					cols = append(cols, ids.Schema().Field(ci).Name)
				}
			}
		}
		slices.Sort(cols)
		return slices.Compact(cols), nil
	}
}

// recordOf assembles a record and releases the arrays (the record holds
// them).
func recordOf(fields []arrow.Field, arrs []arrow.Array, n int) arrow.Record {
	rec := array.NewRecord(arrow.NewSchema(fields, nil), arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}
