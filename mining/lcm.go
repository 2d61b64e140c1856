package mining

import (
	"fmt"
	"slices"
)

// node is a conditional database: weighted transactions over local item ids.
// Local ids [0, nExt) are extension items (ordered by decreasing global
// support, so the extensions of item k are the items < k, the more frequent
// ones); ids [nExt, nItems) are check-only items kept, for closed mining, to
// test the prefix-preserving closure condition. A transaction t is
// items[tb[t]:te[t]], sorted, with its extension part items[tb[t]:xe[t]].
type node struct {
	items      []int32
	tb, xe, te []int32
	w          []int32
	nExt       int32
	nItems     int32
	orig       []int32 // local id -> original item id

	// Occurrence lists of extension items: occ[k] = (occT, occP)[occOff[k]:occOff[k+1]],
	// occP being the absolute position of k in items.
	occOff []int32
	occT   []int32
	occP   []int32
	sup    []int32 // weighted support of each extension item
	cost   []int64 // estimated work per extension item (root only)
}

func (d *node) reset() {
	d.items = d.items[:0]
	d.tb, d.xe, d.te, d.w = d.tb[:0], d.xe[:0], d.te[:0], d.w[:0]
	d.orig = d.orig[:0]
	d.nExt, d.nItems = 0, 0
}

// prepare computes the occurrence lists (occurrence deliver).
func (d *node) prepare(withCost bool) {
	n := int(d.nExt)
	d.occOff = grow(d.occOff, n+1)
	d.sup = grow(d.sup, n)
	clear(d.occOff)
	clear(d.sup)
	items := d.items
	for t := range d.tb {
		ww := d.w[t]
		for _, j := range items[d.tb[t]:d.xe[t]] {
			d.occOff[j+1]++
			d.sup[j] += ww
		}
	}
	for k := 1; k <= n; k++ {
		d.occOff[k] += d.occOff[k-1]
	}
	total := int(d.occOff[n])
	d.occT = grow(d.occT, total)
	d.occP = grow(d.occP, total)
	fill := d.occOff[:n] // temporarily advanced; restored below
	for t := range d.tb {
		b := d.tb[t]
		for p := b; p < d.xe[t]; p++ {
			j := items[p]
			o := fill[j]
			d.occT[o] = int32(t)
			d.occP[o] = p
			fill[j] = o + 1
		}
	}
	// fill[j] now equals the old occOff[j+1]; shift back.
	copy(d.occOff[1:], d.occOff[:n])
	d.occOff[0] = 0
	if withCost {
		d.cost = grow(d.cost, n)
		for k := 0; k < n; k++ {
			var c int64
			for o := d.occOff[k]; o < d.occOff[k+1]; o++ {
				c += int64(d.occP[o]-d.tb[d.occT[o]]) + 1
			}
			d.cost[k] = c
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, n+n/4)
	}
	return s[:n]
}

type worker struct {
	m      *miner
	levels []*node
	cnt    []int32 // per local item, zero between uses
	nid    []int32 // per local item: new id + 1, zero between uses
	tchd   []int32 // touched items
	ext    []int32
	chk    []int32
	htab   []uint64 // stamp<<32 | transaction index
	stamp  uint32
	req    []int32 // current itemset (original ids)
	free   []int32 // perfect extensions (original ids)
	byLen  []int64
	out    *outBuf
	visits int
}

func newWorker(m *miner, root *node, rootReq, rootFree []int32) *worker {
	w := &worker{
		m:   m,
		cnt: make([]int32, root.nItems),
		nid: make([]int32, root.nItems),
	}
	w.req = append(w.req, rootReq...)
	w.free = append(w.free, rootFree...)
	return w
}

func (w *worker) level(depth int) *node {
	for len(w.levels) <= depth {
		w.levels = append(w.levels, &node{})
	}
	return w.levels[depth]
}

func (w *worker) record(sup int32) error {
	if w.m.counted {
		if len(w.free) > maxFree {
			return fmt.Errorf("mining: more than 2^%d itemsets in one branch; raise the minimum support", maxFree)
		}
		countLengths(w.m, &w.byLen, len(w.req), len(w.free))
		return nil
	}
	return w.out.add(w.m, w.req, w.free, sup)
}

