package pairindex

import (
	"math/rand/v2"
	"testing"
)

// Every indexed pair is found at its position; pairs with a negative id,
// absent pairs and ids out of range are not.
func TestIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	seen := map[[2]int32]int{}
	var first, second []int32
	for len(first) < 5000 {
		p := [2]int32{r.Int32N(300) - 5, r.Int32N(200) - 5}
		if _, dup := seen[p]; dup {
			continue
		}
		seen[p] = len(first)
		first, second = append(first, p[0]), append(second, p[1])
	}
	x := New(first, second)
	for a := int32(-6); a < 310; a++ {
		for b := int32(-6); b < 210; b++ {
			want, ok := seen[[2]int32{a, b}]
			if !ok || a < 0 || b < 0 {
				want = -1
			}
			if got := x.Lookup(a, b); got != want {
				t.Fatalf("Lookup(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
	if got := New(nil, nil).Lookup(0, 0); got != -1 {
		t.Fatalf("empty index: %d", got)
	}
}
