// Package mining is a general frequent-itemset kernel. It is not tied to
// identities: its input is a set of transactions over dense non-negative int
// item ids, and it enumerates all frequent itemsets, or only the closed ones,
// at a minimum support count.
//
// The algorithm is LCM (Uno, Kiyomi, Arimura: "LCM ver. 2/3"): depth-first
// search with occurrence deliver, conditional database reduction (infrequent
// items dropped, identical transactions merged with weights), perfect
// extension (hypercube) factoring for all frequent itemsets and
// prefix-preserving closure extension for closed ones. The search tree is
// split by its first level across workers; output order is deterministic
// whatever the number of workers.
package mining

import (
	"bytes"
	"fmt"
	"io"
	"math/bits"
	"slices"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// DB is an immutable transaction database in CSR form: transaction t holds
// the items Items[Offsets[t]:Offsets[t+1]], sorted ascending and without
// duplicates. A DB is safe for concurrent use.
type DB struct {
	offsets  []int
	items    []int32
	numItems int

	vertOnce sync.Once
	vert     []*roaring.Bitmap // per item: the transactions holding it
}

// NewDB builds a database from CSR arrays: transaction t is
// items[offsets[t]:offsets[t+1]]. Items must be non-negative; each
// transaction is sorted and deduplicated (an item counts once per
// transaction). The inputs are copied.
func NewDB(offsets []int, items []int32) (*DB, error) {
	if len(offsets) == 0 {
		return &DB{offsets: []int{0}}, nil
	}
	if offsets[0] != 0 || offsets[len(offsets)-1] != len(items) {
		return nil, fmt.Errorf("mining: offsets must start at 0 and end at len(items)=%d", len(items))
	}
	db := &DB{offsets: make([]int, 1, len(offsets)), items: make([]int32, 0, len(items))}
	for t := 0; t+1 < len(offsets); t++ {
		lo, hi := offsets[t], offsets[t+1]
		if hi < lo {
			return nil, fmt.Errorf("mining: offsets decrease at transaction %d", t)
		}
		start := len(db.items)
		for _, it := range items[lo:hi] {
			if it < 0 {
				return nil, fmt.Errorf("mining: transaction %d: negative item %d", t, it)
			}
			db.items = append(db.items, it)
		}
		db.endTransaction(start)
	}
	return db, nil
}

// endTransaction sorts and deduplicates the items appended since start and
// closes the transaction.
func (db *DB) endTransaction(start int) {
	tx := db.items[start:]
	sorted := true
	for i := 1; i < len(tx); i++ {
		if tx[i] <= tx[i-1] {
			sorted = false
			break
		}
	}
	if !sorted {
		slices.Sort(tx)
		tx = slices.Compact(tx)
		db.items = db.items[:start+len(tx)]
	}
	if n := len(tx); n > 0 && int(tx[n-1]) >= db.numItems {
		db.numItems = int(tx[n-1]) + 1
	}
	db.offsets = append(db.offsets, len(db.items))
}

// ReadFIMI parses the FIMI format: one transaction per line, items as
// space- (or tab-) separated non-negative integers. Trailing spaces and blank
// lines are tolerated (a blank line is skipped, not an empty transaction);
// an item repeated in a line counts once. name is used in error messages.
func ReadFIMI(r io.Reader, name string) (*DB, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ParseFIMI(data, name)
}

// ParseFIMI is ReadFIMI over a byte slice.
func ParseFIMI(data []byte, name string) (*DB, error) {
	db := &DB{offsets: make([]int, 1, bytes.Count(data, []byte{'\n'})+2), items: make([]int32, 0, len(data)/3)}
	line := 0
	for len(data) > 0 {
		line++
		var ln []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			ln, data = data[:i], data[i+1:]
		} else {
			ln, data = data, nil
		}
		start := len(db.items)
		for i := 0; i < len(ln); {
			c := ln[i]
			if c == ' ' || c == '\t' || c == '\r' {
				i++
				continue
			}
			j := i
			var v uint64
			for j < len(ln) && ln[j] >= '0' && ln[j] <= '9' {
				v = v*10 + uint64(ln[j]-'0')
				if v > 1<<31-1 {
					return nil, fmt.Errorf("%s:%d: item %q out of range", name, line, token(ln, i))
				}
				j++
			}
			if j == i || (j < len(ln) && ln[j] != ' ' && ln[j] != '\t' && ln[j] != '\r') {
				return nil, fmt.Errorf("%s:%d: invalid item %q: want a non-negative integer", name, line, token(ln, i))
			}
			db.items = append(db.items, int32(v))
			i = j
		}
		if len(db.items) == start {
			continue // blank line
		}
		db.endTransaction(start)
	}
	return db, nil
}

