package store

import (
	"math/rand/v2"
	"testing"
)

// TestScoreCounts checks the bucketed score counts against the figure's
// definition, comparison by comparison, on values that sit on and around
// the p/100 boundaries where float rounding bites.
func TestScoreCounts(t *testing.T) {
	scores := []float64{0, 1, 0.07, 0.29, 0.57, 0.58, 0.8, 0.9, 0.99, 0.01, 0.5, 1.0 / 3, 2.0 / 3}
	for p := 0; p <= 100; p++ {
		scores = append(scores, float64(p)/100, float64(p)/100+1e-12, float64(p)/100-1e-12, float64(p)*0.01)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		scores = append(scores, r.Float64())
	}
	a := newAggregates(&LoadOptions{})
	var wantGE, wantLE [101]int64
	for _, s := range scores {
		if s < 0 || s > 1 {
			continue
		}
		a.countScore(s)
		for p := 0; p <= 100; p++ {
			if s >= float64(p)/100 {
				wantGE[p]++
			}
			if s <= float64(p)/100 {
				wantLE[p]++
			}
		}
	}
	got := a.scoreCounts()
	ge, le := got[0].v.([]int64), got[1].v.([]int64)
	for p := 0; p <= 100; p++ {
		if ge[p] != wantGE[p] || le[p] != wantLE[p] {
			t.Fatalf("p=%d: atLeast %d want %d, atMost %d want %d", p, ge[p], wantGE[p], le[p], wantLE[p])
		}
	}
}
