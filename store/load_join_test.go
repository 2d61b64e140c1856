package store

import (
	"context"
	"fmt"
	"math"
	"testing"
)

// servedScores reads (usr_id, ent_id, score, band, justification) of the
// published assignments in key order.
func servedScores(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.b.Query(context.Background(), `SELECT usr_id, ent_id, score, band, justification FROM assignments ORDER BY usr_id, ent_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u, e, band, just string
		var score *float64
		if err := rows.Scan(&u, &e, &score, &band, &just); err != nil {
			t.Fatal(err)
		}
		s := "null"
		if score != nil {
			s = fmt.Sprint(*score)
		}
		out = append(out, u+"|"+e+"|"+s+"|"+band+"|"+just)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The scores join through the dense ids when both tables carry them, but
// a scores table whose dense ids no longer agree with the entity tables
// (scored against another generation) still joins by key.
func TestLoadJoinDenseIDsConfirmedByKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		good := newFakeRun(t, "good", true, 1)
		db, _, _ := h.open(t)
		mustLoad(t, db, good)
		want := servedScores(t, db)
		if len(want) != 6 || want[0] != `B|e1|0.9|High|["04_CITY_Paris"]` {
			t.Fatalf("served %q", want)
		}

		stale := newFakeRun(t, "stale", true, 1)
		nan := math.NaN()
		// Same rows, dense ids of another numbering.
		writeTable(t, stale.runDir, "assignment_scores",
			tcol{"usr_idx", []int32{3, 3, 2, 1, 0}}, tcol{"ent_idx", []int32{2, 0, 2, 1, 0}},
			tcol{"usr_id", []string{"B", "B", "a", "a ", "é"}},
			tcol{"ent_id", []string{"e1", "e2", "e1", "e3 ", "e2"}},
			tcol{"score", []float64{0.9, 0.5, 0.2, nan, 131.0 / 134.0}},
			tcol{"band", []string{"High", "Medium", "Low", "Unscored", "High"}},
			tcol{"justification", [][]string{{"04_CITY_Paris"}, {"04_CITY_Paris", "0C_USR_EMP_TYPE_Employee"}, {"04_CITY_Paris "}, {}, {`04_CITY_Rome "q"`}}},
			tcol{"freq", []int64{10, 8, 5, 0, 134}}, tcol{"frequnion", []int64{9, 4, 1, 0, 131}})
		mustLoad(t, db, stale)
		got := servedScores(t, db)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("stale dense ids:\n got %q\nwant %q", got, want)
		}
	})
}

// Lists without a single element read back as dictionaries without a
// dictionary: they publish as empty JSON lists.
func TestLoadEmptyLists(t *testing.T) {
	forEachBackend(t, func(t *testing.T, h harness) {
		r := newFakeRun(t, "empty-lists", true, 1)
		writeTable(t, r.runDir, "anomalies",
			tcol{"usr_id", []string{"B", "a"}}, tcol{"ent_id", []string{"e1", "e1"}},
			tcol{"justification", [][]string{{}, {}}}, tcol{"confidence", []float64{0.1, 0.2}})
		db, _, _ := h.open(t)
		mustLoad(t, db, r)
		got := queryRows(t, db, `SELECT usr_id, justification FROM anomalies ORDER BY rank`, 2)
		if fmt.Sprint(got) != "[B|[] a|[]]" {
			t.Fatalf("anomalies %q", got)
		}
	})
}
