package formats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unicode/utf8"
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// ReadCSV streams an RFC 4180 CSV file (header row, UTF-8, optional
// byte-order mark, LF or CRLF, quoted fields with commas, quotes and
// newlines) and calls fn with each batch of rows in file order. Values are
// byte-exact: nothing is trimmed. Rows that cannot be taken (wrong number of
// fields, bad quoting, bytes that are not UTF-8) are not in the columns but
// listed in the batch's Rejects. A file without a usable header, or with a
// header and no rows, fails with a *FileError.
//
// The file is read in blocks of opts.BatchBytes that are cut at record
// boundaries and parsed by opts.Workers goroutines; memory stays bounded by
// a few blocks per worker.
func ReadCSV(ctx context.Context, path string, opts ReadOptions, fn func(*RawBatch) error) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer f.Close()
	return readCSV(ctx, path, f, opts, fn)
}

func readCSV(ctx context.Context, path string, r io.Reader, opts ReadOptions, fn func(*RawBatch) error) ([]string, error) {
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 4 << 20
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	// Parsed blocks go back to the chunker: the parser copies what it keeps
	// (or hands rows to opts.Row, which must not keep them), so ten million
	// rows reuse a few blocks instead of allocating (and faulting in) the
	// whole file again.
	free := make(chan []byte, 2*opts.Workers+2)
	ch := &chunker{r: r, size: opts.BatchBytes, free: free}
	header, err := ch.header(path)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)

	type job struct {
		seq  int
		data []byte
		line int64
	}
	type result struct {
		b   *RawBatch
		err error
	}
	// Each batch has its own one-slot channel so that results are delivered
	// in file order; inflight bounds the batches read but not yet consumed.
	var resMu sync.Mutex
	results := map[int]chan result{}
	slot := func(seq int) chan result {
		resMu.Lock()
		defer resMu.Unlock()
		c, ok := results[seq]
		if !ok {
			c = make(chan result, 1)
			results[seq] = c
		}
		return c
	}
	inflight := make(chan struct{}, 2*opts.Workers)
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		for seq := 0; ; seq++ {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			data, line, err := ch.next(path)
			if err != nil || data == nil {
				slot(seq) <- result{err: err} // error or end marker
				return
			}
			select {
			case jobs <- job{seq: seq, data: data, line: line}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := ctx.Err(); err != nil {
					slot(j.seq) <- result{err: err}
					continue
				}
				b, err := parseCSVBlock(path, header, j.data, j.line, opts.Row)
				b.Seq = j.seq
				b.Bytes = len(j.data)
				select {
				case free <- j.data[:0]:
				default:
				}
				if err == nil && opts.Transform != nil {
					err = opts.Transform(b)
				}
				slot(j.seq) <- result{b: b, err: err}
			}
		}()
	}
	rows := 0
	for seq := 0; ; seq++ {
		var res result
		select {
		case res = <-slot(seq):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		resMu.Lock()
		delete(results, seq)
		resMu.Unlock()
		if res.err != nil {
			return nil, res.err
		}
		if res.b == nil {
			break
		}
		rows += res.b.Rows() + len(res.b.Rejects)
		if err := fn(res.b); err != nil {
			return nil, err
		}
		<-inflight
	}
	if rows == 0 {
		return nil, &FileError{File: path, Err: ErrHeaderOnly}
	}
	return header, nil
}

// maxRecordBytes caps one record, so that an unterminated quote cannot make
// a reader hold the rest of a huge file.
const maxRecordBytes = 256 << 20

// chunker cuts the input into blocks that end at a record boundary.
type chunker struct {
	r     io.Reader
	size  int
	carry []byte // bytes after the last boundary of the previous block
	line  int64  // line number of the first byte of carry
	eof   bool
	free  chan []byte // blocks the parser is done with
}

