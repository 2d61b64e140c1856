package stages

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/google/uuid"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// RoleStatusCandidate is the status of a mined role; draft and active are
// set through the API.
const RoleStatusCandidate = "candidate"

// RoleID is the stable id of a role with this policy (sorted encoded
// items): UUID version 5 in the URL namespace of "autoid-role:" followed by
// the items joined by "\n" (section 6).
func RoleID(policy []string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("autoid-role:"+strings.Join(policy, "\n"))).String()
}

// Role is one candidate role (section 6).
type Role struct {
	ID     string
	Policy []string // the antecedent's encoded items, sorted by bytes
	items  []int32
	// Ents are the role's entitlements (ent_idx, ascending = ent_id byte
	// order); Members the identities holding the policy (usr_idx,
	// ascending).
	Ents            []int32
	Members         []int32
	Freq            int64 // freq of the policy in the rules
	AssignmentCount int64 // valid assignments (member, entitlement of the role)
}

// MineResult holds the candidate roles and the run's coverage figures.
type MineResult struct {
	Roles []Role
	// Rules considered (confidence >= role_min_confidence) and the
	// policies they form before the size filters.
	Rules, Groups int
	// ValidAssignments, the distinct valid assignments covered by at least
	// one role, and the covered ones that are scored with the sum of
	// their scores.
	ValidAssignments, Covered, CoveredScored int64
	ScoreSum                                 float64
	Duration                                 time.Duration

	a *analysis
}

// Coverage is the assignment coverage: covered / valid assignments (0 when
// there are none).
func (r *MineResult) Coverage() float64 {
	if r.ValidAssignments == 0 {
		return 0
	}
	return float64(r.Covered) / float64(r.ValidAssignments)
}

// AverageConfidence is the mean score of the covered scored assignments;
// NaN when none.
func (r *MineResult) AverageConfidence() float64 {
	if r.CoveredScored == 0 {
		return math.NaN()
	}
	return r.ScoreSum / float64(r.CoveredScored)
}

