package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/autoid-oss/autoid/formats"
)

// kind is how a serving column is stored.
type kind int

const (
	kText    kind = iota // TEXT; null stays null
	kInt                 // BIGINT
	kFloat               // DOUBLE PRECISION / REAL; NaN is null
	kBool                // BOOLEAN
	kJSON                // a list (or text holding JSON) as JSON text
	kTime                // a timestamp as microseconds since the epoch
	kListLen             // the number of elements of a list column
)

// cellFunc reads row i of a column as a store value (string, int64,
// float64, bool or nil).
type cellFunc func(i int) any

// cellOf returns a reader of arr converted to k.
func cellOf(arr arrow.Array, k kind) (cellFunc, error) {
	switch k {
	case kText:
		return nullableText(arr)
	case kInt, kFloat, kTime:
		f, err := numberOf(arr, k)
		if err != nil {
			return nil, err
		}
		return f, nil
	case kBool:
		b, ok := arr.(*array.Boolean)
		if !ok {
			return nil, fmt.Errorf("type %s, want boolean", arr.DataType())
		}
		return func(i int) any {
			if b.IsNull(i) {
				return nil
			}
			return b.Value(i)
		}, nil
	case kJSON, kListLen:
		if l, ok := arr.(array.ListLike); ok {
			s, err := textOf(l.ListValues())
			if err != nil {
				return nil, fmt.Errorf("list values: %w", err)
			}
			var buf bytes.Buffer
			return func(i int) any {
				start, end := l.ValueOffsets(i)
				if k == kListLen {
					if l.IsNull(i) {
						return int64(0)
					}
					return end - start
				}
				if l.IsNull(i) {
					return "[]"
				}
				buf.Reset()
				buf.WriteByte('[')
				for j := start; j < end; j++ {
					if j > start {
						buf.WriteByte(',')
					}
					writeJSONString(&buf, s(int(j)))
				}
				buf.WriteByte(']')
				return buf.String()
			}, nil
		}
		if k == kListLen {
			return nil, fmt.Errorf("type %s, want a list", arr.DataType())
		}
		// Text already holding JSON.
		return nullableText(arr)
	}
	return nil, fmt.Errorf("unknown column kind %d", k)
}

// nullableText reads a text column, NULL as nil. The values of a
// dictionary column are boxed once per dictionary entry, not per row.
func nullableText(arr arrow.Array) (cellFunc, error) {
	if d, ok := arr.(*array.Dictionary); ok && formats.HasDictionary(d) {
		s, err := textOf(d.Dictionary())
		if err != nil {
			return nil, err
		}
		boxed := make([]any, d.Dictionary().Len())
		return func(i int) any {
			if d.IsNull(i) {
				return nil
			}
			k := d.GetValueIndex(i)
			if boxed[k] == nil {
				boxed[k] = s(k)
			}
			return boxed[k]
		}, nil
	}
	s, err := textOf(arr)
	if err != nil {
		return nil, err
	}
	return func(i int) any {
		if arr.IsNull(i) {
			return nil
		}
		return s(i)
	}, nil
}

// textOf reads a text column (string, large string, string view,
// dictionary of strings).
func textOf(arr arrow.Array) (func(i int) string, error) {
	switch a := arr.(type) {
	case *array.String:
		return a.Value, nil
	case *array.LargeString:
		return a.Value, nil
	case *array.StringView:
		return a.Value, nil
	case *array.Dictionary:
		if !formats.HasDictionary(a) {
			// A batch read as dictionary with no value at all (every
			// row null, or a list batch without elements).
			if vt, ok := a.DataType().(*arrow.DictionaryType); !ok || !isText(vt.ValueType) {
				return nil, fmt.Errorf("type %s, want text", arr.DataType())
			}
			return func(int) string { return "" }, nil
		}
		d, err := textOf(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) string { return d(a.GetValueIndex(i)) }, nil
	}
	return nil, fmt.Errorf("type %s, want text", arr.DataType())
}

func numberOf(arr arrow.Array, k kind) (cellFunc, error) {
	var get func(i int) (int64, float64, bool) // int, float, isFloat
	switch a := arr.(type) {
	case *array.Int8:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Int16:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Int32:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Int64:
		get = func(i int) (int64, float64, bool) { return a.Value(i), 0, false }
	case *array.Uint8:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Uint16:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Uint32:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Uint64:
		get = func(i int) (int64, float64, bool) { return int64(a.Value(i)), 0, false }
	case *array.Float32:
		get = func(i int) (int64, float64, bool) { return 0, float64(a.Value(i)), true }
	case *array.Float64:
		get = func(i int) (int64, float64, bool) { return 0, a.Value(i), true }
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		get = func(i int) (int64, float64, bool) { return a.Value(i).ToTime(unit).UnixMicro(), 0, false }
	default:
		return nil, fmt.Errorf("type %s, want a number", arr.DataType())
	}
	return func(i int) any {
		if arr.IsNull(i) {
			return nil
		}
		n, f, isFloat := get(i)
		switch {
		case k == kFloat && isFloat:
			if math.IsNaN(f) {
				return nil
			}
			return f
		case k == kFloat:
			return float64(n)
		case isFloat:
			return int64(f)
		}
		return n
	}, nil
}

// writeJSONString writes s as a JSON string without HTML escaping, so the
// text is the same in both stores and stable across runs.
func writeJSONString(buf *bytes.Buffer, s string) {
	plain := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			plain = false
			break
		}
	}
	if plain {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	buf.Truncate(buf.Len() - 1)
}

// jsonText encodes v as JSON without HTML escaping.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("store: encode %T: %v", v, err)) // maps and slices of plain values always encode
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func isText(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}
