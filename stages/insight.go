package stages

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// Insight section names (sheet names of the workbook, ids in the HTML
// page, values of the insight table's section column), in report order.
const (
	SectionCounts         = "counts"
	SectionCoverage       = "coverage"
	SectionHistogram      = "score_histogram"
	SectionHighVolumeHigh = "high_volume_high"
	SectionHighVolumeLow  = "high_volume_low"
	SectionTopIdentities  = "top_identities"
	SectionTopAllHigh     = "top_identities_all_high"
	SectionTopAllLow      = "top_identities_all_low"
	SectionApplications   = "applications"
	SectionSupervisors    = "supervisors"
	SectionOwners         = "entitlement_owners"
	SectionGoldenRules    = "golden_rules"
)

// InsightSection is one section of the insight report: a table whose
// cells are string, int64, float64 or nil.
type InsightSection struct {
	Name    string
	Title   string
	Columns []string
	Rows    [][]any
}

// InsightResult is the insight report of section 8.
type InsightResult struct {
	Sections []InsightSection
	// Figures the charts use.
	Histogram                                  [20]int64
	Received, Invalid, Valid, Scored, Unscored int64
	EntsReceived, EntsScored                   int64
	// RoleCoverage and RoleAvgConfidence come from mine's role_summary;
	// HasRoles is false when no role_summary was given.
	HasRoles                        bool
	RoleCoverage, RoleAvgConfidence float64
	Duration                        time.Duration
}

// Section returns the section of that name, or nil.
func (r *InsightResult) Section(name string) *InsightSection {
	for i := range r.Sections {
		if r.Sections[i].Name == name {
			return &r.Sections[i]
		}
	}
	return nil
}

// Insight thresholds of section 8, as exact decimal ratios.
func insightAbove() mining.Ratio { return mining.Ratio{Num: 8, Den: 10} }  // score > 0.8
func insightBelow() mining.Ratio { return mining.Ratio{Num: 5, Den: 100} } // score < 0.05
func insightHVHi() mining.Ratio  { return mining.Ratio{Num: 9, Den: 10} }  // high-volume average >= 0.9; golden rules
func insightHVLo() mining.Ratio  { return mining.Ratio{Num: 2, Den: 10} }  // high-volume average <= 0.2

const (
	insightHighVolume = 100 // valid holders
	insightTopIDs     = 25
	insightMinAssign  = 10 // identities with more than this many valid assignments
	insightTopSup     = 25
	insightTopOwners  = 50
	insightTopRules   = 50
)

