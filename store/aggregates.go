package store

import (
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
)

// aggregates computes the derived tables (entitlement_stats, company_view,
// filter_options, user_search) in Go from the rows the mappings publish,
// as they stream by. The derived tables are read after the others.
type aggregates struct {
	o *LoadOptions

	users     map[string]*userAgg
	userOrder []string
	managers  []string // usr_manager_id per identity, in order
	filters   map[string]map[string]int64
	ents      map[string]*entAgg
	entOrder  []string
	bands     BandCounts
	total     int64
	maxRule   int64 // the longest rule's antecedent
	// geAt[p]: valid assignments whose highest p with score ≥ p/100 is p;
	// leAt[p]: whose lowest p with score ≤ p/100 is p (see scoreCounts).
	geAt, leAt [101]int64
	// pairs: the distinct (attribute, value) pairs of the identities,
	// numbered in pairID.
	pairs  [][2]string
	pairID map[[2]string]int32
	// appHolders: per application, the identities (bits by userOrder
	// position) holding one of its entitlements.
	appHolders map[string][]uint64
}

type userAgg struct {
	ord                    int // position in userOrder
	name, manager, empType *string
	attrs                  []kv    // attribute -> value (string), in source order
	pairs                  []int32 // attrs as pair numbers
	sum                    float64
	scored                 int64
}

type entAgg struct {
	app                              any
	owner                            bool
	holders, scored                  int64
	sum                              float64
	high, medium, low, unscored, rul int64
}

func newAggregates(o *LoadOptions) *aggregates {
	return &aggregates{o: o, users: map[string]*userAgg{}, filters: map[string]map[string]int64{}, ents: map[string]*entAgg{},
		appHolders: map[string][]uint64{}, pairID: map[[2]string]int32{}}
}

func (a *aggregates) bandsFunc() BandCounts { return a.bands }

func (a *aggregates) ent(id string) *entAgg {
	e := a.ents[id]
	if e == nil {
		e = &entAgg{}
		a.ents[id] = e
		a.entOrder = append(a.entOrder, id)
	}
	return e
}

func strPtr(v any) *string {
	if s, ok := v.(string); ok {
		return &s
	}
	return nil
}

// observer returns the function that sees each published row of a table,
// with the row's attributes (the pairs of its "attributes" JSON, in source
// order) where the table has them.
func (a *aggregates) observer(table string) func(cols []string, row []any, attrs []kv) {
	// The columns of a source are fixed: positions are found on its first
	// row and kept.
	pos := map[string]int{}
	idx := func(cols []string, name string) int {
		if i, ok := pos[name]; ok {
			return i
		}
		i := slices.Index(cols, name)
		pos[name] = i
		return i
	}
	switch table {
	case "identities":
		return func(cols []string, row []any, attrs []kv) {
			id, _ := row[idx(cols, "usr_id")].(string)
			u := &userAgg{name: strPtr(row[idx(cols, "usr_name")]), manager: strPtr(row[idx(cols, "usr_manager_id")])}
			for _, x := range attrs {
				k, v := x.k, x.v.(string)
				if v != "" {
					u.attrs = append(u.attrs, kv{k, v})
					p, ok := a.pairID[[2]string{k, v}]
					if !ok {
						p = int32(len(a.pairs))
						a.pairID[[2]string{k, v}] = p
						a.pairs = append(a.pairs, [2]string{k, v})
					}
					u.pairs = append(u.pairs, p)
				}
				m := a.filters[k]
				if m == nil {
					m = map[string]int64{}
					a.filters[k] = m
				}
				m[v]++
				if strings.EqualFold(k, a.o.EmployeeTypeAttribute) {
					v := v
					u.empType = &v
				}
			}
			if prev, dup := a.users[id]; dup {
				u.ord = prev.ord
			} else {
				u.ord = len(a.userOrder)
				a.userOrder = append(a.userOrder, id)
			}
			a.users[id] = u
		}
	case "entitlements":
		return func(cols []string, row []any, _ []kv) {
			id, _ := row[idx(cols, "ent_id")].(string)
			e := a.ent(id)
			e.app = row[idx(cols, "app_id")]
			e.owner = row[idx(cols, "ent_owner_id")] != nil
		}
	case "assignments":
		var lastUID string
		var lastUser *userAgg
		return func(cols []string, row []any, _ []kv) {
			if v, _ := row[idx(cols, "valid")].(bool); !v {
				return
			}
			a.total++
			uid, _ := row[idx(cols, "usr_id")].(string)
			eid, _ := row[idx(cols, "ent_id")].(string)
			e := a.ent(eid)
			e.holders++
			// Assignments come grouped by identity: one map lookup per run.
			if uid != lastUID || lastUser == nil {
				lastUID, lastUser = uid, a.users[uid]
			}
			if app, ok := e.app.(string); ok {
				if u := lastUser; u != nil {
					set := a.appHolders[app]
					if set == nil {
						set = make([]uint64, (len(a.userOrder)+63)/64)
						a.appHolders[app] = set
					}
					if u.ord/64 < len(set) {
						set[u.ord/64] |= 1 << (u.ord % 64)
					}
				}
			}
			score, scored := row[idx(cols, "score")].(float64)
			band, _ := row[idx(cols, "band")].(string)
			switch strings.ToLower(band) {
			case "high":
				e.high++
				a.bands.High++
			case "medium":
				e.medium++
				a.bands.Medium++
			case "low":
				e.low++
				a.bands.Low++
			default:
				e.unscored++
				a.bands.Unscored++
			}
			if scored {
				a.countScore(score)
				e.scored++
				e.sum += score
				if u := lastUser; u != nil {
					u.scored++
					u.sum += score
				}
			}
		}
	case "rules":
		return func(cols []string, row []any, _ []kv) {
			id, _ := row[idx(cols, "ent_id")].(string)
			a.ent(id).rul++
			if n, ok := row[idx(cols, "rule_len")].(int64); ok && n > a.maxRule {
				a.maxRule = n
			}
		}
	}
	return nil
}

