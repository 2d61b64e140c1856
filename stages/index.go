package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// IndexReport is the reconciliation of the serving store's assignment
// index with the assignments the run published (section 11).
type IndexReport struct {
	RunID, Generation string // the served run and entity generation
	Entries           int64  // index entries
	Published         int64  // assignments of the generation the run published
	ByBand            map[string]int64
	Unscored          int64
	// Must all be zero.
	MissingInIndex, MissingInAssignments, Mismatched int64
}

// OK reports whether the index and the published assignments agree.
func (r IndexReport) OK() bool {
	return r.MissingInIndex == 0 && r.MissingInAssignments == 0 && r.Mismatched == 0 && r.Entries == r.Published
}

type indexMeasure struct {
	name  string
	value int64
}

func (r IndexReport) measures() []indexMeasure {
	m := []indexMeasure{{"index_entries", r.Entries}, {"published_assignments", r.Published}}
	bands := make([]string, 0, len(r.ByBand))
	for b := range r.ByBand {
		bands = append(bands, b)
	}
	sort.Strings(bands)
	for _, b := range bands {
		m = append(m, indexMeasure{"band_" + b, r.ByBand[b]})
	}
	return append(m, indexMeasure{"unscored", r.Unscored}, indexMeasure{"missing_in_index", r.MissingInIndex},
		indexMeasure{"missing_in_assignments", r.MissingInAssignments}, indexMeasure{"mismatched", r.Mismatched})
}

// Record builds the assignment_index_report table: measure, value, in the
// order index_entries, published_assignments, band_<band> per band of the
// index (sorted), unscored, missing_in_index, missing_in_assignments,
// mismatched.
func (r IndexReport) Record() arrow.Record {
	m := r.measures()
	vals := make([]int64, len(m))
	for i := range m {
		vals[i] = m[i].value
	}
	fields := []arrow.Field{
		{Name: "measure", Type: arrow.BinaryTypes.String},
		{Name: "value", Type: arrow.PrimitiveTypes.Int64},
	}
	arrs := []arrow.Array{
		textArray(len(m), func(i int) string { return m[i].name }),
		formats.Int64Array(vals, 0, false),
	}
	return recordOf(fields, arrs, len(m))
}

// Summary writes the human-readable reconciliation.
func (r IndexReport) Summary(w io.Writer) {
	status := "consistent"
	if !r.OK() {
		status = "INCONSISTENT"
	}
	fmt.Fprintf(w, "create-assignment-index-report: index of %s (generation %s) is %s\n", r.RunID, r.Generation, status)
	for _, m := range r.measures() {
		fmt.Fprintf(w, "  %-24s %10d\n", m.name, m.value)
	}
}

// IndexEntryFunc receives one entry of the serving store's assignment
// index: its key, band and whether it has a score. The slices are only
// valid during the call.
type IndexEntryFunc func(usrID, entID, band []byte, scored bool) error

