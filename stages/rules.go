package stages

import (
	"context"
	"fmt"
	"slices"
	"sync"

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
	// wait, when set, waits for the assignments (users, ents, holders,
	// invalid) still being read; idempotent.
	wait func() error
}

// await waits for the assignments.
func (d *ruleData) await() error {
	if d.wait == nil {
		return nil
	}
	return d.wait()
}

func (d *ruleData) release() {
	d.await()
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
	d, err := startRuleData(ctx, gen, features, featuresOf)
	if err != nil {
		return nil, err
	}
	if err := d.await(); err != nil {
		d.release()
		return nil, err
	}
	return d, nil
}

// startRuleData is loadRuleData that returns once the identities are
// encoded: the assignments are read and checked in a second goroutine, and
// the result's await waits for them.
func startRuleData(ctx context.Context, gen workspace.Generation, features []string, featuresOf func(arrow.Record) ([]string, error)) (*ruleData, error) {
	var (
		dims chan [2]int32     // identities and entitlements, for the range check
		done chan *assignments // closed or sent once the reader has finished
	)
	if gen.Has("assignments") {
		dims, done = make(chan [2]int32, 1), make(chan *assignments, 1)
		go func() {
			a := &assignments{}
			defer func() { done <- a }()
			as, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx"})
			dm, ok := <-dims
			if err != nil {
				a.err = fmt.Errorf("assignments: %w", err)
				return
			}
			defer as.Release()
			if ok {
				a.read(as, dm[0], dm[1])
			}
		}()
	}
	sent := false
	fail := func(d *ruleData, err error) (*ruleData, error) {
		if d != nil {
			d.release()
		}
		if dims != nil {
			if !sent {
				close(dims)
			}
			<-done
		}
		return nil, err
	}
	ids, err := formats.ReadTable(ctx, gen.TablePath("identities"), nil)
	if err != nil {
		return fail(nil, fmt.Errorf("identities: %w", err))
	}
	defer ids.Release()
	ents, err := formats.ReadTable(ctx, gen.TablePath("entitlements"), []string{"ent_id"})
	if err != nil {
		return fail(nil, fmt.Errorf("entitlements: %w", err))
	}
	d := &ruleData{}
	d.entIDs, err = keyArray(ents, "ent_id")
	ents.Release()
	if err != nil {
		return fail(nil, fmt.Errorf("entitlements: %w", err))
	}
	nu, ne := int32(ids.NumRows()), int32(d.entIDs.Len())
	if dims != nil {
		dims <- [2]int32{nu, ne}
		sent = true
	}
	if d.usrIDs, err = keyArray(ids, "usr_id"); err != nil {
		d.entIDs.Release()
		return fail(nil, fmt.Errorf("identities: %w", err))
	}
	if featuresOf != nil {
		if features, err = featuresOf(ids); err != nil {
			return fail(d, err)
		}
	}
	if d.items, err = scoring.EncodeIdentities(ids, features); err != nil {
		return fail(d, fmt.Errorf("identities: %w", err))
	}
	d.entText, _ = scoring.TextOf(d.entIDs)
	d.entIndex = make(map[string]int32, d.entIDs.Len())
	for i := 0; i < d.entIDs.Len(); i++ {
		d.entIndex[d.entID(int32(i))] = int32(i)
	}
	if done == nil {
		d.holders = make([][]int32, ne)
		return d, nil
	}
	var once sync.Once
	var werr error
	d.wait = func() error {
		once.Do(func() {
			a := <-done
			d.users, d.ents, d.invalid, d.holders, werr = a.users, a.ents, a.invalid, a.holders, a.err
		})
		return werr
	}
	return d, nil
}

// assignments are the valid assignments of the assignments table, sorted by
// (usr_idx, ent_idx) without repeats, and the holders of each entitlement.
type assignments struct {
	users, ents []int32
	holders     [][]int32 // per entitlement, ascending
	invalid     int
	err         error
}

// read takes the valid assignments of a (usr_idx, ent_idx) record (a null
// key makes an assignment invalid, a key out of range is an error) and
// lists the holders of each entitlement.
func (a *assignments) read(as arrow.Record, nu, ne int32) {
	uc, ok1 := as.Column(0).(*array.Int32)
	ec, ok2 := as.Column(1).(*array.Int32)
	if !ok1 || !ok2 {
		a.err = fmt.Errorf("assignments: usr_idx and ent_idx must be int32")
		return
	}
	n := int(as.NumRows())
	uv, ev := uc.Int32Values(), ec.Int32Values()
	nulls := uc.NullN() > 0 || ec.NullN() > 0
	a.users, a.ents = make([]int32, n), make([]int32, n)
	k := 0
	sorted := true
	for i := 0; i < n; i++ {
		if nulls && (uc.IsNull(i) || ec.IsNull(i)) {
			a.invalid++
			continue
		}
		u, e := uv[i], ev[i]
		if u < 0 || u >= nu || e < 0 || e >= ne {
			a.users, a.ents = nil, nil
			a.err = fmt.Errorf("assignments row %d: usr_idx %d / ent_idx %d out of range", i, u, e)
			return
		}
		if k > 0 && (a.users[k-1] > u || a.users[k-1] == u && a.ents[k-1] >= e) {
			sorted = false
		}
		a.users[k], a.ents[k] = u, e
		k++
	}
	a.users, a.ents = a.users[:k], a.ents[:k]
	if !sorted {
		a.sort()
	}
	cnt := make([]int32, ne)
	for _, e := range a.ents {
		cnt[e]++
	}
	flat := make([]int32, len(a.users))
	a.holders = make([][]int32, ne)
	pos := 0
	for e := range a.holders {
		a.holders[e] = flat[pos : pos : pos+int(cnt[e])]
		pos += int(cnt[e])
	}
	for i, u := range a.users {
		a.holders[a.ents[i]] = append(a.holders[a.ents[i]], u)
	}
}

// sort sorts the assignments by (usr_idx, ent_idx) and drops repeated
// pairs.
func (a *assignments) sort() {
	packed := make([]uint64, len(a.users))
	for i := range a.users {
		packed[i] = uint64(a.users[i])<<32 | uint64(a.ents[i])
	}
	slices.Sort(packed)
	packed = slices.Compact(packed)
	a.users, a.ents = a.users[:len(packed)], a.ents[:len(packed)]
	for i, p := range packed {
		a.users[i], a.ents[i] = int32(p>>32), int32(uint32(p))
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