// Mine finds the candidate roles of section 6 from the stemmed rules at
// rulesPath and the scores at scoresPath.
func Mine(ctx context.Context, gen workspace.Generation, cfg Config, rulesPath, scoresPath string) (*MineResult, error) {
	t0 := time.Now()
	minConf, err := mustRatio("role_min_confidence", cfg.RoleMinConfidence)
	if err != nil {
		return nil, fmt.Errorf("mine: %w", err)
	}
	a, err := loadAnalysis(ctx, gen, rulesPath, scoresPath, analysisNeeds{})
	if err != nil {
		return nil, fmt.Errorf("mine: %w", err)
	}
	res := &MineResult{a: a, ValidAssignments: int64(len(a.d.users))}
	// 1-2: group the confident rules by antecedent.
	groups := map[string]*Role{}
	for i := range a.rules {
		r := &a.rules[i]
		if !minConf.AtLeast(r.Frequnion, r.Freq) {
			continue
		}
		res.Rules++
		k := itemsKey(r.Items)
		g := groups[k]
		if g == nil {
			g = &Role{items: r.Items, Freq: r.Freq}
			groups[k] = g
		}
		g.Ents = append(g.Ents, r.Ent)
	}
	res.Groups = len(groups)
	// 3: members and the size filters; 4: assignments per role and the
	// covered assignments. Roles are independent: workers take them in
	// turn, and mark covered assignments in a shared bitset.
	post := postings(a.d.items)
	bits := itemBits(post, a.d.items.NumIdentities())
	var cands []*Role
	for _, g := range groups {
		if len(g.Ents) >= cfg.RoleMinEntitlements && g.Freq >= int64(cfg.RoleMinMembers) {
			slices.Sort(g.Ents)
			cands = append(cands, g)
		}
	}
	slices.SortFunc(cands, func(x, y *Role) int { return slices.Compare(x.items, y.items) })
	coveredBits := make([]atomic.Uint64, (len(a.d.users)+63)/64)
	pos := a.positions()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The role's members as a bitset, for long holder lists.
			memberBits := make([]uint64, (a.d.items.NumIdentities()+63)/64)
			for {
				k := int(next.Add(1) - 1)
				if k >= len(cands) || ctx.Err() != nil {
					return
				}
				g := cands[k]
				g.Members = intersectPostings(post, bits, g.items, g.Freq)
				if len(g.Members) < cfg.RoleMinMembers {
					continue
				}
				for _, u := range g.Members {
					memberBits[u/64] |= 1 << (u % 64)
				}
				for _, e := range g.Ents {
					hp, h := pos[e], a.d.holders[e]
					mark := func(i int) {
						g.AssignmentCount++
						p := hp[i]
						coveredBits[p/64].Or(1 << (p % 64))
					}
					if len(h) > 8*len(g.Members) {
						matchHolders(h, g.Members, mark)
						continue
					}
					for i, u := range h {
						if memberBits[u/64]&(1<<(u%64)) != 0 {
							mark(i)
						}
					}
				}
				for _, u := range g.Members {
					memberBits[u/64] = 0
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		a.release()
		return nil, err
	}
	for _, g := range cands {
		if len(g.Members) < cfg.RoleMinMembers {
			continue
		}
		g.Policy = a.d.items.Strings(g.items)
		g.ID = RoleID(g.Policy)
		res.Roles = append(res.Roles, *g)
	}
	covered := func(p int) bool { return coveredBits[p/64].Load()&(1<<(p%64)) != 0 }
	for p := range a.d.users {
		if !covered(p) {
			continue
		}
		res.Covered++
		if a.scored(p) {
			res.CoveredScored++
			res.ScoreSum += a.score(p)
		}
	}
	res.Duration = time.Since(t0)
	return res, nil
}

// Release frees the tables the result holds.
func (r *MineResult) Release() { r.a.release() }

// matchHolders calls fn(i), i ascending, for every holder h[i] that is
// among members (both ascending), stepping through the longer list by
// galloping search, so the cost follows the shorter one.
func matchHolders(h, members []int32, fn func(i int)) {
	if len(h) <= len(members) {
		j := 0
		for i, u := range h {
			j = gallop(members, j, u)
			if j == len(members) {
				return
			}
			if members[j] == u {
				fn(i)
			}
		}
		return
	}
	i := 0
	for _, u := range members {
		i = gallop(h, i, u)
		if i == len(h) {
			return
		}
		if h[i] == u {
			fn(i)
		}
	}
}

// gallop returns the first index k >= from with s[k] >= v (len(s) when
// none), probing from, from+1, from+3, ... before a binary search.
func gallop(s []int32, from int, v int32) int {
	if from >= len(s) || s[from] >= v {
		return from
	}
	lo, step := from, 1
	hi := from + step
	for hi < len(s) && s[hi] < v {
		lo = hi
		step *= 2
		hi = from + step
	}
	hi = min(hi, len(s))
	// s[lo] < v; the answer is in (lo, hi].
	k, _ := slices.BinarySearch(s[lo+1:hi], v)
	return lo + 1 + k
}

// itemsKey packs item ids into a map key.
func itemsKey(items []int32) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteByte(byte(it))
		b.WriteByte(byte(it >> 8))
		b.WriteByte(byte(it >> 16))
		b.WriteByte(byte(it >> 24))
	}
	return b.String()
}

// postings inverts the identities' items: per item id, the identities
// carrying it (ascending).
func postings(it *scoring.Items) [][]int32 {
	cnt := make([]int, len(it.Dict))
	for _, id := range it.IDs {
		cnt[id]++
	}
	flat := make([]int32, len(it.IDs))
	out := make([][]int32, len(it.Dict))
	pos := 0
	for i, c := range cnt {
		out[i] = flat[pos : pos : pos+c]
		pos += c
	}
	for u := 0; u < it.NumIdentities(); u++ {
		for _, id := range it.Of(u) {
			out[id] = append(out[id], int32(u))
		}
	}
	return out
}

// bitsetMin is the posting-list length from which an item also gets a
// bitset of its identities: membership tests then cost one load instead of
// a galloping step.
const bitsetMin = 2048

// itemBits returns, per item, the bitset of its identities when its
// posting list is long (nil otherwise).
func itemBits(post [][]int32, identities int) [][]uint64 {
	bits := make([][]uint64, len(post))
	for id, l := range post {
		if len(l) < bitsetMin {
			continue
		}
		b := make([]uint64, (identities+63)/64)
		for _, u := range l {
			b[u/64] |= 1 << (u % 64)
		}
		bits[id] = b
	}
	return bits
}

