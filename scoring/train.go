package scoring

import (
	"context"
	"fmt"
	"slices"

	"github.com/autoid-oss/autoid/mining"
)

// TrainInput is what Train learns from.
type TrainInput struct {
	Items *Items
	// Holders lists, per entitlement index, the identities that validly
	// hold it, ascending and without repeats.
	Holders [][]int32
	// HoldersOf, when set, gives Holders instead; Train calls it once the
	// antecedents are counted, so the holders can still be in the reading.
	HoldersOf func() ([][]int32, error)
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
		rules []Rule
		dfs   []DrivingFactor
	}
	var out []classOut
	holdersOf := func() ([][]int32, error) {
		h := in.Holders
		if in.HoldersOf != nil {
			var err error
			if h, err = in.HoldersOf(); err != nil {
				return nil, err
			}
		}
		out = make([]classOut, len(h))
		return h, nil
	}
	opt := mining.RuleOptions{
		MinFreq: int(p.MinFreq), MinFrequnion: int(p.MinFrequnion), MinConfidence: p.MinConfidence,
		MaxLen: p.MaxRuleLength, Workers: p.Workers, Stem: true, StemDelta: p.StemDelta,
	}
	st, err := mining.MineRulesLater(ctx, db, holdersOf, opt, func(class int, rules []mining.ClassRule, items []mining.ItemCount) error {
		o := classOut{rules: make([]Rule, len(rules))}
		for i, r := range rules {
			o.rules[i] = Rule{Ent: int32(class), Items: r.Items, Freq: int64(r.Freq), Frequnion: int64(r.Frequnion)}
		}
		o.dfs = drivingFactors(int32(class), items, o.rules, p.DrivingFactorThreshold)
		out[class] = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	m := &Model{Stats: st, Unstemmed: st.Unstemmed}
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
	}
	return m, nil
}

// Stem removes the rules of one entitlement that a rule on a proper subset
// of their antecedent makes redundant: A → e goes when some P → e of the
// given (unstemmed) set has P ⊂ A and |conf(A→e) − conf(P→e)| <= delta.
// The test is against the input set, so the result does not depend on the
// order; the kept rules keep their input order.
func Stem(rules []mining.ClassRule, delta mining.Ratio) []mining.ClassRule {
	return mining.StemRules(rules, delta)
}

// drivingFactors counts, per item, the rules of one entitlement (stemmed,
// confidence >= threshold) containing it; the holders carrying it are the
// item's class count from the mining (items: at least every item of the
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
