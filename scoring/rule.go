package scoring

import (
	"fmt"
	"slices"

	"github.com/autoid-oss/autoid/mining"
)

// Rule is a rule A → e: an antecedent of item ids and an entitlement.
type Rule struct {
	Ent       int32   // entitlement index (ent_idx)
	Items     []int32 // antecedent item ids, ascending (= byte order of the encoded items)
	Freq      int64   // identities holding the antecedent
	Frequnion int64   // of those, the valid holders of Ent
}

// Confidence is Frequnion / Freq at full float64 precision.
func (r *Rule) Confidence() float64 { return float64(r.Frequnion) / float64(r.Freq) }

// CompareRules orders rules best first by the tie-break of section 4:
// higher confidence (exact), then higher frequnion, higher freq, shorter
// antecedent, and the antecedent smaller element by element. It returns a
// negative number when a is better than b, 0 when they are equal in all
// these respects.
func CompareRules(a, b *Rule) int {
	if c := compareRank(a.Frequnion, a.Freq, len(a.Items), b.Frequnion, b.Freq, len(b.Items)); c != 0 {
		return c
	}
	return slices.Compare(a.Items, b.Items)
}

// compareRank is the tie-break of section 4 short of comparing the
// antecedents' items: confidence, frequnion and freq descending, then
// antecedent length ascending.
func compareRank(aFu, aF int64, aLen int, bFu, bF int64, bLen int) int {
	if c := mining.CompareRatios(aFu, aF, bFu, bF); c != 0 {
		return -c
	}
	switch {
	case aFu != bFu:
		return cmpDesc(aFu, bFu)
	case aF != bF:
		return cmpDesc(aF, bF)
	}
	return aLen - bLen
}

func cmpDesc(a, b int64) int {
	if a > b {
		return -1
	}
	return 1
}

// Params are the training parameters of section 3, resolved: counts are
// absolute and thresholds exact ratios.
type Params struct {
	MinFreq                int64
	MinFrequnion           int64
	MinConfidence          mining.Ratio
	MaxRuleLength          int
	StemDelta              mining.Ratio
	DrivingFactorThreshold mining.Ratio
	// Workers bounds the parallelism; 0 means GOMAXPROCS.
	Workers int
}

// ResolveCount reads a count parameter: an integer, or, written with a
// decimal point, a fraction of the identities: ⌈f × identities⌉ computed
// exactly from the decimal digits.
func ResolveCount(s string, identities int) (int64, error) {
	r, err := mining.ParseRatio(s)
	if err != nil {
		return 0, fmt.Errorf("count %q: %w", s, err)
	}
	for _, c := range s {
		if c == '.' {
			return r.CeilMul(int64(identities)), nil
		}
	}
	if r.Den != 1 {
		return 0, fmt.Errorf("count %q is not an integer", s)
	}
	return int64(r.Num), nil
}

// Band names of section 4.
const (
	BandHigh     = "High"
	BandMedium   = "Medium"
	BandLow      = "Low"
	BandUnscored = "Unscored"
)

// Bands hold the band thresholds: High at and above High, Medium at and
// above Medium, else Low.
type Bands struct {
	High, Medium mining.Ratio
}

// Of returns the band of a score frequnion/freq; freq 0 means unscored.
func (b Bands) Of(frequnion, freq int64) string {
	switch {
	case freq <= 0:
		return BandUnscored
	case b.High.AtLeast(frequnion, freq):
		return BandHigh
	case b.Medium.AtLeast(frequnion, freq):
		return BandMedium
	}
	return BandLow
}
