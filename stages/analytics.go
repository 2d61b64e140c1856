package stages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// analysis is what mine, anomaly and insight read: the entity tables, the
// stemmed rules and the predict-as-is scores of the valid assignments,
// aligned with the valid assignments of the entity tables.
type analysis struct {
	d      *ruleData
	usrID  scoring.TextColumn // row = usr_idx
	stored []scoring.StoredRule
	rules  []scoring.Rule // the stored rules that resolve on the current items

	// userStart: the valid assignments of identity u are
	// d.users[userStart[u]:userStart[u+1]] (CSR over the sorted list).
	userStart []int
	// Per valid assignment (aligned with d.users, d.ents): the score
	// frequnion/freq (freq 0: unscored) and the row of the scores table.
	freq, fu []int64
	scoreRow []int32
	scores   arrow.Record
	just     *array.List
	justText scoring.TextColumn

	received int64 // assignment rows of the entity table

	// Entity text columns (a missing column reads as null).
	ids, ents, apps           arrow.Record
	usrName, usrManager       scoring.TextColumn
	entName, entOwner, entApp scoring.TextColumn
	appName                   map[string]string
	usrIndex                  map[string]int32
	lastUsed                  []int64 // per valid assignment, microseconds; math.MinInt64 = null
	hasLastUsed               bool
}

// nullText reads as null on every row.
func nullText(int) (string, bool) { return "", false }

// textColumn returns the reader of a text column of rec, or a reader of
// nulls when rec has no such column.
func textColumn(rec arrow.Record, name string) (scoring.TextColumn, error) {
	if rec == nil {
		return nullText, nil
	}
	ci := scoring.FindColumn(rec, name)
	if ci < 0 {
		return nullText, nil
	}
	t, err := scoring.TextOf(rec.Column(ci))
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", name, err)
	}
	return t, nil
}

func (a *analysis) release() {
	a.d.release()
	for _, r := range []arrow.Record{a.scores, a.ids, a.ents, a.apps} {
		if r != nil {
			r.Release()
		}
	}
}

// pos returns the position of the valid assignment (u, e), or -1.
func (a *analysis) pos(u, e int32) int {
	if u < 0 || int(u)+1 >= len(a.userStart) {
		return -1
	}
	lo, hi := a.userStart[u], a.userStart[u+1]
	i, ok := slices.BinarySearch(a.d.ents[lo:hi], e)
	if !ok {
		return -1
	}
	return lo + i
}

// scored reports whether valid assignment i has a score.
func (a *analysis) scored(i int) bool { return a.freq[i] > 0 }

// score is the float64 score of valid assignment i (as predict-as-is
// writes it); NaN when unscored.
func (a *analysis) score(i int) float64 {
	if a.freq[i] <= 0 {
		return math.NaN()
	}
	return float64(a.fu[i]) / float64(a.freq[i])
}

// justification returns the justification items of valid assignment i.
func (a *analysis) justification(i int) []string {
	r := a.scoreRow[i]
	if r < 0 || a.just == nil || a.just.IsNull(int(r)) {
		return nil
	}
	lo, hi := a.just.ValueOffsets(int(r))
	out := make([]string, 0, hi-lo)
	for j := lo; j < hi; j++ {
		s, _ := a.justText(int(j))
		out = append(out, s)
	}
	return out
}

func (a *analysis) usr(u int32) string {
	s, _ := a.usrID(int(u))
	return s
}

func textOr(t scoring.TextColumn, i int) string {
	s, _ := t(i)
	return s
}

// loadAnalysis reads the current entity tables, the rules table at
// rulesPath and the assignment_scores table at scoresPath. The scores must
// be those of the current valid assignments (predict-as-is over the same
// entity generation).
func loadAnalysis(ctx context.Context, gen workspace.Generation, rulesPath, scoresPath string) (*analysis, error) {
	stored, err := scoring.ReadRules(ctx, rulesPath)
	if err != nil {
		return nil, err
	}
	d, err := loadRuleData(ctx, gen, nil, featuresOfRules(stored))
	if err != nil {
		return nil, err
	}
	a := &analysis{d: d, stored: stored}
	a.usrID, _ = scoring.TextOf(d.usrIDs)
	a.rules, _ = scoring.ResolveRules(stored, d.items, func(id string) (int32, bool) {
		e, ok := d.entIndex[id]
		return e, ok
	})
	nu := d.items.NumIdentities()
	a.userStart = make([]int, nu+1)
	for _, u := range d.users {
		a.userStart[u+1]++
	}
	for u := 0; u < nu; u++ {
		a.userStart[u+1] += a.userStart[u]
	}
	if err := a.readScores(ctx, scoresPath); err != nil {
		a.release()
		return nil, err
	}
	if err := a.readEntities(ctx, gen); err != nil {
		a.release()
		return nil, err
	}
	return a, nil
}