// intersectPostings returns the identities carrying every item; want is
// the expected count (the policy's freq), used as capacity. A one-item
// policy shares its posting list.
func intersectPostings(post [][]int32, bits [][]uint64, items []int32, want int64) []int32 {
	switch len(items) {
	case 0:
		return nil
	case 1:
		return post[items[0]]
	}
	ids := slices.Clone(items)
	slices.SortFunc(ids, func(a, b int32) int { return len(post[a]) - len(post[b]) })
	first := post[ids[0]]
	out := make([]int32, 0, min(int64(len(first)), max(want, 0)))
	at := make([]int, len(ids))
next:
	for _, u := range first {
		for k := 1; k < len(ids); k++ {
			if b := bits[ids[k]]; b != nil {
				if b[u/64]&(1<<(u%64)) == 0 {
					continue next
				}
				continue
			}
			l := post[ids[k]]
			at[k] = gallop(l, at[k], u)
			if at[k] == len(l) {
				break next
			}
			if l[at[k]] != u {
				continue next
			}
		}
		out = append(out, u)
	}
	return out
}

// RolesRecord builds the roles table: role_id, policy, entitlements,
// members, member_count, assignment_count, status; ordered by policy
// (items compared element by element, in byte order).
func (r *MineResult) RolesRecord() arrow.Record {
	a := r.a
	n := len(r.Roles)
	mc := make([]int64, n)
	ac := make([]int64, n)
	for i := range r.Roles {
		mc[i], ac[i] = int64(len(r.Roles[i].Members)), r.Roles[i].AssignmentCount
	}
	fields := []arrow.Field{
		{Name: "role_id", Type: arrow.BinaryTypes.String},
		{Name: "policy", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "entitlements", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "members", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "member_count", Type: arrow.PrimitiveTypes.Int64},
		{Name: "assignment_count", Type: arrow.PrimitiveTypes.Int64},
		{Name: "status", Type: arrow.BinaryTypes.String},
	}
	usrIDs := make([]string, a.d.items.NumIdentities())
	for u := range usrIDs {
		usrIDs[u] = a.usr(int32(u))
	}
	entIDs := make([]string, len(a.d.holders))
	for e := range entIDs {
		entIDs[e] = a.d.entID(int32(e))
	}
	arrs := []arrow.Array{
		textArray(n, func(i int) string { return r.Roles[i].ID }),
		scoring.ItemListArray(n, func(i int) []int32 { return r.Roles[i].items }, a.d.items.Dict),
		scoring.ItemListArray(n, func(i int) []int32 { return r.Roles[i].Ents }, entIDs),
		scoring.ItemListArray(n, func(i int) []int32 { return r.Roles[i].Members }, usrIDs),
		formats.Int64Array(mc, 0, false),
		formats.Int64Array(ac, 0, false),
		textArray(n, func(int) string { return RoleStatusCandidate }),
	}
	return recordOf(fields, arrs, n)
}

// SummaryRecord builds the one-row role_summary table: roles,
// valid_assignments, covered_assignments, assignment_coverage,
// scored_covered_assignments, average_assignment_confidence (null when no
// covered assignment is scored).
func (r *MineResult) SummaryRecord() arrow.Record {
	avg := r.AverageConfidence()
	fields := []arrow.Field{
		{Name: "roles", Type: arrow.PrimitiveTypes.Int64},
		{Name: "valid_assignments", Type: arrow.PrimitiveTypes.Int64},
		{Name: "covered_assignments", Type: arrow.PrimitiveTypes.Int64},
		{Name: "assignment_coverage", Type: arrow.PrimitiveTypes.Float64},
		{Name: "scored_covered_assignments", Type: arrow.PrimitiveTypes.Int64},
		{Name: "average_assignment_confidence", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}
	arrs := []arrow.Array{
		formats.Int64Array([]int64{int64(len(r.Roles))}, 0, false),
		formats.Int64Array([]int64{r.ValidAssignments}, 0, false),
		formats.Int64Array([]int64{r.Covered}, 0, false),
		scoring.Float64Array([]float64{r.Coverage()}, nil),
		formats.Int64Array([]int64{r.CoveredScored}, 0, false),
		scoring.Float64Array([]float64{avg}, []bool{!math.IsNaN(avg)}),
	}
	return recordOf(fields, arrs, 1)
}

// Summary writes the human-readable summary of mine.
func (r *MineResult) Summary(w io.Writer) {
	fmt.Fprintf(w, "mine: %d candidate roles from %d policies of %d confident rules\n", len(r.Roles), r.Groups, r.Rules)
	avg := "n/a"
	if !math.IsNaN(r.AverageConfidence()) {
		avg = fmt.Sprintf("%.4f", r.AverageConfidence())
	}
	fmt.Fprintf(w, "  assignment coverage %.4f (%d of %d valid assignments), average assignment confidence %s (%d scored); %.3fs\n",
		r.Coverage(), r.Covered, r.ValidAssignments, avg, r.CoveredScored, r.Duration.Seconds())
}