// Insight computes the report of section 8 from the current entity tables,
// the rules at rulesPath and the scores at scoresPath; roleSummaryPath,
// when not empty, is mine's role_summary table (for the coverage figures).
func Insight(ctx context.Context, gen workspace.Generation, cfg Config, rulesPath, scoresPath, roleSummaryPath string) (*InsightResult, error) {
	t0 := time.Now()
	high, err := mustRatio("high", cfg.High)
	if err != nil {
		return nil, fmt.Errorf("insight: %w", err)
	}
	medium, err := mustRatio("medium", cfg.Medium)
	if err != nil {
		return nil, fmt.Errorf("insight: %w", err)
	}
	bands := scoring.Bands{High: high, Medium: medium}
	a, err := loadAnalysis(ctx, gen, rulesPath, scoresPath, analysisNeeds{entities: true})
	if err != nil {
		return nil, fmt.Errorf("insight: %w", err)
	}
	defer a.release()
	r := &InsightResult{}
	if roleSummaryPath != "" {
		if err := r.readRoleSummary(ctx, roleSummaryPath); err != nil {
			return nil, fmt.Errorf("insight: %w", err)
		}
	}
	n := len(a.d.users)
	r.Received, r.Invalid, r.Valid = a.received, int64(a.d.invalid), int64(n)
	r.EntsReceived = int64(a.d.entIDs.Len())
	var above, below int64
	for p := 0; p < n; p++ {
		if !a.scored(p) {
			r.Unscored++
			continue
		}
		r.Scored++
		fu, fr := a.fu[p], a.freq[p]
		if !insightAbove().AtMost(fu, fr) {
			above++
		}
		if !insightBelow().AtLeast(fu, fr) {
			below++
		}
		r.Histogram[min(19, 20*fu/fr)]++
	}
	// Per entitlement: scored fractions.
	entScores := make([][]frac, len(a.d.holders))
	for e, ps := range a.positions() {
		for _, p := range ps {
			if a.scored(int(p)) {
				entScores[e] = append(entScores[e], frac{a.fu[p], a.freq[p]})
			}
		}
		if len(entScores[e]) > 0 {
			r.EntsScored++
		}
	}
	r.Sections = append(r.Sections, InsightSection{Name: SectionCounts, Title: "Populations", Columns: []string{"measure", "value"},
		Rows: [][]any{
			{"assignments_received", r.Received},
			{"assignments_invalid", r.Invalid},
			{"assignments_valid", r.Valid},
			{"assignments_scored", r.Scored},
			{"assignments_unscored", r.Unscored},
			{"entitlements_received", r.EntsReceived},
			{"entitlements_scored", r.EntsScored},
			{"entitlements_unscored", r.EntsReceived - r.EntsScored},
			{"valid_assignments_score_above_0.8", above},
			{"valid_assignments_score_below_0.05", below},
		}})
	cov := InsightSection{Name: SectionCoverage, Title: "Coverage", Columns: []string{"measure", "value"},
		Rows: [][]any{
			{"scored_share_of_valid_assignments", ratioOrNil(r.Scored, r.Valid)},
			{"scored_share_of_entitlements", ratioOrNil(r.EntsScored, r.EntsReceived)},
		}}
	if r.HasRoles {
		cov.Rows = append(cov.Rows, []any{"role_assignment_coverage", r.RoleCoverage},
			[]any{"role_average_assignment_confidence", floatOrNil(r.RoleAvgConfidence)})
	}
	r.Sections = append(r.Sections, cov)
	hist := InsightSection{Name: SectionHistogram, Title: "Score histogram (20 bins)", Columns: []string{"bin", "from", "to", "assignments"}}
	for b, c := range r.Histogram {
		hist.Rows = append(hist.Rows, []any{int64(b), float64(b) / 20, float64(b+1) / 20, c})
	}
	r.Sections = append(r.Sections, hist)
	r.Sections = append(r.Sections, highVolume(a, entScores, true), highVolume(a, entScores, false))
	r.Sections = append(r.Sections, topIdentities(a)...)
	r.Sections = append(r.Sections, applicationBands(a, bands), supervisors(a, bands), owners(a), goldenRules(a))
	r.Duration = time.Since(t0)
	return r, nil
}

func (r *InsightResult) readRoleSummary(ctx context.Context, path string) error {
	rec, err := formats.ReadTable(ctx, path, []string{"assignment_coverage", "average_assignment_confidence"})
	if err != nil {
		return fmt.Errorf("role_summary: %w", err)
	}
	defer rec.Release()
	if rec.NumRows() != 1 {
		return fmt.Errorf("role_summary %s: %d rows, want 1", path, rec.NumRows())
	}
	r.HasRoles = true
	if c, ok := rec.Column(0).(interface{ Value(int) float64 }); ok {
		r.RoleCoverage = c.Value(0)
	}
	r.RoleAvgConfidence = math.NaN()
	if c, ok := rec.Column(1).(interface{ Value(int) float64 }); ok && !rec.Column(1).IsNull(0) {
		r.RoleAvgConfidence = c.Value(0)
	}
	return nil
}

func ratioOrNil(a, b int64) any {
	if b == 0 {
		return nil
	}
	return float64(a) / float64(b)
}

