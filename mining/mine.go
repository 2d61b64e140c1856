package mining

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
)

// Options configure Mine.
type Options struct {
	// MinSupport is the minimum support as an absolute transaction count.
	// When it is 0, MinSupportFraction is used instead.
	MinSupport int
	// MinSupportFraction is the minimum support as a fraction of the
	// (selected) transactions: an itemset is frequent when its count is >=
	// ceil(fraction * transactions). See MinCount.
	MinSupportFraction float64
	// Closed restricts the output to closed itemsets (no superset has the
	// same support).
	Closed bool
	// MaxLen bounds the itemset length; 0 means unlimited. With Closed, the
	// closed itemsets of length <= MaxLen are reported.
	MaxLen int
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The output is
	// the same whatever its value.
	Workers int
	// Subset, when non-nil, mines the projected database made of these
	// transaction ids only (supports and fractions are relative to it). Use
	// roaring.BitmapOf(tids...) for a list.
	Subset *roaring.Bitmap
}

// Stats summarise a mining run.
type Stats struct {
	Itemsets     int64   // number of itemsets reported
	ByLength     []int64 // ByLength[l] = itemsets of length l (index 0 unused)
	MinCount     int     // the absolute minimum support used
	Transactions int     // number of transactions mined
}

// EmitFunc receives one itemset (sorted ascending; the slice is reused after
// the call returns) and its support count. A non-nil error stops mining and
// is returned by Mine.
type EmitFunc func(itemset []int32, support int) error

// MinCount converts a support fraction into the absolute count
// ceil(fraction * n), at least 1. Products within 1e-9 of an integer are
// taken as that integer, so 0.0001 * 100000 gives 10, not 11.
func MinCount(fraction float64, n int) int {
	c := fraction * float64(n)
	r := math.Round(c)
	if math.Abs(c-r) <= 1e-9*math.Max(1, c) {
		c = r
	}
	m := int(math.Ceil(c))
	if m < 1 {
		m = 1
	}
	return m
}