// process runs every extension of a prepared node.
func (w *worker) process(d *node, depth int) error {
	for k := int32(0); k < d.nExt; k++ {
		if err := w.expand(d, k, depth); err != nil {
			return err
		}
	}
	return nil
}

// expand handles the itemset (current prefix) ∪ {k} of node d: it reports it
// (closed: its closure, if it is a ppc extension) and recurses into its
// conditional database.
func (w *worker) expand(d *node, k int32, depth int) error {
	m := w.m
	w.visits++
	if w.visits&255 == 0 {
		if err := m.ctx.Err(); err != nil {
			return fmt.Errorf("mining: %w", err)
		}
	}
	sup := d.sup[k]
	if sup < m.minsup {
		return nil
	}
	o0, o1 := d.occOff[k], d.occOff[k+1]
	items, cnt := d.items, w.cnt
	closed := m.closed
	minsup := m.minsup
	nReq, nFree := len(w.req), len(w.free)
	ext, chk := w.ext[:0], w.chk[:0]
	ppc := true
	// Scan mode: when the node has few items, count without tracking the
	// touched items and classify by scanning the counters (sorted for free).
	hi := k // items counted are < hi
	if closed {
		hi = d.nItems
	}
	if int(hi) <= 8*int(o1-o0)+64 {
		for o := o0; o < o1; o++ {
			t, p := d.occT[o], d.occP[o]
			ww := d.w[t]
			for _, j := range items[d.tb[t]:p] {
				cnt[j] += ww
			}
			if closed {
				for _, j := range items[p+1 : d.te[t]] {
					cnt[j] += ww
				}
			}
		}
		tchd := w.tchd[:0]
		for j := int32(0); j < hi; j++ {
			c := cnt[j]
			if c < minsup {
				cnt[j] = 0
				continue
			}
			tchd = append(tchd, j)
			switch {
			case c == sup:
				if j > k {
					ppc = false
				} else if closed {
					w.req = append(w.req, d.orig[j])
				} else {
					w.free = append(w.free, d.orig[j])
				}
			case j < k:
				ext = append(ext, j)
			default:
				chk = append(chk, j)
			}
		}
		w.tchd = tchd
		w.ext, w.chk = ext, chk
		if !ppc {
			for _, j := range tchd {
				cnt[j] = 0
			}
			w.req, w.free = w.req[:nReq], w.free[:nFree]
			return nil
		}
		w.req = append(w.req, d.orig[k])
		err := w.extend(d, k, depth, sup, o0, o1, true)
		w.req, w.free = w.req[:nReq], w.free[:nFree]
		return err
	}
	tchd := w.tchd[:0]
	for o := o0; o < o1; o++ {
		t, p := d.occT[o], d.occP[o]
		ww := d.w[t]
		for _, j := range items[d.tb[t]:p] {
			if cnt[j] == 0 {
				tchd = append(tchd, j)
			}
			cnt[j] += ww
		}
		if closed {
			for _, j := range items[p+1 : d.te[t]] {
				if cnt[j] == 0 {
					tchd = append(tchd, j)
				}
				cnt[j] += ww
			}
		}
	}
	w.tchd = tchd
	for _, j := range tchd {
		c := cnt[j]
		switch {
		case c == sup:
			if j > k {
				ppc = false
			} else if closed {
				w.req = append(w.req, d.orig[j])
			} else {
				w.free = append(w.free, d.orig[j])
			}
		case c >= minsup:
			if j < k {
				ext = append(ext, j)
			} else {
				chk = append(chk, j)
			}
		}
	}
	w.ext, w.chk = ext, chk
	if !ppc {
		for _, j := range tchd {
			cnt[j] = 0
		}
		w.req, w.free = w.req[:nReq], w.free[:nFree]
		return nil
	}
	w.req = append(w.req, d.orig[k])
	err := w.extend(d, k, depth, sup, o0, o1, false)
	w.req, w.free = w.req[:nReq], w.free[:nFree]
	return err
}

