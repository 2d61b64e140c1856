package formats

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"unicode/utf8"
)

// ReadJSONLines streams a JSON-lines file (one object per line) as text
// batches. The columns are the keys found in the file, in first-seen order
// (a first pass collects them). Strings are taken as they are, numbers and
// booleans as their JSON text, null as null; a nested value or a line that
// is not an object is a reject.
func ReadJSONLines(ctx context.Context, path string, fn func(*RawBatch) error) ([]string, error) {
	header, err := jsonKeys(path)
	if err != nil {
		return nil, err
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		col[h] = i
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxRecordBytes)
	const batchRows = 64 << 10
	newBatch := func(seq int) *RawBatch {
		b := &RawBatch{File: path, Seq: seq, Header: header, Columns: make([]Column, len(header))}
		for i := range b.Columns {
			b.Columns[i].reset(1024, 0)
		}
		return b
	}
	b := newBatch(0)
	vals := make([][]byte, len(header))
	line := int64(0)
	rows := 0
	for sc.Scan() {
		line++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		rows++
		if reason, bad := decodeJSONRow(raw, col, vals); bad {
			b.Rejects = append(b.Rejects, Reject{File: path, Line: line, Reason: reason})
			continue
		}
		for i := range b.Columns {
			b.Columns[i].Append(vals[i])
		}
		b.Lines = append(b.Lines, line)
		if b.Rows() >= batchRows {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := fn(b); err != nil {
				return nil, err
			}
			b = newBatch(b.Seq + 1)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &FileError{File: path, Line: line + 1, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if rows == 0 {
		return nil, &FileError{File: path, Err: ErrEmptyFile}
	}
	if b.Rows() > 0 || len(b.Rejects) > 0 {
		if err := fn(b); err != nil {
			return nil, err
		}
	}
	return header, nil
}

func decodeJSONRow(raw []byte, col map[string]int, vals [][]byte) (string, bool) {
	if !utf8.Valid(raw) {
		return "line is not valid UTF-8", true
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "not a JSON object: " + err.Error(), true
	}
	for i := range vals {
		vals[i] = nil
	}
	for k, v := range obj {
		i, ok := col[k]
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case len(v) == 0 || string(v) == "null":
		case v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return fmt.Sprintf("field %q: %v", k, err), true
			}
			vals[i] = []byte(s)
		case v[0] == '{' || v[0] == '[':
			return fmt.Sprintf("field %q: nested value, want text", k), true
		default:
			if _, err := strconv.ParseFloat(string(v), 64); err != nil && string(v) != "true" && string(v) != "false" {
				return fmt.Sprintf("field %q: %s is not a value", k, v), true
			}
			vals[i] = v
		}
	}
	return "", false
}

// jsonKeys collects the object keys of a JSON-lines file in first-seen
// order (keys of one line sorted, as JSON objects are unordered).
func jsonKeys(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxRecordBytes)
	seen := map[string]bool{}
	var keys []string
	for sc.Scan() {
		var obj map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &obj) != nil {
			continue
		}
		var fresh []string
		for k := range obj {
			if !seen[k] {
				seen[k] = true
				fresh = append(fresh, k)
			}
		}
		sort.Strings(fresh)
		keys = append(keys, fresh...)
	}
	if err := sc.Err(); err != nil {
		return nil, &FileError{File: path, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if len(keys) == 0 {
		return nil, &FileError{File: path, Err: ErrEmptyFile}
	}
	return keys, nil
}
