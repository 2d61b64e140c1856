package mining

import (
	"context"
	"slices"
	"sync"
)

// Limits of the dense counters of the level-wise strategy: beyond them a
// class goes to the kernel.
const (
	maxDenseItems  = 2048    // frequent items of a class (pair matrix k×k)
	maxDenseTriple = 1 << 22 // frequent pairs × frequent items
)

// ruleMiner holds what every class shares: the possible antecedents
// (itemsets of length <= MaxLen held by >= MinFreq transactions) with their
// frequencies.
type ruleMiner struct {
	db       *DB
	opt      RuleOptions
	sE       int32  // class support
	keep     []bool // items held by >= MinFreq transactions
	itemFreq []int

	ft        *freqTable // itemset -> antecedent id
	anteItems []int32    // antecedent id's items: anteItems[anteOff[id]:anteOff[id+1]]
	anteOff   []int
	anteFreq  []int32

	trieOnce sync.Once
	trie     []anteNode
}

// anteNode is a node of the prefix tree over the antecedents.
type anteNode struct {
	items []int32 // ascending edge items
	next  []int32 // child of each edge
	id    int32   // antecedent ending here, or -1
}

// classWorker mines one class at a time with reusable buffers.
type classWorker struct {
	g *ruleMiner

	cnt1    []int32 // per item
	local   []int32 // per item: local id + 1
	touched []int32
	fitems  []int32
	fOff    []int
	fIDs    []int32
	cnt2    []int32
	pairID  []int32
	pairs   []int32 // a, b per frequent pair
	cnt3    []int32
	t3      []int32
	comp    []int32

	// found rules: items in flat, rule i's items at starts[i]:starts[i+1]
	flat   []int32
	starts []int
	freqs  []int32
	fus    []int32
}

// mine finds the rules of one class (holders ascending, no repeats).
func (cw *classWorker) mine(ctx context.Context, holders []int32) ([]ClassRule, int64, error) {
	cw.flat, cw.starts, cw.freqs, cw.fus = cw.flat[:0], append(cw.starts[:0], 0), cw.freqs[:0], cw.fus[:0]
	n := cw.g.db.NumTransactions()
	var cand int64
	switch {
	case 2*len(holders) > n:
		cand = cw.complement(holders)
	default:
		var ok bool
		if cand, ok = cw.levelwise(holders); !ok {
			cw.flat, cw.starts, cw.freqs, cw.fus = cw.flat[:0], append(cw.starts[:0], 0), cw.freqs[:0], cw.fus[:0]
			var err error
			if cand, err = cw.kernel(ctx, holders); err != nil {
				return nil, 0, err
			}
		}
	}
	out := make([]ClassRule, len(cw.freqs))
	flat := slices.Clone(cw.flat)
	for i := range out {
		lo, hi := cw.starts[i], cw.starts[i+1]
		out[i] = ClassRule{Items: flat[lo:hi:hi], Freq: int(cw.freqs[i]), Frequnion: int(cw.fus[i])}
	}
	return out, cand, nil
}

// acceptID keeps antecedent id with frequnion fu when the confidence holds.
func (cw *classWorker) acceptID(id int32, fu int32) {
	g := cw.g
	f := g.anteFreq[id]
	if !g.opt.MinConfidence.AtLeast(int64(fu), int64(f)) {
		return
	}
	cw.flat = append(cw.flat, g.anteItems[g.anteOff[id]:g.anteOff[id+1]]...)
	cw.starts = append(cw.starts, len(cw.flat))
	cw.freqs = append(cw.freqs, f)
	cw.fus = append(cw.fus, fu)
}

// accept keeps itemset s with frequnion fu when it is a possible
// antecedent and the confidence holds; it reports whether s is a possible
// antecedent.
func (cw *classWorker) accept(s []int32, fu int32) bool {
	id, ok := cw.g.ft.get(s)
	if ok {
		cw.acceptID(id, fu)
	}
	return ok
}