// extend reports the current itemset and mines its conditional database
// (extension items w.ext, check items w.chk).
func (w *worker) extend(d *node, k int32, depth int, sup, o0, o1 int32, sorted bool) error {
	m := w.m
	cnt, ext, chk := w.cnt, w.ext, w.chk
	maxLen := m.maxLen
	if maxLen > 0 && len(w.req) > maxLen {
		for _, j := range w.tchd {
			cnt[j] = 0
		}
		return nil
	}
	if err := w.record(sup); err != nil {
		return err
	}
	if len(ext) == 0 || (maxLen > 0 && len(w.req) >= maxLen) {
		for _, j := range w.tchd {
			cnt[j] = 0
		}
		return nil
	}
	if len(ext) == 1 && !m.closed {
		// A single extension: report it without building its database.
		s := cnt[ext[0]]
		for _, j := range w.tchd {
			cnt[j] = 0
		}
		w.req = append(w.req, d.orig[ext[0]])
		err := w.record(s)
		w.req = w.req[:len(w.req)-1]
		return err
	}
	// Conditional database.
	for _, j := range w.tchd {
		cnt[j] = 0
	}
	if !sorted {
		slices.Sort(ext)
		slices.Sort(chk)
	}
	nid := w.nid
	c := w.level(depth + 1)
	c.reset()
	for i, j := range ext {
		nid[j] = int32(i) + 1
		c.orig = append(c.orig, d.orig[j])
	}
	for i, j := range chk {
		nid[j] = int32(len(ext)+i) + 1
		c.orig = append(c.orig, d.orig[j])
	}
	c.nExt = int32(len(ext))
	c.nItems = int32(len(ext) + len(chk))
	w.build(d, c, o0, o1)
	for _, j := range ext {
		nid[j] = 0
	}
	for _, j := range chk {
		nid[j] = 0
	}
	if len(c.tb) == 0 {
		return nil
	}
	c.prepare(false)
	return w.process(c, depth+1)
}

// build fills c with the transactions of d listed in occ[o0:o1], mapped by
// w.nid, merging transactions with equal extension parts (closed: the
// check parts are intersected).
func (w *worker) build(d, c *node, o0, o1 int32) {
	nid := w.nid
	closed := w.m.closed
	hsize := ceilPow2(2 * int(o1-o0))
	if len(w.htab) < hsize {
		w.htab = make([]uint64, hsize)
		w.stamp = 0
	}
	w.stamp++
	if w.stamp == 0 {
		clear(w.htab)
		w.stamp = 1
	}
	stamp := uint64(w.stamp) << 32
	mask := uint64(hsize - 1)
	htab := w.htab[:hsize]
	items := c.items
	for o := o0; o < o1; o++ {
		t, p := d.occT[o], d.occP[o]
		b := int32(len(items))
		h := uint64(14695981039346656037)
		for _, j := range d.items[d.tb[t]:p] {
			if x := nid[j]; x != 0 {
				items = append(items, x-1)
				h = (h ^ uint64(x)) * 1099511628211
			}
		}
		xe := int32(len(items))
		if xe == b {
			items = items[:b]
			continue
		}
		if closed {
			for _, j := range d.items[p+1 : d.te[t]] {
				if x := nid[j]; x != 0 {
					items = append(items, x-1)
				}
			}
		}
		te := int32(len(items))
		h ^= h >> 29
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 32
		slot := h & mask
		ww := d.w[t]
		merged := false
		for {
			e := htab[slot]
			if e&^0xffffffff != stamp {
				htab[slot] = stamp | uint64(len(c.tb))
				break
			}
			u := int32(e & 0xffffffff)
			if slices.Equal(items[c.tb[u]:c.xe[u]], items[b:xe]) {
				c.w[u] += ww
				if closed {
					c.te[u] = intersectInto(items, c.xe[u], c.te[u], xe, te)
				}
				merged = true
				break
			}
			slot = (slot + 1) & mask
		}
		if merged {
			items = items[:b]
			continue
		}
		c.tb = append(c.tb, b)
		c.xe = append(c.xe, xe)
		c.te = append(c.te, te)
		c.w = append(c.w, ww)
	}
	c.items = items
}

