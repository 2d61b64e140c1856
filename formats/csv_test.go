package formats

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

type parsed struct {
	header  []string
	rows    [][]string
	lines   []int64
	rejects []Reject
}

func parseString(t testing.TB, content string, batchBytes int) (parsed, error) {
	return parseStringMode(t, content, batchBytes, false)
}

// parseStringMode reads content with the text columns, or with
// ReadOptions.Row when rowMode is set (the rows then come from the
// callback's copies).
func parseStringMode(t testing.TB, content string, batchBytes int, rowMode bool) (parsed, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	var p parsed
	opts := ReadOptions{BatchBytes: batchBytes, Workers: 2}
	if rowMode {
		opts.Row = func(b *RawBatch, line int64, fields [][]byte) error {
			rows, _ := b.Payload.([][]string)
			row := make([]string, len(fields))
			for i, f := range fields {
				row[i] = string(f)
			}
			b.Payload = append(rows, row)
			return nil
		}
	}
	h, err := ReadCSV(context.Background(), path, opts, func(b *RawBatch) error {
		if rowMode {
			if b.Columns != nil {
				t.Errorf("row mode: batch has %d text columns", len(b.Columns))
			}
			rows, _ := b.Payload.([][]string)
			if len(rows) != b.Rows() {
				t.Errorf("row mode: %d rows in the callback, %d lines", len(rows), b.Rows())
			}
			p.rows = append(p.rows, rows...)
		}
		for i := 0; i < b.Rows() && !rowMode; i++ {
			row := make([]string, len(b.Columns))
			for c := range b.Columns {
				row[c] = string(b.Columns[c].Value(i))
			}
			p.rows = append(p.rows, row)
		}
		p.lines = append(p.lines, b.Lines...)
		for _, r := range b.Rejects {
			r.File = "in.csv"
			p.rejects = append(p.rejects, r)
		}
		return nil
	})
	p.header = h
	return p, err
}

func TestReadCSVAccepted(t *testing.T) {
	cases := []struct {
		name, in string
		header   []string
		rows     [][]string
		lines    []int64
	}{
		{"bom", "\xEF\xBB\xBFa,b\n1,2\n", []string{"a", "b"}, [][]string{{"1", "2"}}, []int64{2}},
		{"crlf", "a,b\r\n1,2\r\n3,4\r\n", []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}, []int64{2, 3}},
		{"no final newline", "a,b\n1,2", []string{"a", "b"}, [][]string{{"1", "2"}}, []int64{2}},
		{"quoted", "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\nlast,1\n", []string{"a", "b"},
			[][]string{{"x,y", "say \"hi\""}, {"multi\nline", "z"}, {"last", "1"}}, []int64{2, 3, 5}},
		{"quoted crlf kept", "a,b\r\n\"1\r\n2\",3\r\n", []string{"a", "b"}, [][]string{{"1\r\n2", "3"}}, []int64{2}},
		{"non-ascii", "name,city\nJürgen,Zürich\n東京,Ōsaka\n", []string{"name", "city"}, [][]string{{"Jürgen", "Zürich"}, {"東京", "Ōsaka"}}, []int64{2, 3}},
		{"spaces byte exact", "a,b\n  x , y\t\nPierre ,\n", []string{"a", "b"}, [][]string{{"  x ", " y\t"}, {"Pierre ", ""}}, []int64{2, 3}},
		{"blank lines skipped", "a\n1\n\n2\n", []string{"a"}, [][]string{{"1"}, {"2"}}, []int64{2, 4}},
		{"empty quoted", "a,b\n\"\",x\n", []string{"a", "b"}, [][]string{{"", "x"}}, []int64{2}},
	}
	for _, c := range cases {
		for _, bb := range []int{1, 7, 1 << 20} {
			p, err := parseString(t, c.in, bb)
			if err != nil {
				t.Fatalf("%s/%d: %v", c.name, bb, err)
			}
			if !reflect.DeepEqual(p.header, c.header) || !reflect.DeepEqual(p.rows, c.rows) || !reflect.DeepEqual(p.lines, c.lines) || len(p.rejects) > 0 {
				t.Errorf("%s/%d: got header %q rows %q lines %v rejects %v; want %q %q %v", c.name, bb, p.header, p.rows, p.lines, p.rejects, c.header, c.rows, c.lines)
			}
		}
	}
}

