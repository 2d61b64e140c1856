package pipeline

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/internal/pgtest"
	"github.com/autoid-oss/autoid/internal/shared"
	"github.com/autoid-oss/autoid/model"
	"github.com/autoid-oss/autoid/stages"
	"github.com/autoid-oss/autoid/store"
	"github.com/autoid-oss/autoid/workspace"
)

// cols reads the named columns of a Parquet table as Go values per row:
// text as string (null as nil), integers as int64, floats as float64,
// lists of text as []string, timestamps as int64.
func cols(t *testing.T, path string, names ...string) [][]any {
	t.Helper()
	rec, err := formats.ReadTable(context.Background(), path, names)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	rows := make([][]any, rec.NumRows())
	for i := range rows {
		rows[i] = make([]any, len(names))
	}
	for c := range names {
		get := cellReader(t, rec.Column(c))
		for i := range rows {
			rows[i][c] = get(i)
		}
	}
	return rows
}

func cellReader(t *testing.T, a arrow.Array) func(int) any {
	t.Helper()
	switch c := a.(type) {
	case *array.String:
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return c.Value(i)
		}
	case *array.Dictionary:
		dict := cellReader(t, c.Dictionary())
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return dict(c.GetValueIndex(i))
		}
	case *array.Int32:
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return int64(c.Value(i))
		}
	case *array.Int64:
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return c.Value(i)
		}
	case *array.Timestamp:
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return int64(c.Value(i))
		}
	case *array.Float64:
		return func(i int) any {
			if c.IsNull(i) {
				return nil
			}
			return c.Value(i)
		}
	case *array.List:
		vals := cellReader(t, c.ListValues())
		return func(i int) any {
			out := []string{}
			if c.IsNull(i) {
				return out
			}
			lo, hi := c.ValueOffsets(i)
			for j := lo; j < hi; j++ {
				s, _ := vals(int(j)).(string)
				out = append(out, s)
			}
			return out
		}
	}
	t.Fatalf("column type %s not handled", a.DataType())
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// showcaseWorkspace ingests the showcase sample with its mapping.
func showcaseWorkspace(t *testing.T) *workspace.Workspace {
	t.Helper()
	dir := shared.Showcase(t)
	m, err := stages.LoadMapping(shared.MappingFile())
	if err != nil {
		t.Fatal(err)
	}
	ws, err := workspace.Open(filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := stages.DirSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stages.Ingest(context.Background(), ws, stages.IngestOptions{Source: src, Mapping: m}); err != nil {
		t.Fatal(err)
	}
	return ws
}

func runJobs(t *testing.T, ws *workspace.Workspace, dbURL string, jobs ...string) workspace.Run {
	t.Helper()
	run, err := NewRegistry().Run(context.Background(), ws, Options{Jobs: jobs, Out: io.Discard, DatabaseURL: dbURL})
	if err != nil {
		t.Fatalf("run %v: %v", jobs, err)
	}
	return run
}

// showcaseFacts are the entity tables and assignment scores of the
// showcase, read straight from the files (not through the jobs' code).
type showcaseFacts struct {
	// identities: usr_id -> column (upper case) -> value
	attrs     map[string]map[string]string
	usrIDs    []string
	valid     map[[2]string]bool
	received  int
	scoreRows [][]any // usr_id, ent_id, score, freq, frequnion, justification, band
	score     map[[2]string][2]int64
}

func readFacts(t *testing.T, ws *workspace.Workspace, run workspace.Run) *showcaseFacts {
	t.Helper()
	gen, err := ws.Current()
	if err != nil {
		t.Fatal(err)
	}
	f := &showcaseFacts{attrs: map[string]map[string]string{}, valid: map[[2]string]bool{}, score: map[[2]string][2]int64{}}
	rec, err := formats.ReadTable(context.Background(), gen.TablePath("identities"), nil)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, rec.NumCols())
	readers := make([]func(int) any, rec.NumCols())
	for c := range names {
		names[c] = strings.ToUpper(rec.Schema().Field(c).Name)
		readers[c] = cellReader(t, rec.Column(c))
	}
	for i := 0; i < int(rec.NumRows()); i++ {
		m := map[string]string{}
		for c := range names {
			if s, ok := readers[c](i).(string); ok && s != "" {
				m[names[c]] = s
			}
		}
		f.attrs[m["USR_ID"]] = m
		f.usrIDs = append(f.usrIDs, m["USR_ID"])
	}
	rec.Release()
	for _, r := range cols(t, gen.TablePath("assignments"), "usr_idx", "ent_idx", "usr_id", "ent_id") {
		f.received++
		if r[0] != nil && r[1] != nil {
			f.valid[[2]string{str(r[2]), str(r[3])}] = true
		}
	}
	f.scoreRows = cols(t, run.TablePath("assignment_scores"), "usr_id", "ent_id", "score", "freq", "frequnion", "justification", "band")
	for _, r := range f.scoreRows {
		if r[2] != nil {
			f.score[[2]string{str(r[0]), str(r[1])}] = [2]int64{r[4].(int64), r[3].(int64)}
		}
	}
	if len(f.scoreRows) != len(f.valid) {
		t.Fatalf("assignment_scores has %d rows for %d valid assignments", len(f.scoreRows), len(f.valid))
	}
	return f
}

