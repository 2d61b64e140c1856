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
