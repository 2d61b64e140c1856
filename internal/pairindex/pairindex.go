// Package pairindex finds a pair of dense ids, such as an (identity,
// entitlement) assignment, among millions without a map: the pairs are
// grouped by their first id (a counting sort), each group sorted by the
// second id, and a lookup is a binary search within one group.
package pairindex

import (
	"slices"
	"sort"
)

// Index finds the position of a pair in the slices it was built from.
type Index struct {
	start  []int32 // first id -> its group in second and pos
	second []int32
	pos    []int32
}

// New indexes the pairs (first[i], second[i]); a pair with a negative id
// is left out. Lookup returns i.
func New(first, second []int32) *Index {
	hi := int32(-1)
	for i, a := range first {
		if a >= 0 && second[i] >= 0 {
			hi = max(hi, a)
		}
	}
	x := &Index{start: make([]int32, int(hi)+2)}
	for i, a := range first {
		if a >= 0 && second[i] >= 0 {
			x.start[a+1]++
		}
	}
	for k := 1; k < len(x.start); k++ {
		x.start[k] += x.start[k-1]
	}
	n := x.start[len(x.start)-1]
	x.second, x.pos = make([]int32, n), make([]int32, n)
	next := slices.Clone(x.start[:len(x.start)-1])
	for i, a := range first {
		if a >= 0 && second[i] >= 0 {
			x.second[next[a]], x.pos[next[a]] = second[i], int32(i)
			next[a]++
		}
	}
	for k := 0; k+1 < len(x.start); k++ {
		lo, hi := x.start[k], x.start[k+1]
		if g := x.second[lo:hi]; !slices.IsSorted(g) {
			sort.Sort(bySecond{g, x.pos[lo:hi]})
		}
	}
	return x
}

type bySecond struct{ second, pos []int32 }

func (p bySecond) Len() int           { return len(p.second) }
func (p bySecond) Less(i, j int) bool { return p.second[i] < p.second[j] }
func (p bySecond) Swap(i, j int) {
	p.second[i], p.second[j] = p.second[j], p.second[i]
	p.pos[i], p.pos[j] = p.pos[j], p.pos[i]
}

// Lookup returns the position of the pair (a, b), or -1. When the pair
// occurs more than once, it returns one of its positions.
func (x *Index) Lookup(a, b int32) int {
	if a < 0 || int(a)+1 >= len(x.start) {
		return -1
	}
	lo, hi := x.start[a], x.start[a+1]
	k, ok := slices.BinarySearch(x.second[lo:hi], b)
	if !ok {
		return -1
	}
	return int(x.pos[int(lo)+k])
}