func floatOrNil(x float64) any {
	if math.IsNaN(x) {
		return nil
	}
	return x
}

// highVolume lists entitlements with at least 100 valid holders whose
// average score (over the scored holders) is >= 0.9 (hi) or <= 0.2;
// ordered by valid holders desc, ent_id.
func highVolume(a *analysis, entScores [][]frac, hi bool) InsightSection {
	s := InsightSection{Name: SectionHighVolumeLow, Title: "High-volume entitlements with average score ≤ 0.2",
		Columns: []string{"ent_id", "ent_name", "app_id", "valid_holders", "scored_holders", "avg_score"}}
	if hi {
		s.Name, s.Title = SectionHighVolumeHigh, "High-volume entitlements with average score ≥ 0.9"
	}
	var ents []int32
	for e, h := range a.d.holders {
		fs := entScores[e]
		if len(h) < insightHighVolume || len(fs) == 0 {
			continue
		}
		avg := meanOf(fs)
		if hi && meanAtLeast(fs, insightHVHi(), avg) || !hi && meanAtMost(fs, insightHVLo(), avg) {
			ents = append(ents, int32(e))
		}
	}
	slices.SortStableFunc(ents, func(x, y int32) int { return cmp.Compare(len(a.d.holders[y]), len(a.d.holders[x])) })
	for _, e := range ents {
		s.Rows = append(s.Rows, []any{a.d.entID(e), textOr(a.entName, int(e)), textOr(a.entApp, int(e)),
			int64(len(a.d.holders[e])), int64(len(entScores[e])), meanOf(entScores[e])})
	}
	return s
}

// topIdentities: the top 25 identities with more than 10 valid assignments
// (count desc, usr_id), and the same restricted to identities whose
// assignments are all scored and > 0.8, and all scored and < 0.05.
func topIdentities(a *analysis) []InsightSection {
	cols := []string{"usr_id", "usr_name", "valid_assignments", "scored", "avg_score"}
	all := InsightSection{Name: SectionTopIdentities, Title: "Top identities by valid assignments (more than 10)", Columns: cols}
	allHigh := InsightSection{Name: SectionTopAllHigh, Title: "Top identities whose assignments are all scored > 0.8", Columns: cols}
	allLow := InsightSection{Name: SectionTopAllLow, Title: "Top identities whose assignments are all scored < 0.05", Columns: cols}
	var users []int32
	for u := 0; u+1 < len(a.userStart); u++ {
		if a.userStart[u+1]-a.userStart[u] > insightMinAssign {
			users = append(users, int32(u))
		}
	}
	count := func(u int32) int { return a.userStart[u+1] - a.userStart[u] }
	slices.SortStableFunc(users, func(x, y int32) int { return cmp.Compare(count(y), count(x)) })
	for _, u := range users {
		var fs []frac
		hiAll, loAll := true, true
		for p := a.userStart[u]; p < a.userStart[u+1]; p++ {
			if !a.scored(p) {
				hiAll, loAll = false, false
				continue
			}
			fs = append(fs, frac{a.fu[p], a.freq[p]})
			if insightAbove().AtMost(a.fu[p], a.freq[p]) {
				hiAll = false
			}
			if insightBelow().AtLeast(a.fu[p], a.freq[p]) {
				loAll = false
			}
		}
		row := []any{a.usr(u), textOr(a.usrName, int(u)), int64(count(u)), int64(len(fs)), floatOrNil(meanOf(fs))}
		if len(all.Rows) < insightTopIDs {
			all.Rows = append(all.Rows, row)
		}
		if hiAll && len(allHigh.Rows) < insightTopIDs {
			allHigh.Rows = append(allHigh.Rows, row)
		}
		if loAll && len(allLow.Rows) < insightTopIDs {
			allLow.Rows = append(allLow.Rows, row)
		}
	}
	return []InsightSection{all, allHigh, allLow}
}

