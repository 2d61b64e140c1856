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
	"github.com/autoid-oss/autoid/internal/pairindex"
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
	keys := pairindex.New(us, es)
	// Bands are numbered by their lower-case name; each spelling met, in
	// the scores or in the store, is converted once. Expected band per
	// assignment: unscored unless scored.
	names := []string{strings.ToLower(scoring.BandUnscored)}
	byName := map[string]uint8{names[0]: 0}
	bySpelling := map[string]uint8{}
	codeOf := func(spelling string) uint8 {
		if c, ok := bySpelling[spelling]; ok {
			return c
		}
		name := strings.ToLower(spelling)
		c, ok := byName[name]
		if !ok {
			c = uint8(len(names))
			byName[name] = c
			names = append(names, name)
		}
		bySpelling[strings.Clone(spelling)] = c
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
		for r := range su {
			if p := keys.Lookup(su[r], se[r]); p >= 0 {
				b, _ := band(r)
				want[p] = codeOf(b)
				wantScored[p] = score.IsValid(r)
			}
		}
	}
	rep := IndexReport{Published: int64(len(us)), ByBand: map[string]int64{}}
	seen := make([]bool, len(us))
	var byBand []int64 // entries per band code
	err = each(func(usrID, entID, bandBytes []byte, scored bool) error {
		c, ok := bySpelling[string(bandBytes)]
		if !ok {
			c = codeOf(string(bandBytes))
		}
		if int(c) >= len(byBand) {
			byBand = append(byBand, make([]int64, int(c)+1-len(byBand))...)
		}
		byBand[c]++
		rep.Entries++
		if !scored {
			rep.Unscored++
		}
		u, uok := users[string(usrID)]
		e, eok := ents[string(entID)]
		p := -1
		if uok && eok {
			p = keys.Lookup(u, e)
		}
		switch {
		case p < 0 || seen[p]:
			rep.MissingInAssignments++
		default:
			seen[p] = true
			if want[p] != c || wantScored[p] != scored {
				rep.Mismatched++
			}
		}
		return nil
	})
	if err != nil {
		return IndexReport{}, fmt.Errorf("assignment index report: %w", err)
	}
	for c, n := range byBand {
		if n > 0 {
			rep.ByBand[names[c]] = n
		}
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
	next := int32(0) // the number an unknown key gets
	for r, k := range idx {
		if s, ok := text(r); ok && k >= 0 {
			m[s] = k
			next = max(next, k+1)
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
	return slices.Clone(formats.DenseIDs(c)), nil
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
