package scoring

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/autoid-oss/autoid/formats"
)

// RulesSchema is the schema of the rules table.
func RulesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "ent_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ent_id", Type: arrow.BinaryTypes.String},
		{Name: "items", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "freq", Type: arrow.PrimitiveTypes.Int64},
		{Name: "frequnion", Type: arrow.PrimitiveTypes.Int64},
		{Name: "confidence", Type: arrow.PrimitiveTypes.Float64},
		{Name: "length", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
}

// RulesRecord builds the rules table of a model, in the model's order.
// entID returns the ent_id of an entitlement index.
func RulesRecord(m *Model, items *Items, entID func(e int32) string) arrow.Record {
	n := len(m.Rules)
	ent := make([]int32, n)
	freq := make([]int64, n)
	fu := make([]int64, n)
	conf := make([]float64, n)
	length := make([]int32, n)
	for i := range m.Rules {
		r := &m.Rules[i]
		ent[i], freq[i], fu[i], conf[i], length[i] = r.Ent, r.Freq, r.Frequnion, r.Confidence(), int32(len(r.Items))
	}
	arrs := []arrow.Array{
		formats.Int32Array(ent, nil),
		formats.StringArray(n, func(i int) []byte { return []byte(entID(ent[i])) }),
		ItemListArray(n, func(i int) []int32 { return m.Rules[i].Items }, items.Dict),
		formats.Int64Array(freq, 0, false),
		formats.Int64Array(fu, 0, false),
		Float64Array(conf, nil),
		formats.Int32Array(length, nil),
	}
	return newRecord(RulesSchema(), arrs, n)
}