// tables returns the derived tables; their rows are computed when first read.
func (a *aggregates) tables() []TableData {
	return []TableData{
		{Name: "entitlement_stats", Columns: []string{"ent_id", "app_id", "holders", "scored", "avg_score", "avg_bin", "high", "medium", "low", "unscored", "rules"},
			Rows: &lazyRows{build: a.entitlementStats}},
		{Name: "company_view", Columns: []string{"figure", "value"}, Rows: &lazyRows{build: a.companyView}},
		{Name: "filter_options", Columns: []string{"attribute", "value", "count"}, Rows: &lazyRows{build: a.filterOptions}},
		{Name: "user_search", Columns: []string{"usr_id", "usr_name", "usr_manager_id", "search_text"}, Rows: &lazyRows{build: a.userSearch}},
		{Name: "identity_attributes", Columns: []string{"usr_id", "attribute", "value"}, Rows: &lazyRows{build: a.identityAttributes}},
	}
}

func (a *aggregates) avg(e *entAgg) (any, any) {
	if e.scored == 0 {
		return nil, nil
	}
	avg := e.sum / float64(e.scored)
	return avg, int64(min(19, math.Floor(avg*20)))
}

func (a *aggregates) entitlementStats() [][]any {
	rows := make([][]any, 0, len(a.entOrder))
	for _, id := range a.entOrder {
		e := a.ents[id]
		avg, bin := a.avg(e)
		rows = append(rows, []any{id, e.app, e.holders, e.scored, avg, bin, e.high, e.medium, e.low, e.unscored, e.rul})
	}
	return rows
}

func (a *aggregates) filterOptions() [][]any {
	var rows [][]any
	for k, m := range a.filters {
		for v, n := range m {
			rows = append(rows, []any{k, v, n})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i][0] != rows[j][0] {
			return rows[i][0].(string) < rows[j][0].(string)
		}
		return rows[i][1].(string) < rows[j][1].(string)
	})
	return rows
}

func (a *aggregates) userSearch() [][]any {
	rows := make([][]any, 0, len(a.userOrder))
	for _, id := range a.userOrder {
		u := a.users[id]
		text := id
		var name, mgr any
		if u.name != nil {
			name = *u.name
			text += "\n" + *u.name
		}
		if u.manager != nil {
			mgr = *u.manager
		}
		rows = append(rows, []any{id, name, mgr, strings.ToLower(text)})
	}
	return rows
}

