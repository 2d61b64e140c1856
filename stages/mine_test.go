package stages

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// matchHolders finds exactly the common identities, whichever list is
// longer.
func TestMatchHolders(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sample := func(n, max int) []int32 {
		m := map[int32]bool{}
		for len(m) < n {
			m[int32(r.IntN(max))] = true
		}
		out := make([]int32, 0, n)
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}
	for trial := 0; trial < 300; trial++ {
		h, mem := sample(r.IntN(200), 400), sample(r.IntN(200), 400)
		var want []int
		for i, u := range h {
			if _, ok := slices.BinarySearch(mem, u); ok {
				want = append(want, i)
			}
		}
		var got []int
		matchHolders(h, mem, func(i int) { got = append(got, i) })
		if !slices.Equal(got, want) {
			t.Fatalf("holders %v members %v: got %v, want %v", h, mem, got, want)
		}
	}
}

// intersectPostings gives the same members with and without bitsets.
func TestIntersectPostings(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 10000
	post := make([][]int32, 6)
	for id := range post {
		p := []float64{0.9, 0.5, 0.3, 0.05, 0.01, 0.6}[id]
		for u := int32(0); u < n; u++ {
			if r.Float64() < p {
				post[id] = append(post[id], u)
			}
		}
	}
	bits := itemBits(post, n)
	if bits[0] == nil || bits[4] != nil {
		t.Fatalf("bitsets for long lists only")
	}
	none := make([][]uint64, len(post))
	for _, items := range [][]int32{{0, 1}, {1, 3}, {0, 2, 5}, {3, 4}, {4, 5, 0}, {2}} {
		var want []int32
		for u := int32(0); u < n; u++ {
			all := true
			for _, id := range items {
				if _, ok := slices.BinarySearch(post[id], u); !ok {
					all = false
				}
			}
			if all {
				want = append(want, u)
			}
		}
		for _, b := range [][][]uint64{bits, none} {
			if got := intersectPostings(post, b, items, int64(len(want))); !slices.Equal(got, want) {
				t.Errorf("items %v: %d members, want %d", items, len(got), len(want))
			}
		}
	}
}
