package mining

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// RuleOptions configure MineRules. Counts are absolute.
type RuleOptions struct {
	// MinFreq is the least number of transactions (of the whole database)
	// that hold the antecedent; at least 1.
	MinFreq int
	// MinFrequnion is the least number of transactions of the class that
	// hold the antecedent.
	MinFrequnion int
	// MinConfidence is the least frequnion/freq, compared exactly.
	MinConfidence Ratio
	// MaxLen is the longest antecedent; at least 1.
	MaxLen int
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The output
	// does not depend on it.
	Workers int
	// Stem, when set, delivers only the rules that StemRules keeps with
	// StemDelta.
	Stem      bool
	StemDelta Ratio
}

// ClassRule is one class association rule A → c.
type ClassRule struct {
	Items     []int32 // the antecedent A, sorted ascending, never empty
	Freq      int     // transactions holding A
	Frequnion int     // transactions of the class holding A
}

// ItemCount is the class count of an item: the transactions of the class
// that hold it.
type ItemCount struct {
	Item  int32
	Count int
}

// RuleStats summarise MineRules.
type RuleStats struct {
	// Antecedents is the number of itemsets of length <= MaxLen held by at
	// least MinFreq transactions: the possible antecedents.
	Antecedents int64
	// Candidates is the number of (itemset, class) pairs that were frequent
	// in their class at ClassSupport.
	Candidates int64
	// Rules is the number of rules delivered.
	Rules int64
	// Unstemmed is the number of rules before stemming (Rules without
	// Stem).
	Unstemmed int64
	// ClassSupport is the per-class minimum support used:
	// max(MinFrequnion, ⌈MinConfidence × MinFreq⌉, 1).
	ClassSupport int
}

// RuleEmitFunc receives the rules of one class, sorted by antecedent
// (element by element, then shorter first), and the class count of every
// item that occurs in them, by item. It is called at most once per class,
// only for classes with rules, concurrently from several goroutines; the
// rules, their item slices and the counts belong to the callee.
type RuleEmitFunc func(class int, rules []ClassRule, items []ItemCount) error

// MineRules finds, for every class (a sorted list of transaction ids of
// db), every rule A → class with 1 <= |A| <= MaxLen, freq(A) >= MinFreq,
// frequnion >= MinFrequnion and frequnion/freq >= MinConfidence, where
// freq(A) counts all transactions holding A and frequnion those of the
// class.
//
// The antecedents' frequencies come from one run of the kernel over the
// whole database (items below MinFreq are dropped first); each class is
// then mined in its own projected database of the class's transactions at
// the class support, which every rule's frequnion must reach, and each
// itemset found is kept when the frequency table knows it and the
// confidence holds. Classes run in parallel, largest first.
func MineRules(ctx context.Context, db *DB, classes [][]int32, opt RuleOptions, emit RuleEmitFunc) (RuleStats, error) {
	return MineRulesLater(ctx, db, func() ([][]int32, error) { return classes, nil }, opt, emit)
}

