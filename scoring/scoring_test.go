package scoring

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/mining"
)

func ratio(t *testing.T, x float64) mining.Ratio {
	t.Helper()
	r, err := mining.RatioOf(x)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func ruleStrings(rs []mining.ClassRule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%v %d/%d", r.Items, r.Frequnion, r.Freq))
	}
	return out
}

// Stemming removes a rule when a proper-subset rule of the unstemmed set
// is within stem_delta, boundary included, whatever the input order.
func TestStem(t *testing.T) {
	rules := []mining.ClassRule{
		{Items: []int32{1}, Freq: 10, Frequnion: 5},           // 0.5
		{Items: []int32{1, 2}, Freq: 20, Frequnion: 11},       // 0.55: |diff| = 0.05 exactly: removed
		{Items: []int32{1, 3}, Freq: 25, Frequnion: 14},       // 0.56: kept
		{Items: []int32{2, 3}, Freq: 8, Frequnion: 4},         // no subset rule: kept
		{Items: []int32{1, 2, 3}, Freq: 30, Frequnion: 15},    // 0.5 vs {1}: removed
		{Items: []int32{2, 3, 4}, Freq: 100, Frequnion: 56},   // 0.56 vs {2,3} 0.5: kept
		{Items: []int32{4, 5}, Freq: 9, Frequnion: 9},         // kept
		{Items: []int32{4, 5, 6}, Freq: 20, Frequnion: 19},    // 0.95 vs 1.0: removed
		{Items: []int32{5, 6, 7}, Freq: 1000, Frequnion: 949}, // kept (no subset rule)
	}
	want := []string{"[1] 5/10", "[1 3] 14/25", "[2 3] 4/8", "[2 3 4] 56/100", "[4 5] 9/9", "[5 6 7] 949/1000"}
	delta := ratio(t, 0.05)
	got := ruleStrings(Stem(rules, delta))
	if !slices.Equal(got, want) {
		t.Fatalf("stemmed %v, want %v", got, want)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		sh := slices.Clone(rules)
		r.Shuffle(len(sh), func(a, b int) { sh[a], sh[b] = sh[b], sh[a] })
		got := ruleStrings(Stem(sh, delta))
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Fatalf("order dependent: %v, want %v", got, w)
		}
	}
}

// tinyItems builds an Items value from item lists per identity over the
// dictionary dict (ids = positions).
func tinyItems(dict []string, users [][]int32) *Items {
	it := &Items{Dict: dict, Offsets: []int{0}}
	for _, u := range users {
		it.IDs = append(it.IDs, u...)
		it.Offsets = append(it.Offsets, len(it.IDs))
	}
	return it
}

func defaultParams(t *testing.T) Params {
	return Params{MinFreq: 1, MinFrequnion: 1, MinConfidence: ratio(t, 0.1), MaxRuleLength: 3,
		StemDelta: ratio(t, 0.05), DrivingFactorThreshold: ratio(t, 0.75), Workers: 2}
}

// A confidence of exactly min_confidence passes; one just below does not;
// freq and frequnion boundaries are inclusive.
func TestTrainThresholdBoundaries(t *testing.T) {
	dict := []string{"01_A_x", "01_B_y"}
	var users [][]int32
	for i := 0; i < 10; i++ {
		users = append(users, []int32{0})
	}
	users = append(users, []int32{1}) // identity 10
	in := TrainInput{Items: tinyItems(dict, users), Holders: [][]int32{{0}, {0, 10}}}
	// Entitlement 0: A → e0 is 1/10 = 0.1 exactly.
	// Entitlement 1: A → e1 1/10, B → e1 1/1.
	for _, c := range []struct {
		minConf        float64
		minFreq, minFU int64
		want           string
	}{
		{0.1, 1, 1, "0:[0] 1/10 1:[0] 1/10 1:[1] 1/1"},
		{0.11, 1, 1, "1:[1] 1/1"},
		{0.1, 10, 1, "0:[0] 1/10 1:[0] 1/10"}, // freq 10 >= 10; B's freq 1 < 10
		{0.1, 11, 1, ""},
		{0.1, 1, 2, ""},
	} {
		p := defaultParams(t)
		p.MinConfidence, p.MinFreq, p.MinFrequnion = ratio(t, c.minConf), c.minFreq, c.minFU
		m, err := Train(context.Background(), in, p)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range m.Rules {
			got = append(got, fmt.Sprintf("%d:%v %d/%d", r.Ent, r.Items, r.Frequnion, r.Freq))
		}
		if s := strings.Join(got, " "); s != c.want {
			t.Errorf("min_confidence %v min_freq %d min_frequnion %d: %q, want %q", c.minConf, c.minFreq, c.minFU, s, c.want)
		}
	}
}