func bandIndex(b string) int {
	switch b {
	case scoring.BandHigh:
		return 0
	case scoring.BandMedium:
		return 1
	case scoring.BandLow:
		return 2
	}
	return 3
}

func (a *analysis) band(p int, bands scoring.Bands) string {
	if !a.scored(p) {
		return scoring.BandUnscored
	}
	return bands.Of(a.fu[p], a.freq[p])
}

// applicationBands: per application (of the entitlement), valid
// assignments per band; ordered by app_id ("" last: no application).
func applicationBands(a *analysis, bands scoring.Bands) InsightSection {
	s := InsightSection{Name: SectionApplications, Title: "Assignments per application and band",
		Columns: []string{"app_id", "app_name", "High", "Medium", "Low", "Unscored", "total"}}
	counts := map[string]*[5]int64{}
	for p, e := range a.d.ents {
		app := textOr(a.entApp, int(e))
		c := counts[app]
		if c == nil {
			c = &[5]int64{}
			counts[app] = c
		}
		c[bandIndex(a.band(p, bands))]++
		c[4]++
	}
	apps := make([]string, 0, len(counts))
	for k := range counts {
		apps = append(apps, k)
	}
	slices.SortFunc(apps, func(x, y string) int {
		if (x == "") != (y == "") {
			if x == "" {
				return 1
			}
			return -1
		}
		return strings.Compare(x, y)
	})
	for _, app := range apps {
		c := counts[app]
		s.Rows = append(s.Rows, []any{app, a.appName[app], c[0], c[1], c[2], c[3], c[4]})
	}
	return s
}