// ReconcileIndex compares the serving store's assignment index with what
// the run computed: every assignment of the generation's assignments
// table must have exactly one entry, with the band and scored state of its
// row in the assignment_scores table at scoresPath ("": no run scored, so
// every entry is unscored; an assignment without a score row, such as one
// audit marked invalid, is unscored). each streams the index entries to
// the function it is given. The report counts entries per band, the
// unscored ones, and the assignments missing on either side or differing.
func ReconcileIndex(ctx context.Context, gen workspace.Generation, scoresPath string, each func(IndexEntryFunc) error) (IndexReport, error) {
	users, ents := map[string]int32{}, map[string]int32{}
	us, err := keyNumbers(ctx, gen, "identities", "usr", users)
	if err != nil {
		return IndexReport{}, fmt.Errorf("assignment index report: %w", err)
	}
	es, err := keyNumbers(ctx, gen, "entitlements", "ent", ents)
	if err != nil {
		return IndexReport{}, fmt.Errorf("assignment index report: %w", err)
	}
	nu := len(users)
	for _, u := range us {
		nu = max(nu, int(u)+1)
	}
	keys := newPairIndex(us, es, nu)
	// Expected band per assignment (slot of keys): unscored unless scored.
	const unscored = 0
	bandNames := []string{strings.ToLower(scoring.BandUnscored)}
	bandCode := map[string]uint8{bandNames[0]: unscored}
	codeOf := func(b string) uint8 {
		b = strings.ToLower(b)
		c, ok := bandCode[b]
		if !ok {
			c = uint8(len(bandNames))
			bandCode[b] = c
			bandNames = append(bandNames, b)
		}
		return c
	}
	want := make([]uint8, len(us))
	wantScored := make([]bool, len(us))
	if scoresPath != "" {
		// Scores of this generation carry its dense ids; others are
		// matched by key text.
		cols := []string{"usr_id", "ent_id", "band", "score"}
		dense := scoresGeneration(scoresPath) == gen.Name
		if dense {
			cols = []string{"usr_idx", "ent_idx", "band", "score"}
		}
		sc, err := formats.ReadTable(ctx, scoresPath, cols)
		if err != nil {
			return IndexReport{}, fmt.Errorf("assignment index report: %w", err)
		}
		defer sc.Release()
		var su, se []int32
		var err1, err2 error
		if dense {
			su, err1 = int32Values(sc.Column(0))
			se, err2 = int32Values(sc.Column(1))
		} else {
			su, err1 = numberColumn(sc.Column(0), users, false)
			se, err2 = numberColumn(sc.Column(1), ents, false)
		}
		band, err3 := scoring.TextOf(sc.Column(2))
		if err := errors.Join(err1, err2, err3); err != nil {
			return IndexReport{}, fmt.Errorf("assignment index report: assignment_scores %s: %w", scoresPath, err)
		}
		score := sc.Column(3)
		// Band spellings of the scores table, converted once.
		codes := map[string]uint8{}
		for r := range su {
			if slot := keys.lookup(su[r], se[r]); slot >= 0 {
				b, _ := band(r)
				c, ok := codes[b]
				if !ok {
					c = codeOf(b)
					codes[strings.Clone(b)] = c
				}
				want[slot] = c
				wantScored[slot] = score.IsValid(r)
			}
		}
	}
	rep := IndexReport{Published: int64(len(us)), ByBand: map[string]int64{}}
	seen := make([]bool, len(us))
	// Band names as the store spells them -> lower case, each spelling
	// converted once.
	spelled := map[string]string{}
	err = each(func(usrID, entID, bandBytes []byte, scored bool) error {
		band, ok := spelled[string(bandBytes)]
		if !ok {
			band = strings.ToLower(string(bandBytes))
			spelled[string(bandBytes)] = band
		}
		rep.Entries++
		rep.ByBand[band]++
		if !scored {
			rep.Unscored++
		}
		u, uok := users[string(usrID)]
		e, eok := ents[string(entID)]
		slot := -1
		if uok && eok {
			slot = keys.lookup(u, e)
		}
		switch {
		case slot < 0 || seen[slot]:
			rep.MissingInAssignments++
		default:
			seen[slot] = true
			if want[slot] != codeOf(band) || wantScored[slot] != scored {
				rep.Mismatched++
			}
		}
		return nil
	})
	if err != nil {
		return IndexReport{}, fmt.Errorf("assignment index report: %w", err)
	}
	for _, ok := range seen {
		if !ok {
			rep.MissingInIndex++
		}
	}
	return rep, nil
}

// numberColumn numbers the distinct texts of a text column in m (adding
// new ones when add, else -1 for a text m lacks) and returns each row's
// number. A dictionary column is numbered per dictionary entry.
func numberColumn(arr arrow.Array, m map[string]int32, add bool) ([]int32, error) {
	num := func(s string) int32 {
		k, ok := m[s]
		if !ok {
			if !add {
				return -1
			}
			k = int32(len(m))
			m[s] = k
		}
		return k
	}
	out := make([]int32, arr.Len())
	if d, ok := arr.(*array.Dictionary); ok {
		text, err := scoring.TextOf(d.Dictionary())
		if err != nil {
			return nil, err
		}
		byEntry := make([]int32, d.Dictionary().Len())
		for k := range byEntry {
			byEntry[k] = -2 // not yet numbered
		}
		for i := range out {
			k := d.GetValueIndex(i)
			if byEntry[k] == -2 {
				s, _ := text(k)
				byEntry[k] = num(s)
			}
			out[i] = byEntry[k]
		}
		return out, nil
	}
	text, err := scoring.TextOf(arr)
	if err != nil {
		return nil, err
	}
	for i := range out {
		s, _ := text(i)
		out[i] = num(s)
	}
	return out, nil
}

