package formats

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// StringArray builds a UTF-8 array of n values; get returns row i's bytes
// and an empty value becomes null.
func StringArray(n int, get func(i int) []byte) arrow.Array {
	offsets := make([]int32, n+1)
	size := 0
	for i := 0; i < n; i++ {
		size += len(get(i))
	}
	data := make([]byte, 0, size)
	valid := make([]byte, bitutil.BytesForBits(int64(n)))
	nulls := 0
	for i := 0; i < n; i++ {
		v := get(i)
		if len(v) == 0 {
			nulls++
		} else {
			bitutil.SetBit(valid, i)
			data = append(data, v...)
		}
		offsets[i+1] = int32(len(data))
	}
	var vb *memory.Buffer
	if nulls > 0 {
		vb = memory.NewBufferBytes(valid)
	}
	d := array.NewData(arrow.BinaryTypes.String, n,
		[]*memory.Buffer{vb, memory.NewBufferBytes(int32Bytes(offsets)), memory.NewBufferBytes(data)}, nil, nulls, 0)
	defer d.Release()
	return array.NewStringData(d)
}

// ColumnArray builds a UTF-8 array from a text column, taking rows in the
// order of perm (all rows in order when perm is nil).
func ColumnArray(c *Column, perm []int32) arrow.Array {
	if perm == nil {
		return StringArray(c.Len(), c.Value)
	}
	return StringArray(len(perm), func(i int) []byte { return c.Value(int(perm[i])) })
}

// Int32Array builds an int32 array; valid may be nil (no nulls).
func Int32Array(vals []int32, valid func(i int) bool) arrow.Array {
	n := len(vals)
	var vb *memory.Buffer
	nulls := 0
	if valid != nil {
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for i := 0; i < n; i++ {
			if valid(i) {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		if nulls > 0 {
			vb = memory.NewBufferBytes(bits)
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{vb, memory.NewBufferBytes(int32Bytes(vals))}, nil, nulls, 0)
	defer d.Release()
	return array.NewInt32Data(d)
}

// Int64Array builds an int64 array; null marks the null value (use a
// sentinel that cannot occur, or pass hasNull false).
func Int64Array(vals []int64, null int64, hasNull bool) arrow.Array {
	n := len(vals)
	var vb *memory.Buffer
	nulls := 0
	if hasNull {
		bits := make([]byte, bitutil.BytesForBits(int64(n)))
		for i, v := range vals {
			if v != null {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		if nulls > 0 {
			vb = memory.NewBufferBytes(bits)
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{vb, memory.NewBufferBytes(int64Bytes(vals))}, nil, nulls, 0)
	defer d.Release()
	return array.NewInt64Data(d)
}

// TimestampType is the type of timestamp columns: microseconds, UTC.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// TimestampType returns the type of timestamp columns (microseconds, UTC).
func TimestampType() arrow.DataType { return timestampType }

// TimestampArray builds a timestamp array from microseconds since the
// epoch; null marks nulls.
func TimestampArray(vals []int64, null int64) arrow.Array {
	ints := Int64Array(vals, null, true)
	defer ints.Release()
	d := array.NewData(timestampType, ints.Len(), ints.Data().Buffers(), nil, ints.NullN(), 0)
	defer d.Release()
	return array.NewTimestampData(d)
}

// DictType is the type of dictionary-encoded text columns.
var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// DictType returns dictionary<int32, utf8>.
func DictType() arrow.DataType { return dictType }

// DictArray builds a dictionary-encoded text array: indices into dict.
// Parquet writes it as a dictionary page plus indices, without hashing
// every value again.
func DictArray(indices []int32, dict arrow.Array) arrow.Array {
	idx := Int32Array(indices, nil)
	defer idx.Release()
	return array.NewDictionaryArray(dictType, idx, dict)
}

func int32Bytes(v []int32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4)
}

func int64Bytes(v []int64) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*8)
}

// DenseIDs returns the values of a dense id column, -1 where null. Without
// nulls it is the array's own memory: read it, do not keep or change it
// past the array's release.
func DenseIDs(a *array.Int32) []int32 {
	if a.NullN() == 0 {
		return a.Int32Values()
	}
	out := make([]int32, a.Len())
	for i, v := range a.Int32Values() {
		if a.IsNull(i) {
			v = -1
		}
		out[i] = v
	}
	return out
}

// HasDictionary reports whether a dictionary array carries its dictionary:
// a batch read as dictionary with no value at all (every row null, or list
// elements of rows that hold none) may come without one.
func HasDictionary(a *array.Dictionary) bool {
	d, ok := a.Data().Dictionary().(*array.Data)
	return ok && d != nil
}
