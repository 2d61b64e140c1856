package mining

import (
	"context"
	"math"
	"math/bits"
	"slices"
	"sync"
)

// maxDenseItems bounds the frequent items of a class in the level-wise
// strategy (pair table k×k); a wider class goes to the kernel.
const maxDenseItems = 2048

// ruleMiner holds what every class shares: the possible antecedents
// (itemsets of length <= MaxLen held by >= MinFreq transactions) with their
// frequencies.
type ruleMiner struct {
	db   *DB
	kdb  *DB // db restricted to the kept items
	opt  RuleOptions
	sE   int32  // class support
	keep []bool // items held by >= MinFreq transactions

	ft        *freqTable // itemset -> antecedent id
	anteItems []int32    // antecedent id's items: anteItems[anteOff[id]:anteOff[id+1]]
	anteOff   []int
	anteFreq  []int32

	trieOnce sync.Once
	trie     []anteNode

	indexOnce sync.Once
	ix        anteIndex

	rowsOnce sync.Once
	rows     []uint16 // kdb's transactions padded to stride items with pad, or nil
	stride   int
	pad      int32 // numItems: a dummy item, never frequent
}

// buildRows lays kdb's transactions out in rows of equal length (padded
// with the dummy item) of 16-bit ids, when the ids fit, rows have at most
// 32 items and the padding costs at most as much as the items: a holder's
// row is then found without reading an offset, the counting pass reads half
// the bytes, and the rows of a block of holders can be fetched together.
func (g *ruleMiner) buildRows() {
	kdb := g.kdb
	n, numItems := kdb.NumTransactions(), kdb.NumItems()
	g.pad = int32(numItems)
	if numItems+1 > 1<<16 {
		return
	}
	stride := 0
	for t := 0; t < n; t++ {
		stride = max(stride, len(kdb.Transaction(t)))
	}
	if stride == 0 || stride > 32 || stride*n > 2*len(kdb.items)+n {
		return
	}
	rows := make([]uint16, stride*n)
	for t := 0; t < n; t++ {
		row := rows[t*stride : (t+1)*stride]
		tx := kdb.Transaction(t)
		for i := range row {
			if i < len(tx) {
				row[i] = uint16(tx[i])
			} else {
				row[i] = uint16(numItems)
			}
		}
	}
	g.rows, g.stride = rows, stride
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

	cnt1      []int32 // per item
	local     []int32 // per item: local id + 1
	touched   []int32
	fitems    []int32
	cnt2      []int32
	pairs     []int32 // a, b, pair index per pair of the class
	slot      []int32 // per item: bitset slot + 1
	exact     []bool
	bits      []uint64
	ab        []uint64
	comp      []int32
	outside   []int32
	unstemmed int64   // rules of the class before stemming
	fu1       []int32 // per item: frequnion of a class's frequent items (complement)
	zero      []uint64
	pid       []int32 // per pair of local items: the pair's antecedent id
	icnt      []int32 // per item: class count, set for every item of a rule found
	imark     []bool

	// found rules: items in flat, rule i's items at starts[i]:starts[i+1]
	flat   []int32
	starts []int
	freqs  []int32
	fus    []int32
}