// carries reports whether identity u's items contain every item of policy.
func (f *showcaseFacts) carries(t *testing.T, u string, policy []string) bool {
	for _, s := range policy {
		it, err := model.ParseItem(s)
		if err != nil {
			t.Fatal(err)
		}
		if f.attrs[u][strings.ToUpper(it.Name)] != it.Value {
			return false
		}
	}
	return true
}

func rat(num, den int64) *big.Rat { return big.NewRat(num, den) }

// TestShowcaseAnalysis runs the analysis jobs on the showcase and checks
// their figures against the entity tables and assignment_scores,
// recomputed here independently of the jobs' code.
func TestShowcaseAnalysis(t *testing.T) {
	ws := showcaseWorkspace(t)
	run := runJobs(t, ws, "", "train", "predict-as-is", "mine", "anomaly", "insight")
	f := readFacts(t, ws, run)
	cfg := stages.DefaultConfig()

	t.Run("roles", func(t *testing.T) { checkRoles(t, f, run, cfg) })
	t.Run("anomalies", func(t *testing.T) { checkAnomalies(t, f, run, cfg) })
	t.Run("insight", func(t *testing.T) { checkInsight(t, f, run) })
	t.Run("html", func(t *testing.T) { checkInsightHTML(t, run) })
	t.Run("xlsx", func(t *testing.T) { checkInsightExcel(t, run) })
	t.Run("role ids stable", func(t *testing.T) {
		// A re-run with a stricter role_min_confidence: entitlements
		// drift, the ids of the policies found both times do not.
		if _, err := NewRegistry().Run(context.Background(), ws, Options{Jobs: []string{"mine"}, Out: io.Discard,
			Params: map[string]string{"role_min_confidence": "0.9"}}); err != nil {
			t.Fatal(err)
		}
		again, err := ws.LatestRunWith("roles")
		if err != nil || again.ID == run.ID {
			t.Fatalf("no new roles table (%v)", err)
		}
		type role struct {
			id   string
			ents []string
		}
		first := map[string]role{}
		for _, r := range cols(t, run.TablePath("roles"), "role_id", "policy", "entitlements") {
			first[strings.Join(r[1].([]string), "\n")] = role{str(r[0]), r[2].([]string)}
		}
		common, drifted := 0, 0
		for _, r := range cols(t, again.TablePath("roles"), "role_id", "policy", "entitlements") {
			p, ok := first[strings.Join(r[1].([]string), "\n")]
			if !ok {
				continue
			}
			common++
			if p.id != str(r[0]) {
				t.Errorf("policy %v: id %s, then %s", r[1], p.id, r[0])
			}
			if !slices.Equal(p.ents, r[2].([]string)) {
				drifted++
			}
		}
		if common == 0 || drifted == 0 {
			t.Errorf("%d policies in both runs, %d with other entitlements: the case tests nothing", common, drifted)
		}
	})
}

