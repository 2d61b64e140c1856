package gen

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// FileStat describes one written file.
type FileStat struct {
	Path  string `json:"path"` // relative to the output directory
	Rows  int64  `json:"rows"` // data rows, header excluded
	Bytes int64  `json:"bytes"`
}

// tableWriter writes rows of string fields; an empty field is null.
type tableWriter interface {
	writeRow(fields []string) error
	close() (FileStat, error)
}

const writeBuffer = 4 << 20

// csvNeedsQuotes reports whether a field must be quoted (RFC 4180).
func csvNeedsQuotes(s string) bool { return strings.ContainsAny(s, ",\"\r\n") }

// appendCSVField appends s to dst, quoting it only where needed.
func appendCSVField(dst []byte, s string) []byte {
	if !csvNeedsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// csvQuote returns s as a CSV field.
func csvQuote(s string) string {
	if !csvNeedsQuotes(s) {
		return s
	}
	return string(appendCSVField(nil, s))
}

type csvTable struct {
	dir, rel string
	f        *os.File
	w        *bufio.Writer
	rows     int64
	buf      []byte
}

func newCSVTable(dir, rel string, header []string) (*csvTable, error) {
	f, err := os.Create(dir + string(os.PathSeparator) + rel)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", rel, err)
	}
	t := &csvTable{dir: dir, rel: rel, f: f, w: bufio.NewWriterSize(f, writeBuffer)}
	if err := t.writeRow(header); err != nil {
		f.Close()
		return nil, err
	}
	t.rows = 0
	return t, nil
}

func (t *csvTable) writeRow(fields []string) error {
	t.buf = t.buf[:0]
	for k, s := range fields {
		if k > 0 {
			t.buf = append(t.buf, ',')
		}
		t.buf = appendCSVField(t.buf, s)
	}
	t.buf = append(t.buf, '\n')
	t.rows++
	if _, err := t.w.Write(t.buf); err != nil {
		return fmt.Errorf("write %s: %w", t.rel, err)
	}
	return nil
}

// writeRaw writes already formatted rows.
func (t *csvTable) writeRaw(b []byte, rows int64) error {
	t.rows += rows
	if _, err := t.w.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", t.rel, err)
	}
	return nil
}

func (t *csvTable) close() (FileStat, error) {
	err := t.w.Flush()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return FileStat{}, fmt.Errorf("write %s: %w", t.rel, err)
	}
	return statFile(t.dir, t.rel, t.rows)
}

func statFile(dir, rel string, rows int64) (FileStat, error) {
	st, err := os.Stat(dir + string(os.PathSeparator) + rel)
	if err != nil {
		return FileStat{}, fmt.Errorf("stat %s: %w", rel, err)
	}
	return FileStat{Path: rel, Rows: rows, Bytes: st.Size()}, nil
}

// parquetTable writes string columns (nullable; an empty field is null) in
// row groups of rowGroup rows, snappy-compressed with dictionary encoding.
type parquetTable struct {
	dir, rel string
	f        *os.File
	w        *bufio.Writer
	fw       *pqarrow.FileWriter
	schema   *arrow.Schema
	cols     []*array.StringBuilder
	rowGroup int
	pending  int
	rows     int64
}

func newParquetTable(dir, rel string, header []string, rowGroup int) (*parquetTable, error) {
	fields := make([]arrow.Field, len(header))
	for k, h := range header {
		fields[k] = arrow.Field{Name: h, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	f, err := os.Create(dir + string(os.PathSeparator) + rel)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", rel, err)
	}
	w := bufio.NewWriterSize(f, writeBuffer)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithDictionaryDefault(true),
		parquet.WithMaxRowGroupLength(int64(rowGroup)),
		parquet.WithCreatedBy("autoid gen"),
	)
	fw, err := pqarrow.NewFileWriter(schema, w, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create %s: %w", rel, err)
	}
	t := &parquetTable{dir: dir, rel: rel, f: f, w: w, fw: fw, schema: schema, rowGroup: rowGroup}
	for range header {
		t.cols = append(t.cols, array.NewStringBuilder(memory.DefaultAllocator))
	}
	return t, nil
}

func (t *parquetTable) writeRow(fields []string) error {
	for k, s := range fields {
		if s == "" {
			t.cols[k].AppendNull()
		} else {
			t.cols[k].Append(s)
		}
	}
	return t.rowDone()
}

// rowDone counts a row appended directly to the column builders.
func (t *parquetTable) rowDone() error {
	t.pending++
	t.rows++
	if t.pending >= t.rowGroup {
		return t.flush()
	}
	return nil
}

func (t *parquetTable) flush() error {
	if t.pending == 0 {
		return nil
	}
	arrs := make([]arrow.Array, len(t.cols))
	for k, b := range t.cols {
		arrs[k] = b.NewArray()
	}
	rec := array.NewRecordBatch(t.schema, arrs, int64(t.pending))
	for _, a := range arrs {
		a.Release()
	}
	err := t.fw.Write(rec)
	rec.Release()
	t.pending = 0
	if err != nil {
		return fmt.Errorf("write %s: %w", t.rel, err)
	}
	return nil
}

func (t *parquetTable) close() (FileStat, error) {
	err := t.flush()
	if cerr := t.fw.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", t.rel, cerr)
	}
	for _, b := range t.cols {
		b.Release()
	}
	if ferr := t.w.Flush(); err == nil && ferr != nil {
		err = fmt.Errorf("write %s: %w", t.rel, ferr)
	}
	if cerr := t.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %s: %w", t.rel, cerr)
	}
	if err != nil {
		return FileStat{}, err
	}
	return statFile(t.dir, t.rel, t.rows)
}

func newTable(dir, name string, header []string, cfg Config) (tableWriter, error) {
	if cfg.Format == FormatParquet {
		return newParquetTable(dir, name+".parquet", header, cfg.RowGroupSize)
	}
	return newCSVTable(dir, name+".csv", header)
}
