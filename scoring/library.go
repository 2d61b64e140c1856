package scoring

import (
	"fmt"
	"slices"
	"strings"

	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/model"
)

// OnDemand is one on-demand recommendation (section 5): the best stemmed
// rule of an entitlement whose antecedent lies within the given items.
type OnDemand struct {
	Attributes  []string // the rule's antecedent, encoded items ascending
	Entitlement string   // the encoded item 06_ENT_ID_<ent_id>
	EntID       string
	Confidence  float64 // frequnion / freq
	Frequency   int64   // the rule's freq
	Frequnion   int64
}

// Library answers on-demand recommendations from a stemmed rule set. It is
// immutable and safe for concurrent use.
type Library struct {
	rules  []StoredRule
	byAnte map[string][]int32 // antecedent (items joined by NUL) -> rules
	maxLen int
}

// NewLibrary indexes stored rules (for example ReadRules of a train run)
// by antecedent. Rules with an empty antecedent or a zero freq are ignored.
func NewLibrary(rules []StoredRule) *Library {
	l := &Library{byAnte: map[string][]int32{}}
	for _, r := range rules {
		if len(r.Items) == 0 || r.Freq <= 0 {
			continue
		}
		r.Items = slices.Clone(r.Items)
		slices.Sort(r.Items)
		r.Items = slices.Compact(r.Items)
		i := int32(len(l.rules))
		l.rules = append(l.rules, r)
		k := strings.Join(r.Items, "\x00")
		l.byAnte[k] = append(l.byAnte[k], i)
		l.maxLen = max(l.maxLen, len(r.Items))
	}
	return l
}

// Len is the number of rules indexed.
func (l *Library) Len() int { return len(l.rules) }

// compareStored is CompareRules on stored rules (items compared as byte
// strings, which is the order of item ids).
func compareStored(a, b *StoredRule) int {
	if c := compareRank(a.Frequnion, a.Freq, len(a.Items), b.Frequnion, b.Freq, len(b.Items)); c != 0 {
		return c
	}
	return model.CompareItemLists(a.Items, b.Items)
}

// Recommend returns, per entitlement, the best rule (section 4's order)
// whose antecedent is contained in items; ordered by confidence desc, freq
// desc, ent_id asc (bytes); keeps those with confidence >= threshold
// (exact, threshold read as a decimal fraction), then skips offset and
// takes maxResults (a negative maxResults takes all).
func (l *Library) Recommend(items []string, threshold float64, offset, maxResults int) ([]OnDemand, error) {
	thr, err := mining.RatioOf(threshold)
	if err != nil {
		return nil, fmt.Errorf("recommendations: confidence threshold: %w", err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("recommendations: negative offset %d", offset)
	}
	set := slices.Clone(items)
	slices.Sort(set)
	set = slices.Compact(set)
	best := map[string]int32{}
	consider := func(ri int32) {
		r := &l.rules[ri]
		if !thr.AtLeast(r.Frequnion, r.Freq) {
			return
		}
		if b, ok := best[r.EntID]; !ok || compareStored(r, &l.rules[b]) < 0 {
			best[r.EntID] = ri
		}
	}
	if subsetCount(len(set), l.maxLen) <= len(l.rules) {
		// Enumerate the subsets of the input up to the longest antecedent.
		var sub []string
		var walk func(from int)
		walk = func(from int) {
			if len(sub) > 0 {
				for _, ri := range l.byAnte[strings.Join(sub, "\x00")] {
					consider(ri)
				}
			}
			if len(sub) == l.maxLen {
				return
			}
			for i := from; i < len(set); i++ {
				sub = append(sub, set[i])
				walk(i + 1)
				sub = sub[:len(sub)-1]
			}
		}
		walk(0)
	} else {
		for i := range l.rules {
			if containsAll(set, l.rules[i].Items) {
				consider(int32(i))
			}
		}
	}
	ids := make([]int32, 0, len(best))
	for _, ri := range best {
		ids = append(ids, ri)
	}
	slices.SortFunc(ids, func(a, b int32) int {
		ra, rb := &l.rules[a], &l.rules[b]
		if c := mining.CompareRatios(ra.Frequnion, ra.Freq, rb.Frequnion, rb.Freq); c != 0 {
			return -c
		}
		if ra.Freq != rb.Freq {
			return cmpDesc(ra.Freq, rb.Freq)
		}
		return strings.Compare(ra.EntID, rb.EntID)
	})
	if offset >= len(ids) {
		return []OnDemand{}, nil
	}
	ids = ids[offset:]
	if maxResults >= 0 && maxResults < len(ids) {
		ids = ids[:maxResults]
	}
	out := make([]OnDemand, len(ids))
	for i, ri := range ids {
		r := &l.rules[ri]
		enc, err := model.EncodeItem("ENT_ID", r.EntID)
		if err != nil {
			return nil, fmt.Errorf("recommendations: %w", err)
		}
		out[i] = OnDemand{Attributes: slices.Clone(r.Items), Entitlement: enc, EntID: r.EntID,
			Confidence: float64(r.Frequnion) / float64(r.Freq), Frequency: r.Freq, Frequnion: r.Frequnion}
	}
	return out, nil
}

// subsetCount is the number of non-empty subsets of at most k of n
// elements, saturating at a large value.
func subsetCount(n, k int) int {
	const limit = 1 << 40
	total, c := 0, 1
	for j := 1; j <= k && j <= n; j++ {
		c = c * (n - j + 1) / j
		total += c
		if total > limit || c > limit {
			return limit
		}
	}
	return total
}

// containsAll reports whether the sorted set holds every element of the
// sorted sub.
func containsAll(set, sub []string) bool {
	i := 0
	for _, s := range sub {
		for i < len(set) && set[i] < s {
			i++
		}
		if i == len(set) || set[i] != s {
			return false
		}
		i++
	}
	return true
}