// levelwise counts the itemsets of length <= 3 of a class with dense
// counters: items, then pairs of the class's frequent items, then triples
// whose three pairs are frequent antecedents. It reports false when the
// class is too wide for dense counters or MaxLen > 3.
func (cw *classWorker) levelwise(holders []int32) (int64, bool) {
	g := cw.g
	db, sE, maxLen := g.db, g.sE, g.opt.MaxLen
	if maxLen > 3 {
		return 0, false
	}
	if cw.cnt1 == nil {
		cw.cnt1 = make([]int32, db.NumItems())
		cw.local = make([]int32, db.NumItems())
	}
	cnt1 := cw.cnt1
	touched := cw.touched[:0]
	for _, t := range holders {
		for _, it := range db.Transaction(int(t)) {
			if !g.keep[it] {
				continue
			}
			if cnt1[it] == 0 {
				touched = append(touched, it)
			}
			cnt1[it]++
		}
	}
	cw.touched = touched
	fitems := cw.fitems[:0]
	for _, it := range touched {
		if cnt1[it] >= sE {
			fitems = append(fitems, it)
		}
	}
	cw.fitems = fitems
	slices.Sort(fitems)
	k := len(fitems)
	defer func() {
		for _, it := range touched {
			cnt1[it] = 0
		}
		for _, it := range fitems {
			cw.local[it] = 0
		}
	}()
	if maxLen >= 2 && k > maxDenseItems {
		return 0, false
	}
	var cand int64
	one := []int32{0}
	for _, it := range fitems {
		cand++
		one[0] = it
		cw.accept(one, cnt1[it])
	}
	if maxLen < 2 || k < 2 {
		return cand, true
	}
	for i, it := range fitems {
		cw.local[it] = int32(i) + 1
	}
	// The class's transactions restricted to its frequent items, as local
	// ids (ascending, since local order is item order).
	fOff, fIDs := append(cw.fOff[:0], 0), cw.fIDs[:0]
	for _, t := range holders {
		for _, it := range db.Transaction(int(t)) {
			if l := cw.local[it]; l > 0 {
				fIDs = append(fIDs, l-1)
			}
		}
		if len(fIDs) > fOff[len(fOff)-1]+1 {
			fOff = append(fOff, len(fIDs))
		} else {
			fIDs = fIDs[:fOff[len(fOff)-1]] // fewer than two items: no pair
		}
	}
	cw.fOff, cw.fIDs = fOff, fIDs
	cw.cnt2 = grow(cw.cnt2, k*k)
	cnt2 := cw.cnt2[:k*k]
	for x := 0; x+1 < len(fOff); x++ {
		f := fIDs[fOff[x]:fOff[x+1]]
		for i, a := range f {
			row := cnt2[int(a)*k : int(a)*k+k]
			for _, b := range f[i+1:] {
				row[b]++
			}
		}
	}
	if maxLen >= 3 {
		cw.pairID = grow(cw.pairID, k*k)
	}
	pairs := cw.pairs[:0]
	two := []int32{0, 0}
	for a := 0; a < k; a++ {
		row := cnt2[a*k : a*k+k]
		for b := a + 1; b < k; b++ {
			c := row[b]
			if c < sE {
				continue
			}
			cand++
			two[0], two[1] = fitems[a], fitems[b]
			if cw.accept(two, c) && maxLen >= 3 {
				pairs = append(pairs, int32(a), int32(b))
				cw.pairID[a*k+b] = int32(len(pairs) / 2)
			}
		}
		clear(row)
	}
	cw.pairs = pairs
	if maxLen < 3 || len(pairs) < 2*2 {
		for p := 0; p < len(pairs); p += 2 {
			cw.pairID[int(pairs[p])*k+int(pairs[p+1])] = 0
		}
		return cand, true
	}
	nPairs := len(pairs) / 2
	defer func() {
		for p := 0; p < len(pairs); p += 2 {
			cw.pairID[int(pairs[p])*k+int(pairs[p+1])] = 0
		}
	}()
	if nPairs*k > maxDenseTriple {
		return 0, false
	}
	cw.cnt3 = grow(cw.cnt3, nPairs*k)
	cnt3 := cw.cnt3[:nPairs*k]
	pid := cw.pairID
	touched3 := cw.t3[:0]
	for x := 0; x+1 < len(fOff); x++ {
		f := fIDs[fOff[x]:fOff[x+1]]
		for i := 0; i+2 < len(f); i++ {
			ra := int(f[i]) * k
			for j := i + 1; j+1 < len(f); j++ {
				p := pid[ra+int(f[j])]
				if p == 0 {
					continue
				}
				rb := int(f[j]) * k
				base := int(p-1) * k
				for _, c := range f[j+1:] {
					if pid[ra+int(c)] != 0 && pid[rb+int(c)] != 0 {
						if cnt3[base+int(c)] == 0 {
							touched3 = append(touched3, int32(base+int(c)))
						}
						cnt3[base+int(c)]++
					}
				}
			}
		}
	}
	three := []int32{0, 0, 0}
	for _, idx := range touched3 {
		c := cnt3[idx]
		cnt3[idx] = 0
		if c < sE {
			continue
		}
		cand++
		p, l := int(idx)/k, int(idx)%k
		three[0], three[1], three[2] = fitems[pairs[2*p]], fitems[pairs[2*p+1]], fitems[l]
		cw.accept(three, c)
	}
	cw.t3 = touched3[:0]
	return cand, true
}

