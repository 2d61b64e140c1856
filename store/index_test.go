package store

import (
	"context"
	"testing"
)

// The assignment index mirrors the published assignments, and the
// reconciliation counts every entry missing on either side or differing.
func TestAssignmentIndexReconciliation(t *testing.T) {
	for _, h := range harnesses() {
		t.Run(h.name, func(t *testing.T) {
			ctx := context.Background()
			db, _, _ := h.open(t)
			mustLoad(t, db, newFakeRun(t, "r1", true, 1))
			indexes := indexCount(t, db, "assignment_index")
			res, err := db.BuildAssignmentIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.RunID != "r1" || res.Entries != 6 {
				t.Errorf("built %+v, want 6 entries of r1", res)
			}
			if got := indexCount(t, db, "assignment_index"); indexes != 3 || got != indexes {
				t.Errorf("%d indexes after the build, %d before; the schema has 3", got, indexes)
			}
			r, err := db.ReconcileAssignmentIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Six published assignments: two High, Medium, Low, Unscored and
			// the assignment of the unknown identity (unscored).
			if r.Entries != 6 || r.Published != 6 || r.Unscored != 2 || r.ByBand["high"] != 2 || r.ByBand["medium"] != 1 ||
				r.ByBand["low"] != 1 || r.MissingInIndex+r.MissingInAssignments+r.Mismatched != 0 {
				t.Fatalf("reconciliation %+v", r)
			}
			// Entries in byte order of (usr_id, ent_id), the cursor order.
			got := queryRows(t, db, `SELECT usr_id, ent_id FROM assignment_index ORDER BY usr_id, ent_id`, 2)
			want := []string{"B|e1", "B|e2", "a|e1", "a |e3 ", "ghost|e1", "é|e2"}
			if len(got) != len(want) {
				t.Fatalf("index %v, want %v", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("index %v, want %v", got, want)
				}
			}
			for _, q := range []string{
				`DELETE FROM assignment_index WHERE usr_id = 'B' AND ent_id = 'e1'`,
				`INSERT INTO assignment_index (usr_id, ent_id, band) VALUES ('nobody', 'e1', 'Unscored')`,
				`UPDATE assignment_index SET score = 0.1 WHERE usr_id = 'a' AND ent_id = 'e1'`,
				`UPDATE assignment_index SET justification = '["x"]' WHERE usr_id = 'B' AND ent_id = 'e2'`,
			} {
				if _, err := db.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			r, err = db.ReconcileAssignmentIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.MissingInIndex != 1 || r.MissingInAssignments != 1 || r.Mismatched != 2 {
				t.Errorf("after damage: %+v, want 1 missing on each side and 2 mismatched", r)
			}
			if _, err := db.BuildAssignmentIndex(ctx); err != nil {
				t.Fatal(err)
			}
			if r, err = db.ReconcileAssignmentIndex(ctx); err != nil || r.MissingInIndex+r.MissingInAssignments+r.Mismatched != 0 || r.Entries != 6 {
				t.Errorf("after a rebuild: %+v, %v", r, err)
			}
		})
	}
}

// BenchmarkAssignmentIndex builds the assignment index over 1M published
// assignments (the generated company of BenchmarkLoad, loaded once per
// backend outside the timing) and reconciles it; entries/s counts index
// entries.
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
					res, err := db.BuildAssignmentIndex(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if res.Entries != 1000000 {
						b.Fatalf("%d entries", res.Entries)
					}
				}
				b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "entries/s")
			})
			b.Run("create-assignment-index-report", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					rec, err := db.ReconcileAssignmentIndex(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if rec.Entries != 1000000 || rec.MissingInIndex+rec.MissingInAssignments+rec.Mismatched != 0 {
						b.Fatalf("%+v", rec)
					}
				}
				b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "entries/s")
			})
		})
	}
}
