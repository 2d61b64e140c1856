package mining

import (
	"fmt"
	"math/bits"
	"slices"
)

// naiveMine enumerates frequent (or closed) itemsets by a plain depth-first
// search over transaction bitsets: the reference for property tests.
func naiveMine(db *DB, minsup int, closed bool, maxLen int) map[string]int {
	n := db.NumTransactions()
	words := (n + 63) / 64
	vert := make([][]uint64, db.NumItems())
	for i := range vert {
		vert[i] = make([]uint64, words)
	}
	for t := 0; t < n; t++ {
		for _, it := range db.Transaction(t) {
			vert[it][t/64] |= 1 << (t % 64)
		}
	}
	pop := func(b []uint64) int {
		c := 0
		for _, x := range b {
			c += bits.OnesCount64(x)
		}
		return c
	}
	all := map[string]int{}
	var sets [][]int32
	var sups []int
	var rec func(prefix []int32, tids []uint64, from int)
	rec = func(prefix []int32, tids []uint64, from int) {
		for i := from; i < len(vert); i++ {
			nt := make([]uint64, words)
			for w := range nt {
				nt[w] = tids[w] & vert[i][w]
			}
			s := pop(nt)
			if s < minsup {
				continue
			}
			p := append(slices.Clone(prefix), int32(i))
			sets = append(sets, p)
			sups = append(sups, s)
			if maxLen == 0 || len(p) < maxLen || closed {
				rec(p, nt, i+1)
			}
		}
	}
	full := make([]uint64, words)
	for t := 0; t < n; t++ {
		full[t/64] |= 1 << (t % 64)
	}
	rec(nil, full, 0)
	for i, s := range sets {
		if maxLen > 0 && len(s) > maxLen {
			continue
		}
		if closed {
			// closed iff no single-item extension keeps the support
			isClosed := true
			tids := slices.Clone(full)
			for _, it := range s {
				for w := range tids {
					tids[w] &= vert[it][w]
				}
			}
			for it := range vert {
				if slices.Contains(s, int32(it)) {
					continue
				}
				c := 0
				for w := range tids {
					c += bits.OnesCount64(tids[w] & vert[it][w])
				}
				if c == sups[i] {
					isClosed = false
					break
				}
			}
			if !isClosed {
				continue
			}
		}
		all[key(s)] = sups[i]
	}
	return all
}

func key(s []int32) string { return fmt.Sprint(s) }