func (a *analysis) readScores(ctx context.Context, path string) error {
	rec, err := formats.ReadTable(ctx, path, []string{"usr_idx", "ent_idx", "freq", "frequnion", "justification"})
	if err != nil {
		return fmt.Errorf("assignment_scores: %w", err)
	}
	a.scores = rec
	uc, ok1 := rec.Column(0).(*array.Int32)
	ec, ok2 := rec.Column(1).(*array.Int32)
	fc, ok3 := rec.Column(2).(*array.Int64)
	fuc, ok4 := rec.Column(3).(*array.Int64)
	jl, ok5 := rec.Column(4).(*array.List)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 {
		return fmt.Errorf("assignment_scores %s: unexpected column types", path)
	}
	a.just = jl
	if a.justText, err = scoring.TextOf(jl.ListValues()); err != nil {
		return fmt.Errorf("assignment_scores %s: justification: %w", path, err)
	}
	n := len(a.d.users)
	a.freq, a.fu = make([]int64, n), make([]int64, n)
	a.scoreRow = make([]int32, n)
	for i := range a.scoreRow {
		a.scoreRow[i] = -1
	}
	rows := int(rec.NumRows())
	matched := 0
	for r := 0; r < rows; r++ {
		p := a.pos(uc.Value(r), ec.Value(r))
		if p < 0 || a.scoreRow[p] >= 0 {
			return fmt.Errorf("assignment_scores %s: row %d (usr_idx %d, ent_idx %d) is not a valid assignment of the current entity tables: run predict-as-is again", path, r, uc.Value(r), ec.Value(r))
		}
		matched++
		a.scoreRow[p] = int32(r)
		if !fc.IsNull(r) && !fuc.IsNull(r) && fc.Value(r) > 0 {
			a.freq[p], a.fu[p] = fc.Value(r), fuc.Value(r)
		}
	}
	if matched != n {
		return fmt.Errorf("assignment_scores %s: %d rows for %d valid assignments: run predict-as-is again", path, matched, n)
	}
	return nil
}

