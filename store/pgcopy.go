package store

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL type OIDs the serving tables use.
const (
	oidBool   = 16
	oidInt8   = 20
	oidInt4   = 23
	oidText   = 25
	oidFloat8 = 701
)

// copyEncoder appends one value of a column in COPY binary form (without
// the length word); ok is false when the value cannot be that column's.
type copyEncoder func(buf []byte, v any) ([]byte, bool)

func encoderFor(oid uint32) (copyEncoder, string) {
	switch oid {
	case oidText:
		return func(buf []byte, v any) ([]byte, bool) {
			s, ok := v.(string)
			return append(buf, s...), ok
		}, "text"
	case oidInt8, oidInt4:
		size := 8
		if oid == oidInt4 {
			size = 4
		}
		return func(buf []byte, v any) ([]byte, bool) {
			var n int64
			switch x := v.(type) {
			case int64:
				n = x
			case int:
				n = int64(x)
			case int32:
				n = int64(x)
			default:
				return buf, false
			}
			if size == 4 {
				if n < math.MinInt32 || n > math.MaxInt32 {
					return buf, false
				}
				return binary.BigEndian.AppendUint32(buf, uint32(int32(n))), true
			}
			return binary.BigEndian.AppendUint64(buf, uint64(n)), true
		}, "integer"
	case oidFloat8:
		return func(buf []byte, v any) ([]byte, bool) {
			var f float64
			switch x := v.(type) {
			case float64:
				f = x
			case int64:
				f = float64(x)
			default:
				return buf, false
			}
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), true
		}, "double precision"
	case oidBool:
		return func(buf []byte, v any) ([]byte, bool) {
			b, ok := v.(bool)
			if b {
				return append(buf, 1), ok
			}
			return append(buf, 0), ok
		}, "boolean"
	}
	return nil, ""
}

// copyBinary streams rows into table with COPY ... FROM STDIN (FORMAT
// binary), encoding each value straight from the row by the column's
// type. It returns false (and copies nothing) when a column has a type it
// does not encode.
func (p *pgBackend) copyBinary(ctx context.Context, table string, columns []string, rows RowSource) (int64, bool, error) {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return 0, true, fmt.Errorf("copy %s: %w", table, err)
	}
	defer conn.Release()
	types := map[string]uint32{}
	r, err := conn.Query(ctx, `SELECT attname::text, atttypid FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`,
		pgx.Identifier{table}.Sanitize())
	if err != nil {
		return 0, true, fmt.Errorf("copy %s: column types: %w", table, err)
	}
	for r.Next() {
		var name string
		var oid uint32
		if err := r.Scan(&name, &oid); err != nil {
			r.Close()
			return 0, true, fmt.Errorf("copy %s: column types: %w", table, err)
		}
		types[name] = oid
	}
	r.Close()
	if err := r.Err(); err != nil {
		return 0, true, fmt.Errorf("copy %s: column types: %w", table, err)
	}
	encs := make([]copyEncoder, len(columns))
	names := make([]string, len(columns))
	quoted := make([]string, len(columns))
	for i, c := range columns {
		oid, ok := types[c]
		if !ok {
			return 0, true, fmt.Errorf("copy %s: no column %q", table, c)
		}
		if encs[i], names[i] = encoderFor(oid); encs[i] == nil {
			return 0, false, nil
		}
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	pr, pw := io.Pipe()
	var n int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := bufio.NewWriterSize(pw, 256<<10)
		buf := append(make([]byte, 0, 64<<10), "PGCOPY\n\xff\r\n\x00"...)
		buf = binary.BigEndian.AppendUint32(buf, 0) // flags
		buf = binary.BigEndian.AppendUint32(buf, 0) // header extension
		err := func() error {
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					return err
				}
				if len(vals) != len(columns) {
					return fmt.Errorf("row has %d values for %d columns", len(vals), len(columns))
				}
				buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)))
				for i, v := range vals {
					if v == nil {
						buf = binary.BigEndian.AppendUint32(buf, math.MaxUint32) // -1: null
						continue
					}
					at := len(buf)
					buf = append(buf, 0, 0, 0, 0)
					var ok bool
					if buf, ok = encs[i](buf, v); !ok {
						return fmt.Errorf("column %s: cannot store %T as %s", columns[i], v, names[i])
					}
					binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
				}
				n++
				if len(buf) >= 60<<10 {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			buf = binary.BigEndian.AppendUint16(buf, math.MaxUint16) // trailer: -1
			if _, err := w.Write(buf); err != nil {
				return err
			}
			return w.Flush()
		}()
		pw.CloseWithError(err)
	}()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, pr,
		"COPY "+pgx.Identifier{table}.Sanitize()+" ("+strings.Join(quoted, ", ")+") FROM STDIN WITH (FORMAT binary)")
	pr.CloseWithError(io.ErrClosedPipe) // stop the encoder if the copy ended early
	<-done                              // the rows are not read after this returns
	if err != nil {
		return 0, true, fmt.Errorf("copy %s: %w", table, err)
	}
	if tag.RowsAffected() != n {
		return 0, true, fmt.Errorf("copy %s: %d rows copied of %d sent", table, tag.RowsAffected(), n)
	}
	return n, true, nil
}