// intersectInto intersects the sorted runs items[a0:a1] and items[b0:b1]
// into items[a0:...] and returns the new end of the first run.
func intersectInto(items []int32, a0, a1, b0, b1 int32) int32 {
	out := a0
	for a0 < a1 && b0 < b1 {
		x, y := items[a0], items[b0]
		switch {
		case x < y:
			a0++
		case x > y:
			b0++
		default:
			items[out] = x
			out++
			a0++
			b0++
		}
	}
	return out
}

// buildRoot builds the root conditional database from the selected
// transactions (tids == nil: all). It returns the items held by every
// transaction separately (rootReq for closed mining, rootFree otherwise).
func (m *miner) buildRoot(db *DB, tids []int32) (root *node, rootReq, rootFree []int32) {
	n := db.NumTransactions()
	each := func(f func(tx []int32)) {
		if tids == nil {
			for t := 0; t < n; t++ {
				f(db.Transaction(t))
			}
			return
		}
		for _, t := range tids {
			f(db.Transaction(int(t)))
		}
	}
	ntx := n
	if tids != nil {
		ntx = len(tids)
	}
	count := make([]int32, db.NumItems())
	each(func(tx []int32) {
		for _, it := range tx {
			count[it]++
		}
	})
	var freq []int32
	for it, c := range count {
		if c < m.minsup {
			continue
		}
		if int(c) == ntx {
			if m.closed {
				rootReq = append(rootReq, int32(it))
			} else {
				rootFree = append(rootFree, int32(it))
			}
			continue
		}
		freq = append(freq, int32(it))
	}
	if len(freq) == 0 {
		return nil, rootReq, rootFree
	}
	slices.SortStableFunc(freq, func(a, b int32) int { return int(count[b]) - int(count[a]) })
	rank := make([]int32, db.NumItems()) // local id + 1
	for i, it := range freq {
		rank[it] = int32(i) + 1
	}
	// Stage the root as the child of a virtual node holding the original
	// transactions, to reuse build's merging.
	src := &node{
		items: make([]int32, 0, len(db.items)),
		tb:    make([]int32, 0, ntx), xe: make([]int32, 0, ntx), te: make([]int32, 0, ntx),
		w:    make([]int32, 0, ntx),
		occT: make([]int32, 0, ntx), occP: make([]int32, 0, ntx),
	}
	each(func(tx []int32) {
		b := int32(len(src.items))
		for _, it := range tx {
			if r := rank[it]; r != 0 {
				src.items = append(src.items, r-1)
			}
		}
		e := int32(len(src.items))
		if e == b {
			return
		}
		insertionSort(src.items[b:e])
		src.tb = append(src.tb, b)
		src.xe = append(src.xe, e)
		src.te = append(src.te, e)
		src.w = append(src.w, 1)
		// A virtual occurrence at the end of the transaction.
		src.occT = append(src.occT, int32(len(src.tb)-1))
		src.occP = append(src.occP, e)
	})
	nt := len(src.tb)
	root = &node{nExt: int32(len(freq)), nItems: int32(len(freq)), orig: freq,
		items: make([]int32, 0, len(src.items)),
		tb:    make([]int32, 0, nt), xe: make([]int32, 0, nt), te: make([]int32, 0, nt),
		w: make([]int32, 0, nt),
	}
	w := &worker{m: &miner{closed: false}, nid: make([]int32, len(freq))}
	for i := range w.nid {
		w.nid[i] = int32(i) + 1
	}
	w.build(src, root, 0, int32(len(src.occT)))
	root.prepare(true)
	return root, rootReq, rootFree
}

func insertionSort(a []int32) {
	if len(a) > 24 {
		slices.Sort(a)
		return
	}
	for i := 1; i < len(a); i++ {
		x := a[i]
		j := i
		for j > 0 && a[j-1] > x {
			a[j] = a[j-1]
			j--
		}
		a[j] = x
	}
}