func TestResolveCount(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want int64
	}{
		{"5", 1000, 5}, {"0.1", 30, 3}, {"0.05", 30, 2}, {"0.001", 100000, 100}, {"1.0", 7, 7}, {"0.5", 9, 5}, {"0.0001", 100000, 10},
	} {
		got, err := ResolveCount(c.s, c.n)
		if err != nil || got != c.want {
			t.Errorf("ResolveCount(%q, %d) = %d, %v; want %d", c.s, c.n, got, err, c.want)
		}
	}
	if _, err := ResolveCount("x", 3); err == nil {
		t.Error("want an error for x")
	}
}

// Bands use exact thresholds: 0.75 and 0.35 are High and Medium.
func TestBandBoundaries(t *testing.T) {
	b := Bands{High: ratio(t, 0.75), Medium: ratio(t, 0.35)}
	for _, c := range []struct {
		fu, f int64
		want  string
	}{
		{3, 4, BandHigh}, {75, 100, BandHigh}, {74, 100, BandMedium}, {7, 20, BandMedium}, {35, 100, BandMedium},
		{34, 100, BandLow}, {0, 5, BandLow}, {0, 0, BandUnscored}, {1, 1, BandHigh},
	} {
		if got := b.Of(c.fu, c.f); got != c.want {
			t.Errorf("%d/%d: %s, want %s", c.fu, c.f, got, c.want)
		}
	}
}

func TestCompareRules(t *testing.T) {
	r := func(fu, f int64, items ...int32) *Rule { return &Rule{Items: items, Freq: f, Frequnion: fu} }
	for _, c := range []struct {
		better, worse *Rule
		why           string
	}{
		{r(2, 3, 5), r(3, 5, 1), "higher confidence"},
		{r(2, 4, 5), r(1, 2, 1), "equal confidence, higher frequnion"},
		{r(2, 4, 7), r(2, 4, 1, 2), "shorter antecedent"},
		{r(2, 4, 1, 3), r(2, 4, 2, 3), "smaller first item"},
		{r(2, 4, 1, 2), r(2, 4, 1, 3), "smaller second item"},
	} {
		if CompareRules(c.better, c.worse) >= 0 || CompareRules(c.worse, c.better) <= 0 {
			t.Errorf("%s: %v should beat %v", c.why, c.better, c.worse)
		}
	}
}

