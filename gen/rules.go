package gen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/autoid-oss/autoid/model"
)

func (c *company) itemString(it itemRef) string {
	a := c.attrs[it.attr]
	s, err := model.EncodeItem(a.name, a.values[it.val])
	if err != nil {
		panic(fmt.Sprintf("gen: attribute %s: %v", a.name, err)) // values are never empty
	}
	return s
}

// postings lists, per attribute and value, the identities carrying it; it is
// built once for planning and dropped afterwards.
type postings [][][]int32

func (c *company) buildPostings() postings {
	p := make(postings, len(c.attrs))
	for k, a := range c.attrs {
		if !a.ruleable {
			continue
		}
		lists := make([][]int32, len(a.values))
		flat := make([]int32, c.n)
		off := 0
		for v, cnt := range a.counts {
			lists[v] = flat[off : off : off+cnt]
			off += cnt
		}
		for i, v := range a.col {
			lists[v] = append(lists[v], int32(i))
		}
		p[k] = lists
	}
	return p
}

// count returns the number of identities carrying all items.
func (c *company) count(p postings, items []itemRef) int {
	key := c.keyItem(items)
	if len(items) == 1 {
		return c.attrs[items[0].attr].counts[items[0].val]
	}
	n := 0
outer:
	for _, i := range p[items[key].attr][items[key].val] {
		for k, it := range items {
			if k != key && c.attrs[it.attr].col[i] != it.val {
				continue outer
			}
		}
		n++
	}
	return n
}

// keyItem returns the position of the rarest item.
func (c *company) keyItem(items []itemRef) int {
	best := 0
	for k, it := range items {
		if c.attrs[it.attr].counts[it.val] < c.attrs[items[best].attr].counts[items[best].val] {
			best = k
		}
	}
	return best
}

// planRules draws planted rules until their expected assignments reach the
// share of the target left after birthrights and noise. A candidate
// antecedent is 1..MaxRuleItems attribute values of a random identity; it is
// kept when it covers MinRuleMembers..MaxRuleShare of the identities and,
// for two or more items, every item matters (each sub-antecedent covers at
// least 1.5 times as many identities), so the planted antecedent is the one
// a rule learner should find.
func (c *company) planRules(r *rand.Rand) error {
	cfg := c.cfg
	noiseTarget := cfg.NoiseRate * float64(cfg.Assignments)
	c.noiseLambda = noiseTarget / float64(c.n)
	c.plantedTarget = max(0, float64(cfg.Assignments)-noiseTarget-c.birthExpected)

	var eligible []int
	for k, a := range c.attrs {
		if a.ruleable {
			eligible = append(eligible, k)
		}
	}
	if len(eligible) == 0 || c.plantedTarget == 0 {
		return nil
	}
	p := c.buildPostings()

	// Free entitlements for bundles: per application a cursor over its
	// contiguous range.
	next := make([]int, len(c.apps))
	end := make([]int, len(c.apps))
	var freeApps []int
	e := 0
	for a := range c.apps {
		start := e
		for e < len(c.ents) && c.ents[e].appID == c.apps[a].id {
			e++
		}
		next[a], end[a] = start, e
		if a > 0 && e > start {
			freeApps = append(freeApps, a)
		}
	}
	nonBirth := len(c.ents) - c.nBirth
	alloc := func(b int, exclude []int32) []int32 {
		ents := make([]int32, 0, b)
		nApps := 1 + newDist([]float64{0.5, 0.35, 0.15}).pick(r)
		for len(ents) < b && len(freeApps) > 0 {
			j := r.IntN(len(freeApps))
			a := freeApps[j]
			take := (b - len(ents) + nApps - 1) / nApps
			take = min(take, end[a]-next[a])
			for range take {
				ents = append(ents, int32(next[a]))
				next[a]++
			}
			if next[a] == end[a] {
				freeApps = slices.Delete(freeApps, j, j+1)
			}
			nApps = max(1, nApps-1)
		}
		for len(ents) < b { // out of fresh entitlements: share existing ones
			c.reusedEnts = true
			x := int32(c.nBirth + r.IntN(nonBirth))
			if !slices.Contains(ents, x) && !slices.Contains(exclude, x) {
				ents = append(ents, x)
			}
		}
		slices.Sort(ents)
		return ents
	}

	kw := []float64{0.4, 0.4, 0.2}[:min(cfg.MaxRuleItems, len(eligible))]
	kDist := newDist(kw)
	maxMembers := cfg.MaxRuleShare * float64(c.n)
	seen := map[string]bool{}
	var key strings.Builder
	perm := slices.Clone(eligible)
	const maxAttempts, maxFruitless = 100_000, 5_000
	for fruitless := 0; c.plantedExpected < c.plantedTarget && c.ruleAttempts < maxAttempts && fruitless < maxFruitless; fruitless++ {
		c.ruleAttempts++
		i := r.IntN(c.n)
		k := kDist.pick(r) + 1
		for j := range k { // partial shuffle picks k distinct attributes
			s := j + r.IntN(len(perm)-j)
			perm[j], perm[s] = perm[s], perm[j]
		}
		items := make([]itemRef, k)
		for j := range k {
			items[j] = itemRef{attr: perm[j], val: c.attrs[perm[j]].col[i]}
		}
		slices.SortFunc(items, func(x, y itemRef) int { return x.attr - y.attr })
		key.Reset()
		for _, it := range items {
			key.WriteString(strconv.Itoa(it.attr))
			key.WriteByte(':')
			key.WriteString(strconv.Itoa(int(it.val)))
			key.WriteByte(' ')
		}
		if seen[key.String()] {
			continue
		}
		seen[key.String()] = true
		m := c.count(p, items)
		if m < cfg.MinRuleMembers || float64(m) > maxMembers {
			continue
		}
		if k > 1 && !c.allItemsMatter(p, items, m) {
			continue
		}
		fire := min(1, max(0.01, cfg.FireProb+(2*r.Float64()-1)*0.03))
		if cfg.FireProb == 1 {
			fire = 1
		}
		b := min(cfg.MinBundle+r.IntN(cfg.MaxBundle-cfg.MinBundle+1), nonBirth)
		deficit := c.plantedTarget - c.plantedExpected
		if float64(m)*float64(b)*fire > deficit*1.02 {
			b = int(deficit / (float64(m) * fire))
			if b < cfg.MinBundle {
				if deficit < 0.01*c.plantedTarget {
					break
				}
				continue
			}
		}
		c.rules = append(c.rules, rule{items: items, ents: alloc(b, nil), fire: fire, members: m})
		c.plantedExpected += float64(m) * float64(b) * fire
		fruitless = -1
	}

	// When the candidates ran out before the target was met (few attributes
	// or many assignments per identity), grow the bundles round-robin beyond
	// MaxBundle.
	for grown := true; grown && c.plantedExpected < 0.99*c.plantedTarget; {
		grown = false
		for k := range c.rules {
			ru := &c.rules[k]
			add := float64(ru.members) * ru.fire
			if len(ru.ents) >= nonBirth || c.plantedExpected+add > 1.01*c.plantedTarget {
				continue
			}
			ru.ents = append(ru.ents, alloc(1, ru.ents)...)
			slices.Sort(ru.ents)
			c.plantedExpected += add
			grown = true
		}
	}
	return nil
}