func (a *analysis) readEntities(ctx context.Context, gen workspace.Generation) error {
	var err error
	if a.ids, err = formats.ReadTable(ctx, gen.TablePath("identities"), nil); err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	if a.usrName, err = textColumn(a.ids, "usr_name"); err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	if a.usrManager, err = textColumn(a.ids, "usr_manager_id"); err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	a.usrIndex = make(map[string]int32, a.d.items.NumIdentities())
	for u := 0; u < a.d.items.NumIdentities(); u++ {
		a.usrIndex[a.usr(int32(u))] = int32(u)
	}
	if a.ents, err = formats.ReadTable(ctx, gen.TablePath("entitlements"), nil); err != nil {
		return fmt.Errorf("entitlements: %w", err)
	}
	for _, c := range []struct {
		name string
		dst  *scoring.TextColumn
	}{{"ent_name", &a.entName}, {"ent_owner_id", &a.entOwner}, {"app_id", &a.entApp}} {
		if *c.dst, err = textColumn(a.ents, c.name); err != nil {
			return fmt.Errorf("entitlements: %w", err)
		}
	}
	a.appName = map[string]string{}
	if gen.Has("applications") {
		if a.apps, err = formats.ReadTable(ctx, gen.TablePath("applications"), nil); err != nil {
			return fmt.Errorf("applications: %w", err)
		}
		id, err := textColumn(a.apps, "app_id")
		if err != nil {
			return fmt.Errorf("applications: %w", err)
		}
		name, err := textColumn(a.apps, "app_name")
		if err != nil {
			return fmt.Errorf("applications: %w", err)
		}
		for i := 0; i < int(a.apps.NumRows()); i++ {
			if k, ok := id(i); ok {
				a.appName[k] = textOr(name, i)
			}
		}
	}
	a.lastUsed = make([]int64, len(a.d.users))
	for i := range a.lastUsed {
		a.lastUsed[i] = math.MinInt64
	}
	if !gen.Has("assignments") {
		return nil
	}
	as, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx", "last_used"})
	if errors.Is(err, formats.ErrMissingColumn) {
		as, err = formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx"})
	}
	if err != nil {
		return fmt.Errorf("assignments: %w", err)
	}
	defer as.Release()
	a.received = as.NumRows()
	uc, ok1 := as.Column(0).(*array.Int32)
	ec, ok2 := as.Column(1).(*array.Int32)
	if !ok1 || !ok2 {
		return fmt.Errorf("assignments: usr_idx and ent_idx must be int32")
	}
	var lu *array.Timestamp
	if as.NumCols() > 2 {
		if lu, _ = as.Column(2).(*array.Timestamp); lu != nil {
			a.hasLastUsed = true
		}
	}
	if lu == nil {
		return nil
	}
	for r := 0; r < int(as.NumRows()); r++ {
		if uc.IsNull(r) || ec.IsNull(r) || lu.IsNull(r) {
			continue
		}
		if p := a.pos(uc.Value(r), ec.Value(r)); p >= 0 && a.lastUsed[p] == math.MinInt64 {
			a.lastUsed[p] = int64(lu.Value(r))
		}
	}
	return nil
}

// frac is a score frequnion/freq.
type frac struct{ num, den int64 }

// meanAtLeast reports mean(fs) >= r exactly; approx is the float mean,
// used when it is clearly on one side.
func meanAtLeast(fs []frac, r mining.Ratio, approx float64) bool {
	if len(fs) == 0 {
		return false
	}
	if t := r.Float(); math.Abs(approx-t) > 1e-9 {
		return approx > t
	}
	sum := new(big.Rat)
	for _, f := range fs {
		sum.Add(sum, big.NewRat(f.num, f.den))
	}
	sum.Quo(sum, big.NewRat(int64(len(fs)), 1))
	return sum.Cmp(new(big.Rat).SetFrac(new(big.Int).SetUint64(r.Num), new(big.Int).SetUint64(r.Den))) >= 0
}

// meanAtMost reports mean(fs) <= r exactly.
func meanAtMost(fs []frac, r mining.Ratio, approx float64) bool {
	if len(fs) == 0 {
		return false
	}
	if t := r.Float(); math.Abs(approx-t) > 1e-9 {
		return approx < t
	}
	sum := new(big.Rat)
	for _, f := range fs {
		sum.Add(sum, big.NewRat(f.num, f.den))
	}
	sum.Quo(sum, big.NewRat(int64(len(fs)), 1))
	return sum.Cmp(new(big.Rat).SetFrac(new(big.Int).SetUint64(r.Num), new(big.Int).SetUint64(r.Den))) <= 0
}

// meanOf is the float64 mean of fractions, summed in order.
func meanOf(fs []frac) float64 {
	if len(fs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, f := range fs {
		s += float64(f.num) / float64(f.den)
	}
	return s / float64(len(fs))
}

// textListArray builds a list<utf8> array of n rows.
func textListArray(n int, get func(i int) []string) arrow.Array {
	b := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	defer b.Release()
	vb := b.ValueBuilder().(*array.StringBuilder)
	for i := 0; i < n; i++ {
		b.Append(true)
		for _, s := range get(i) {
			vb.Append(s)
		}
	}
	return b.NewArray()
}

// textArray builds a utf8 array of n rows ("" is null).
func textArray(n int, get func(i int) string) arrow.Array {
	return formats.StringArray(n, func(i int) []byte { return []byte(get(i)) })
}

// mustRatio reads a parameter as an exact decimal ratio.
func mustRatio(name string, v float64) (mining.Ratio, error) {
	r, err := mining.RatioOf(v)
	if err != nil {
		return r, fmt.Errorf("parameter %s: %w", name, err)
	}
	return r, nil
}