func (c *chunker) fill(buf []byte) ([]byte, error) {
	for len(buf) < cap(buf) && !c.eof {
		n, err := c.r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			c.eof = true
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// header reads and parses the first record.
func (c *chunker) header(path string) ([]string, error) {
	buf := make([]byte, 0, 64<<10)
	for {
		var err error
		buf, err = c.fill(buf)
		if err != nil {
			return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
		data := bytes.TrimPrefix(buf, bom)
		if len(data) == 0 && c.eof {
			return nil, &FileError{File: path, Err: ErrEmptyFile}
		}
		end, _ := recordEnd(data)
		if end < 0 && !c.eof {
			if len(buf) == cap(buf) {
				nb := make([]byte, len(buf), 2*cap(buf))
				copy(nb, buf)
				buf = nb
			}
			continue
		}
		if end < 0 {
			end = len(data)
		}
		rec := data[:end]
		var fields [][]byte
		var scratch []byte
		if err := splitRecord(rec, &fields, &scratch); err != nil {
			return nil, &FileError{File: path, Line: 1, Err: fmt.Errorf("header: %v", err)}
		}
		header := make([]string, len(fields))
		seen := make(map[string]bool, len(fields))
		for i, f := range fields {
			if !utf8.Valid(f) {
				return nil, &FileError{File: path, Line: 1, Column: fmt.Sprintf("#%d", i+1), Err: errors.New("header is not valid UTF-8")}
			}
			h := string(f)
			if h == "" {
				return nil, &FileError{File: path, Line: 1, Column: fmt.Sprintf("#%d", i+1), Err: errors.New("empty column name in header")}
			}
			if seen[h] {
				return nil, &FileError{File: path, Line: 1, Column: h, Err: ErrDuplicateHeader}
			}
			seen[h] = true
			header[i] = h
		}
		if len(header) == 1 && header[0] == "" {
			return nil, &FileError{File: path, Err: ErrEmptyFile}
		}
		c.line = 1 + int64(bytes.Count(rec, []byte{'\n'}))
		rest := data[end:]
		// Step over the record's line ending.
		if len(rest) > 0 && rest[0] == '\n' {
			rest = rest[1:]
			c.line++
		}
		c.carry = append([]byte(nil), rest...)
		return header, nil
	}
}

// next returns the next block of whole records and the line number of its
// first byte. It returns nil data at the end.
func (c *chunker) next(path string) ([]byte, int64, error) {
	if len(c.carry) == 0 && c.eof {
		return nil, 0, nil
	}
	size := c.size
	if len(c.carry) > size/2 {
		size = 2 * len(c.carry)
	}
	var buf []byte
	select {
	case b := <-c.free:
		if cap(b) >= size {
			buf = b[:len(c.carry)]
		}
	default:
	}
	if buf == nil {
		buf = make([]byte, len(c.carry), size)
	}
	copy(buf, c.carry)
	line := c.line
	for {
		var err error
		buf, err = c.fill(buf)
		if err != nil {
			return nil, 0, &FileError{File: path, Line: line, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
		}
		if c.eof {
			c.carry = nil
			if len(buf) == 0 {
				return nil, 0, nil
			}
			return buf, line, nil
		}
		cut := lastBoundary(buf)
		if cut < 0 {
			if len(buf) > maxRecordBytes {
				return nil, 0, &FileError{File: path, Line: line, Err: fmt.Errorf("a record is larger than %d MiB (unterminated quote?)", maxRecordBytes>>20)}
			}
			// One record is larger than the block: grow and read on.
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
			continue
		}
		c.carry = append(c.carry[:0], buf[cut:]...)
		block := buf[:cut]
		c.line = line + int64(bytes.Count(block, []byte{'\n'}))
		return block, line, nil
	}
}

// lastBoundary returns the index just after the last newline that is not
// inside a quoted field, or -1. The block starts at a record boundary.
func lastBoundary(b []byte) int {
	last := -1
	pos := 0
	for {
		q := bytes.IndexByte(b[pos:], '"')
		seg := b[pos:]
		if q >= 0 {
			seg = b[pos : pos+q]
		}
		if nl := bytes.LastIndexByte(seg, '\n'); nl >= 0 {
			last = pos + nl + 1
		}
		if q < 0 {
			return last
		}
		if !opensQuote(b, pos+q) {
			pos += q + 1 // a bare quote inside an unquoted field
			continue
		}
		// Skip the quoted part: find the closing quote (a doubled quote is
		// an escaped quote and keeps the field open).
		pos += q + 1
		for {
			e := bytes.IndexByte(b[pos:], '"')
			if e < 0 {
				return last
			}
			pos += e + 1
			if pos < len(b) && b[pos] == '"' {
				pos++
				continue
			}
			break
		}
	}
}

// opensQuote reports whether the quote at b[i] starts a quoted field: only
// a quote at the start of a field does.
func opensQuote(b []byte, i int) bool {
	return i == 0 || b[i-1] == ',' || b[i-1] == '\n'
}

// recordEnd returns the index of the newline that ends the record starting
// at b[0] (or -1 if b holds no complete record), and whether the record
// contains a quote.
func recordEnd(b []byte) (int, bool) {
	quoted := false
	pos := 0
	for {
		nl := bytes.IndexByte(b[pos:], '\n')
		q := bytes.IndexByte(b[pos:], '"')
		if q < 0 || (nl >= 0 && nl < q) {
			if nl < 0 {
				return -1, quoted
			}
			return pos + nl, quoted
		}
		quoted = true
		if !opensQuote(b, pos+q) {
			pos += q + 1
			continue
		}
		pos += q + 1
		for {
			e := bytes.IndexByte(b[pos:], '"')
			if e < 0 {
				return -1, quoted
			}
			pos += e + 1
			if pos < len(b) && b[pos] == '"' {
				pos++
				continue
			}
			break
		}
	}
}

// splitRecord splits one record (without its final newline, possibly ending
// in '\r') into fields. Quoted fields are unescaped into scratch; unquoted
// fields alias rec.
func splitRecord(rec []byte, fields *[][]byte, scratch *[]byte) error {
	rec = bytes.TrimSuffix(rec, []byte{'\r'})
	fs := (*fields)[:0]
	sc := (*scratch)[:0]
	// Quoted fields are unescaped into sc; remember spans and resolve them
	// after sc stops growing.
	type span struct{ field, start, end int }
	var spans []span
	pos := 0
	for {
		if pos < len(rec) && rec[pos] == '"' {
			start := len(sc)
			pos++
			for {
				e := bytes.IndexByte(rec[pos:], '"')
				if e < 0 {
					return errors.New("unterminated quoted field")
				}
				sc = append(sc, rec[pos:pos+e]...)
				pos += e + 1
				if pos < len(rec) && rec[pos] == '"' {
					sc = append(sc, '"')
					pos++
					continue
				}
				break
			}
			spans = append(spans, span{len(fs), start, len(sc)})
			fs = append(fs, nil)
			if pos == len(rec) {
				break
			}
			if rec[pos] != ',' {
				return fmt.Errorf("field %d: unexpected %q after closing quote", len(fs), rec[pos])
			}
			pos++
			continue
		}
		c := bytes.IndexByte(rec[pos:], ',')
		var f []byte
		if c < 0 {
			f = rec[pos:]
		} else {
			f = rec[pos : pos+c]
		}
		if bytes.IndexByte(f, '"') >= 0 {
			return fmt.Errorf("field %d: bare quote in unquoted field", len(fs)+1)
		}
		fs = append(fs, f)
		if c < 0 {
			break
		}
		pos += c + 1
	}
	for _, s := range spans {
		fs[s.field] = sc[s.start:s.end]
	}
	*fields = fs
	*scratch = sc
	return nil
}

// parseCSVBlock parses a block of whole records into a batch. With row
// set, each taken row goes to row instead of the columns (which stay
// empty); b.Lines is filled either way.
func parseCSVBlock(path string, header []string, data []byte, line int64, row func(*RawBatch, int64, [][]byte) error) (*RawBatch, error) {
	ncol := len(header)
	b := &RawBatch{File: path, Header: header}
	rowsHint := bytes.Count(data, []byte{'\n'}) + 1
	if row == nil {
		b.Columns = make([]Column, ncol)
	}
	for i := range b.Columns {
		b.Columns[i].reset(rowsHint, 2*len(data)/ncol+16)
	}
	b.Lines = make([]int64, 0, rowsHint)
	allUTF8 := utf8.Valid(data)
	var fields [][]byte
	var scratch []byte
	pos := 0
	// nq is the index of the next quote at or after pos (len(data) if none),
	// so that unquoted records cost one newline search each.
	nq := -1
	for pos < len(data) {
		recLine := line
		if nq < pos {
			nq = bytes.IndexByte(data[pos:], '"')
			if nq < 0 {
				nq = len(data)
			} else {
				nq += pos
			}
		}
		var end int
		var quoted bool
		nl := bytes.IndexByte(data[pos:], '\n')
		if nl >= 0 && pos+nl < nq {
			end = nl
		} else if nl < 0 && nq == len(data) {
			end = -1
		} else {
			end, quoted = recordEnd(data[pos:])
		}
		var rec []byte
		if end < 0 {
			rec = data[pos:]
			pos = len(data)
		} else {
			rec = data[pos : pos+end]
			pos += end + 1
		}
		line += int64(bytes.Count(rec, []byte{'\n'})) + 1
		if len(rec) == 0 || (len(rec) == 1 && rec[0] == '\r') {
			continue // blank line
		}
		if end < 0 && quoted && bytes.Count(rec, []byte{'"'})%2 == 1 {
			b.Rejects = append(b.Rejects, Reject{File: path, Line: recLine, Reason: "unterminated quoted field (the rest of the file is inside it)"})
			continue
		}
		if !quoted {
			// Fast path: split on commas.
			r := bytes.TrimSuffix(rec, []byte{'\r'})
			fields = fields[:0]
			for {
				c := bytes.IndexByte(r, ',')
				if c < 0 {
					fields = append(fields, r)
					break
				}
				fields = append(fields, r[:c])
				r = r[c+1:]
			}
		} else if err := splitRecord(rec, &fields, &scratch); err != nil {
			b.Rejects = append(b.Rejects, Reject{File: path, Line: recLine, Reason: err.Error()})
			continue
		}
		if len(fields) != ncol {
			b.Rejects = append(b.Rejects, Reject{File: path, Line: recLine,
				Reason: fmt.Sprintf("wrong number of fields: %d, header has %d", len(fields), ncol)})
			continue
		}
		if !allUTF8 {
			bad := -1
			for i, f := range fields {
				if !utf8.Valid(f) {
					bad = i
					break
				}
			}
			if bad >= 0 {
				b.Rejects = append(b.Rejects, Reject{File: path, Line: recLine, Column: header[bad], Reason: "value is not valid UTF-8"})
				continue
			}
		}
		if row != nil {
			if err := row(b, recLine, fields); err != nil {
				return b, err
			}
		} else {
			for i, f := range fields {
				c := &b.Columns[i]
				c.Data = append(c.Data, f...)
				c.Offs = append(c.Offs, int32(len(c.Data)))
			}
		}
		b.Lines = append(b.Lines, recLine)
	}
	return b, nil
}
