package formats

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ExportFormats lists the formats Export writes.
var exportFormats = []string{"csv", "jsonl", "parquet"}

// ExportFormats returns the formats Export writes.
func ExportFormats() []string { return exportFormats }

// Export streams a Parquet table to w as CSV (header row; lists as JSON
// arrays; nulls as empty fields; timestamps in RFC 3339) or JSON lines (one
// object per row; nulls as null). It reads one batch at a time.
func Export(ctx context.Context, path, format string, w io.Writer) error {
	if format != "csv" && format != "jsonl" {
		return fmt.Errorf("export format %q: want csv or jsonl (parquet is a file copy)", format)
	}
	r, closeFn, err := OpenParquet(path)
	if err != nil {
		return err
	}
	defer closeFn()
	rr, err := r.GetRecordReader(ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	defer rr.Release()
	bw := bufio.NewWriterSize(w, 1<<20)
	schema := rr.Schema()
	if format == "csv" {
		for i, f := range schema.Fields() {
			if i > 0 {
				bw.WriteByte(',')
			}
			writeCSVField(bw, f.Name)
		}
		bw.WriteByte('\n')
	}
	var keys [][]byte
	for _, f := range schema.Fields() {
		k, _ := json.Marshal(f.Name)
		keys = append(keys, k)
	}
	for rr.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec := rr.Record()
		for row := 0; row < int(rec.NumRows()); row++ {
			if format == "jsonl" {
				bw.WriteByte('{')
			}
			for c := 0; c < int(rec.NumCols()); c++ {
				col := rec.Column(c)
				if format == "csv" {
					if c > 0 {
						bw.WriteByte(',')
					}
					if col.IsValid(row) {
						writeCSVField(bw, cellText(col, row))
					}
					continue
				}
				if c > 0 {
					bw.WriteByte(',')
				}
				bw.Write(keys[c])
				bw.WriteByte(':')
				bw.Write(cellJSON(col, row))
			}
			if format == "jsonl" {
				bw.WriteByte('}')
			}
			bw.WriteByte('\n')
		}
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	return bw.Flush()
}

func writeCSVField(w *bufio.Writer, s string) {
	if !strings.ContainsAny(s, ",\"\r\n") {
		w.WriteString(s)
		return
	}
	w.WriteByte('"')
	w.WriteString(strings.ReplaceAll(s, `"`, `""`))
	w.WriteByte('"')
}

// cellText renders a non-null cell for CSV.
func cellText(a arrow.Array, i int) string {
	switch c := a.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Dictionary:
		return cellText(c.Dictionary(), c.GetValueIndex(i))
	case *array.Timestamp:
		return c.Value(i).ToTime(c.DataType().(*arrow.TimestampType).Unit).UTC().Format(time.RFC3339Nano)
	case *array.Float64:
		return strconv.FormatFloat(c.Value(i), 'g', -1, 64)
	case *array.List, *array.LargeList, *array.Struct, *array.Map:
		return string(cellJSON(a, i))
	}
	return a.ValueStr(i)
}

// cellJSON renders a cell as JSON.
func cellJSON(a arrow.Array, i int) []byte {
	if a.IsNull(i) {
		return []byte("null")
	}
	switch c := a.(type) {
	case *array.String, *array.LargeString, *array.Dictionary, *array.Timestamp:
		b, _ := json.Marshal(cellText(a, i))
		return b
	case *array.Float64:
		return []byte(strconv.FormatFloat(c.Value(i), 'g', -1, 64))
	case *array.List:
		start, end := c.ValueOffsets(i)
		vals := c.ListValues()
		out := []byte{'['}
		for j := start; j < end; j++ {
			if j > start {
				out = append(out, ',')
			}
			out = append(out, cellJSON(vals, int(j))...)
		}
		return append(out, ']')
	}
	b, err := json.Marshal(a.GetOneForMarshal(i))
	if err != nil {
		b, _ = json.Marshal(a.ValueStr(i))
	}
	return b
}
