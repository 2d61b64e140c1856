package formats

import (
	"errors"
	"fmt"
)

// Sentinel errors for files that cannot be read at all. They are wrapped in
// a *FileError that names the file (and line and column where known).
var (
	ErrEmptyFile       = errors.New("file is empty")
	ErrHeaderOnly      = errors.New("file has a header but no data rows")
	ErrDuplicateHeader = errors.New("duplicate column in header")
	ErrMissingColumn   = errors.New("required column missing")
	ErrColumnType      = errors.New("column has the wrong type")
	ErrUnreadable      = errors.New("file cannot be read")
)

// FileError is a failure that makes a whole file unusable.
type FileError struct {
	File   string
	Line   int64  // 0 when unknown
	Column string // "" when unknown
	Err    error
}

func (e *FileError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Column != "" {
		s += fmt.Sprintf(": column %q", e.Column)
	}
	return s + ": " + e.Err.Error()
}

func (e *FileError) Unwrap() error { return e.Err }

// Reject is one row a reader or the ingest could not take.
type Reject struct {
	File   string
	Line   int64  // 1-based; the header is line 1
	Column string // empty when the problem is not in one column
	Reason string
}

func (r Reject) String() string {
	s := fmt.Sprintf("%s:%d", r.File, r.Line)
	if r.Column != "" {
		s += fmt.Sprintf(": column %q", r.Column)
	}
	return s + ": " + r.Reason
}

// Column is one text column of a batch: row i is Data[Offs[i]:Offs[i+1]].
// Null (the empty string) has zero length.
type Column struct {
	Data []byte
	Offs []int32
}

// Value returns row i's bytes; they alias the batch and must be copied to be
// kept past the callback.
func (c *Column) Value(i int) []byte { return c.Data[c.Offs[i]:c.Offs[i+1]] }

// Len returns the number of rows.
func (c *Column) Len() int { return len(c.Offs) - 1 }

func (c *Column) reset(rowsHint, bytesHint int) {
	if cap(c.Offs) < rowsHint+1 {
		c.Offs = make([]int32, 0, rowsHint+1)
	}
	if cap(c.Data) < bytesHint {
		c.Data = make([]byte, 0, bytesHint)
	}
	c.Offs = append(c.Offs[:0], 0)
	c.Data = c.Data[:0]
}

// Append adds a row.
func (c *Column) Append(v []byte) {
	c.Data = append(c.Data, v...)
	c.Offs = append(c.Offs, int32(len(c.Data)))
}

// AppendString adds a row.
func (c *Column) AppendString(v string) {
	c.Data = append(c.Data, v...)
	c.Offs = append(c.Offs, int32(len(c.Data)))
}

// NewColumn returns an empty column.
func NewColumn() Column { return Column{Offs: []int32{0}} }

// RawBatch is a run of consecutive rows of one source, as text.
type RawBatch struct {
	File    string
	Seq     int      // position of the batch in the file, from 0
	Bytes   int      // size of the input behind the batch, where known
	Header  []string // source column names, one per column
	Columns []Column
	Lines   []int64 // source line of each row
	Rejects []Reject
	// Payload is free for a Transform hook to attach per-batch results
	// computed in parallel (for example resolved ids).
	Payload any
}

// Rows returns the number of rows.
func (b *RawBatch) Rows() int { return len(b.Lines) }

// ReadOptions tune the streaming readers.
type ReadOptions struct {
	// BatchBytes is the approximate size of the input block behind each
	// batch (default 4 MiB).
	BatchBytes int
	// Workers parse batches in parallel (default GOMAXPROCS).
	Workers int
	// Transform, when set, runs on each parsed batch in a worker goroutine,
	// before batches are delivered in order. It must only read shared state.
	Transform func(*RawBatch) error
	// Row, when set, replaces the text columns of CSV batches: the parser
	// calls it in its worker goroutine for each row it takes, in file order
	// within the batch, with the row's line and fields, and leaves
	// b.Columns nil (b.Lines is still filled; cap(b.Lines) is a hint of
	// the batch's rows). The fields alias the parser's buffers and are
	// valid only during the call. Row keeps its results in b.Payload; an
	// error fails the read. Like Transform, it must only read shared state.
	// Other formats ignore Row and fill the columns.
	Row func(b *RawBatch, line int64, fields [][]byte) error
}