// mine finds the rules of one class (holders ascending, no repeats) and
// the class count of every item of those rules, by item.
func (cw *classWorker) mine(ctx context.Context, holders []int32) ([]ClassRule, []ItemCount, int64, error) {
	cw.flat, cw.starts, cw.freqs, cw.fus = cw.flat[:0], append(cw.starts[:0], 0), cw.freqs[:0], cw.fus[:0]
	cw.unstemmed = 0
	stemmed := true // by the level-wise count, as it goes
	n := cw.g.db.NumTransactions()
	if cw.icnt == nil {
		cw.icnt = make([]int32, cw.g.db.NumItems())
		cw.imark = make([]bool, cw.g.db.NumItems())
	}
	var cand int64
	switch {
	case 2*len(holders) > n:
		// The transactions outside the class, counted level-wise:
		// frequnion = freq − outside count.
		out := cw.outside[:0]
		h := 0
		for t := 0; t < n; t++ {
			if h < len(holders) && int(holders[h]) == t {
				h++
				continue
			}
			out = append(out, int32(t))
		}
		cw.outside = out
		var ok bool
		if cand, ok = cw.levelwise(out, true); !ok {
			cw.flat, cw.starts, cw.freqs, cw.fus = cw.flat[:0], append(cw.starts[:0], 0), cw.freqs[:0], cw.fus[:0]
			cw.unstemmed = 0
			cand, stemmed = cw.complement(holders), false
		}
	default:
		var ok bool
		if cand, ok = cw.levelwise(holders, false); !ok {
			cw.flat, cw.starts, cw.freqs, cw.fus = cw.flat[:0], append(cw.starts[:0], 0), cw.freqs[:0], cw.fus[:0]
			cw.unstemmed, stemmed = 0, false
			var err error
			if cand, err = cw.kernel(ctx, holders); err != nil {
				return nil, nil, 0, err
			}
		}
	}
	out := make([]ClassRule, len(cw.freqs))
	flat := slices.Clone(cw.flat)
	for i := range out {
		lo, hi := cw.starts[i], cw.starts[i+1]
		out[i] = ClassRule{Items: flat[lo:hi:hi], Freq: int(cw.freqs[i]), Frequnion: int(cw.fus[i])}
	}
	if !stemmed && cw.g.opt.Stem {
		out = StemRules(out, cw.g.opt.StemDelta)
	}
	var items []ItemCount
	for _, r := range out {
		for _, it := range r.Items {
			if !cw.imark[it] {
				cw.imark[it] = true
				items = append(items, ItemCount{Item: it, Count: int(cw.icnt[it])})
			}
		}
	}
	for _, ic := range items {
		cw.imark[ic.Item] = false
	}
	slices.SortFunc(items, func(a, b ItemCount) int { return int(a.Item) - int(b.Item) })
	return out, items, cand, nil
}

// acceptID keeps antecedent id with frequnion fu when the confidence holds.
func (cw *classWorker) acceptID(id int32, fu int32) {
	g := cw.g
	f := g.anteFreq[id]
	if !g.opt.MinConfidence.AtLeast(int64(fu), int64(f)) {
		return
	}
	cw.unstemmed++
	cw.keep(id, fu)
}

// isRule reports whether antecedent id with frequnion fu is a rule.
func (g *ruleMiner) isRule(id, fu int32) bool {
	return fu >= g.sE && g.opt.MinConfidence.AtLeast(int64(fu), int64(g.anteFreq[id]))
}

// acceptSub is acceptID for a rule whose proper subsets are the
// antecedents subs with the exact frequnions subFu: with stemming on, the
// rule is counted but not kept when a subset rule is within StemDelta.
func (cw *classWorker) acceptSub(id, fu int32, subs, subFu []int32) {
	g := cw.g
	f := g.anteFreq[id]
	if !g.opt.MinConfidence.AtLeast(int64(fu), int64(f)) {
		return
	}
	cw.unstemmed++
	if g.opt.Stem {
		for i, p := range subs {
			if g.isRule(p, subFu[i]) && g.opt.StemDelta.WithinDelta(int64(fu), int64(f), int64(subFu[i]), int64(g.anteFreq[p])) {
				return
			}
		}
	}
	cw.keep(id, fu)
}

