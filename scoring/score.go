package scoring

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/autoid-oss/autoid/mining"
)

// Index is a rule set ready for matching identities: a prefix tree over
// the antecedents (item ids ascending) whose nodes list the rules ending
// there. Matching an identity walks only the branches its items take, so
// the cost is the number of rules that match it, whatever the total. It is
// safe for concurrent use.
type Index struct {
	items   *Items
	rules   []Rule
	nodes   []trieNode
	numEnts int
	workers int
}

type trieNode struct {
	items []int32 // ascending item ids of the edges
	next  []int32 // child node of each edge
	rules []int32 // rules whose antecedent ends here
}

// NewIndex prepares rules (whose Ent is below numEnts and whose items are
// ids of items) for matching. workers <= 0 means GOMAXPROCS.
func NewIndex(items *Items, rules []Rule, numEnts, workers int) (*Index, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	order := make([]int32, len(rules))
	for i := range rules {
		r := &rules[i]
		if r.Ent < 0 || int(r.Ent) >= numEnts {
			return nil, fmt.Errorf("scoring index: rule %d: entitlement %d out of range [0,%d)", i, r.Ent, numEnts)
		}
		if len(r.Items) == 0 || r.Freq <= 0 || !slices.IsSorted(r.Items) {
			return nil, fmt.Errorf("scoring index: rule %d: empty or unsorted antecedent, or zero freq", i)
		}
		for _, it := range r.Items {
			if it < 0 || int(it) >= len(items.Dict) {
				return nil, fmt.Errorf("scoring index: rule %d: item %d out of range", i, it)
			}
		}
		order[i] = int32(i)
	}
	sortByItems(order, rules, len(items.Dict))
	x := &Index{items: items, rules: rules, numEnts: numEnts, workers: workers}
	x.build(order, 0)
	return x, nil
}

// sortByItems sorts order (rule indexes, ascending) stably by the rules'
// antecedents, element by element, shorter first. When the antecedent
// (ids + 1, left-aligned, 0 past its end, so a prefix sorts first) and the
// rule index fit together in one word, the words are sorted instead.
func sortByItems(order []int32, rules []Rule, numItems int) {
	maxLen := 0
	for i := range rules {
		maxLen = max(maxLen, len(rules[i].Items))
	}
	shift := uint(bits.Len(uint(numItems)))
	idxBits := uint(bits.Len(uint(len(rules))))
	if maxLen == 0 || int(shift)*maxLen+int(idxBits) > 64 {
		slices.SortStableFunc(order, func(a, b int32) int { return slices.Compare(rules[a].Items, rules[b].Items) })
		return
	}
	keys := make([]uint64, len(order))
	sorted := true
	for i, o := range order {
		var k uint64
		for j, it := range rules[o].Items {
			k |= uint64(it+1) << (shift * uint(maxLen-1-j))
		}
		keys[i] = k<<idxBits | uint64(o)
		sorted = sorted && (i == 0 || keys[i-1] < keys[i])
	}
	if sorted {
		return
	}
	slices.Sort(keys)
	mask := uint64(1)<<idxBits - 1
	for i, k := range keys {
		order[i] = int32(k & mask)
	}
}

// build adds the node of the rules order (sorted by antecedent, sharing
// their first depth items) and returns its id.
func (x *Index) build(order []int32, depth int) int32 {
	id := int32(len(x.nodes))
	x.nodes = append(x.nodes, trieNode{})
	i := 0
	for i < len(order) && len(x.rules[order[i]].Items) == depth {
		i++
	}
	if i > 0 {
		x.nodes[id].rules = slices.Clone(order[:i])
	}
	for i < len(order) {
		it := x.rules[order[i]].Items[depth]
		j := i + 1
		for j < len(order) && x.rules[order[j]].Items[depth] == it {
			j++
		}
		child := x.build(order[i:j], depth+1)
		x.nodes[id].items = append(x.nodes[id].items, it)
		x.nodes[id].next = append(x.nodes[id].next, child)
		i = j
	}
	return id
}

// Rule returns rule i of the index.
func (x *Index) Rule(i int32) *Rule { return &x.rules[i] }

// Best slot markers of a matcher.
const (
	slotOpen    = -1 // wanted, no rule yet
	slotIgnored = -2 // not wanted
)

// matcher finds the best rule per entitlement for one identity at a time.
type matcher struct {
	x       *Index
	best    []int32 // per entitlement: rule, slotOpen or slotIgnored
	def     int32   // the value of best[e] for an entitlement not touched
	touched []int32 // entitlements whose slot got a rule
}

func (x *Index) newMatcher(def int32) *matcher {
	m := &matcher{x: x, best: make([]int32, x.numEnts), def: def}
	for i := range m.best {
		m.best[i] = def
	}
	return m
}

// walk offers every rule whose antecedent lies within its (ascending).
func (m *matcher) walk(its []int32, node int32) {
	nd := &m.x.nodes[node]
	for p, it := range its {
		k, ok := slices.BinarySearch(nd.items, it)
		if !ok {
			continue
		}
		cid := nd.next[k]
		c := &m.x.nodes[cid]
		for _, ri := range c.rules {
			m.offer(ri)
		}
		if len(c.items) > 0 && p+1 < len(its) {
			m.walk(its[p+1:], cid)
		}
	}
}

func (m *matcher) offer(ri int32) {
	e := m.x.rules[ri].Ent
	switch b := m.best[e]; {
	case b == slotIgnored:
	case b == slotOpen:
		m.best[e] = ri
		m.touched = append(m.touched, e)
	case CompareRules(&m.x.rules[ri], &m.x.rules[b]) < 0:
		m.best[e] = ri
	}
}

