package mining

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
)

func mustDB(t testing.TB, txs [][]int32) *DB {
	t.Helper()
	offs := []int{0}
	var items []int32
	for _, tx := range txs {
		items = append(items, tx...)
		offs = append(offs, len(items))
	}
	db, err := NewDB(offs, items)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

type found struct {
	sets []string
	sup  map[string]int
}

func collect(t testing.TB, db *DB, opt Options) found {
	t.Helper()
	f := found{sup: map[string]int{}}
	st, err := Mine(context.Background(), db, opt, func(s []int32, sup int) error {
		if !slices.IsSorted(s) {
			t.Errorf("itemset %v not sorted", s)
		}
		k := key(s)
		if _, dup := f.sup[k]; dup {
			t.Errorf("itemset %s reported twice", k)
		}
		f.sets = append(f.sets, k)
		f.sup[k] = sup
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Itemsets != int64(len(f.sets)) {
		t.Errorf("Stats.Itemsets = %d, emitted %d", st.Itemsets, len(f.sets))
	}
	cnt, err := Mine(context.Background(), db, Options{MinSupport: opt.MinSupport, MinSupportFraction: opt.MinSupportFraction,
		Closed: opt.Closed, MaxLen: opt.MaxLen, Workers: opt.Workers, Subset: opt.Subset}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cnt.Itemsets != st.Itemsets || !slices.Equal(cnt.ByLength, st.ByLength) {
		t.Errorf("count-only %d %v != emitted %d %v", cnt.Itemsets, cnt.ByLength, st.Itemsets, st.ByLength)
	}
	return f
}

func sameSets(t *testing.T, got found, want map[string]int) {
	t.Helper()
	for k, v := range got.sup {
		if w, ok := want[k]; !ok || w != v {
			t.Errorf("got %s (%d), want support %d (present %v)", k, v, w, ok)
		}
	}
	for k, v := range want {
		if _, ok := got.sup[k]; !ok {
			t.Errorf("missing %s (%d)", k, v)
		}
	}
}

// toy is the classic example: 5 transactions over items 1..5.
var toy = [][]int32{
	{1, 3, 4},
	{2, 3, 5},
	{1, 2, 3, 5},
	{2, 5},
	{1, 2, 3, 5},
}

func TestToyAll(t *testing.T) {
	db := mustDB(t, toy)
	want := map[string]int{
		"[1]": 3, "[2]": 4, "[3]": 4, "[5]": 4,
		"[1 3]": 3, "[2 3]": 3, "[2 5]": 4, "[3 5]": 3, "[1 2]": 2, "[1 5]": 2,
		"[2 3 5]": 3, "[1 2 3]": 2, "[1 2 5]": 2, "[1 3 5]": 2, "[1 2 3 5]": 2,
	}
	for _, w := range []int{1, 2, 3} {
		sameSets(t, collect(t, db, Options{MinSupport: 2, Workers: w}), want)
	}
	// 0.4 * 5 = 2 exactly.
	sameSets(t, collect(t, db, Options{MinSupportFraction: 0.4}), want)
}

func TestToyClosed(t *testing.T) {
	db := mustDB(t, toy)
	want := map[string]int{"[3]": 4, "[2 5]": 4, "[1 3]": 3, "[2 3 5]": 3, "[1 2 3 5]": 2}
	sameSets(t, collect(t, db, Options{MinSupport: 2, Closed: true}), want)
	// Closed with a max length keeps the closed sets that are short enough.
	sameSets(t, collect(t, db, Options{MinSupport: 2, Closed: true, MaxLen: 2}),
		map[string]int{"[3]": 4, "[2 5]": 4, "[1 3]": 3})
}

func TestToyMaxLen(t *testing.T) {
	db := mustDB(t, toy)
	f := collect(t, db, Options{MinSupport: 2, MaxLen: 2})
	if len(f.sets) != 10 {
		t.Errorf("max-len 2: %d itemsets, want 10: %v", len(f.sets), f.sets)
	}
	for _, s := range f.sets {
		if strings.Count(s, " ") > 1 {
			t.Errorf("itemset %s longer than 2", s)
		}
	}
}

func TestItemInEveryTransaction(t *testing.T) {
	db := mustDB(t, [][]int32{{0, 1, 2}, {0, 1}, {0, 2}, {0, 1, 2}})
	sameSets(t, collect(t, db, Options{MinSupport: 2}), naiveMine(db, 2, false, 0))
	sameSets(t, collect(t, db, Options{MinSupport: 2, Closed: true}), naiveMine(db, 2, true, 0))
	sameSets(t, collect(t, db, Options{MinSupport: 1, Closed: true, MaxLen: 1}), map[string]int{"[0]": 4})
}

func randomDB(r *rand.Rand, n, items int, density float64) [][]int32 {
	txs := make([][]int32, n)
	for i := range txs {
		for it := 0; it < items; it++ {
			// skewed item popularity
			if r.Float64() < density*float64(items-it)/float64(items)*2 {
				txs[i] = append(txs[i], int32(it))
			}
		}
	}
	return txs
}

// TestAgainstNaive cross-checks all and closed itemsets, with and without a
// length bound, against a brute-force enumerator on random databases.
func TestAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 150; iter++ {
		n := 1 + r.IntN(60)
		items := 1 + r.IntN(14)
		txs := randomDB(r, n, items, 0.1+0.5*r.Float64())
		if iter%5 == 0 { // duplicated transactions exercise merging
			txs = append(txs, txs...)
		}
		db := mustDB(t, txs)
		minsup := 1 + r.IntN(max(1, len(txs)/3))
		maxLen := 0
		if iter%3 == 0 {
			maxLen = 1 + r.IntN(4)
		}
		workers := 1 + iter%2
		for _, closed := range []bool{false, true} {
			want := naiveMine(db, minsup, closed, maxLen)
			got := collect(t, db, Options{MinSupport: minsup, Closed: closed, MaxLen: maxLen, Workers: workers})
			sameSets(t, got, want)
			if t.Failed() {
				t.Fatalf("iteration %d: n=%d items=%d minsup=%d closed=%v maxLen=%d: %v", iter, len(txs), items, minsup, closed, maxLen, txs)
			}
		}
	}
}

func TestDeterministicOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	db := mustDB(t, randomDB(r, 400, 30, 0.25))
	for _, closed := range []bool{false, true} {
		one := collect(t, db, Options{MinSupport: 8, Closed: closed, Workers: 1})
		for i := 0; i < 3; i++ {
			two := collect(t, db, Options{MinSupport: 8, Closed: closed, Workers: 2})
			if !slices.Equal(one.sets, two.sets) {
				t.Fatalf("closed=%v: order differs between 1 and 2 workers", closed)
			}
		}
	}
}

func TestSubsetAndSupport(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	txs := randomDB(r, 200, 12, 0.3)
	db := mustDB(t, txs)
	var tids []uint32
	var sel [][]int32
	for i := range txs {
		if i%3 != 1 {
			tids = append(tids, uint32(i))
			sel = append(sel, txs[i])
		}
	}
	sub := roaring.BitmapOf(tids...)
	proj := mustDB(t, sel)
	for _, closed := range []bool{false, true} {
		got := collect(t, db, Options{MinSupportFraction: 0.05, Closed: closed, Subset: sub})
		want := collect(t, proj, Options{MinSupportFraction: 0.05, Closed: closed})
		if !slices.Equal(got.sets, want.sets) {
			t.Fatalf("closed=%v: projected mining differs from mining the selected transactions", closed)
		}
		for k, s := range got.sup {
			var is []int32
			for _, f := range strings.Fields(strings.Trim(k, "[]")) {
				var v int32
				for _, c := range f {
					v = v*10 + int32(c-'0')
				}
				is = append(is, v)
			}
			if db.SupportIn(is, sub) != s || proj.Support(is) != s {
				t.Fatalf("support of %s: SupportIn %d, Support %d, mined %d", k, db.SupportIn(is, sub), proj.Support(is), s)
			}
		}
	}
	if db.Support(nil) != 200 || db.Support([]int32{99}) != 0 {
		t.Error("Support of empty / unknown itemset")
	}
}

func TestParseFIMI(t *testing.T) {
	db, err := ParseFIMI([]byte("1 2 3 \n\n3 3 1\t\r\n  \n7"), "x.dat")
	if err != nil {
		t.Fatal(err)
	}
	if db.NumTransactions() != 3 || !slices.Equal(db.Transaction(1), []int32{1, 3}) || db.NumItems() != 8 {
		t.Errorf("parsed %d transactions, t1=%v, items=%d", db.NumTransactions(), db.Transaction(1), db.NumItems())
	}
	for _, bad := range []string{"1 2\n3 x4\n", "1 -2\n", "1\n2\n1.5\n", "99999999999\n"} {
		_, err := ParseFIMI([]byte(bad), "bad.dat")
		if err == nil || !strings.HasPrefix(err.Error(), "bad.dat:") {
			t.Errorf("%q: error %v, want one naming the file and line", bad, err)
		}
	}
	_, err = ParseFIMI([]byte("1 2\n3 x4\n"), "bad.dat")
	if !strings.Contains(err.Error(), "bad.dat:2:") || !strings.Contains(err.Error(), `"x4"`) {
		t.Errorf("error %q should name line 2 and the token", err)
	}
}

func TestMinCount(t *testing.T) {
	cases := []struct {
		f    float64
		n    int
		want int
	}{{0.0001, 100000, 10}, {0.0001, 88162, 9}, {0.5, 3196, 1598}, {0.05, 8124, 407}, {0.0006, 59602, 36}, {0.01, 100000, 1000}, {0.001, 100000, 100}, {1e-9, 10, 1}}
	for _, c := range cases {
		if got := MinCount(c.f, c.n); got != c.want {
			t.Errorf("MinCount(%g, %d) = %d, want %d", c.f, c.n, got, c.want)
		}
	}
}

func TestCancel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	db := mustDB(t, randomDB(r, 300, 40, 0.45))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Mine(ctx, db, Options{MinSupport: 2}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	stop := errors.New("stop")
	n := 0
	_, err = Mine(context.Background(), db, Options{MinSupport: 2, Workers: 2}, func([]int32, int) error {
		if n++; n == 100 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("emit error: err = %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	db := mustDB(t, toy)
	for _, o := range []Options{{}, {MinSupport: -1}, {MinSupportFraction: 1.5}, {MinSupport: 1, MaxLen: -1}, {MinSupport: 1, Subset: roaring.BitmapOf(9)}} {
		if _, err := Mine(context.Background(), db, o, nil); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if _, err := NewDB([]int{0, 1}, []int32{-1}); err == nil {
		t.Error("negative item accepted")
	}
}