// identityAttributes: one row per identity and non-empty attribute.
func (a *aggregates) identityAttributes() [][]any {
	var rows [][]any
	for _, id := range a.userOrder {
		for _, x := range a.users[id].attrs {
			rows = append(rows, []any{id, x.k, x.v})
		}
	}
	return rows
}

// ordered is a JSON object with keys in the given order.
type ordered []kv

type kv struct {
	k string
	v any
}

func (o ordered) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, x := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonText(x.k))
		b.WriteByte(':')
		b.WriteString(jsonText(x.v))
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

func (a *aggregates) companyView() [][]any {
	// employeeTypes: identities by the band of their mean score.
	type et struct{ high, medium, low, null, total int64 }
	types := map[string]*et{}
	var typeOrder []string
	withMgr, woMgr := int64(0), int64(0)
	for _, id := range a.userOrder {
		u := a.users[id]
		if u.manager != nil && a.users[*u.manager] != nil {
			withMgr++
		} else {
			woMgr++
		}
		if u.empType == nil {
			continue
		}
		t := types[*u.empType]
		if t == nil {
			t = &et{}
			types[*u.empType] = t
			typeOrder = append(typeOrder, *u.empType)
		}
		t.total++
		if u.scored == 0 {
			t.null++
			continue
		}
		switch bandOf(u.sum/float64(u.scored), a.o) {
		case "high":
			t.high++
		case "medium":
			t.medium++
		default:
			t.low++
		}
	}
	sort.Strings(typeOrder)
	var empTypes []ordered
	for _, name := range typeOrder {
		t := types[name]
		empTypes = append(empTypes, ordered{{"type", name}, {"high", t.high}, {"low", t.low}, {"medium", t.medium}, {"null_conf", t.null}, {"total", t.total}})
	}
	var withOwner, withoutOwner, covered int64
	var dist [9]int64
	bounds := []int64{0, 1, 5, 10, 100, 1000, 10000, 100000}
	type most struct {
		id string
		n  int64
	}
	var mostAssigned []most
	for _, id := range a.entOrder {
		e := a.ents[id]
		if e.owner {
			withOwner++
		} else {
			withoutOwner++
		}
		if e.rul > 0 {
			covered++
		}
		k := sort.Search(len(bounds), func(i int) bool { return e.holders <= bounds[i] })
		dist[k]++
		mostAssigned = append(mostAssigned, most{id, e.holders})
	}
	sort.Slice(mostAssigned, func(i, j int) bool {
		if mostAssigned[i].n != mostAssigned[j].n {
			return mostAssigned[i].n > mostAssigned[j].n
		}
		return mostAssigned[i].id < mostAssigned[j].id
	})
	mostAssigned = mostAssigned[:min(len(mostAssigned), 100)]
	var mostJSON []ordered
	for _, m := range mostAssigned {
		mostJSON = append(mostJSON, ordered{{"count", m.n}, {"entitlement", m.id}})
	}
	nEnt := int64(len(a.entOrder))
	figures := []kv{
		{"employeeTypes", empTypes},
		{"employees_w_manager", withMgr},
		{"employees_wo_manager", woMgr},
		{"total_employees", int64(len(a.userOrder))},
		{"entitlements_with_roleowners", withOwner},
		{"entitlements_without_roleowners", withoutOwner},
		{"coverage", ordered{{"total", nEnt}, {"covered", covered}, {"not_covered", nEnt - covered}}},
		{"entitlementsDistribution", ordered{{"no_users", dist[0]}, {"one_user", dist[1]}, {"zero_to_five_users", dist[2]},
			{"five_to_ten_users", dist[3]}, {"ten_to_hundred_users", dist[4]}, {"hundred_to_onek_user", dist[5]},
			{"onek_to_tenk_users", dist[6]}, {"tenk_users", dist[7]}, {"hundredk_users", dist[8]}}},
		{"assignmentStats", ordered{{"total", a.total}, {"unscored", a.bands.Unscored}, {"mostAssigned", mostJSON}}},
		{FigureMaxRuleLength, a.maxRule},
		{FigureScoreCounts, a.scoreCounts()},
		{FigureAttributes, a.attributeNames()},
		{FigureAttributeValues, a.attributeValueCounts()},
	}
	for _, app := range sortedKeys(a.appHolders) {
		figures = append(figures, kv{FigureAppFilters + app, a.appFilterOptions(a.appHolders[app])})
	}
	rows := make([][]any, 0, len(figures))
	for _, f := range figures {
		if f.v == nil || (f.k == "employeeTypes" && empTypes == nil) {
			f.v = []any{}
		}
		rows = append(rows, []any{f.k, jsonText(f.v)})
	}
	return rows
}