// Predict and Recommend pick the best rule with the tie-break, and
// recommend orders by confidence, freq, ent and caps per user.
func TestPredictRecommendTieBreak(t *testing.T) {
	dict := []string{"01_A_a", "01_B_b", "01_C_c", "01_D_d"}
	items := tinyItems(dict, [][]int32{{0, 1, 2}, {0, 1, 2, 3}, {3}})
	rules := []Rule{
		{Ent: 0, Items: []int32{0}, Freq: 2, Frequnion: 1},      // 0: 1/2
		{Ent: 0, Items: []int32{1, 2}, Freq: 4, Frequnion: 2},   // 1: 2/4, higher frequnion: wins
		{Ent: 1, Items: []int32{0, 2}, Freq: 6, Frequnion: 3},   // 2: 3/6
		{Ent: 1, Items: []int32{0, 1}, Freq: 6, Frequnion: 3},   // 3: 3/6, smaller items: wins
		{Ent: 2, Items: []int32{3}, Freq: 10, Frequnion: 9},     // 4: 0.9
		{Ent: 3, Items: []int32{0}, Freq: 10, Frequnion: 5},     // 5: 0.5 freq 10
		{Ent: 4, Items: []int32{1}, Freq: 20, Frequnion: 10},    // 6: 0.5 freq 20
		{Ent: 5, Items: []int32{2}, Freq: 20, Frequnion: 10},    // 7: 0.5 freq 20, ent 5 > 4
		{Ent: 6, Items: []int32{2}, Freq: 100, Frequnion: 9},    // 8: 0.09 < 0.1
		{Ent: 6, Items: []int32{9 % 4}, Freq: 10, Frequnion: 1}, // 9: 0.1 (item 1)
	}
	x, err := NewIndex(items, rules, 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	users := []int32{0, 0, 0, 2}
	ents := []int32{0, 1, 2, 2}
	best, err := x.Predict(context.Background(), users, ents)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int32{1, 3, -1, 4}; !slices.Equal(best, want) {
		t.Errorf("predict %v, want %v", best, want)
	}
	recs, err := x.Recommend(context.Background(), users, ents, ratio(t, 0.1), 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("u%d:r%d", r.User, r.Rule))
	}
	// User 0 lacks 3, 4, 5, 6: ranked 6 (0.5, freq 20, ent 4), 7 (ent 5),
	// 5 (freq 10), then 9 (0.1) cut by the cap of 3. User 1 holds nothing:
	// 4 (0.9), 6, 7 (cap). User 2 holds 2: nothing else matches.
	want := []string{"u0:r6", "u0:r7", "u0:r5", "u1:r4", "u1:r6", "u1:r7"}
	if !slices.Equal(got, want) {
		t.Errorf("recommend %v, want %v", got, want)
	}
	recs, _ = x.Recommend(context.Background(), users, ents, ratio(t, 0.1), 100)
	n0 := 0
	for _, r := range recs {
		if r.User == 0 {
			n0++
		}
	}
	if n0 != 4 { // 6, 7, 5, 9 (0.1 passes exactly); 8 is below 0.1 but ent 6's best is 9 anyway
		t.Errorf("user 0: %d recommendations, want 4", n0)
	}
}

func TestLibraryRecommend(t *testing.T) {
	lib := NewLibrary([]StoredRule{
		{EntID: "e1", Items: []string{"01_A_a"}, Freq: 10, Frequnion: 8},
		{EntID: "e1", Items: []string{"01_A_a", "01_B_b"}, Freq: 5, Frequnion: 5},
		{EntID: "e2", Items: []string{"01_B_b"}, Freq: 20, Frequnion: 10},
		{EntID: "e0", Items: []string{"01_B_b"}, Freq: 20, Frequnion: 10},
		{EntID: "e3", Items: []string{"01_C_c"}, Freq: 4, Frequnion: 4},
		{EntID: "e4", Items: []string{"01_A_a"}, Freq: 100, Frequnion: 10},
	})
	got, err := lib.Recommend([]string{"01_B_b", "01_A_a"}, 0.1, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, o := range got {
		s = append(s, fmt.Sprintf("%s %v %d/%d", o.Entitlement, o.Attributes, o.Frequnion, o.Frequency))
	}
	want := []string{
		"06_ENT_ID_e1 [01_A_a 01_B_b] 5/5",
		"06_ENT_ID_e0 [01_B_b] 10/20",
		"06_ENT_ID_e2 [01_B_b] 10/20",
		"06_ENT_ID_e4 [01_A_a] 10/100",
	}
	if !slices.Equal(s, want) {
		t.Fatalf("got %v\nwant %v", s, want)
	}
	got, _ = lib.Recommend([]string{"01_B_b", "01_A_a"}, 0.5, 1, 1)
	if len(got) != 1 || got[0].EntID != "e0" {
		t.Errorf("threshold 0.5, offset 1, max 1: %+v, want e0", got)
	}
	got, _ = lib.Recommend([]string{"01_B_b", "01_A_a"}, 0.11, 0, -1)
	if len(got) != 3 {
		t.Errorf("threshold 0.11: %d results, want 3", len(got))
	}
}
