package mining

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// naiveRules enumerates every itemset of length <= maxLen of every
// transaction and applies the rule thresholds by brute force.
func naiveRules(db *DB, classes [][]int32, opt RuleOptions) map[int][]string {
	freq := map[string]int{}
	var sets func(tx []int32, from int, cur []int32, fn func([]int32))
	sets = func(tx []int32, from int, cur []int32, fn func([]int32)) {
		if len(cur) > 0 {
			fn(cur)
		}
		if len(cur) == opt.MaxLen {
			return
		}
		for i := from; i < len(tx); i++ {
			sets(tx, i+1, append(cur, tx[i]), fn)
		}
	}
	key := func(s []int32) string { return fmt.Sprint(s) }
	for t := 0; t < db.NumTransactions(); t++ {
		sets(db.Transaction(t), 0, nil, func(s []int32) { freq[key(s)]++ })
	}
	out := map[int][]string{}
	for c, h := range classes {
		fu := map[string]int{}
		items := map[string][]int32{}
		for _, t := range h {
			sets(db.Transaction(int(t)), 0, nil, func(s []int32) {
				fu[key(s)]++
				items[key(s)] = slices.Clone(s)
			})
		}
		rule := func(k string) bool {
			u, f := fu[k], freq[k]
			return u > 0 && f >= opt.MinFreq && u >= opt.MinFrequnion && opt.MinConfidence.AtLeast(int64(u), int64(f))
		}
		for k, u := range fu {
			f := freq[k]
			if !rule(k) {
				continue
			}
			// With Stem: dropped when a rule on a proper subset is within
			// StemDelta.
			redundant := false
			if it := items[k]; opt.Stem {
				for mask := 1; mask < 1<<len(it)-1; mask++ {
					var sub []int32
					for b := range it {
						if mask&(1<<b) != 0 {
							sub = append(sub, it[b])
						}
					}
					if sk := key(sub); rule(sk) && opt.StemDelta.WithinDelta(int64(u), int64(f), int64(fu[sk]), int64(freq[sk])) {
						redundant = true
					}
				}
			}
			if !redundant {
				out[c] = append(out[c], fmt.Sprintf("%s %d/%d", k, u, f))
			}
		}
		slices.Sort(out[c])
	}
	return out
}

func randomRuleDB(t *testing.T, seed uint64) (*DB, [][]int32) {
	r := rand.New(rand.NewPCG(seed, 7))
	const n, attrs = 400, 6
	var txs [][]int32
	for i := 0; i < n; i++ {
		var tx []int32
		for a := 0; a < attrs; a++ {
			if r.IntN(10) == 0 {
				continue // a null value
			}
			card := 2 + a
			tx = append(tx, int32(a*10+r.IntN(card)))
		}
		txs = append(txs, tx)
	}
	db := mustDB(t, txs)
	var classes [][]int32
	for c := 0; c < 12; c++ {
		var h []int32
		p := []float64{0.02, 0.1, 0.3, 0.55, 0.8, 0.97}[c%6]
		for u := 0; u < n; u++ {
			tx := db.Transaction(u)
			// Correlate with an attribute value for half of the classes.
			hit := c%2 == 0 && len(tx) > 0 && tx[0] == int32(c%2)
			if hit && r.Float64() < 0.9 || r.Float64() < p {
				h = append(h, int32(u))
			}
		}
		classes = append(classes, h)
	}
	return db, classes
}

// MineRules agrees with brute force for every strategy: level-wise dense
// counting (MaxLen <= 3), the complement for classes held by more than half
// the transactions, and the kernel (MaxLen 4).
func TestMineRulesMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		db, classes := randomRuleDB(t, seed)
		for _, maxLen := range []int{1, 2, 3, 4} {
			for _, o := range []RuleOptions{
				{MinFreq: 5, MinFrequnion: 3, MinConfidence: Ratio{1, 10}},
				{MinFreq: 20, MinFrequnion: 3, MinConfidence: Ratio{1, 2}},
				{MinFreq: 1, MinFrequnion: 1, MinConfidence: Ratio{0, 1}},
				{MinFreq: 5, MinFrequnion: 3, MinConfidence: Ratio{1, 10}, Stem: true, StemDelta: Ratio{1, 20}},
				{MinFreq: 2, MinFrequnion: 2, MinConfidence: Ratio{1, 5}, Stem: true, StemDelta: Ratio{1, 10}},
			} {
				o.MaxLen = maxLen
				want := naiveRules(db, classes, o)
				for _, workers := range []int{1, 2} {
					o.Workers = workers
					got := map[int][]string{}
					var mu sync.Mutex
					st, err := MineRules(context.Background(), db, classes, o, func(c int, rules []ClassRule, items []ItemCount) error {
						mu.Lock()
						defer mu.Unlock()
						var want []ItemCount
						for _, r := range rules {
							for _, it := range r.Items {
								if !slices.ContainsFunc(want, func(ic ItemCount) bool { return ic.Item == it }) {
									n := 0
									for _, tr := range classes[c] {
										if slices.Contains(db.Transaction(int(tr)), it) {
											n++
										}
									}
									want = append(want, ItemCount{Item: it, Count: n})
								}
							}
						}
						slices.SortFunc(want, func(a, b ItemCount) int { return int(a.Item) - int(b.Item) })
						if !slices.Equal(items, want) {
							t.Errorf("class %d: item counts %v, want %v", c, items, want)
						}
						for i, r := range rules {
							if i > 0 && slices.Compare(rules[i-1].Items, r.Items) >= 0 {
								t.Errorf("class %d: rules out of order", c)
							}
							got[c] = append(got[c], fmt.Sprintf("%v %d/%d", r.Items, r.Frequnion, r.Freq))
						}
						slices.Sort(got[c])
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					total := 0
					for c := range classes {
						if strings.Join(got[c], "\n") != strings.Join(want[c], "\n") {
							t.Fatalf("seed %d %+v class %d (%d holders):\n got %v\nwant %v", seed, o, c, len(classes[c]), got[c], want[c])
						}
						total += len(want[c])
					}
					if st.Rules != int64(total) {
						t.Errorf("stats: %d rules, want %d", st.Rules, total)
					}
				}
			}
		}
	}
}

func TestMineRulesRejectsUnsortedClass(t *testing.T) {
	db := mustDB(t, [][]int32{{0}, {0}, {1}})
	_, err := MineRules(context.Background(), db, [][]int32{{1, 0}}, RuleOptions{MinFreq: 1, MinConfidence: Ratio{0, 1}, MaxLen: 1}, func(int, []ClassRule, []ItemCount) error { return nil })
	if err == nil {
		t.Fatal("want an error for an unsorted class")
	}
}