func (c *company) allItemsMatter(p postings, items []itemRef, m int) bool {
	sub := make([]itemRef, 0, len(items)-1)
	for drop := range items {
		sub = sub[:0]
		for k, it := range items {
			if k != drop {
				sub = append(sub, it)
			}
		}
		if 2*c.count(p, sub) < 3*m {
			return false
		}
	}
	return true
}

// planNoise prepares the draw of misplaced noise: the rules weighted by the
// assignments they are expected to grant (members × bundle × fire), so that
// a drawn (rule, entitlement) pair is a random planted grant, and per
// entitlement the rules that grant it.
func (c *company) planNoise() {
	c.noiseModel = c.cfg.NoiseModel
	if c.noiseModel != NoiseMisplaced {
		return
	}
	if len(c.rules) == 0 {
		c.noiseModel = NoiseUniform
		return
	}
	w := make([]float64, len(c.rules))
	c.entRules = make([][]int32, len(c.ents))
	for k, ru := range c.rules {
		w[k] = float64(ru.members) * float64(len(ru.ents)) * ru.fire
		for _, e := range ru.ents {
			c.entRules[e] = append(c.entRules[e], int32(k))
		}
	}
	c.noiseRules = newDist(w)
}

// inPopulation reports whether identity i carries every item of rule ru.
func (c *company) inPopulation(ru *rule, i int) bool {
	for _, it := range ru.items {
		if c.attrs[it.attr].col[i] != it.val {
			return false
		}
	}
	return true
}

// grants reports whether some planted rule grants entitlement e to
// identity i.
func (c *company) grants(e int32, i int) bool {
	for _, k := range c.entRules[e] {
		if c.inPopulation(&c.rules[k], i) {
			return true
		}
	}
	return false
}

// buildRuleIndex keys every rule on its rarest item.
func (c *company) buildRuleIndex() {
	c.ruleIdx = make([]ruleIndex, len(c.attrs))
	byItem := make([][][]int32, len(c.attrs))
	for ri, ru := range c.rules {
		it := ru.items[c.keyItem(ru.items)]
		if byItem[it.attr] == nil {
			byItem[it.attr] = make([][]int32, len(c.attrs[it.attr].values))
		}
		byItem[it.attr][it.val] = append(byItem[it.attr][it.val], int32(ri))
	}
	for a, lists := range byItem {
		if lists == nil {
			continue
		}
		idx := ruleIndex{start: make([]int32, len(lists)+1)}
		for v, l := range lists {
			idx.rules = append(idx.rules, l...)
			idx.start[v+1] = int32(len(idx.rules))
		}
		c.ruleIdx[a] = idx
	}
}
