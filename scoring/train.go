package scoring

import (
	"cmp"
	"context"
	"fmt"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/autoid-oss/autoid/mining"
)

// TrainInput is what Train learns from.
type TrainInput struct {
	Items *Items
	// Holders lists, per entitlement index, the identities that validly
	// hold it, ascending and without repeats.
	Holders [][]int32
}

// DrivingFactor is one row of the driving factors of an entitlement.
type DrivingFactor struct {
	Ent  int32
	Item int32
	// Count is the number of stemmed rules of Ent with confidence at or
	// above the driving factor threshold whose antecedent contains Item.
	Count int64
	// Holders is the number of valid holders of Ent carrying Item.
	Holders int64
}

// Model is a trained rule set.
type Model struct {
	// Rules are the stemmed rules, by entitlement then antecedent (element
	// by element, shorter first).
	Rules []Rule
	// DrivingFactors are the items with Count >= 1, by entitlement then
	// item.
	DrivingFactors []DrivingFactor
	// Unstemmed is the number of rules before stemming.
	Unstemmed int64
	// Stats are the mining kernel's figures.
	Stats mining.RuleStats
}

// Train learns the stemmed rules of section 3 and the driving factors.
// The result depends only on the input and the parameters, not on the
// number of workers.
func Train(ctx context.Context, in TrainInput, p Params) (*Model, error) {
	db, err := in.Items.DB()
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	type classOut struct {
		rules     []Rule
		dfs       []DrivingFactor
		unstemmed int
	}
	out := make([]classOut, len(in.Holders))
	opt := mining.RuleOptions{
		MinFreq: int(p.MinFreq), MinFrequnion: int(p.MinFrequnion), MinConfidence: p.MinConfidence,
		MaxLen: p.MaxRuleLength, Workers: p.Workers,
	}
	st, err := mining.MineRules(ctx, db, in.Holders, opt, func(class int, rules []mining.ClassRule, items []mining.ItemCount) error {
		stemmed := Stem(rules, p.StemDelta)
		o := classOut{unstemmed: len(rules), rules: make([]Rule, len(stemmed))}
		for i, r := range stemmed {
			o.rules[i] = Rule{Ent: int32(class), Items: r.Items, Freq: int64(r.Freq), Frequnion: int64(r.Frequnion)}
		}
		o.dfs = drivingFactors(int32(class), items, o.rules, p.DrivingFactorThreshold)
		out[class] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m := &Model{Stats: st}
	n, nd := 0, 0
	for _, o := range out {
		n += len(o.rules)
		nd += len(o.dfs)
	}
	m.Rules = make([]Rule, 0, n)
	m.DrivingFactors = make([]DrivingFactor, 0, nd)
	for _, o := range out {
		m.Rules = append(m.Rules, o.rules...)
		m.DrivingFactors = append(m.DrivingFactors, o.dfs...)
		m.Unstemmed += int64(o.unstemmed)
	}
	return m, nil
}

// Stem removes the rules of one entitlement that a rule on a proper subset
// of their antecedent makes redundant: A → e goes when some P → e of the
// given (unstemmed) set has P ⊂ A and |conf(A→e) − conf(P→e)| <= delta.
// The test is against the input set, so the result does not depend on the
// order; the kept rules keep their input order.
func Stem(rules []mining.ClassRule, delta mining.Ratio) []mining.ClassRule {
	maxLen, maxItem := 0, int32(0)
	for _, r := range rules {
		maxLen = max(maxLen, len(r.Items))
		for _, it := range r.Items {
			maxItem = max(maxItem, it)
		}
	}
	if maxLen < 2 {
		return rules
	}
	// Antecedents packed left-aligned into one word (ids + 1, 0 past the
	// end) when they fit, looked up by binary search in the sorted keys;
	// otherwise by their bytes in a map.
	shift := uint(bits.Len32(uint32(maxItem) + 1))
	var find func(sub []int32) (int, bool)
	if int(shift)*maxLen <= 64 {
		pack := func(s []int32) uint64 {
			var k uint64
			for j, it := range s {
				k |= uint64(it+1) << (shift * uint(maxLen-1-j))
			}
			return k
		}
		keys := make([]uint64, len(rules))
		var order []int32 // rule index of each sorted key, nil when in input order
		for i, r := range rules {
			keys[i] = pack(r.Items)
			if i > 0 && keys[i-1] >= keys[i] && order == nil {
				order = []int32{}
			}
		}
		if order != nil {
			order = make([]int32, len(rules))
			for i := range order {
				order[i] = int32(i)
			}
			slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(keys[a], keys[b]) })
			sorted := make([]uint64, len(keys))
			for i, o := range order {
				sorted[i] = keys[o]
			}
			keys = sorted
		}
		find = func(sub []int32) (int, bool) {
			j, ok := slices.BinarySearch(keys, pack(sub))
			if ok && order != nil {
				j = int(order[j])
			}
			return j, ok
		}
	} else {
		index := make(map[string]int, len(rules))
		for i, r := range rules {
			index[keyOf(r.Items)] = i
		}
		find = func(sub []int32) (int, bool) {
			j, ok := index[keyOf(sub)]
			return j, ok
		}
	}
	kept := make([]mining.ClassRule, 0, len(rules))
	var sub []int32
	for _, r := range rules {
		k := len(r.Items)
		redundant := false
		if k > 1 && k < 31 {
			for mask := 1; mask < 1<<k-1 && !redundant; mask++ {
				sub = sub[:0]
				for b := 0; b < k; b++ {
					if mask&(1<<b) != 0 {
						sub = append(sub, r.Items[b])
					}
				}
				if j, ok := find(sub); ok {
					p := rules[j]
					redundant = delta.WithinDelta(int64(r.Frequnion), int64(r.Freq), int64(p.Frequnion), int64(p.Freq))
				}
			}
		}
		if !redundant {
			kept = append(kept, r)
		}
	}
	return kept
}

// keyOf returns the bytes of an itemset as a map key (the conversion in an
// index expression does not allocate).
func keyOf(s []int32) string {
	if len(s) == 0 {
		return ""
	}
	return unsafe.String((*byte)(unsafe.Pointer(&s[0])), len(s)*4)
}

// drivingFactors counts, per item, the rules of one entitlement (stemmed,
// confidence >= threshold) containing it; the holders carrying it are the
// item's class count from the mining (items: every item of the unstemmed
// rules, ascending).
func drivingFactors(ent int32, items []mining.ItemCount, rules []Rule, threshold mining.Ratio) []DrivingFactor {
	var count []int64
	for i := range rules {
		if !threshold.AtLeast(rules[i].Frequnion, rules[i].Freq) {
			continue
		}
		if count == nil {
			count = make([]int64, len(items))
		}
		for _, it := range rules[i].Items {
			k, _ := slices.BinarySearchFunc(items, it, func(ic mining.ItemCount, it int32) int { return int(ic.Item) - int(it) })
			count[k]++
		}
	}
	var dfs []DrivingFactor
	for k, c := range count {
		if c > 0 {
			dfs = append(dfs, DrivingFactor{Ent: ent, Item: items[k].Item, Count: c, Holders: int64(items[k].Count)})
		}
	}
	return dfs
}
