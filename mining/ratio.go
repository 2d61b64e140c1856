package mining

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Ratio is an exact non-negative rational threshold Num/Den (Den > 0), read
// from the decimal form of a parameter: 0.05 is 5/100. Comparisons against
// count ratios use 128-bit integer products, never float tolerances.
type Ratio struct {
	Num, Den uint64
}

// ErrBadRatio reports a value that cannot be read as an exact decimal ratio.
var ErrBadRatio = errors.New("not a non-negative decimal with at most 18 fraction digits")

// maxFracDigits keeps Den = 10^k below 2^63.
const maxFracDigits = 18

// ParseRatio reads a decimal written as digits with an optional fraction
// ("3", "0.05", ".5", "1.0"); no sign, exponent or spaces. The result is
// reduced to lowest terms.
func ParseRatio(s string) (Ratio, error) {
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" || len(fp) > maxFracDigits {
		return Ratio{}, fmt.Errorf("ratio %q: %w", s, ErrBadRatio)
	}
	var num, den uint64 = 0, 1
	for _, c := range ip + fp {
		if c < '0' || c > '9' {
			return Ratio{}, fmt.Errorf("ratio %q: %w", s, ErrBadRatio)
		}
		hi, lo := bits.Mul64(num, 10)
		lo, carry := bits.Add64(lo, uint64(c-'0'), 0)
		if hi != 0 || carry != 0 || lo > math.MaxInt64 {
			return Ratio{}, fmt.Errorf("ratio %q: too large: %w", s, ErrBadRatio)
		}
		num = lo
	}
	for range fp {
		den *= 10
	}
	g := gcd(num, den)
	return Ratio{Num: num / g, Den: den / g}, nil
}

// RatioOf reads a float parameter as the decimal fraction of its shortest
// representation (the digits strconv prints with precision -1): 0.1 is
// exactly 1/10, not the binary double nearest to it.
func RatioOf(x float64) (Ratio, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
		return Ratio{}, fmt.Errorf("ratio %v: %w", x, ErrBadRatio)
	}
	return ParseRatio(strconv.FormatFloat(x, 'f', -1, 64))
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

// Float is the ratio as a float64 (for display).
func (r Ratio) Float() float64 { return float64(r.Num) / float64(r.Den) }

// String prints the ratio as Num/Den.
func (r Ratio) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// cmp128 compares a1·b1 with a2·b2 exactly.
func cmp128(a1, b1, a2, b2 uint64) int {
	h1, l1 := bits.Mul64(a1, b1)
	h2, l2 := bits.Mul64(a2, b2)
	switch {
	case h1 != h2:
		if h1 < h2 {
			return -1
		}
		return 1
	case l1 != l2:
		if l1 < l2 {
			return -1
		}
		return 1
	}
	return 0
}

// AtMost reports num/den <= r exactly (counts are non-negative, den > 0).
func (r Ratio) AtMost(num, den int64) bool {
	return cmp128(uint64(num), r.Den, r.Num, uint64(den)) <= 0
}

// AtLeast reports num/den >= r exactly (counts are non-negative, den > 0).
func (r Ratio) AtLeast(num, den int64) bool {
	return cmp128(uint64(num), r.Den, r.Num, uint64(den)) >= 0
}

// CeilMul returns ⌈r × n⌉ for n >= 0 (math.MaxInt64 when it does not fit).
func (r Ratio) CeilMul(n int64) int64 {
	hi, lo := bits.Mul64(r.Num, uint64(n))
	lo, c := bits.Add64(lo, r.Den-1, 0)
	hi += c
	if hi >= r.Den {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, r.Den)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// WithinDelta reports |a/b − c/d| <= r exactly, for counts below 2^31 and
// b, d > 0.
func (r Ratio) WithinDelta(a, b, c, d int64) bool {
	x, y := a*d, c*b
	diff := x - y
	if diff < 0 {
		diff = -diff
	}
	return cmp128(uint64(diff), r.Den, r.Num, uint64(b*d)) <= 0
}

// CompareRatios compares a/b with c/d (b, d > 0, counts below 2^31) as
// a·d against c·b: -1, 0 or +1.
func CompareRatios(a, b, c, d int64) int {
	x, y := a*d, c*b
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
