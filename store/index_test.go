package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The assignment index is the published assignments in key order with
// the identities' attributes; it survives a second load (the swap
// re-creates the view over the new tables), and verification fails when
// the key index is gone.
func TestAssignmentIndex(t *testing.T) {
	for _, h := range harnesses() {
		t.Run(h.name, func(t *testing.T) {
			ctx := context.Background()
			db, _, _ := h.open(t)
			mustLoad(t, db, newFakeRun(t, "r1", true, 1))
			res, err := db.VerifyAssignmentIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.RunID != "r1" || res.Entries != 6 {
				t.Errorf("verified %+v, want 6 entries of r1", res)
			}
			// Entries in byte order of (usr_id, ent_id), the cursor order,
			// with the identity's attributes ({} for the unknown one).
			want := []string{`B|e1|{"USR_EMP_TYPE":"Employee","CITY":"Paris"}`, `B|e2|{"USR_EMP_TYPE":"Employee","CITY":"Paris"}`,
				`a|e1|{"USR_EMP_TYPE":"Employee","CITY":"Paris "}`, `a |e3 |{"USR_EMP_TYPE":"Contractor","CITY":"Rome"}`,
				`ghost|e1|{}`, `é|e2|{"CITY":"Rome"}`}
			check := func(when string) {
				t.Helper()
				got := queryRows(t, db, `SELECT usr_id, ent_id, attributes FROM assignment_index ORDER BY usr_id, ent_id`, 3)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s: index %q, want %q", when, got, want)
				}
			}
			check("first load")
			var bands []string
			if _, err := db.EachIndexEntry(ctx, func(e IndexEntry) error {
				bands = append(bands, fmt.Sprintf("%s|%s|%s|%v", e.UsrID, e.EntID, e.Band, e.Scored))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			sort.Strings(bands)
			wantBands := []string{"B|e1|High|true", "B|e2|Medium|true", "a |e3 |Unscored|false", "a|e1|Low|true", "ghost|e1|unscored|false", "é|e2|High|true"}
			if fmt.Sprint(bands) != fmt.Sprint(wantBands) {
				t.Errorf("entries %q, want %q", bands, wantBands)
			}
			mustLoad(t, db, newFakeRun(t, "r2", true, 0.5))
			check("second load")
			if res, err := db.VerifyAssignmentIndex(ctx); err != nil || res.RunID != "r2" || res.Entries != 6 {
				t.Errorf("after the second load: %+v, %v", res, err)
			}
			if _, err := db.Exec(ctx, `DROP INDEX assignments_pk`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.VerifyAssignmentIndex(ctx); !errors.Is(err, ErrMigration) || !strings.Contains(err.Error(), "assignments_pk") {
				t.Errorf("without the key index: %v, want ErrMigration naming assignments_pk", err)
			}
		})
	}
}

// BenchmarkAssignmentIndex verifies the assignment index over 1M published
// assignments (the generated company of BenchmarkLoad, loaded once per
// backend outside the timing) and streams its entries as the report does;
// entries/s counts index entries.
func BenchmarkAssignmentIndex(b *testing.B) {
	r := benchRun(b)
	r.id = "bench"
	for _, h := range harnesses() {
		b.Run(h.name, func(b *testing.B) {
			ctx := context.Background()
			db, _, _ := h.open(b)
			if _, err := db.Load(ctx, r.options()); err != nil {
				b.Fatal(err)
			}
			b.Run("create-assignment-index", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					res, err := db.VerifyAssignmentIndex(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if res.Entries != 1000000 {
						b.Fatalf("%d entries", res.Entries)
					}
				}
				b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "entries/s")
			})
			b.Run("entries", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					var n int64
					if _, err := db.EachIndexEntry(ctx, func(IndexEntry) error { n++; return nil }); err != nil {
						b.Fatal(err)
					}
					if n != 1000000 {
						b.Fatalf("%d entries", n)
					}
				}
				b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "entries/s")
			})
		})
	}
}