// supervisors: the top 25 usr_manager_id values by direct reports
// (desc, id), with the band counts of their reports' valid assignments.
func supervisors(a *analysis, bands scoring.Bands) InsightSection {
	s := InsightSection{Name: SectionSupervisors, Title: "Top supervisors by direct reports",
		Columns: []string{"usr_id", "usr_name", "direct_reports", "High", "Medium", "Low", "Unscored"}}
	reports := map[string][]int32{}
	for u := 0; u < a.d.items.NumIdentities(); u++ {
		if m, ok := a.usrManager(u); ok {
			reports[m] = append(reports[m], int32(u))
		}
	}
	ids := make([]string, 0, len(reports))
	for k := range reports {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, func(x, y string) int {
		if c := cmp.Compare(len(reports[y]), len(reports[x])); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	for _, m := range ids[:min(len(ids), insightTopSup)] {
		var c [4]int64
		for _, u := range reports[m] {
			for p := a.userStart[u]; p < a.userStart[u+1]; p++ {
				c[bandIndex(a.band(p, bands))]++
			}
		}
		name := ""
		if u, ok := a.usrIndex[m]; ok {
			name = textOr(a.usrName, int(u))
		}
		s.Rows = append(s.Rows, []any{m, name, int64(len(reports[m])), c[0], c[1], c[2], c[3]})
	}
	return s
}

// owners: the top 50 entitlement owners by valid assignments of the
// entitlements they own (desc, owner id).
func owners(a *analysis) InsightSection {
	s := InsightSection{Name: SectionOwners, Title: "Top entitlement owners by valid assignments",
		Columns: []string{"owner_id", "owner_name", "entitlements", "valid_assignments"}}
	type agg struct{ ents, assigns int64 }
	by := map[string]*agg{}
	for e, h := range a.d.holders {
		o, ok := a.entOwner(e)
		if !ok {
			continue
		}
		g := by[o]
		if g == nil {
			g = &agg{}
			by[o] = g
		}
		g.ents++
		g.assigns += int64(len(h))
	}
	ids := make([]string, 0, len(by))
	for k := range by {
		ids = append(ids, k)
	}
	slices.SortFunc(ids, func(x, y string) int {
		if c := cmp.Compare(by[y].assigns, by[x].assigns); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	for _, o := range ids[:min(len(ids), insightTopOwners)] {
		name := ""
		if u, ok := a.usrIndex[o]; ok {
			name = textOr(a.usrName, int(u))
		}
		s.Rows = append(s.Rows, []any{o, name, by[o].ents, by[o].assigns})
	}
	return s
}

// goldenRules: stemmed rules with confidence >= 0.9 by freq desc,
// confidence desc, ent_id, items; the top 50.
func goldenRules(a *analysis) InsightSection {
	s := InsightSection{Name: SectionGoldenRules, Title: "Golden rules (confidence ≥ 0.9)",
		Columns: []string{"ent_id", "items", "freq", "frequnion", "confidence"}}
	var rs []*scoring.StoredRule
	for i := range a.stored {
		r := &a.stored[i]
		if r.Freq > 0 && insightHVHi().AtLeast(r.Frequnion, r.Freq) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(x, y *scoring.StoredRule) int {
		if c := cmp.Compare(y.Freq, x.Freq); c != 0 {
			return c
		}
		if c := mining.CompareRatios(y.Frequnion, y.Freq, x.Frequnion, x.Freq); c != 0 {
			return c
		}
		if c := strings.Compare(x.EntID, y.EntID); c != 0 {
			return c
		}
		return slices.Compare(x.Items, y.Items)
	})
	for _, r := range rs[:min(len(rs), insightTopRules)] {
		s.Rows = append(s.Rows, []any{r.EntID, strings.Join(r.Items, " "), r.Freq, r.Frequnion, float64(r.Frequnion) / float64(r.Freq)})
	}
	return s
}

// cellText formats a cell; full precision for floats unless display.
func cellText(v any, display bool) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if display {
			return strconv.FormatFloat(x, 'f', 4, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// Record builds the insight table: section, row, key, value — one row per
// cell of every section, in report order; key is the section's column
// name, row the 0-based row within the section, value the cell as text
// (numbers in full precision, null as null).
func (r *InsightResult) Record() arrow.Record {
	var sec, key, val []string
	var row []int64
	for _, s := range r.Sections {
		for i, cells := range s.Rows {
			for j, c := range cells {
				sec = append(sec, s.Name)
				row = append(row, int64(i))
				key = append(key, s.Columns[j])
				val = append(val, cellText(c, false))
			}
		}
	}
	n := len(sec)
	fields := []arrow.Field{
		{Name: "section", Type: arrow.BinaryTypes.String},
		{Name: "row", Type: arrow.PrimitiveTypes.Int64},
		{Name: "key", Type: arrow.BinaryTypes.String},
		{Name: "value", Type: arrow.BinaryTypes.String, Nullable: true},
	}
	arrs := []arrow.Array{
		textArray(n, func(i int) string { return sec[i] }),
		formats.Int64Array(row, 0, false),
		textArray(n, func(i int) string { return key[i] }),
		textArray(n, func(i int) string { return val[i] }),
	}
	return recordOf(fields, arrs, n)
}

// WriteText writes the report as text: each section as an aligned table.
func (r *InsightResult) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range r.Sections {
		fmt.Fprintf(tw, "== %s (%s)\n", s.Title, s.Name)
		fmt.Fprintln(tw, strings.Join(s.Columns, "\t"))
		if len(s.Rows) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		for _, cells := range s.Rows {
			parts := make([]string, len(cells))
			for j, c := range cells {
				parts[j] = strings.NewReplacer("\t", " ", "\n", " ").Replace(cellText(c, true))
			}
			fmt.Fprintln(tw, strings.Join(parts, "\t"))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// Summary writes the human-readable summary of insight.
func (r *InsightResult) Summary(w io.Writer) {
	fmt.Fprintf(w, "insight: %d assignments received, %d invalid, %d valid (%d scored, %d unscored); %d of %d entitlements scored; %.3fs\n",
		r.Received, r.Invalid, r.Valid, r.Scored, r.Unscored, r.EntsScored, r.EntsReceived, r.Duration.Seconds())
}
