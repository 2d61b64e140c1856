package stages

import (
	"fmt"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
)

// IndexReport is the reconciliation of the serving store's assignment
// index with the published assignments (section 11).
type IndexReport struct {
	RunID, Generation string // the served run and entity generation
	Entries           int64  // index entries
	Published         int64  // published assignments
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
