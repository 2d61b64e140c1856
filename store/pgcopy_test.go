package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/autoid-oss/autoid/internal/pgtest"
)

type sliceRows struct {
	rows [][]any
	i    int
	err  error
}

func (s *sliceRows) Next() bool {
	if s.i >= len(s.rows) {
		return false
	}
	s.i++
	return true
}
func (s *sliceRows) Values() ([]any, error) { return s.rows[s.i-1], nil }
func (s *sliceRows) Err() error             { return s.err }

// The binary COPY encodes every serving column type, nulls included, and
// refuses a value of the wrong type or a failing row source without
// leaving rows behind.
func TestCopyBinary(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, pgtest.DSN(t), t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `CREATE TABLE copy_t (s TEXT, i BIGINT, j INTEGER, f DOUBLE PRECISION, b BOOLEAN)`); err != nil {
		t.Fatal(err)
	}
	cp := db.b.(Copier)
	cols := []string{"s", "i", "j", "f", "b"}
	rows := &sliceRows{rows: [][]any{
		{"é \"x\"", int64(-5), int64(7), 0.25, true},
		{nil, nil, nil, nil, nil},
		{"", int64(1) << 40, int64(-1), int64(3), false},
	}}
	n, err := cp.CopyFrom(ctx, "copy_t", cols, rows)
	if err != nil || n != 3 {
		t.Fatalf("copied %d, %v", n, err)
	}
	got := queryRows(t, db, `SELECT COALESCE(s, 'NULL'), COALESCE(i::text, 'NULL'), COALESCE(j::text, 'NULL'), COALESCE(f::text, 'NULL'), COALESCE(b::text, 'NULL') FROM copy_t ORDER BY i NULLS LAST`, 5)
	want := []string{`é "x"|-5|7|0.25|true`, `|1099511627776|-1|3|false`, `NULL|NULL|NULL|NULL|NULL`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	_, err = cp.CopyFrom(ctx, "copy_t", cols, &sliceRows{rows: [][]any{{"a", 1.5, int64(1), 1.0, true}}})
	if err == nil || !strings.Contains(err.Error(), "column i: cannot store float64 as integer") {
		t.Errorf("float into bigint: %v", err)
	}
	boom := errors.New("source failed")
	_, err = cp.CopyFrom(ctx, "copy_t", cols, &sliceRows{rows: [][]any{{"a", int64(1), int64(1), 1.0, true}}, err: boom})
	if !errors.Is(err, boom) && (err == nil || !strings.Contains(err.Error(), "source failed")) {
		t.Errorf("failing source: %v", err)
	}
	if got := queryRows(t, db, `SELECT COUNT(*) FROM copy_t`, 1); got[0] != "3" {
		t.Errorf("%s rows after the failed copies, want 3", got[0])
	}
}