// MineRulesLater is MineRules with the classes given by a function, called
// once the antecedents are counted (at most once; not when the parameters
// leave no possible rule), so the caller can still be reading them.
func MineRulesLater(ctx context.Context, db *DB, classesOf func() ([][]int32, error), opt RuleOptions, emit RuleEmitFunc) (RuleStats, error) {
	var st RuleStats
	if opt.MinFreq < 1 {
		opt.MinFreq = 1
	}
	if opt.MaxLen < 1 {
		return st, fmt.Errorf("mining: rules need MaxLen >= 1, got %d", opt.MaxLen)
	}
	if opt.MinConfidence.Den == 0 {
		return st, fmt.Errorf("mining: MinConfidence has a zero denominator")
	}
	st.ClassSupport = max(opt.MinFrequnion, 1)
	if c := opt.MinConfidence.CeilMul(int64(opt.MinFreq)); c > int64(st.ClassSupport) {
		if c > int64(db.NumTransactions()) {
			return st, nil
		}
		st.ClassSupport = int(c)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// Items held by fewer than MinFreq transactions are in no antecedent.
	count := make([]int, db.NumItems())
	for _, it := range db.items {
		count[it]++
	}
	keep := make([]bool, db.NumItems())
	for it, c := range count {
		keep[it] = c >= opt.MinFreq
	}

	koff := make([]int, 1, db.NumTransactions()+1)
	var kitems []int32
	for t := 0; t < db.NumTransactions(); t++ {
		for _, it := range db.Transaction(t) {
			if keep[it] {
				kitems = append(kitems, it)
			}
		}
		koff = append(koff, len(kitems))
	}
	kdb := &DB{offsets: koff, items: kitems, numItems: db.NumItems()}

	g := &ruleMiner{db: db, kdb: kdb, opt: opt, sE: int32(st.ClassSupport), keep: keep,
		ft: newFreqTable(db.NumItems(), opt.MaxLen), anteOff: []int{0}}
	gs, err := Mine(ctx, db, Options{MinSupport: opt.MinFreq, MaxLen: opt.MaxLen, Workers: workers}, func(s []int32, sup int) error {
		g.ft.put(s, int32(len(g.anteFreq)))
		g.anteItems = append(g.anteItems, s...)
		g.anteOff = append(g.anteOff, len(g.anteItems))
		g.anteFreq = append(g.anteFreq, int32(sup))
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("mining: antecedent frequencies: %w", err)
	}
	st.Antecedents = gs.Itemsets
	classes, err := classesOf()
	if err != nil {
		return st, err
	}

	order := make([]int, 0, len(classes))
	for c, h := range classes {
		if len(h) >= st.ClassSupport {
			order = append(order, c)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(classes[b]) - len(classes[a]) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var candidates, rules, unstemmed atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cw := &classWorker{g: g}
			for {
				i := int(next.Add(1) - 1)
				if i >= len(order) || ctx.Err() != nil {
					return
				}
				c := order[i]
				for k, t := range classes[c] {
					if t < 0 || int(t) >= db.NumTransactions() || k > 0 && t <= classes[c][k-1] {
						errs[wi] = fmt.Errorf("mining: class %d: transaction %d out of range or out of order", c, t)
						cancel()
						return
					}
				}
				found, items, nCand, err := cw.mine(ctx, classes[c])
				if err != nil {
					errs[wi] = fmt.Errorf("mining: class %d: %w", c, err)
					cancel()
					return
				}
				candidates.Add(nCand)
				unstemmed.Add(cw.unstemmed)
				if len(found) == 0 {
					continue
				}
				sortRules(found, g.ft.shift, opt.MaxLen)
				rules.Add(int64(len(found)))
				if err := emit(c, found, items); err != nil {
					errs[wi] = err
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	st.Candidates, st.Rules, st.Unstemmed = candidates.Load(), rules.Load(), unstemmed.Load()
	return st, workersErr(ctx, errs)
}

// StemRules removes the rules of one entitlement that a rule on a proper subset
// of their antecedent makes redundant: A → e goes when some P → e of the
// given (unstemmed) set has P ⊂ A and |conf(A→e) − conf(P→e)| <= delta.
// The test is against the input set, so the result does not depend on the
// order; the kept rules keep their input order.
func StemRules(rules []ClassRule, delta Ratio) []ClassRule {
	maxLen, maxItem := 0, int32(0)
	for _, r := range rules {
		maxLen = max(maxLen, len(r.Items))
		for _, it := range r.Items {
			maxItem = max(maxItem, it)
		}
	}
	if maxLen < 2 {
		return rules
	}
	// Antecedents packed left-aligned into one word (ids + 1, 0 past the
	// end) when they fit, looked up by binary search in the sorted keys;
	// otherwise by their bytes in a map.
	shift := uint(bits.Len32(uint32(maxItem) + 1))
	var find func(sub []int32) (int, bool)
	if int(shift)*maxLen <= 64 {
		pack := func(s []int32) uint64 {
			var k uint64
			for j, it := range s {
				k |= uint64(it+1) << (shift * uint(maxLen-1-j))
			}
			return k
		}
		keys := make([]uint64, len(rules))
		var order []int32 // rule index of each sorted key, nil when in input order
		for i, r := range rules {
			keys[i] = pack(r.Items)
			if i > 0 && keys[i-1] >= keys[i] && order == nil {
				order = []int32{}
			}
		}
		if order != nil {
			order = make([]int32, len(rules))
			for i := range order {
				order[i] = int32(i)
			}
			slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
			sorted := make([]uint64, len(keys))
			for i, o := range order {
				sorted[i] = keys[o]
			}
			keys = sorted
		}
		find = func(sub []int32) (int, bool) {
			j, ok := slices.BinarySearch(keys, pack(sub))
			if ok && order != nil {
				j = int(order[j])
			}
			return j, ok
		}
	} else {
		index := make(map[string]int, len(rules))
		for i, r := range rules {
			index[string(itemsetBytes(r.Items))] = i
		}
		find = func(sub []int32) (int, bool) {
			j, ok := index[string(itemsetBytes(sub))]
			return j, ok
		}
	}
	kept := make([]ClassRule, 0, len(rules))
	var sub []int32
	for _, r := range rules {
		k := len(r.Items)
		redundant := false
		if k > 1 && k < 31 {
			for mask := 1; mask < 1<<k-1 && !redundant; mask++ {
				sub = sub[:0]
				for b := 0; b < k; b++ {
					if mask&(1<<b) != 0 {
						sub = append(sub, r.Items[b])
					}
				}
				if j, ok := find(sub); ok {
					p := rules[j]
					redundant = delta.WithinDelta(int64(r.Frequnion), int64(r.Freq), int64(p.Frequnion), int64(p.Freq))
				}
			}
		}
		if !redundant {
			kept = append(kept, r)
		}
	}
	return kept
}

// sortRules sorts rules by antecedent, element by element, shorter first.
// When maxLen items of shift bits (ids + 1) fit in 64 bits, each
// antecedent is packed left-aligned into one key (0 past its end, so a
// prefix sorts first) and the keys are sorted instead of the item slices.
func sortRules(rules []ClassRule, shift uint, maxLen int) {
	if shift == 0 || int(shift)*maxLen > 64 {
		slices.SortFunc(rules, func(a, b ClassRule) int { return slices.Compare(a.Items, b.Items) })
		return
	}
	type keyed struct {
		key uint64
		idx int
	}
	keys := make([]keyed, len(rules))
	sorted := true
	for i, r := range rules {
		var k uint64
		for j, it := range r.Items {
			k |= uint64(it+1) << (shift * uint(maxLen-1-j))
		}
		keys[i] = keyed{k, i}
		sorted = sorted && (i == 0 || keys[i-1].key < k)
	}
	if sorted {
		return
	}
	slices.SortFunc(keys, func(a, b keyed) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	tmp := slices.Clone(rules)
	for i, k := range keys {
		rules[i] = tmp[k.idx]
	}
}

// freqTable maps itemsets to their antecedent id. Itemsets of up to maxLen items
// whose ids (+1) fit together in 64 bits are packed into one word;
// otherwise the key is the itemset's bytes.
type freqTable struct {
	shift  uint
	packed map[uint64]int32
	long   map[string]int32
}

func newFreqTable(numItems, maxLen int) *freqTable {
	shift := uint(bits.Len(uint(numItems)))
	if shift == 0 {
		shift = 1
	}
	if int(shift)*maxLen <= 64 {
		return &freqTable{shift: shift, packed: map[uint64]int32{}}
	}
	return &freqTable{long: map[string]int32{}}
}

func (f *freqTable) pack(s []int32) uint64 {
	var k uint64
	for _, it := range s {
		k = k<<f.shift | uint64(it+1)
	}
	return k
}

func itemsetBytes(s []int32) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

func (f *freqTable) put(s []int32, id int32) {
	if f.packed != nil {
		f.packed[f.pack(s)] = id
		return
	}
	f.long[string(itemsetBytes(s))] = id
}

func (f *freqTable) get(s []int32) (int32, bool) {
	if f.packed != nil {
		v, ok := f.packed[f.pack(s)]
		return v, ok
	}
	v, ok := f.long[string(itemsetBytes(s))]
	return v, ok
}