// FigureMaxRuleLength is the company_view figure holding the longest
// published rule antecedent (for on-demand recommendations).
const FigureMaxRuleLength = "maxRuleLength"

// FigureAttributes is the company_view figure listing the identity
// attributes that have values, in byte order.
const FigureAttributes = "identityAttributes"

func (a *aggregates) attributeNames() []string {
	names := []string{}
	for k := range a.filters {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// FigureAttributeValues is the company_view figure giving, per identity
// attribute, its number of distinct values.
const FigureAttributeValues = "identityAttributeValues"

// FigureAppFilters prefixes the company_view figures holding, per
// application, the filter options over its holders: a JSON list of
// [attribute, value, count] in byte order.
const FigureAppFilters = "appFilters:"

func (a *aggregates) attributeValueCounts() ordered {
	out := ordered{}
	for _, k := range a.attributeNames() {
		out = append(out, kv{k, int64(len(a.filters[k]))})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// countScore files a valid assignment's score for scoreCounts: under the
// highest p with score ≥ p/100 and the lowest p with score ≤ p/100, the
// comparisons made exactly as the figure defines them.
func (a *aggregates) countScore(score float64) {
	ge := int(math.Floor(score * 100))
	for ge < 100 && score >= float64(ge+1)/100 {
		ge++
	}
	for ge >= 0 && (ge > 100 || score < float64(ge)/100) {
		ge--
	}
	if ge >= 0 {
		a.geAt[ge]++
	}
	le := int(math.Ceil(score * 100))
	for le > 0 && score <= float64(le-1)/100 {
		le--
	}
	for le <= 100 && (le < 0 || score > float64(le)/100) {
		le++
	}
	if le <= 100 {
		a.leAt[le]++
	}
}

// scoreCounts: atLeast[p] = valid assignments with score ≥ p/100, atMost[p]
// = with score ≤ p/100, p = 0..100.
func (a *aggregates) scoreCounts() ordered {
	var atLeast, atMost [101]int64
	for p := 100; p >= 0; p-- {
		atLeast[p] = a.geAt[p]
		if p < 100 {
			atLeast[p] += atLeast[p+1]
		}
	}
	for p := 0; p <= 100; p++ {
		atMost[p] = a.leAt[p]
		if p > 0 {
			atMost[p] += atMost[p-1]
		}
	}
	return ordered{{"atLeast", atLeast[:]}, {"atMost", atMost[:]}}
}

// appFilterOptions counts attribute values over a set of identities.
func (a *aggregates) appFilterOptions(set []uint64) [][3]any {
	counts := make([]int64, len(a.pairs))
	for w, word := range set {
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			if i < len(a.userOrder) {
				for _, p := range a.users[a.userOrder[i]].pairs {
					counts[p]++
				}
			}
		}
	}
	var keys []int32
	for p, n := range counts {
		if n > 0 {
			keys = append(keys, int32(p))
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		x, y := a.pairs[keys[i]], a.pairs[keys[j]]
		if x[0] != y[0] {
			return x[0] < y[0]
		}
		return x[1] < y[1]
	})
	out := make([][3]any, len(keys))
	for i, p := range keys {
		out[i] = [3]any{a.pairs[p][0], a.pairs[p][1], counts[p]}
	}
	return out
}

// FigureScoreCounts is the company_view figure counting valid assignments
// with score ≥ p/100 ("atLeast"[p]) and ≤ p/100 ("atMost"[p]), p = 0..100,
// for the company view's volume thresholds (whole percents).
const FigureScoreCounts = "scoreCounts"

// lazyRows is a RowSource over rows built on the first Next.
type lazyRows struct {
	build func() [][]any
	rows  [][]any
	i     int
	done  bool
}

func (l *lazyRows) Next() bool {
	if !l.done {
		l.rows, l.done, l.i = l.build(), true, -1
	}
	l.i++
	return l.i < len(l.rows)
}

func (l *lazyRows) Values() ([]any, error) { return l.rows[l.i], nil }
func (l *lazyRows) Err() error             { return nil }