func checkRoles(t *testing.T, f *showcaseFacts, run workspace.Run, cfg stages.Config) {
	// The groups of confident rules, from the rules table.
	type group struct {
		ents []string
		freq int64
	}
	groups := map[string]*group{}
	for _, r := range cols(t, run.TablePath("rules"), "ent_id", "items", "freq", "frequnion") {
		fu, fr := r[3].(int64), r[2].(int64)
		if fu*100 < 75*fr { // role_min_confidence 0.75
			continue
		}
		k := strings.Join(r[1].([]string), "\n")
		g := groups[k]
		if g == nil {
			g = &group{freq: fr}
			groups[k] = g
		}
		g.ents = append(g.ents, str(r[0]))
	}
	roles := cols(t, run.TablePath("roles"), "role_id", "policy", "entitlements", "members", "member_count", "assignment_count", "status")
	if len(roles) == 0 {
		t.Fatal("no roles")
	}
	covered := map[[2]string]bool{}
	seen := map[string]bool{}
	for i, r := range roles {
		policy, ents, members := r[1].([]string), r[2].([]string), r[3].([]string)
		key := strings.Join(policy, "\n")
		seen[key] = true
		if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte("autoid-role:"+key)).String(); r[0] != want {
			t.Errorf("role %v: id %v, want %s", policy, r[0], want)
		}
		if r[6] != stages.RoleStatusCandidate {
			t.Errorf("role %v: status %v", policy, r[6])
		}
		if !slices.IsSorted(policy) || !slices.IsSorted(ents) || !slices.IsSorted(members) {
			t.Errorf("role %v: lists not in byte order", policy)
		}
		if i > 0 && slices.Compare(roles[i-1][1].([]string), policy) >= 0 {
			t.Errorf("roles not ordered by policy at %d", i)
		}
		g := groups[key]
		if g == nil {
			t.Errorf("role %v has no confident rule with that antecedent", policy)
			continue
		}
		if want := slices.Sorted(slices.Values(g.ents)); !slices.Equal(ents, want) {
			t.Errorf("role %v: entitlements %v, want %v", policy, ents, want)
		}
		var wantMembers []string
		for _, u := range f.usrIDs {
			if f.carries(t, u, policy) {
				wantMembers = append(wantMembers, u)
			}
		}
		if !slices.Equal(members, wantMembers) || r[4].(int64) != int64(len(wantMembers)) || g.freq != int64(len(wantMembers)) {
			t.Errorf("role %v: %d members (member_count %v, rule freq %d), recomputed %d", policy, len(members), r[4], g.freq, len(wantMembers))
		}
		var ac int64
		for _, u := range wantMembers {
			for _, e := range ents {
				if f.valid[[2]string{u, e}] {
					ac++
					covered[[2]string{u, e}] = true
				}
			}
		}
		if r[5].(int64) != ac {
			t.Errorf("role %v: assignment_count %v, recomputed %d", policy, r[5], ac)
		}
	}
	// Every group that passes the filters is a role.
	for k, g := range groups {
		if !seen[k] && len(g.ents) >= cfg.RoleMinEntitlements && g.freq >= int64(cfg.RoleMinMembers) {
			t.Errorf("policy %q with %d entitlements and %d members is not a role", k, len(g.ents), g.freq)
		}
	}
	// The run's coverage figures.
	sum := new(big.Rat)
	var scored int64
	for a := range covered {
		if s, ok := f.score[a]; ok {
			sum.Add(sum, rat(s[0], s[1]))
			scored++
		}
	}
	sr := cols(t, run.TablePath("role_summary"), "roles", "valid_assignments", "covered_assignments", "assignment_coverage",
		"scored_covered_assignments", "average_assignment_confidence")
	if len(sr) != 1 {
		t.Fatalf("role_summary has %d rows", len(sr))
	}
	s := sr[0]
	wantAvg, _ := new(big.Rat).Quo(sum, rat(scored, 1)).Float64()
	if s[0].(int64) != int64(len(roles)) || s[1].(int64) != int64(len(f.valid)) || s[2].(int64) != int64(len(covered)) ||
		s[4].(int64) != scored || math.Abs(s[3].(float64)-float64(len(covered))/float64(len(f.valid))) > 1e-12 ||
		math.Abs(s[5].(float64)-wantAvg) > 1e-9 {
		t.Errorf("role_summary %v; recomputed roles %d, valid %d, covered %d, scored %d, average %v",
			s, len(roles), len(f.valid), len(covered), scored, wantAvg)
	}
}

