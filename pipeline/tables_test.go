package pipeline

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
)

// docTable is one table of docs/tables.md.
type docTable struct {
	cols  []string // in order, "*" for open-ended columns
	types map[string]string
}

func readTablesDoc(t *testing.T) map[string]*docTable {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "docs", "tables.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc := map[string]*docTable{}
	var cur *docTable
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "## "); ok {
			cur = &docTable{types: map[string]string{}}
			doc[strings.TrimSpace(name)] = cur
			continue
		}
		if cur == nil || !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		col, typ := strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1])
		if len(cells) > 2 && strings.TrimSpace(cells[2]) == "meaning" {
			continue
		}
		cur.cols = append(cur.cols, col)
		cur.types[col] = typ
	}
	return doc
}

// docType names an Arrow type the way docs/tables.md does.
func docType(dt arrow.DataType) string {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING:
		return "text"
	case arrow.DICTIONARY:
		return docType(dt.(*arrow.DictionaryType).ValueType)
	case arrow.TIMESTAMP:
		return "timestamp"
	case arrow.LIST:
		return "list<" + docType(dt.(*arrow.ListType).Elem()) + ">"
	case arrow.BOOL:
		return "bool"
	}
	return dt.String()
}

// checkSchema compares a written table's schema with its documentation:
// the documented columns in order, "*" standing for any number of columns
// of its type.
func checkSchema(t *testing.T, name string, schema *arrow.Schema, d *docTable) {
	t.Helper()
	fields := schema.Fields()
	i := 0
	for k, col := range d.cols {
		if col == "*" {
			next := ""
			if k+1 < len(d.cols) {
				next = d.cols[k+1]
			}
			for i < len(fields) && fields[i].Name != next {
				if docType(fields[i].Type) != d.types["*"] {
					t.Errorf("%s.%s: type %s, the document says %s", name, fields[i].Name, docType(fields[i].Type), d.types["*"])
				}
				i++
			}
			continue
		}
		if i >= len(fields) {
			t.Errorf("%s: documented column %s is not written", name, col)
			continue
		}
		if fields[i].Name != col {
			t.Errorf("%s: column %d is %s, the document says %s", name, i, fields[i].Name, col)
			return
		}
		if got := docType(fields[i].Type); got != d.types[col] {
			t.Errorf("%s.%s: type %s, the document says %s", name, col, got, d.types[col])
		}
		i++
	}
	for ; i < len(fields); i++ {
		t.Errorf("%s: column %s is not documented", name, fields[i].Name)
	}
}

// TestTablesDocument runs every job over the tiny company and checks each
// table written against docs/tables.md, and that every documented table is
// written.
func TestTablesDocument(t *testing.T) {
	ctx := context.Background()
	ws := tinyWorkspace(t)
	run, err := NewRegistry().Run(ctx, ws, Options{})
	if err != nil {
		t.Fatal(err)
	}
	gen, _ := ws.Current()
	doc := readTablesDoc(t)
	seen := map[string]bool{}
	for _, dir := range []string{gen.Dir, run.Dir} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.parquet"))
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".parquet")
			seen[name] = true
			d, ok := doc[name]
			if !ok {
				t.Errorf("table %s is written but not in docs/tables.md", name)
				continue
			}
			r, closeFn, err := formats.OpenParquet(f)
			if err != nil {
				t.Fatal(err)
			}
			schema, err := r.Schema()
			closeFn()
			if err != nil {
				t.Fatal(err)
			}
			checkSchema(t, name, schema, d)
		}
	}
	var missing []string
	for name := range doc {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("documented but not written by any job: %v", missing)
	}
}

// Naming jobs runs those jobs only, in pipeline order.
func TestRunNamedJobsOnly(t *testing.T) {
	ctx := context.Background()
	ws := tinyWorkspace(t)
	run, err := NewRegistry().Run(ctx, ws, Options{Jobs: []string{"audit"}})
	if err != nil {
		t.Fatal(err)
	}
	_, m, err := ws.Run(run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Jobs) != 1 || m.Jobs[0] != "audit" || len(m.Tables) != 1 {
		t.Errorf("ran %v, wrote %v; want audit only", m.Jobs, m.Tables)
	}
	if _, err := NewRegistry().Run(ctx, ws, Options{Jobs: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), "unknown job type nope") {
		t.Errorf("unknown job: %v", err)
	}
}