// DrivingFactorsSchema is the schema of the driving_factors table.
func DrivingFactorsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "ent_idx", Type: arrow.PrimitiveTypes.Int32},
		{Name: "ent_id", Type: arrow.BinaryTypes.String},
		{Name: "item", Type: arrow.BinaryTypes.String},
		{Name: "count", Type: arrow.PrimitiveTypes.Int64},
		{Name: "holders", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// DrivingFactorsRecord builds the driving_factors table of a model.
func DrivingFactorsRecord(m *Model, items *Items, entID func(e int32) string) arrow.Record {
	d := m.DrivingFactors
	n := len(d)
	ent := make([]int32, n)
	count := make([]int64, n)
	holders := make([]int64, n)
	for i := range d {
		ent[i], count[i], holders[i] = d[i].Ent, d[i].Count, d[i].Holders
	}
	arrs := []arrow.Array{
		formats.Int32Array(ent, nil),
		formats.StringArray(n, func(i int) []byte { return []byte(entID(ent[i])) }),
		formats.StringArray(n, func(i int) []byte { return []byte(items.Dict[d[i].Item]) }),
		formats.Int64Array(count, 0, false),
		formats.Int64Array(holders, 0, false),
	}
	return newRecord(DrivingFactorsSchema(), arrs, n)
}

func newRecord(schema *arrow.Schema, arrs []arrow.Array, n int) arrow.Record {
	rec := array.NewRecord(schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

// StoredRule is a row of a rules table, as text.
type StoredRule struct {
	EntID     string
	Items     []string
	Freq      int64
	Frequnion int64
}

// ReadRules reads a rules table.
func ReadRules(ctx context.Context, path string) ([]StoredRule, error) {
	rec, err := formats.ReadTableDict(ctx, path, []string{"ent_id", "items", "freq", "frequnion"})
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	defer rec.Release()
	ent, err := TextOf(rec.Column(0))
	if err != nil {
		return nil, fmt.Errorf("read rules %s: ent_id: %w", path, err)
	}
	list, ok := rec.Column(1).(*array.List)
	freq, ok2 := rec.Column(2).(*array.Int64)
	fu, ok3 := rec.Column(3).(*array.Int64)
	if !ok || !ok2 || !ok3 {
		return nil, fmt.Errorf("read rules %s: unexpected column types", path)
	}
	child, err := TextOf(list.ListValues())
	if err != nil {
		return nil, fmt.Errorf("read rules %s: items: %w", path, err)
	}
	n := int(rec.NumRows())
	out := make([]StoredRule, n)
	for i := 0; i < n; i++ {
		e, _ := ent(i)
		lo, hi := list.ValueOffsets(i)
		its := make([]string, 0, hi-lo)
		for j := lo; j < hi; j++ {
			s, _ := child(int(j))
			its = append(its, s)
		}
		out[i] = StoredRule{EntID: e, Items: its, Freq: freq.Value(i), Frequnion: fu.Value(i)}
	}
	return out, nil
}

// ResolveRules maps stored rules onto the current items and entitlements:
// a rule naming an item no identity carries now, or an entitlement that is
// gone, can match nothing and is left out (their number is returned).
func ResolveRules(stored []StoredRule, items *Items, entIdx func(id string) (int32, bool)) (rules []Rule, dropped int) {
	rules = make([]Rule, 0, len(stored))
	flat := make([]int32, 0, 3*len(stored))
next:
	for _, s := range stored {
		e, ok := entIdx(s.EntID)
		if !ok || len(s.Items) == 0 || s.Freq <= 0 {
			dropped++
			continue
		}
		start := len(flat)
		for _, it := range s.Items {
			id, ok := items.ID(it)
			if !ok {
				flat = flat[:start]
				dropped++
				continue next
			}
			flat = append(flat, id)
		}
		rules = append(rules, Rule{Ent: e, Items: flat[start:len(flat):len(flat)], Freq: s.Freq, Frequnion: s.Frequnion})
	}
	return rules, dropped
}

// ItemListArray builds a list<utf8> array of n rows; row i holds the
// encoded items of get(i) (a nil or empty slice is an empty list).
func ItemListArray(n int, get func(i int) []int32, dict []string) arrow.Array {
	offsets := make([]int32, n+1)
	total := 0
	for i := 0; i < n; i++ {
		total += len(get(i))
		offsets[i+1] = int32(total)
	}
	flat := make([]int32, 0, total)
	for i := 0; i < n; i++ {
		flat = append(flat, get(i)...)
	}
	child := itemStrings(flat, dict)
	defer child.Release()
	d := array.NewData(arrow.ListOf(arrow.BinaryTypes.String), n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(int32sBytes(offsets))}, []arrow.ArrayData{child.Data()}, 0, 0)
	defer d.Release()
	return array.NewListData(d)
}

// Float64Array builds a float64 array; valid may be nil (no nulls).
func Float64Array(vals []float64, valid []bool) arrow.Array {
	n := len(vals)
	var vb *memory.Buffer
	nulls := 0
	if valid != nil {
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for i, ok := range valid {
			if ok {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		if nulls > 0 {
			vb = memory.NewBufferBytes(bits)
		}
	}
	var data []byte
	if n > 0 {
		data = unsafe.Slice((*byte)(unsafe.Pointer(&vals[0])), n*8)
	}
	d := array.NewData(arrow.PrimitiveTypes.Float64, n, []*memory.Buffer{vb, memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.NewFloat64Data(d)
}

func int32sBytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

// itemStrings is formats.StringArray of the items flat (ids into dict):
// the dictionary is laid out in one arena first, so that each element is
// one copy from a small, cache-resident block with a known length.
func itemStrings(flat []int32, dict []string) arrow.Array {
	used := make([]bool, len(dict))
	for _, it := range flat {
		used[it] = true
	}
	start := make([]int32, len(dict)+1)
	var arena []byte
	for i, s := range dict {
		start[i] = int32(len(arena))
		if used[i] {
			if s == "" {
				// An empty item would be null: the general builder.
				return formats.StringArray(len(flat), func(j int) []byte { return []byte(dict[flat[j]]) })
			}
			arena = append(arena, s...)
		}
	}
	start[len(dict)] = int32(len(arena))
	size := 0
	for _, it := range flat {
		size += int(start[it+1] - start[it])
	}
	offsets := make([]int32, len(flat)+1)
	data := make([]byte, size)
	pos := 0
	for j, it := range flat {
		pos += copy(data[pos:], arena[start[it]:start[it+1]])
		offsets[j+1] = int32(pos)
	}
	d := array.NewData(arrow.BinaryTypes.String, len(flat),
		[]*memory.Buffer{nil, memory.NewBufferBytes(int32sBytes(offsets)), memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	return array.NewStringData(d)
}
