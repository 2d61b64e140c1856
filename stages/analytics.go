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
	// frequnion/freq (freq 0: unscored).
	freq, fu []int64
	// holderPos[e][i] is the position of the valid assignment
	// (holders[e][i], e); built on demand by positions.
	holderPos [][]int32
	// ruleStart: the resolved rules of entitlement e are
	// rules[ruleStart[e]:ruleStart[e+1]]; built on demand.
	ruleStart []int

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
	for _, r := range []arrow.Record{a.ids, a.ents, a.apps} {
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

// positions builds holderPos: per entitlement, the positions of its valid
// assignments in the order of holders.
func (a *analysis) positions() [][]int32 {
	if a.holderPos != nil {
		return a.holderPos
	}
	flat := make([]int32, len(a.d.ents))
	a.holderPos = make([][]int32, len(a.d.holders))
	off := 0
	for e, h := range a.d.holders {
		a.holderPos[e] = flat[off : off : off+len(h)]
		off += len(h)
	}
	for p, e := range a.d.ents {
		a.holderPos[e] = append(a.holderPos[e], int32(p))
	}
	return a.holderPos
}

// justification returns the justification of valid assignment i: the
// antecedent of the rule predict-as-is chose. That rule matches the
// identity and has the assignment's freq and frequnion; every other
// matching rule with the same freq and frequnion ties with it on
// confidence, frequnion and freq, so the tie-break of section 4 leaves the
// shortest antecedent, then the smallest element by element. Nil when
// unscored.
func (a *analysis) justification(i int) []string {
	if !a.scored(i) {
		return nil
	}
	if a.ruleStart == nil {
		if !slices.IsSortedFunc(a.rules, func(x, y scoring.Rule) int { return int(x.Ent) - int(y.Ent) }) {
			slices.SortStableFunc(a.rules, func(x, y scoring.Rule) int { return int(x.Ent) - int(y.Ent) })
		}
		a.ruleStart = make([]int, len(a.d.holders)+1)
		for _, r := range a.rules {
			a.ruleStart[r.Ent+1]++
		}
		for e := range len(a.d.holders) {
			a.ruleStart[e+1] += a.ruleStart[e]
		}
	}
	e, items := a.d.ents[i], a.d.items.Of(int(a.d.users[i]))
	var best *scoring.Rule
	for k := a.ruleStart[e]; k < a.ruleStart[e+1]; k++ {
		r := &a.rules[k]
		if r.Freq != a.freq[i] || r.Frequnion != a.fu[i] || !subsetOf(r.Items, items) {
			continue
		}
		if best == nil || len(r.Items) < len(best.Items) || len(r.Items) == len(best.Items) && slices.Compare(r.Items, best.Items) < 0 {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return a.d.items.Strings(best.Items)
}

// subsetOf reports whether the ascending list x is contained in the
// ascending list y.
func subsetOf(x, y []int32) bool {
	j := 0
	for _, v := range x {
		for j < len(y) && y[j] < v {
			j++
		}
		if j == len(y) || y[j] != v {
			return false
		}
		j++
	}
	return true
}

func (a *analysis) usr(u int32) string {
	s, _ := a.usrID(int(u))
	return s
}

func textOr(t scoring.TextColumn, i int) string {
	s, _ := t(i)
	return s
}

// analysisNeeds says which optional inputs a job reads.
type analysisNeeds struct {
	entities bool // names of identities, managers, entitlements, owners, applications
	lastUsed bool // last_used of the valid assignments
}

// loadAnalysis reads the current entity tables, the rules table at
// rulesPath and the assignment_scores table at scoresPath. The scores must
// be those of the current valid assignments (predict-as-is over the same
// entity generation).
func loadAnalysis(ctx context.Context, gen workspace.Generation, rulesPath, scoresPath string, need analysisNeeds) (*analysis, error) {
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
	if err := a.readEntities(ctx, gen, need); err != nil {
		a.release()
		return nil, err
	}
	return a, nil
}

func (a *analysis) readScores(ctx context.Context, path string) error {
	rec, err := formats.ReadTable(ctx, path, []string{"usr_idx", "ent_idx", "freq", "frequnion"})
	if err != nil {
		return fmt.Errorf("assignment_scores: %w", err)
	}
	defer rec.Release()
	uc, ok1 := rec.Column(0).(*array.Int32)
	ec, ok2 := rec.Column(1).(*array.Int32)
	fc, ok3 := rec.Column(2).(*array.Int64)
	fuc, ok4 := rec.Column(3).(*array.Int64)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return fmt.Errorf("assignment_scores %s: unexpected column types", path)
	}
	n := len(a.d.users)
	a.freq, a.fu = make([]int64, n), make([]int64, n)
	seen := make([]bool, n)
	rows := int(rec.NumRows())
	us, es := uc.Int32Values(), ec.Int32Values()
	fs, fus := fc.Int64Values(), fuc.Int64Values()
	for r := 0; r < rows; r++ {
		u, e := us[r], es[r]
		// predict-as-is writes the valid assignments in their order: row
		// r is position r, else look it up.
		p := r
		if r >= n || a.d.users[r] != u || a.d.ents[r] != e || uc.IsNull(r) || ec.IsNull(r) {
			if p = a.pos(u, e); uc.IsNull(r) || ec.IsNull(r) {
				p = -1
			}
		}
		if p < 0 || seen[p] {
			return fmt.Errorf("assignment_scores %s: row %d (usr_idx %d, ent_idx %d) is not a valid assignment of the current entity tables: run predict-as-is again", path, r, u, e)
		}
		seen[p] = true
		if fs[r] > 0 && !fc.IsNull(r) && !fuc.IsNull(r) {
			a.freq[p], a.fu[p] = fs[r], fus[r]
		}
	}
	if rows != n {
		return fmt.Errorf("assignment_scores %s: %d rows for %d valid assignments: run predict-as-is again", path, rows, n)
	}
	return nil
}

// readColumns reads the named columns of a table that exist (a missing one
// reads as null).
func readColumns(ctx context.Context, path string, names []string) (arrow.Record, error) {
	r, closeFn, err := formats.OpenParquet(path)
	if err != nil {
		return nil, err
	}
	schema, err := r.Schema()
	closeFn()
	if err != nil {
		return nil, err
	}
	var have []string
	for _, n := range names {
		if len(schema.FieldIndices(n)) > 0 {
			have = append(have, n)
		}
	}
	return formats.ReadTable(ctx, path, have)
}

// tableRows returns the number of rows of a table from its metadata.
func tableRows(path string) (int64, error) {
	r, closeFn, err := formats.OpenParquet(path)
	if err != nil {
		return 0, err
	}
	defer closeFn()
	return r.ParquetReader().NumRows(), nil
}

func (a *analysis) readEntities(ctx context.Context, gen workspace.Generation, need analysisNeeds) error {
	var err error
	a.usrName, a.usrManager, a.entName, a.entOwner, a.entApp = nullText, nullText, nullText, nullText, nullText
	a.appName = map[string]string{}
	if gen.Has("assignments") {
		if a.received, err = tableRows(gen.TablePath("assignments")); err != nil {
			return fmt.Errorf("assignments: %w", err)
		}
	}
	if need.entities {
		if err := a.readNames(ctx, gen); err != nil {
			return err
		}
	}
	if need.lastUsed {
		return a.readLastUsed(ctx, gen)
	}
	return nil
}

func (a *analysis) readNames(ctx context.Context, gen workspace.Generation) error {
	var err error
	if a.ids, err = readColumns(ctx, gen.TablePath("identities"), []string{"usr_name", "usr_manager_id"}); err != nil {
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
	if a.ents, err = readColumns(ctx, gen.TablePath("entitlements"), []string{"ent_name", "ent_owner_id", "app_id"}); err != nil {
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
	if gen.Has("applications") {
		if a.apps, err = readColumns(ctx, gen.TablePath("applications"), []string{"app_id", "app_name"}); err != nil {
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
	return nil
}

func (a *analysis) readLastUsed(ctx context.Context, gen workspace.Generation) error {
	a.lastUsed = make([]int64, len(a.d.users))
	for i := range a.lastUsed {
		a.lastUsed[i] = math.MinInt64
	}
	if !gen.Has("assignments") {
		return nil
	}
	as, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{"usr_idx", "ent_idx", "last_used"})
	if errors.Is(err, formats.ErrMissingColumn) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("assignments: %w", err)
	}
	defer as.Release()
	uc, ok1 := as.Column(0).(*array.Int32)
	ec, ok2 := as.Column(1).(*array.Int32)
	lu, ok3 := as.Column(2).(*array.Timestamp)
	if !ok1 || !ok2 {
		return fmt.Errorf("assignments: usr_idx and ent_idx must be int32")
	}
	if !ok3 {
		return nil
	}
	a.hasLastUsed = true
	us, es, ls := uc.Int32Values(), ec.Int32Values(), lu.TimestampValues()
	// Valid rows come first, in the order of the valid assignments.
	n := len(a.d.users)
	for r := 0; r < int(as.NumRows()); r++ {
		if uc.IsNull(r) || ec.IsNull(r) || lu.IsNull(r) {
			continue
		}
		p := r
		if r >= n || a.d.users[r] != us[r] || a.d.ents[r] != es[r] {
			p = a.pos(us[r], es[r])
		}
		if p >= 0 && a.lastUsed[p] == math.MinInt64 {
			a.lastUsed[p] = int64(ls[r])
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

// textArray builds a utf8 array of n rows ("" is null), sizing its
// buffers once.
func textArray(n int, get func(i int) string) arrow.Array {
	vals := make([]string, n)
	total := 0
	for i := range vals {
		vals[i] = get(i)
		total += len(vals[i])
	}
	offsets := make([]int32, n+1)
	data := make([]byte, 0, total)
	valid := make([]byte, (n+7)/8)
	nulls := 0
	for i, v := range vals {
		data = append(data, v...)
		offsets[i+1] = int32(len(data))
		if v == "" {
			nulls++
		} else {
			valid[i/8] |= 1 << (i % 8)
		}
	}
	d := array.NewData(arrow.BinaryTypes.String, n,
		[]*memory.Buffer{memory.NewBufferBytes(valid), memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)},
		nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// mustRatio reads a parameter as an exact decimal ratio.
func mustRatio(name string, v float64) (mining.Ratio, error) {
	r, err := mining.RatioOf(v)
	if err != nil {
		return r, fmt.Errorf("parameter %s: %w", name, err)
	}
	return r, nil
}