// reset restores the default slots after an identity.
func (m *matcher) reset(held []int32) {
	for _, e := range m.touched {
		m.best[e] = m.def
	}
	for _, e := range held {
		m.best[e] = m.def
	}
	m.touched = m.touched[:0]
}

// byUser groups assignment rows by identity: rows of user u are
// rows[start[u]:start[u+1]], ascending.
func byUser(users, ents []int32, nUsers, nEnts int) (start []int, rows []int32, err error) {
	if len(users) != len(ents) {
		return nil, nil, fmt.Errorf("%d users for %d entitlements", len(users), len(ents))
	}
	start = make([]int, nUsers+1)
	for i, u := range users {
		if u < 0 || int(u) >= nUsers || ents[i] < 0 || int(ents[i]) >= nEnts {
			return nil, nil, fmt.Errorf("assignment %d: identity %d / entitlement %d out of range", i, u, ents[i])
		}
		start[u+1]++
	}
	for u := 1; u <= nUsers; u++ {
		start[u] += start[u-1]
	}
	rows = make([]int32, len(users))
	pos := slices.Clone(start[:nUsers])
	for i, u := range users {
		rows[pos[u]] = int32(i)
		pos[u]++
	}
	return start, rows, nil
}

// blockSize is the number of identities a worker takes at a time.
const blockSize = 256

// eachBlock runs fn over blocks of identities on the index's workers.
func (x *Index) eachBlock(ctx context.Context, nUsers int, fn func(w, block, lo, hi int)) error {
	nb := (nUsers + blockSize - 1) / blockSize
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < x.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1) - 1)
				if b >= nb || ctx.Err() != nil {
					return
				}
				fn(w, b, b*blockSize, min((b+1)*blockSize, nUsers))
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Predict finds the best matching rule (section 4) of every assignment
// (users[i], ents[i]): the index of the rule in the index, or -1 when no
// rule of the entitlement has its antecedent within the identity's items.
func (x *Index) Predict(ctx context.Context, users, ents []int32) ([]int32, error) {
	n := x.items.NumIdentities()
	start, rows, err := byUser(users, ents, n, x.numEnts)
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	best := make([]int32, len(users))
	ms := make([]*matcher, x.workers)
	for w := range ms {
		ms[w] = x.newMatcher(slotIgnored)
	}
	err = x.eachBlock(ctx, n, func(w, _, lo, hi int) {
		m := ms[w]
		var held []int32
		for u := lo; u < hi; u++ {
			rs := rows[start[u]:start[u+1]]
			if len(rs) == 0 {
				continue
			}
			held = held[:0]
			for _, r := range rs {
				m.best[ents[r]] = slotOpen
				held = append(held, ents[r])
			}
			m.walk(x.items.Of(u), 0)
			for _, r := range rs {
				b := m.best[ents[r]]
				if b < 0 {
					b = -1
				}
				best[r] = b
			}
			m.reset(held)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("predict: %w", err)
	}
	return best, nil
}

// Recommendation is a rule recommending an entitlement to an identity that
// does not hold it.
type Recommendation struct {
	User int32
	Rule int32 // index of the best matching rule; its Ent is the entitlement
}

// Recommend finds, for every identity and every entitlement it does not
// validly hold (the valid assignments are users[i], ents[i]), the best
// matching rule (section 4's order); keeps those with confidence >=
// minConf, at most maxPerUser per identity, and returns them by identity,
// then confidence desc, freq desc, entitlement index asc (which is ent_id
// byte order).
func (x *Index) Recommend(ctx context.Context, users, ents []int32, minConf mining.Ratio, maxPerUser int) ([]Recommendation, error) {
	n := x.items.NumIdentities()
	start, rows, err := byUser(users, ents, n, x.numEnts)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if maxPerUser <= 0 {
		return nil, nil
	}
	rank := func(a, b int32) int {
		ra, rb := &x.rules[a], &x.rules[b]
		if c := mining.CompareRatios(ra.Frequnion, ra.Freq, rb.Frequnion, rb.Freq); c != 0 {
			return -c
		}
		if ra.Freq != rb.Freq {
			return cmpDesc(ra.Freq, rb.Freq)
		}
		return int(ra.Ent) - int(rb.Ent)
	}
	nb := (n + blockSize - 1) / blockSize
	out := make([][]Recommendation, nb)
	ms := make([]*matcher, x.workers)
	for w := range ms {
		ms[w] = x.newMatcher(slotOpen)
	}
	err = x.eachBlock(ctx, n, func(w, b, lo, hi int) {
		m := ms[w]
		var held, cand []int32
		var recs []Recommendation
		for u := lo; u < hi; u++ {
			rs := rows[start[u]:start[u+1]]
			held = held[:0]
			for _, r := range rs {
				m.best[ents[r]] = slotIgnored
				held = append(held, ents[r])
			}
			m.walk(x.items.Of(u), 0)
			cand = cand[:0]
			for _, e := range m.touched {
				r := &x.rules[m.best[e]]
				if minConf.AtLeast(r.Frequnion, r.Freq) {
					cand = append(cand, m.best[e])
				}
			}
			slices.SortFunc(cand, rank)
			for _, ri := range cand[:min(len(cand), maxPerUser)] {
				recs = append(recs, Recommendation{User: int32(u), Rule: ri})
			}
			m.reset(held)
		}
		out[b] = recs
	})
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	total := 0
	for _, o := range out {
		total += len(o)
	}
	all := make([]Recommendation, 0, total)
	for _, o := range out {
		all = append(all, o...)
	}
	return all, nil
}