// keep records the rule of antecedent id with frequnion fu.
func (cw *classWorker) keep(id, fu int32) {
	g := cw.g
	f := g.anteFreq[id]
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

// levelwise finds the rules of length <= 3 of a class with bounds before
// counting. With comp set, set holds the transactions outside the class
// instead of its holders, and every frequnion is freq − the outside count. Every antecedent's frequnion is at most the frequnion of each of
// its subsets (anti-monotone in the holders), so a pair is bounded by its
// items' class counts and a triple by its pairs' frequnions (or bounds); an
// itemset whose bound is below the class support, or below MinConfidence ×
// freq, cannot be a rule and is not counted. Only possible antecedents are
// visited (through the pair and triple index of the antecedents), and the
// surviving ones are counted exactly as the popcount of the AND of their
// items' holder bitsets. It reports false when the class is too wide for
// the dense pair table or MaxLen > 3.
func (cw *classWorker) levelwise(holders []int32, comp bool) (int64, bool) {
	g := cw.g
	kdb, sE, maxLen := g.kdb, g.sE, g.opt.MaxLen
	if maxLen > 3 {
		return 0, false
	}
	g.indexOnce.Do(g.buildIndex)
	ix := &g.ix
	g.rowsOnce.Do(g.buildRows)
	if cw.cnt1 == nil {
		cw.cnt1 = make([]int32, kdb.NumItems()+1)
		cw.local = make([]int32, kdb.NumItems())
		cw.slot = make([]int32, kdb.NumItems()+1)
		cw.fu1 = make([]int32, kdb.NumItems())
	}
	// One pass over the holders: the class count and the holder bitset
	// (bit x: holders[x]) of every item met, in slots by first meeting.
	words := (len(holders) + 63) / 64
	outside := int32(g.db.NumTransactions() - len(holders)) // transactions outside the class
	if comp {
		outside = int32(len(holders))
	}
	cnt1, slot := cw.cnt1, cw.slot
	touched := cw.touched[:0]
	bs := cw.bits[:0]
	if rows, stride := g.rows, g.stride; rows != nil {
		// The rows of a block of holders are copied first: their cache
		// misses are independent loads that overlap.
		const block = 8
		var buf [block * 32]uint16
		for x0 := 0; x0 < len(holders); x0 += block {
			hb := holders[x0:min(x0+block, len(holders))]
			for i, t := range hb {
				copy(buf[i*stride:(i+1)*stride], rows[int(t)*stride:int(t)*stride+stride])
			}
			for i := range hb {
				x := x0 + i
				w, m := x>>6, uint64(1)<<(uint(x)&63)
				for _, it16 := range buf[i*stride : (i+1)*stride] {
					it := int32(it16)
					sl := slot[it]
					if sl == 0 {
						touched = append(touched, it)
						sl = int32(len(touched))
						slot[it] = sl
						bs = growZero(bs, words)
					}
					cnt1[it]++
					bs[int(sl-1)*words+w] |= m
				}
			}
		}
	} else {
		for x, t := range holders {
			w, m := x>>6, uint64(1)<<(uint(x)&63)
			for _, it := range kdb.Transaction(int(t)) {
				sl := slot[it]
				if sl == 0 {
					touched = append(touched, it)
					sl = int32(len(touched))
					slot[it] = sl
					bs = growZero(bs, words)
				}
				cnt1[it]++
				bs[int(sl-1)*words+w] |= m
			}
		}
	}
	cw.touched, cw.bits = touched, bs
	fitems := cw.fitems[:0]
	v1 := cnt1 // per item of fitems: the class count
	if comp {
		v1 = cw.fu1
		for it, id := range ix.single {
			if id >= 0 {
				if fu := g.anteFreq[id] - cnt1[it]; fu >= sE {
					v1[it] = fu
					fitems = append(fitems, int32(it))
				}
			}
		}
	} else {
		for _, it := range touched {
			if cnt1[it] >= sE && it != g.pad {
				fitems = append(fitems, it)
			}
		}
		slices.Sort(fitems)
	}
	cw.fitems = fitems
	k := len(fitems)
	local := cw.local
	defer func() {
		for _, it := range touched {
			cnt1[it], slot[it] = 0, 0
		}
		for _, it := range fitems {
			local[it] = 0
		}
	}()
	if maxLen >= 2 && k > maxDenseItems {
		return 0, false
	}
	var cand int64
	for _, it := range fitems {
		cand++
		cw.icnt[it] = v1[it]
		cw.acceptID(ix.single[it], v1[it])
	}
	if maxLen < 2 || k < 2 {
		return cand, true
	}
	for i, it := range fitems {
		local[it] = int32(i) + 1
	}
	cw.zero = grow(cw.zero, words)
	zero := cw.zero[:words]
	clear(zero)
	row := func(l int) []uint64 {
		sl := int(slot[fitems[l]] - 1)
		if sl < 0 {
			return zero // an item met in no outside transaction
		}
		return bs[sl*words : (sl+1)*words]
	}
	// count turns the count of an itemset in set into its frequnion.
	count := func(id int32, c int32) int32 {
		if comp {
			return g.anteFreq[id] - c
		}
		return c
	}
	// pv[a*k+b] (local a < b): the pair's frequnion when exact[a*k+b],
	// else an upper bound; unset when the pair is no possible antecedent.
	cw.cnt2 = grow(cw.cnt2, k*k)
	pv := cw.cnt2[:k*k]
	cw.exact = grow(cw.exact, k*k)
	exact := cw.exact[:k*k]
	cw.pid = grow(cw.pid, k*k)
	pid := cw.pid[:k*k]
	pairs := cw.pairs[:0] // local a, b, pair index
	for ia, a := range fitems {
		ra := row(ia)
		ca := v1[a]
		for j := ix.pOff[a]; j < ix.pOff[a+1]; j++ {
			b := ix.pB[j]
			lb := local[b]
			if lb == 0 {
				continue
			}
			ib := int(lb - 1)
			u := min(ca, v1[b])
			ex := u >= ix.pNeed[j]
			if ex {
				sub := [2]int32{ix.single[a], ix.single[b]}
				subFu := [2]int32{ca, v1[b]}
				if lo, hi := cw.pairBounds(ix.pID[j], u, sub, subFu, outside); lo >= ix.pNeed[j] && cw.surelyStemmed(ix.pID[j], lo, hi, sub[:], subFu[:]) {
					// A rule for sure, and redundant whatever its exact
					// frequnion: counted when a triple needs it.
					cand++
					cw.unstemmed++
					u, ex = hi, false
				} else if u = count(ix.pID[j], andCount(ra, row(ib))); u >= sE {
					cand++
					cw.acceptSub(ix.pID[j], u, sub[:], subFu[:])
				}
			}
			pv[ia*k+ib], exact[ia*k+ib], pid[ia*k+ib] = u, ex, ix.pID[j]
			if maxLen >= 3 && u >= sE && ix.tOff[j] < ix.tOff[j+1] {
				pairs = append(pairs, int32(ia), int32(ib), j)
			}
		}
	}
	cw.pairs = pairs
	if maxLen < 3 {
		return cand, true
	}
	// The triples extending each pair; a pair only bounded so far is
	// counted when a triple's bound would otherwise pass.
	ab := grow(cw.ab, words)
	cw.ab = ab
	exactPair := func(a, b int) int32 {
		i := a*k + b
		if !exact[i] {
			pv[i], exact[i] = count(pid[i], andCount(row(a), row(b))), true
		}
		return pv[i]
	}
	for p := 0; p < len(pairs); p += 3 {
		ia, ib, j := int(pairs[p]), int(pairs[p+1]), pairs[p+2]
		uab := pv[ia*k+ib]
		haveAB := false
		for t := ix.tOff[j]; t < ix.tOff[j+1]; t++ {
			lc := local[ix.tC[t]]
			if lc == 0 {
				continue
			}
			ic := int(lc - 1)
			need := ix.tNeed[t]
			if min(uab, pv[ia*k+ic], pv[ib*k+ic]) < need {
				continue
			}
			if !exact[ia*k+ib] {
				if uab = exactPair(ia, ib); uab < need {
					if uab < sE {
						break
					}
					continue
				}
			}
			if min(exactPair(ia, ic), exactPair(ib, ic)) < need {
				continue
			}
			a, b, c3 := fitems[ia], fitems[ib], fitems[ic]
			sub := [6]int32{ix.single[a], ix.single[b], ix.single[c3], pid[ia*k+ib], pid[ia*k+ic], pid[ib*k+ic]}
			subFu := [6]int32{v1[a], v1[b], v1[c3], pv[ia*k+ib], pv[ia*k+ic], pv[ib*k+ic]}
			lo, hi := cw.tripleBounds(ix.tID[t], sub, subFu)
			if hi < need {
				continue
			}
			if lo >= need && cw.surelyStemmed(ix.tID[t], lo, hi, sub[:], subFu[:]) {
				cand++
				cw.unstemmed++
				continue
			}
			if !haveAB {
				andInto(ab, row(ia), row(ib))
				haveAB = true
			}
			if c := count(ix.tID[t], andCount(ab, row(ic))); c >= sE {
				cand++
				cw.acceptSub(ix.tID[t], c, sub[:], subFu[:])
			}
		}
	}
	return cand, true
}

// Bounds of a frequnion from the exact frequnions of the antecedent's
// subsets, with out(X) = freq(X) − frequnion(X) the transactions outside
// the class holding X. Upper: frequnion is anti-monotone, and the outside
// transactions holding AB are those holding both A and B, so out(AB) ≥
// out(A) + out(B) − out(∅) (inclusion and exclusion). Lower: out is
// anti-monotone too, so out(AB) ≤ min(out(A), out(B)); and frequnion(AB) ≥
// frequnion(A) + frequnion(B) − frequnion(∅) by the same argument within
// the class.

// pairBounds bounds the frequnion of pair id, whose items are the
// antecedents sub with exact frequnions subFu and upper bound
// min(subFu); outside is the number of transactions outside the class.
func (cw *classWorker) pairBounds(id, upper int32, sub, subFu [2]int32, outside int32) (lo, hi int32) {
	f := cw.g.anteFreq
	oa, ob := f[sub[0]]-subFu[0], f[sub[1]]-subFu[1]
	return f[id] - min(oa, ob), min(upper, f[id]-max(0, oa+ob-outside))
}

// tripleBounds bounds the frequnion of triple id {a, b, c}; sub and subFu
// are its subsets with exact frequnions: a, b, c, ab, ac, bc.
func (cw *classWorker) tripleBounds(id int32, sub, subFu [6]int32) (lo, hi int32) {
	f := cw.g.anteFreq
	var out [6]int32
	for i, p := range sub {
		out[i] = f[p] - subFu[i]
	}
	// ab ∩ ac around a, ab ∩ bc around b, ac ∩ bc around c.
	loOut := max(0, out[3]+out[4]-out[0], out[3]+out[5]-out[1], out[4]+out[5]-out[2])
	hi = min(subFu[3], subFu[4], subFu[5], f[id]-loOut)
	lo = max(f[id]-min(out[3], out[4], out[5]),
		subFu[3]+subFu[4]-subFu[0], subFu[3]+subFu[5]-subFu[1], subFu[4]+subFu[5]-subFu[2])
	return lo, hi
}

// surelyStemmed reports whether, with stemming on, the rule of antecedent
// id is redundant for every frequnion in [lo, hi]: some subset rule (subs,
// exact frequnions subFu) is within StemDelta of both ends (the
// frequnions within StemDelta of one rule form an interval).
func (cw *classWorker) surelyStemmed(id, lo, hi int32, subs, subFu []int32) bool {
	g := cw.g
	if !g.opt.Stem || lo > hi {
		return false
	}
	f := int64(g.anteFreq[id])
	for i, p := range subs {
		if g.isRule(p, subFu[i]) && g.opt.StemDelta.WithinDelta(int64(lo), f, int64(subFu[i]), int64(g.anteFreq[p])) &&
			g.opt.StemDelta.WithinDelta(int64(hi), f, int64(subFu[i]), int64(g.anteFreq[p])) {
			return true
		}
	}
	return false
}

// growZero appends n zero words to bs.
func growZero(bs []uint64, n int) []uint64 {
	k := len(bs)
	bs = slices.Grow(bs, n)[:k+n]
	clear(bs[k:])
	return bs
}

// andCount is the number of bits set in both a and b (len(b) >= len(a)).
func andCount(a, b []uint64) int32 {
	b = b[:len(a)]
	n := 0
	i := 0
	for ; i+4 <= len(a); i += 4 {
		n += bits.OnesCount64(a[i]&b[i]) + bits.OnesCount64(a[i+1]&b[i+1]) +
			bits.OnesCount64(a[i+2]&b[i+2]) + bits.OnesCount64(a[i+3]&b[i+3])
	}
	for ; i < len(a); i++ {
		n += bits.OnesCount64(a[i] & b[i])
	}
	return int32(n)
}

// andInto sets dst to a AND b.
func andInto(dst, a, b []uint64) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] & b[i]
	}
}

