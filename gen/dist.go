package gen

import (
	"math"
	"math/rand/v2"
)

// dist is a discrete distribution over 0..n-1 sampled by binary search over
// cumulative weights.
type dist struct {
	cum []float64
}

func newDist(weights []float64) dist {
	cum := make([]float64, len(weights))
	var s float64
	for i, w := range weights {
		s += w
		cum[i] = s
	}
	for i := range cum {
		cum[i] /= s
	}
	return dist{cum: cum}
}

// zipfWeights returns n weights 1/(k+1)^s.
func zipfWeights(n int, s float64) []float64 {
	w := make([]float64, n)
	for k := range w {
		w[k] = 1 / math.Pow(float64(k+1), s)
	}
	return w
}

func (d dist) pick(r *rand.Rand) int {
	x := r.Float64()
	lo, hi := 0, len(d.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if d.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// poisson draws a Poisson variate with mean lambda (Knuth's method for small
// means, a rounded normal approximation for large ones).
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		k := int(math.Round(lambda + math.Sqrt(lambda)*r.NormFloat64()))
		return max(k, 0)
	}
	l := math.Exp(-lambda)
	k, p := 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// splitmix64 is a 64-bit mixing function used to derive independent
// per-identity random streams from the seed.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