// keyNumbers numbers the identity (prefix "usr") or entitlement ("ent")
// of each assignment of the generation: its dense id (<prefix>_idx), which
// numbers the entity table's keys in m, or, where audit left it null (an
// unknown key), a number past them given to its key text.
func keyNumbers(ctx context.Context, gen workspace.Generation, table, prefix string, m map[string]int32) ([]int32, error) {
	ent, err := formats.ReadTable(ctx, gen.TablePath(table), []string{prefix + "_idx", prefix + "_id"})
	if err != nil {
		return nil, err
	}
	defer ent.Release()
	idx, err := int32Values(ent.Column(0))
	if err != nil {
		return nil, fmt.Errorf("%s %s_idx: %w", table, prefix, err)
	}
	text, err := scoring.TextOf(ent.Column(1))
	if err != nil {
		return nil, fmt.Errorf("%s %s_id: %w", table, prefix, err)
	}
	for r, k := range idx {
		if s, ok := text(r); ok && k >= 0 {
			m[s] = k
		}
	}
	asg, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{prefix + "_idx"})
	if err != nil {
		return nil, err
	}
	defer asg.Release()
	out, err := int32Values(asg.Column(0))
	if err != nil {
		return nil, fmt.Errorf("assignments %s_idx: %w", prefix, err)
	}
	if asg.Column(0).NullN() == 0 {
		return out, nil
	}
	ids, err := formats.ReadTable(ctx, gen.TablePath("assignments"), []string{prefix + "_id"})
	if err != nil {
		return nil, err
	}
	defer ids.Release()
	next := int32(0)
	for _, k := range m {
		next = max(next, k+1)
	}
	byText, err := scoring.TextOf(ids.Column(0))
	if err != nil {
		return nil, fmt.Errorf("assignments %s_id: %w", prefix, err)
	}
	for r := range out {
		if out[r] >= 0 {
			continue
		}
		s, _ := byText(r)
		k, ok := m[s]
		if !ok {
			k = next
			next++
			m[s] = k
		}
		out[r] = k
	}
	return out, nil
}

// int32Values copies an Int32 column, null as -1.
func int32Values(a arrow.Array) ([]int32, error) {
	c, ok := a.(*array.Int32)
	if !ok {
		return nil, fmt.Errorf("type %s, want int32", a.DataType())
	}
	out := slices.Clone(c.Int32Values())
	if c.NullN() > 0 {
		for i := range out {
			if c.IsNull(i) {
				out[i] = -1
			}
		}
	}
	return out, nil
}

// scoresGeneration is the entity generation of the run that wrote the
// table at path ("" when its manifest does not say).
func scoresGeneration(path string) string {
	var m workspace.RunManifest
	if workspace.ReadJSON(filepath.Join(filepath.Dir(path), "manifest.json"), &m) != nil {
		return ""
	}
	return m.Generation
}

// pairIndex finds the slot of a (user, entitlement) pair of numbers: the
// pairs of each user are a range of slots, sorted by entitlement.
type pairIndex struct {
	start []int32
	ent   []int32
}

// newPairIndex indexes the pairs (us[i], es[i]); nu is the number of users.
// Slot numbers are positions in the sorted order, not input rows.
func newPairIndex(us, es []int32, nu int) *pairIndex {
	k := &pairIndex{start: make([]int32, nu+1), ent: make([]int32, len(us))}
	for _, u := range us {
		k.start[u+1]++
	}
	for u := 1; u <= nu; u++ {
		k.start[u] += k.start[u-1]
	}
	next := append([]int32(nil), k.start[:nu]...)
	for i, u := range us {
		k.ent[next[u]] = es[i]
		next[u]++
	}
	for u := 0; u < nu; u++ {
		slices.Sort(k.ent[k.start[u]:k.start[u+1]])
	}
	return k
}

// lookup returns the slot of (u, e), or -1.
func (k *pairIndex) lookup(u, e int32) int {
	if u < 0 || e < 0 || int(u)+1 >= len(k.start) {
		return -1
	}
	lo, hi := k.start[u], k.start[u+1]
	i, ok := slices.BinarySearch(k.ent[lo:hi], e)
	if !ok {
		return -1
	}
	return int(lo) + i
}
