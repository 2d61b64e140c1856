// Package scoring turns identities and assignments into association rules
// "these attribute values → this entitlement" and uses them: it trains the
// stemmed rule set (section 3 of the specification), scores existing
// assignments with the best matching rule (section 4), recommends missing
// access (section 5), and answers on-demand recommendations for a set of
// items (Library).
//
// Every comparison of a confidence is exact: thresholds are read as decimal
// fractions p/q (mining.Ratio) and compared with integer cross
// multiplication.
package scoring

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/model"
)

// Items is the item encoding of the identities (section 2): a dictionary of
// encoded items sorted ascending by bytes, so that item id order is byte
// order, and the item ids of every identity in CSR form.
type Items struct {
	// Dict holds the encoded items; an item's id is its index.
	Dict []string
	// Offsets and IDs: identity u holds IDs[Offsets[u]:Offsets[u+1]],
	// ascending.
	Offsets []int
	IDs     []int32
}

// NumIdentities is the number of identities encoded.
func (it *Items) NumIdentities() int { return len(it.Offsets) - 1 }

// Of returns the item ids of identity u (ascending; do not modify).
func (it *Items) Of(u int) []int32 { return it.IDs[it.Offsets[u]:it.Offsets[u+1]] }

// ID returns the id of an encoded item.
func (it *Items) ID(item string) (int32, bool) {
	i, ok := slices.BinarySearch(it.Dict, item)
	return int32(i), ok
}

// Strings returns the encoded items of a list of ids.
func (it *Items) Strings(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = it.Dict[id]
	}
	return out
}

// DB returns the identities as a transaction database for the mining
// kernel (transaction u = identity u).
func (it *Items) DB() (*mining.DB, error) { return mining.NewDB(it.Offsets, it.IDs) }

// TextColumn reads row i of a UTF-8 or dictionary-of-UTF-8 column; ok is
// false for a null or empty value. The string shares the array's memory.
type TextColumn func(i int) (s string, ok bool)

// TextOf returns the reader of a text column.
func TextOf(a arrow.Array) (TextColumn, error) {
	switch c := a.(type) {
	case *array.String:
		return func(i int) (string, bool) {
			if c.IsNull(i) {
				return "", false
			}
			s := c.Value(i)
			return s, s != ""
		}, nil
	case *array.LargeString:
		return func(i int) (string, bool) {
			if c.IsNull(i) {
				return "", false
			}
			s := c.Value(i)
			return s, s != ""
		}, nil
	case *array.Dictionary:
		if !formats.HasDictionary(c) { // no value at all in this array
			return func(int) (string, bool) { return "", false }, nil
		}
		dict, err := TextOf(c.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) (string, bool) {
			if c.IsNull(i) {
				return "", false
			}
			return dict(c.GetValueIndex(i))
		}, nil
	}
	return nil, fmt.Errorf("column of type %s is not text", a.DataType())
}

// FindColumn returns the index of the column of rec whose name matches
// name case-insensitively (an exact match wins), or -1.
func FindColumn(rec arrow.Record, name string) int {
	idx := -1
	for i, f := range rec.Schema().Fields() {
		if f.Name == name {
			return i
		}
		if idx < 0 && strings.EqualFold(f.Name, name) {
			idx = i
		}
	}
	return idx
}

// EncodeIdentities encodes the feature columns of an identities record
// (one row per identity, row = usr_idx). Features match column names case
// insensitively; a null or empty value yields no item.
func EncodeIdentities(rec arrow.Record, features []string) (*Items, error) {
	n := int(rec.NumRows())
	type colCodes struct {
		name   string // upper case
		codes  []int32
		values []string // local code -> value
	}
	cols := make([]colCodes, 0, len(features))
	seen := map[string]string{}
	for _, f := range features {
		ci := FindColumn(rec, f)
		if ci < 0 {
			return nil, fmt.Errorf("feature %q: no such identity column", f)
		}
		name := strings.ToUpper(rec.Schema().Field(ci).Name)
		if prev, dup := seen[name]; dup {
			return nil, fmt.Errorf("features %q and %q name the same column %s", prev, f, name)
		}
		seen[name] = f
		text, err := TextOf(rec.Column(ci))
		if err != nil {
			return nil, fmt.Errorf("feature %q: %w", f, err)
		}
		cc := colCodes{name: name, codes: make([]int32, n)}
		local := map[string]int32{}
		for r := 0; r < n; r++ {
			v, ok := text(r)
			if !ok {
				cc.codes[r] = -1
				continue
			}
			code, ok := local[v]
			if !ok {
				code = int32(len(cc.values))
				local[v] = code
				cc.values = append(cc.values, strings.Clone(v))
			}
			cc.codes[r] = code
		}
		cols = append(cols, cc)
	}
	// Global dictionary sorted by the encoded bytes.
	type entry struct {
		s        string
		col, loc int32
	}
	var all []entry
	for c, cc := range cols {
		for l, v := range cc.values {
			s, err := model.EncodeItem(cc.name, v)
			if err != nil {
				return nil, fmt.Errorf("feature %s: %w", cc.name, err)
			}
			all = append(all, entry{s, int32(c), int32(l)})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].s < all[j].s })
	remap := make([][]int32, len(cols))
	for c, cc := range cols {
		remap[c] = make([]int32, len(cc.values))
	}
	it := &Items{Dict: make([]string, len(all)), Offsets: make([]int, n+1)}
	for id, e := range all {
		it.Dict[id] = e.s
		remap[e.col][e.loc] = int32(id)
	}
	it.IDs = make([]int32, 0, n*len(cols))
	for r := 0; r < n; r++ {
		start := len(it.IDs)
		for c := range cols {
			if code := cols[c].codes[r]; code >= 0 {
				it.IDs = append(it.IDs, remap[c][code])
			}
		}
		slices.Sort(it.IDs[start:])
		it.Offsets[r+1] = len(it.IDs)
	}
	return it, nil
}
