package formats

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readBack reads a Parquet file held in memory into one record.
func readBack(t *testing.T, b []byte) arrow.Record {
	t.Helper()
	pf, err := file.NewParquetReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	r, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := r.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	return tableToRecord(tbl)
}

// Lists written column-parallel (levels computed here) read back equal to
// the record, and to what pqarrow's own writer makes, for every list
// shape: nullable or required lists and elements, empty and null lists,
// null lists with elements behind them, dictionary elements, and row
// groups that split the rows.
func TestParallelListColumns(t *testing.T) {
	mem := memory.DefaultAllocator
	build := func(listNullable, elemNullable bool, n int) arrow.Record {
		lt := arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: elemNullable})
		lb2 := array.NewListBuilderWithField(mem, lt.ElemField())
		vb := lb2.ValueBuilder().(*array.StringBuilder)
		ib := array.NewInt64Builder(mem)
		for r := 0; r < n; r++ {
			ib.Append(int64(r))
			switch {
			case listNullable && r%7 == 3:
				lb2.AppendNull()
			case r%5 == 0:
				lb2.Append(true) // empty
			default:
				lb2.Append(true)
				for j := 0; j < r%4+1; j++ {
					if elemNullable && (r+j)%6 == 0 {
						vb.AppendNull()
					} else {
						vb.Append(fmt.Sprintf("v%d-%d", r, j))
					}
				}
			}
		}
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "id", Type: arrow.PrimitiveTypes.Int64},
			{Name: "items", Type: lt, Nullable: listNullable},
		}, nil)
		return array.NewRecord(schema, []arrow.Array{ib.NewArray(), lb2.NewArray()}, int64(n))
	}
	for _, listNullable := range []bool{false, true} {
		for _, elemNullable := range []bool{false, true} {
			for _, n := range []int{0, 1, 5, 1000, rowGroupRows + 1234} {
				t.Run(fmt.Sprintf("list-null=%v/elem-null=%v/rows=%d", listNullable, elemNullable, n), func(t *testing.T) {
					rec := build(listNullable, elemNullable, n)
					defer rec.Release()
					var par, seq bytes.Buffer
					if err := writeParallel(&par, rec, compress.Codecs.Lz4Raw); err != nil {
						t.Fatal(err)
					}
					if err := writeSequential(&seq, rec, compress.Codecs.Lz4Raw); err != nil {
						t.Fatal(err)
					}
					p, s := readBack(t, par.Bytes()), readBack(t, seq.Bytes())
					defer p.Release()
					defer s.Release()
					if !array.RecordEqual(p, rec) {
						t.Fatalf("parallel write reads back differently:\n%v\nwant\n%v", p.Column(1), rec.Column(1))
					}
					if !array.RecordEqual(s, rec) {
						t.Fatalf("sequential write reads back differently")
					}
				})
			}
		}
	}
}

// A null list whose offsets still span elements does not leak them.
func TestParallelListNullWithElements(t *testing.T) {
	mem := memory.DefaultAllocator
	vals := array.NewStringBuilder(mem)
	vals.AppendValues([]string{"a", "b", "hidden", "c"}, nil)
	va := vals.NewArray()
	defer va.Release()
	offsets := arrow.Int32Traits.CastToBytes([]int32{0, 2, 3, 4})
	valid := []byte{0b101}
	lt := arrow.ListOf(arrow.BinaryTypes.String)
	data := array.NewData(lt, 3, []*memory.Buffer{memory.NewBufferBytes(valid), memory.NewBufferBytes(offsets)}, []arrow.ArrayData{va.Data()}, 1, 0)
	la := array.NewListData(data)
	defer la.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "items", Type: lt, Nullable: true}}, nil)
	rec := array.NewRecord(schema, []arrow.Array{la}, 3)
	defer rec.Release()
	var buf bytes.Buffer
	if err := writeParallel(&buf, rec, compress.Codecs.Lz4Raw); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, buf.Bytes())
	defer got.Release()
	if s := fmt.Sprint(got.Column(0)); s != `[["a" "b"] (null) ["c"]]` {
		t.Fatalf("read back %s", s)
	}
}