func TestReadCSVRejects(t *testing.T) {
	cases := []struct {
		name, in string
		rows     int
		reject   Reject
	}{
		{"ragged", "a,b\n1,2\n3\n4,5\n", 2, Reject{File: "in.csv", Line: 3, Reason: "wrong number of fields: 1, header has 2"}},
		{"too many", "a,b\n1,2,3\n4,5\n", 1, Reject{File: "in.csv", Line: 2, Reason: "wrong number of fields: 3, header has 2"}},
		{"unterminated quote", "a,b\n1,2\n\"3,4\n5,6\n", 1, Reject{File: "in.csv", Line: 3, Reason: "unterminated quoted field (the rest of the file is inside it)"}},
		{"invalid utf8", "a,b\n1,2\n3,\xff\xfe\n", 1, Reject{File: "in.csv", Line: 3, Column: "b", Reason: "value is not valid UTF-8"}},
		{"bare quote", "a,b\n1,x\"y\n2,3\n", 1, Reject{File: "in.csv", Line: 2, Reason: "field 2: bare quote in unquoted field"}},
		{"text after quote", "a,b\n\"1\"x,2\n2,3\n", 1, Reject{File: "in.csv", Line: 2, Reason: "field 1: unexpected 'x' after closing quote"}},
	}
	for _, c := range cases {
		for _, bb := range []int{3, 1 << 20} {
			p, err := parseString(t, c.in, bb)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if len(p.rows) != c.rows || len(p.rejects) != 1 || p.rejects[0] != c.reject {
				t.Errorf("%s/%d: rows %q rejects %+v; want %d rows and %+v", c.name, bb, p.rows, p.rejects, c.rows, c.reject)
			}
		}
	}
}

func TestReadCSVFileErrors(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
		msg      string
	}{
		{"empty", "", ErrEmptyFile, "in.csv: file is empty"},
		{"bom only", "\xEF\xBB\xBF", ErrEmptyFile, "in.csv: file is empty"},
		{"header only", "a,b\n", ErrHeaderOnly, "in.csv: file has a header but no data rows"},
		{"duplicate header", "a,b,a\n1,2,3\n", ErrDuplicateHeader, `in.csv:1: column "a": duplicate column in header`},
	}
	for _, c := range cases {
		_, err := parseString(t, c.in, 1<<20)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
			continue
		}
		if got := err.Error(); !strings.HasSuffix(got, c.msg) || !strings.Contains(got, string(filepath.Separator)) {
			t.Errorf("%s: message %q does not end with %q", c.name, got, c.msg)
		}
	}
}

func TestReadCSVCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := 0; i < 100000; i++ {
		b.WriteString("xxxxxxxx,yyyyyyyy\n")
	}
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := ReadCSV(ctx, path, ReadOptions{BatchBytes: 4096}, func(*RawBatch) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v after %d batches, want context.Canceled", err, n)
	}
}

// encodeCSV writes records with RFC 4180 quoting where needed.
func encodeCSV(records [][]string) string {
	var b strings.Builder
	for _, r := range records {
		for i, f := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(f, ",\"\r\n") || (i == 0 && f == "" && len(r) == 1) {
				b.WriteByte('"')
				b.WriteString(strings.ReplaceAll(f, `"`, `""`))
				b.WriteByte('"')
			} else {
				b.WriteString(f)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// FuzzReadCSV round-trips arbitrary UTF-8 fields through the CSV encoding
// and the parallel reader with tiny blocks, and checks that arbitrary bytes
// never make the reader panic or lose a row without a reject.
func FuzzReadCSV(f *testing.F) {
	f.Add("x", "y,\"z\"", "a\nb", 3)
	f.Add("", " ", "\r\n", 1)
	f.Fuzz(func(t *testing.T, a, b, c string, bb int) {
		if bb < 1 || bb > 64 {
			bb = 1 + (bb&63+64)%64
		}
		// Arbitrary input: must not panic, and the row callback sees
		// exactly the rows, lines and rejects of the text columns.
		in := "h1,h2\n" + a + b + c
		pc, errc := parseString(t, in, bb)
		pr, errr := parseStringMode(t, in, bb, true)
		if (errc == nil) != (errr == nil) || !reflect.DeepEqual(pc, pr) {
			t.Fatalf("row mode differs: %+v (%v) vs %+v (%v)", pr, errr, pc, errc)
		}
		if !utf8.ValidString(a) || !utf8.ValidString(b) || !utf8.ValidString(c) {
			return
		}
		recs := [][]string{{"h1", "h2", "h3"}, {a, b, c}, {c, a, b}}
		p, err := parseString(t, encodeCSV(recs), bb)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if !reflect.DeepEqual(p.rows, recs[1:]) || len(p.rejects) > 0 {
			t.Fatalf("round trip: got %q rejects %v, want %q", p.rows, p.rejects, recs[1:])
		}
	})
}

// TestReadCSVRowModeManyBlocks reads a file of many small blocks (so that
// block buffers are recycled many times) in both modes and checks that
// every row comes back intact and in order.
func TestReadCSVRowModeManyBlocks(t *testing.T) {
	recs := [][]string{{"usr_id", "ent_id", "note"}}
	for i := 0; i < 5000; i++ {
		note := strings.Repeat("x", i%37)
		if i%11 == 0 {
			note = "quoted, \"with\"\nnewline " + note
		}
		recs = append(recs, []string{"u" + strings.Repeat("9", i%7) + string(rune('a'+i%26)), "e" + string(rune('A'+i%26)), note})
	}
	content := encodeCSV(recs)
	for _, rowMode := range []bool{false, true} {
		for _, bb := range []int{1, 97, 4096} {
			p, err := parseStringMode(t, content, bb, rowMode)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.rows, recs[1:]) || len(p.rejects) > 0 {
				t.Fatalf("rowMode %v, block %d: %d rows (want %d), %d rejects", rowMode, bb, len(p.rows), len(recs)-1, len(p.rejects))
			}
		}
	}
}
