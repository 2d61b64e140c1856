package mining

import (
	"math"
	"testing"
)

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		x        float64
		num, den uint64
	}{{0.1, 1, 10}, {0.05, 1, 20}, {0.75, 3, 4}, {1, 1, 1}, {0, 0, 1}, {0.35, 7, 20}, {1e-7, 1, 10000000}} {
		r, err := RatioOf(c.x)
		if err != nil || r.Num != c.num || r.Den != c.den {
			t.Errorf("RatioOf(%v) = %v, %v; want %d/%d", c.x, r, err, c.num, c.den)
		}
	}
	for _, bad := range []float64{-0.1, math.NaN(), math.Inf(1), 1e-30} {
		if _, err := RatioOf(bad); err == nil {
			t.Errorf("RatioOf(%v): want an error", bad)
		}
	}
	tenth := Ratio{1, 10}
	if !tenth.AtLeast(1, 10) || !tenth.AtMost(1, 10) || tenth.AtLeast(9, 91) || !tenth.AtLeast(10, 99) {
		t.Error("AtLeast/AtMost at the boundary")
	}
	// 0.1 × 30 is 3 exactly, although 0.1*30 in float64 is 3.0000000000000004.
	if got := tenth.CeilMul(30); got != 3 {
		t.Errorf("CeilMul(30) = %d, want 3", got)
	}
	if got := (Ratio{1, 20}).CeilMul(30); got != 2 {
		t.Errorf("0.05 × 30: %d, want 2", got)
	}
	d := Ratio{1, 20}
	if !d.WithinDelta(11, 20, 1, 2) || d.WithinDelta(56, 100, 1, 2) || !d.WithinDelta(1, 2, 11, 20) {
		t.Error("WithinDelta at the boundary")
	}
	if CompareRatios(1, 2, 2, 4) != 0 || CompareRatios(2, 3, 3, 5) != 1 || CompareRatios(3, 5, 2, 3) != -1 {
		t.Error("CompareRatios")
	}
}
