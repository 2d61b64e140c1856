package formats

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// ReadPostgres streams the rows of a PostgreSQL table or query as text
// batches, reading values in PostgreSQL's text format. tableOrQuery is a
// query when it starts with SELECT or WITH, otherwise a table name
// (optionally schema-qualified). The "line" of a row is its 1-based row
// number plus one.
func ReadPostgres(ctx context.Context, url, tableOrQuery string, fn func(*RawBatch) error) ([]string, error) {
	name := "postgres:" + tableOrQuery
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, &FileError{File: name, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer conn.Close(context.Background())
	q := strings.TrimSpace(tableOrQuery)
	up := strings.ToUpper(q)
	if !strings.HasPrefix(up, "SELECT") && !strings.HasPrefix(up, "WITH") {
		parts := strings.Split(q, ".")
		for i, p := range parts {
			parts[i] = pgx.Identifier{p}.Sanitize()
		}
		q = "SELECT * FROM " + strings.Join(parts, ".")
	}
	rows, err := conn.Query(ctx, q, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return nil, &FileError{File: name, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	header := make([]string, len(fds))
	seen := map[string]bool{}
	for i, fd := range fds {
		if seen[fd.Name] {
			return nil, &FileError{File: name, Column: fd.Name, Err: ErrDuplicateHeader}
		}
		seen[fd.Name] = true
		header[i] = fd.Name
	}
	const batchRows = 64 << 10
	newBatch := func(seq int) *RawBatch {
		b := &RawBatch{File: name, Seq: seq, Header: header, Columns: make([]Column, len(header))}
		for i := range b.Columns {
			b.Columns[i].reset(1024, 0)
		}
		return b
	}
	b := newBatch(0)
	line := int64(1)
	for rows.Next() {
		line++
		vals := rows.RawValues()
		bad := -1
		for i, v := range vals {
			if !utf8.Valid(v) {
				bad = i
			}
		}
		if bad >= 0 {
			b.Rejects = append(b.Rejects, Reject{File: name, Line: line, Column: header[bad], Reason: "value is not valid UTF-8"})
			continue
		}
		for i, v := range vals {
			b.Columns[i].Append(v)
		}
		b.Lines = append(b.Lines, line)
		if b.Rows() >= batchRows {
			if err := fn(b); err != nil {
				return nil, err
			}
			b = newBatch(b.Seq + 1)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, &FileError{File: name, Line: line, Err: fmt.Errorf("%w: %v", ErrUnreadable, err)}
	}
	if line == 1 {
		return nil, &FileError{File: name, Err: ErrHeaderOnly}
	}
	if b.Rows() > 0 || len(b.Rejects) > 0 {
		if err := fn(b); err != nil {
			return nil, err
		}
	}
	return header, nil
}