// Mine enumerates the frequent (or closed) itemsets of db and delivers each
// to emit in a deterministic order; with emit == nil they are only counted.
// It checks ctx for cancellation throughout the search.
func Mine(ctx context.Context, db *DB, opt Options, emit EmitFunc) (Stats, error) {
	var st Stats
	if opt.MaxLen < 0 {
		return st, fmt.Errorf("mining: negative MaxLen %d", opt.MaxLen)
	}
	if opt.MinSupport < 0 || opt.MinSupportFraction < 0 || opt.MinSupportFraction > 1 {
		return st, fmt.Errorf("mining: invalid minimum support (count %d, fraction %g)", opt.MinSupport, opt.MinSupportFraction)
	}
	var tids []int32
	n := db.NumTransactions()
	if opt.Subset != nil {
		tids = make([]int32, 0, opt.Subset.GetCardinality())
		it := opt.Subset.Iterator()
		for it.HasNext() {
			t := it.Next()
			if int(t) >= n {
				return st, fmt.Errorf("mining: subset transaction %d out of range [0,%d)", t, n)
			}
			tids = append(tids, int32(t))
		}
		n = len(tids)
	}
	st.Transactions = n
	if opt.MinSupport > 0 {
		st.MinCount = opt.MinSupport
	} else {
		if opt.MinSupportFraction == 0 {
			return st, errors.New("mining: no minimum support given")
		}
		st.MinCount = MinCount(opt.MinSupportFraction, n)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	m := &miner{
		ctx:     ctx,
		minsup:  int32(st.MinCount),
		closed:  opt.Closed,
		maxLen:  opt.MaxLen,
		binom:   binomTable(),
		counted: emit == nil,
	}
	root, rootReq, rootFree := m.buildRoot(db, tids)
	if err := ctx.Err(); err != nil {
		return st, fmt.Errorf("mining: %w", err)
	}

	// The root record (closure of the empty set, or the items present in
	// every transaction) comes first.
	var rootOut outBuf
	rec := &rootOut
	if root == nil && len(rootReq)+len(rootFree) == 0 {
		return st, nil
	}
	if len(rootReq)+len(rootFree) > 0 && int32(n) >= m.minsup {
		if m.maxLen == 0 || len(rootReq) <= m.maxLen {
			if err := rec.add(m, rootReq, rootFree, int32(n)); err != nil {
				return st, err
			}
		}
	}
	var byLen []int64
	if err := m.flush(rec, emit, &byLen); err != nil {
		return st, err
	}
	if root == nil || (m.maxLen > 0 && len(rootReq) >= m.maxLen) {
		st.ByLength, st.Itemsets = byLen, sum(byLen)
		return st, nil
	}

	// First-level tasks, largest estimated cost first.
	nt := int(root.nExt)
	order := make([]int32, nt)
	for i := range order {
		order[i] = int32(i)
	}
	cost := root.cost
	slices.SortStableFunc(order, func(a, b int32) int {
		switch {
		case cost[a] > cost[b]:
			return -1
		case cost[a] < cost[b]:
			return 1
		}
		return 0
	})
	if workers > nt {
		workers = nt
	}
	if workers < 1 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.ctx = ctx

	type result struct {
		k   int32
		out *outBuf
	}
	var next atomic.Int64
	results := make(chan result, workers*4)
	errs := make([]error, workers)
	ws := make([]*worker, workers)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		w := newWorker(m, root, rootReq, rootFree)
		ws[wi] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(nt) || ctx.Err() != nil {
					return
				}
				k := order[i]
				w.out = &outBuf{}
				if err := w.expand(root, k, 0); err != nil {
					errs[wi] = err
					cancel()
					return
				}
				if !m.counted {
					select {
					case results <- result{k, w.out}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var emitErr error
	if !m.counted {
		pending := make(map[int32]*outBuf)
		var want int32
		for r := range results {
			if emitErr != nil {
				continue
			}
			pending[r.k] = r.out
			for {
				o, ok := pending[want]
				if !ok {
					break
				}
				delete(pending, want)
				want++
				if err := m.flush(o, emit, &byLen); err != nil {
					emitErr = err
					cancel()
					break
				}
			}
		}
	} else {
		for range results {
		}
	}
	for _, w := range ws {
		for l, c := range w.byLen {
			for len(byLen) <= l {
				byLen = append(byLen, 0)
			}
			byLen[l] += c
		}
	}
	st.ByLength, st.Itemsets = byLen, sum(byLen)
	if emitErr != nil {
		return st, emitErr
	}
	return st, workersErr(ctx, errs)
}

// workersErr is the first error of the workers, else the context's.
func workersErr(ctx context.Context, errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mining: %w", err)
	}
	return nil
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

type miner struct {
	ctx     context.Context
	minsup  int32
	closed  bool
	maxLen  int
	binom   [][]int64
	counted bool // count only, no emission
}

// outBuf buffers compact records: nReq, nFree, support, req..., free...
// Each record stands for req ∪ S for every S ⊆ free (non-empty union).
type outBuf struct {
	recs []int32
}

func (o *outBuf) add(m *miner, req, free []int32, sup int32) error {
	if len(free) > maxFree {
		return fmt.Errorf("mining: more than 2^%d itemsets in one branch; raise the minimum support", maxFree)
	}
	o.recs = append(o.recs, int32(len(req)), int32(len(free)), sup)
	o.recs = append(o.recs, req...)
	o.recs = append(o.recs, free...)
	return nil
}

// flush delivers the records of o in order, expanding free items.
func (m *miner) flush(o *outBuf, emit EmitFunc, byLen *[]int64) error {
	r := o.recs
	var buf []int32
	for len(r) > 0 {
		nr, nf, sup := int(r[0]), int(r[1]), int(r[2])
		req := r[3 : 3+nr]
		free := r[3+nr : 3+nr+nf]
		r = r[3+nr+nf:]
		if err := m.ctx.Err(); err != nil {
			return fmt.Errorf("mining: %w", err)
		}
		countLengths(m, byLen, nr, nf)
		if emit == nil {
			continue
		}
		var err error
		buf, err = m.expandFree(buf[:0], req, free, sup, emit)
		if err != nil {
			return err
		}
	}
	return nil
}

func countLengths(m *miner, byLen *[]int64, nr, nf int) {
	for j := 0; j <= nf; j++ {
		l := nr + j
		if l == 0 {
			continue
		}
		if m.maxLen > 0 && l > m.maxLen {
			break
		}
		for len(*byLen) <= l {
			*byLen = append(*byLen, 0)
		}
		(*byLen)[l] += m.binom[nf][j]
	}
}

// expandFree emits req ∪ S for every subset S of free, in a fixed order.
func (m *miner) expandFree(buf, req, free []int32, sup int, emit EmitFunc) ([]int32, error) {
	buf = append(buf, req...)
	var rec func(buf []int32, i int) ([]int32, error)
	sorted := make([]int32, 0, len(req)+len(free))
	rec = func(buf []int32, i int) ([]int32, error) {
		if i == len(free) {
			if len(buf) == 0 {
				return buf, nil
			}
			sorted = append(sorted[:0], buf...)
			slices.Sort(sorted)
			if err := emit(sorted, sup); err != nil {
				return buf, err
			}
			return buf, nil
		}
		var err error
		if buf, err = rec(buf, i+1); err != nil {
			return buf, err
		}
		if m.maxLen > 0 && len(buf) >= m.maxLen {
			return buf, nil
		}
		buf = append(buf, free[i])
		buf, err = rec(buf, i+1)
		return buf[:len(buf)-1], err
	}
	return rec(buf, 0)
}