func token(ln []byte, i int) string {
	j := i
	for j < len(ln) && ln[j] != ' ' && ln[j] != '\t' && ln[j] != '\r' {
		j++
	}
	return string(ln[i:j])
}

// NumTransactions is the number of transactions.
func (db *DB) NumTransactions() int { return len(db.offsets) - 1 }

// NumItems is one more than the largest item id (0 for an empty database).
func (db *DB) NumItems() int { return db.numItems }

// Transaction returns the sorted items of transaction t. The slice must not
// be modified.
func (db *DB) Transaction(t int) []int32 { return db.items[db.offsets[t]:db.offsets[t+1]] }

// TIDs returns the transactions that hold every item of itemset (all
// transactions for an empty itemset). The bitmap is a fresh copy.
func (db *DB) TIDs(itemset []int32) *roaring.Bitmap {
	return db.tids(itemset, nil)
}

// Support returns the number of transactions holding every item of itemset.
func (db *DB) Support(itemset []int32) int {
	return db.SupportIn(itemset, nil)
}

// SupportIn returns the number of transactions of subset (nil: all) holding
// every item of itemset.
func (db *DB) SupportIn(itemset []int32, subset *roaring.Bitmap) int {
	switch {
	case len(itemset) == 0 && subset == nil:
		return db.NumTransactions()
	case len(itemset) == 0:
		return int(subset.GetCardinality())
	case len(itemset) == 1 && subset == nil:
		v := db.vertical()
		if it := itemset[0]; it >= 0 && int(it) < len(v) {
			return int(v[it].GetCardinality())
		}
		return 0
	case len(itemset) == 1:
		v := db.vertical()
		if it := itemset[0]; it >= 0 && int(it) < len(v) {
			return int(v[it].AndCardinality(subset))
		}
		return 0
	case len(itemset) == 2 && subset == nil:
		v := db.vertical()
		a, b := itemset[0], itemset[1]
		if a < 0 || b < 0 || int(a) >= len(v) || int(b) >= len(v) {
			return 0
		}
		return int(v[a].AndCardinality(v[b]))
	}
	return int(db.tids(itemset, subset).GetCardinality())
}

func (db *DB) tids(itemset []int32, subset *roaring.Bitmap) *roaring.Bitmap {
	if len(itemset) == 0 {
		if subset != nil {
			return subset.Clone()
		}
		bm := roaring.New()
		bm.AddRange(0, uint64(db.NumTransactions()))
		return bm
	}
	v := db.vertical()
	bms := make([]*roaring.Bitmap, 0, len(itemset)+1)
	for _, it := range itemset {
		if it < 0 || int(it) >= len(v) {
			return roaring.New()
		}
		bms = append(bms, v[it])
	}
	if subset != nil {
		bms = append(bms, subset)
	}
	if len(bms) == 1 {
		return bms[0].Clone()
	}
	// Intersect the smallest first.
	slices.SortFunc(bms, func(a, b *roaring.Bitmap) int {
		ca, cb := a.GetCardinality(), b.GetCardinality()
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0
	})
	acc := roaring.And(bms[0], bms[1])
	for _, b := range bms[2:] {
		if acc.IsEmpty() {
			break
		}
		acc.And(b)
	}
	return acc
}

// vertical builds, once, the per-item transaction bitmaps.
func (db *DB) vertical() []*roaring.Bitmap {
	db.vertOnce.Do(func() {
		cnt := make([]int, db.numItems)
		for _, it := range db.items {
			cnt[it]++
		}
		lists := make([][]uint32, db.numItems)
		for i := range lists {
			lists[i] = make([]uint32, 0, cnt[i])
		}
		for t := 0; t < db.NumTransactions(); t++ {
			for _, it := range db.Transaction(t) {
				lists[it] = append(lists[it], uint32(t))
			}
		}
		v := make([]*roaring.Bitmap, db.numItems)
		for i, l := range lists {
			v[i] = roaring.BitmapOf(l...)
			v[i].RunOptimize()
		}
		db.vert = v
	})
	return db.vert
}

// binom[n][k] = n choose k, for n <= maxFree.
const maxFree = 62

func binomTable() [][]int64 {
	t := make([][]int64, maxFree+1)
	for n := range t {
		t[n] = make([]int64, n+1)
		t[n][0], t[n][n] = 1, 1
		for k := 1; k < n; k++ {
			t[n][k] = t[n-1][k-1] + t[n-1][k]
		}
	}
	return t
}

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