// entStat is an entitlement's statistics of SPEC 7, recomputed.
type entStat struct {
	scored        []*big.Rat
	total, below  int64
	avg, median   *big.Rat
	avgF, medianF float64
}

func checkAnomalies(t *testing.T, f *showcaseFacts, run workspace.Run, cfg stages.Config) {
	high, medium := rat(75, 100), rat(35, 100)
	stats := map[string]*entStat{}
	for _, r := range f.scoreRows {
		e := str(r[1])
		s := stats[e]
		if s == nil {
			s = &entStat{}
			stats[e] = s
		}
		s.total++
		if r[2] == nil {
			s.below++
			continue
		}
		x := rat(r[4].(int64), r[3].(int64))
		s.scored = append(s.scored, x)
		if x.Cmp(medium) < 0 {
			s.below++
		}
	}
	for _, s := range stats {
		if len(s.scored) == 0 {
			continue
		}
		sum := new(big.Rat)
		for _, x := range s.scored {
			sum.Add(sum, x)
		}
		s.avg = sum.Quo(sum, rat(int64(len(s.scored)), 1))
		slices.SortFunc(s.scored, func(a, b *big.Rat) int { return a.Cmp(b) })
		n := len(s.scored)
		if n%2 == 1 {
			s.median = s.scored[n/2]
		} else {
			m := new(big.Rat).Add(s.scored[n/2-1], s.scored[n/2])
			s.median = m.Quo(m, rat(2, 1))
		}
		s.avgF, _ = s.avg.Float64()
		s.medianF, _ = s.median.Float64()
	}
	want := map[[2]string]bool{}
	for _, r := range f.scoreRows {
		s := stats[str(r[1])]
		if s.avg == nil || s.total < int64(cfg.AnomalyMinAssignees) || (s.avg.Cmp(high) < 0 && s.median.Cmp(high) < 0) {
			continue
		}
		if r[2] == nil || rat(r[4].(int64), r[3].(int64)).Cmp(medium) < 0 {
			want[[2]string{str(r[0]), str(r[1])}] = true
		}
	}
	rows := cols(t, run.TablePath("anomalies"), "usr_id", "ent_id", "confidence", "avg_conf", "median", "total_assignees",
		"num_below_conf_threshold", "percent_below_threshold", "freq", "frequnion", "justification")
	if len(want) == 0 || len(rows) != len(want) {
		t.Fatalf("%d anomalies, recomputed %d", len(rows), len(want))
	}
	byPair := map[[2]string][]any{}
	for _, r := range f.scoreRows {
		byPair[[2]string{str(r[0]), str(r[1])}] = r
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
	prevKey := math.Inf(1)
	var prev [2]string
	for i, r := range rows {
		p := [2]string{str(r[0]), str(r[1])}
		if !want[p] {
			t.Errorf("anomaly %v is not flagged by the recomputation", p)
			continue
		}
		s, sr := stats[p[1]], byPair[p]
		if r[2] != sr[2] || r[8] != sr[3] || r[9] != sr[4] || !slices.Equal(r[10].([]string), sr[5].([]string)) {
			t.Errorf("anomaly %v: confidence %v freq %v frequnion %v justification %v; assignment_scores has %v %v %v %v",
				p, r[2], r[8], r[9], r[10], sr[2], sr[3], sr[4], sr[5])
		}
		if !near(r[3].(float64), s.avgF) || !near(r[4].(float64), s.medianF) || r[5].(int64) != s.total ||
			r[6].(int64) != s.below || !near(r[7].(float64), float64(s.below)/float64(s.total)) {
			t.Errorf("anomaly %v: avg %v median %v total %v below %v pct %v; recomputed %v %v %d %d",
				p, r[3], r[4], r[5], r[6], r[7], s.avgF, s.medianF, s.total, s.below)
		}
		score := 0.0
		if r[2] != nil {
			score = r[2].(float64)
		}
		key := r[3].(float64) - score
		if i > 0 && (key > prevKey || key == prevKey && (p[0] < prev[0] || p[0] == prev[0] && p[1] <= prev[1])) {
			t.Errorf("anomalies out of order at row %d", i)
		}
		prevKey, prev = key, p
	}
}

func checkInsight(t *testing.T, f *showcaseFacts, run workspace.Run) {
	cells := map[string]map[int64]map[string]string{}
	for _, r := range cols(t, run.TablePath("insight"), "section", "row", "key", "value") {
		sec := str(r[0])
		if cells[sec] == nil {
			cells[sec] = map[int64]map[string]string{}
		}
		if cells[sec][r[1].(int64)] == nil {
			cells[sec][r[1].(int64)] = map[string]string{}
		}
		cells[sec][r[1].(int64)][str(r[2])] = str(r[3])
	}
	measure := func(sec, name string) int64 {
		t.Helper()
		for _, row := range cells[sec] {
			if row["measure"] == name {
				n, err := strconv.ParseInt(row["value"], 10, 64)
				if err != nil {
					t.Fatalf("%s %s: %v", sec, name, err)
				}
				return n
			}
		}
		t.Fatalf("no %s in section %s", name, sec)
		return 0
	}
	received, invalid := measure("counts", "assignments_received"), measure("counts", "assignments_invalid")
	valid, scored, unscored := measure("counts", "assignments_valid"), measure("counts", "assignments_scored"), measure("counts", "assignments_unscored")
	if received != int64(f.received) || valid != int64(len(f.valid)) || received-invalid != valid {
		t.Errorf("received %d invalid %d valid %d; the tables have %d received, %d valid", received, invalid, valid, f.received, len(f.valid))
	}
	if scored+unscored != valid || scored != int64(len(f.score)) {
		t.Errorf("scored %d + unscored %d vs valid %d; assignment_scores has %d scored", scored, unscored, valid, len(f.score))
	}
	var above, below int64
	var hist [20]int64
	entScored := map[string]bool{}
	for a, s := range f.score {
		entScored[a[1]] = true
		if rat(s[0], s[1]).Cmp(rat(8, 10)) > 0 {
			above++
		}
		if rat(s[0], s[1]).Cmp(rat(5, 100)) < 0 {
			below++
		}
		hist[min(19, 20*s[0]/s[1])]++
	}
	if got := measure("counts", "valid_assignments_score_above_0.8"); got != above {
		t.Errorf("above 0.8: %d, recomputed %d", got, above)
	}
	if got := measure("counts", "valid_assignments_score_below_0.05"); got != below {
		t.Errorf("below 0.05: %d, recomputed %d", got, below)
	}
	if got := measure("counts", "entitlements_scored"); got != int64(len(entScored)) {
		t.Errorf("entitlements scored %d, recomputed %d", got, len(entScored))
	}
	if measure("counts", "entitlements_scored")+measure("counts", "entitlements_unscored") != measure("counts", "entitlements_received") {
		t.Error("entitlements scored + unscored != received")
	}
	for b, row := range cells["score_histogram"] {
		if n, _ := strconv.ParseInt(row["assignments"], 10, 64); n != hist[b] {
			t.Errorf("histogram bin %d: %d, recomputed %d", b, n, hist[b])
		}
	}
	// Bands per application add up to the valid assignments, and to the
	// bands of assignment_scores.
	bands := map[string]int64{}
	for _, r := range f.scoreRows {
		bands[str(r[6])]++
	}
	got := map[string]int64{}
	var total int64
	for _, row := range cells["applications"] {
		for _, b := range []string{"High", "Medium", "Low", "Unscored"} {
			n, _ := strconv.ParseInt(row[b], 10, 64)
			got[b] += n
		}
		n, _ := strconv.ParseInt(row["total"], 10, 64)
		total += n
	}
	if total != valid || !mapsEqual(got, bands) {
		t.Errorf("applications: bands %v total %d; assignment_scores bands %v, valid %d", got, total, bands, valid)
	}
	for _, sec := range []string{"coverage", "high_volume_high", "top_identities", "supervisors", "entitlement_owners", "golden_rules"} {
		if len(cells[sec]) == 0 {
			t.Errorf("section %s is empty on the showcase", sec)
		}
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var insightSections = []string{stages.SectionCounts, stages.SectionCoverage, stages.SectionHistogram, stages.SectionHighVolumeHigh,
	stages.SectionHighVolumeLow, stages.SectionTopIdentities, stages.SectionTopAllHigh, stages.SectionTopAllLow,
	stages.SectionApplications, stages.SectionSupervisors, stages.SectionOwners, stages.SectionGoldenRules}

func checkInsightHTML(t *testing.T, run workspace.Run) {
	b, err := os.ReadFile(filepath.Join(run.Dir, stages.InsightHTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(b) {
		t.Error("the page is not valid UTF-8")
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	attr := func(n *html.Node, k string) string {
		for _, a := range n.Attr {
			if a.Key == k {
				return a.Val
			}
		}
		return ""
	}
	sections := map[string]bool{}
	bars := map[string]int{} // svg id -> bars of non-zero size
	var external []string
	var walk func(n *html.Node, svg string)
	walk = func(n *html.Node, svg string) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "section":
				sections[attr(n, "id")] = true
			case "svg":
				svg = attr(n, "id")
				bars[svg] += 0
			case "rect":
				w, _ := strconv.ParseFloat(attr(n, "width"), 64)
				h, _ := strconv.ParseFloat(attr(n, "height"), 64)
				if svg != "" && strings.Contains(attr(n, "class"), "bar") && w > 0 && h > 0 {
					bars[svg]++
				}
			case "script", "link", "img", "iframe":
				external = append(external, n.Data)
			}
			for _, k := range []string{"src", "href"} {
				if v := attr(n, k); v != "" {
					external = append(external, v)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, svg)
		}
	}
	walk(doc, "")
	for _, s := range append([]string{"charts"}, insightSections...) {
		if !sections[s] {
			t.Errorf("the page has no section %q", s)
		}
	}
	for _, id := range []string{"chart-histogram", "chart-bands", "chart-coverage"} {
		if bars[id] == 0 {
			t.Errorf("chart %s is missing or has no bars (charts: %v)", id, bars)
		}
	}
	if len(external) > 0 {
		t.Errorf("the page is not self-contained: %v", external)
	}
}

func checkInsightExcel(t *testing.T, run workspace.Run) {
	x, err := excelize.OpenFile(filepath.Join(run.Dir, stages.InsightExcelFile))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.GetSheetList(); !slices.Equal(got, insightSections) {
		t.Fatalf("sheets %v, want %v", got, insightSections)
	}
	counts := map[string]int{}
	for _, r := range cols(t, run.TablePath("insight"), "section", "row") {
		counts[str(r[0])] = max(counts[str(r[0])], int(r[1].(int64))+1)
	}
	for _, s := range insightSections {
		rows, err := x.GetRows(s)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != counts[s]+1 {
			t.Errorf("sheet %s: %d rows, want a header and %d", s, len(rows), counts[s])
		}
	}
}

// TestShowcaseAssignmentIndex publishes the showcase, builds the assignment
// index and reconciles it, on the embedded store and on PostgreSQL: no
// entry may be missing on either side.
func TestShowcaseAssignmentIndex(t *testing.T) {
	ws := showcaseWorkspace(t)
	runJobs(t, ws, "", "train", "predict-as-is")
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "serving.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.DSN(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			run := runJobs(t, ws, url, "load", "create-assignment-index", "create-assignment-index-report")
			got := map[string]int64{}
			for _, r := range cols(t, run.TablePath("assignment_index_report"), "measure", "value") {
				got[str(r[0])] = r[1].(int64)
			}
			scores, err := ws.LatestRunWith("assignment_scores")
			if err != nil {
				t.Fatal(err)
			}
			bands := map[string]int64{}
			var unscored int64
			for _, r := range cols(t, scores.TablePath("assignment_scores"), "band", "score") {
				bands["band_"+strings.ToLower(str(r[0]))]++
				if r[1] == nil {
					unscored++
				}
			}
			const assignments = 47935
			if got["index_entries"] != assignments || got["published_assignments"] != assignments || got["unscored"] != unscored {
				t.Errorf("report %v: want %d entries and assignments, %d unscored", got, assignments, unscored)
			}
			for _, k := range []string{"missing_in_index", "missing_in_assignments", "mismatched"} {
				if v, ok := got[k]; !ok || v != 0 {
					t.Errorf("%s = %d (present %v), want 0", k, v, ok)
				}
			}
			for b, n := range bands {
				if got[b] != n {
					t.Errorf("%s: %d entries, assignment_scores has %d", b, got[b], n)
				}
			}

			ctx := context.Background()
			db, err := store.Open(ctx, store.DSN(url), ws.Root, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			gen, err := ws.Current()
			if err != nil {
				t.Fatal(err)
			}
			reconcile := func(scoresPath string) stages.IndexReport {
				t.Helper()
				rep, err := stages.ReconcileIndex(ctx, gen, scoresPath, func(fn stages.IndexEntryFunc) error {
					_, err := db.EachIndexEntry(ctx, func(e store.IndexEntry) error { return fn(e.UsrID, e.EntID, e.Band, e.Scored) })
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			// Scores whose run does not say its generation are matched by
			// key text, not dense ids: the same report.
			loose := filepath.Join(t.TempDir(), "assignment_scores.parquet")
			if b, err := os.ReadFile(scores.TablePath("assignment_scores")); err != nil || os.WriteFile(loose, b, 0o644) != nil {
				t.Fatal(err)
			}
			if rep := reconcile(loose); !rep.OK() || rep.Entries != assignments || rep.Unscored != unscored {
				t.Errorf("scores matched by key: %+v", rep)
			}

			// Damage the served assignments: an identity's deleted, one not
			// in the run, another identity's with another band. The
			// reconciliation counts each.
			for _, q := range []string{
				`DELETE FROM assignments WHERE usr_id = (SELECT MIN(usr_id) FROM assignments)`,
				`INSERT INTO assignments (usr_id, ent_id, valid, band) VALUES ('nobody', 'nothing', true, 'unscored')`,
				`UPDATE assignments SET band = 'moved' WHERE score IS NOT NULL AND usr_id = (SELECT MAX(usr_id) FROM assignments WHERE score IS NOT NULL)`,
			} {
				if _, err := db.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var deleted, changed int64
			for _, q := range []struct {
				n   *int64
				sql string
			}{
				{&deleted, `SELECT COUNT(*) FROM assignments`},
				{&changed, `SELECT COUNT(*) FROM assignments WHERE band = 'moved'`},
			} {
				rows, err := db.Query(ctx, q.sql)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					rows.Scan(q.n)
				}
				rows.Close()
			}
			deleted = assignments + 1 - deleted
			rep := reconcile(scores.TablePath("assignment_scores"))
			if deleted < 1 || changed < 1 || rep.MissingInIndex != deleted || rep.MissingInAssignments != 1 || rep.Mismatched != changed || rep.OK() {
				t.Errorf("after damage (%d deleted, %d re-banded): %+v", deleted, changed, rep)
			}
		})
	}
}