// anteIndex lists the possible antecedents by their items: single[it] is
// the id of {it} (or -1); the pairs {a, b} (a < b) are
// pB[pOff[a]:pOff[a+1]] ascending with ids pID; the triples {a, b, c}
// extending pair index j are tC[tOff[j]:tOff[j+1]] ascending with ids tID.
type anteIndex struct {
	single  []int32
	pOff    []int32
	pB, pID []int32
	tOff    []int32
	tC, tID []int32
	// pNeed[j], tNeed[t]: the least frequnion that makes the antecedent a
	// rule: max(class support, ⌈MinConfidence × freq⌉).
	pNeed, tNeed []int32
}

// buildIndex builds the antecedent index (antecedents of length <= 3).
func (g *ruleMiner) buildIndex() {
	ix := &g.ix
	n := g.db.NumItems()
	ix.single = make([]int32, n)
	for i := range ix.single {
		ix.single[i] = -1
	}
	var two, three []int32
	for id := range g.anteFreq {
		s := g.anteItems[g.anteOff[id]:g.anteOff[id+1]]
		switch len(s) {
		case 1:
			ix.single[s[0]] = int32(id)
		case 2:
			two = append(two, int32(id))
		case 3:
			three = append(three, int32(id))
		}
	}
	items := func(id int32) []int32 { return g.anteItems[g.anteOff[id]:g.anteOff[id+1]] }
	cmp := func(a, b int32) int { return slices.Compare(items(a), items(b)) }
	slices.SortFunc(two, cmp)
	slices.SortFunc(three, cmp)
	ix.pOff = make([]int32, n+1)
	ix.pB = make([]int32, len(two))
	ix.pID = two
	for j, id := range two {
		s := items(id)
		ix.pOff[s[0]+1]++
		ix.pB[j] = s[1]
	}
	for i := 0; i < n; i++ {
		ix.pOff[i+1] += ix.pOff[i]
	}
	ix.tOff = make([]int32, len(two)+1)
	ix.tC = make([]int32, len(three))
	ix.tID = three
	for t, id := range three {
		s := items(id)
		lo, hi := ix.pOff[s[0]], ix.pOff[s[0]+1]
		j, _ := slices.BinarySearch(ix.pB[lo:hi], s[1])
		ix.tOff[int(lo)+j+1]++
		ix.tC[t] = s[2]
	}
	for j := 0; j < len(two); j++ {
		ix.tOff[j+1] += ix.tOff[j]
	}
	need := func(ids []int32) []int32 {
		out := make([]int32, len(ids))
		for i, id := range ids {
			c := g.opt.MinConfidence.CeilMul(int64(g.anteFreq[id]))
			out[i] = int32(min(max(c, int64(g.sE)), math.MaxInt32))
		}
		return out
	}
	ix.pNeed, ix.tNeed = need(two), need(three)
}

// complement handles a class held by more than half of the transactions
// when the level-wise count on the outside transactions cannot (MaxLen > 3
// or too many items): frequnion(A) = freq(A) − (transactions outside the
// class holding A), counted by walking the outside transactions through the
// prefix tree of the antecedents.
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
		g.walk(g.kdb.Transaction(t), 0, comp)
	}
	var cand int64
	for id := 0; id < nAnte; id++ {
		fu := g.anteFreq[id] - comp[id]
		comp[id] = 0
		if g.anteOff[id+1]-g.anteOff[id] == 1 {
			cw.icnt[g.anteItems[g.anteOff[id]]] = fu
		}
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
	slices.SortFunc(ids, func(a, b int32) int { return slices.Compare(items(a), items(b)) })
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
		if len(s) == 1 {
			cw.icnt[s[0]] = int32(sup)
		}
		cw.accept(s, int32(sup))
		return nil
	})
	return cand, err
}