// complement handles a class held by more than half of the transactions:
// frequnion(A) = freq(A) − (transactions outside the class holding A),
// counted by walking the outside transactions through the prefix tree of
// the antecedents.
func (cw *classWorker) complement(holders []int32) int64 {
	g := cw.g
	g.trieOnce.Do(g.buildTrie)
	nAnte := len(g.anteFreq)
	if cw.comp == nil {
		cw.comp = make([]int32, nAnte)
	}
	comp := cw.comp
	n := g.db.NumTransactions()
	h := 0
	for t := 0; t < n; t++ {
		if h < len(holders) && int(holders[h]) == t {
			h++
			continue
		}
		g.walk(g.db.Transaction(t), 0, comp)
	}
	var cand int64
	for id := 0; id < nAnte; id++ {
		fu := g.anteFreq[id] - comp[id]
		comp[id] = 0
		if fu >= g.sE {
			cand++
			cw.acceptID(int32(id), fu)
		}
	}
	return cand
}

// walk counts in cnt every antecedent contained in its (ascending).
func (g *ruleMiner) walk(its []int32, node int32, cnt []int32) {
	nd := &g.trie[node]
	if len(nd.items) == 0 {
		return
	}
	for p, it := range its {
		k, ok := slices.BinarySearch(nd.items, it)
		if !ok {
			continue
		}
		c := nd.next[k]
		if id := g.trie[c].id; id >= 0 {
			cnt[id]++
		}
		if p+1 < len(its) {
			g.walk(its[p+1:], c, cnt)
		}
	}
}

// buildTrie builds the prefix tree of the antecedents.
func (g *ruleMiner) buildTrie() {
	ids := make([]int32, len(g.anteFreq))
	for i := range ids {
		ids[i] = int32(i)
	}
	items := func(id int32) []int32 { return g.anteItems[g.anteOff[id]:g.anteOff[id+1]] }
	slices.SortFunc(ids, func(a, b int32) int { return compareItemsets(items(a), items(b)) })
	var build func(ids []int32, depth int) int32
	build = func(ids []int32, depth int) int32 {
		node := int32(len(g.trie))
		g.trie = append(g.trie, anteNode{id: -1})
		i := 0
		if i < len(ids) && len(items(ids[i])) == depth {
			g.trie[node].id = ids[i]
			i++
		}
		for i < len(ids) {
			it := items(ids[i])[depth]
			j := i + 1
			for j < len(ids) && items(ids[j])[depth] == it {
				j++
			}
			child := build(ids[i:j], depth+1)
			g.trie[node].items = append(g.trie[node].items, it)
			g.trie[node].next = append(g.trie[node].next, child)
			i = j
		}
		return node
	}
	build(ids, 0)
}

// kernel mines the class's projected database with the LCM kernel at the
// class support and keeps the itemsets that are possible antecedents.
func (cw *classWorker) kernel(ctx context.Context, holders []int32) (int64, error) {
	g := cw.g
	offs := make([]int, 1, len(holders)+1)
	var items []int32
	for _, t := range holders {
		for _, it := range g.db.Transaction(int(t)) {
			if g.keep[it] {
				items = append(items, it)
			}
		}
		offs = append(offs, len(items))
	}
	local, err := NewDB(offs, items)
	if err != nil {
		return 0, err
	}
	var cand int64
	_, err = Mine(ctx, local, Options{MinSupport: int(g.sE), MaxLen: g.opt.MaxLen, Workers: 1}, func(s []int32, sup int) error {
		cand++
		cw.accept(s, int32(sup))
		return nil
	})
	return cand, err
}
