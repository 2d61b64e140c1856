package store

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
)

// benchRun writes a generated company: 50,000 identities, 1,000
// entitlements and 1,000,000 assignments with scores.
func benchRun(b *testing.B) fakeRun {
	const users, ents, perUser = 50000, 1000, 20
	base := b.TempDir()
	r := fakeRun{gen: "g1", entityDir: filepath.Join(base, "entities"), runDir: filepath.Join(base, "run")}
	uid := make([]string, users)
	uidx := make([]int32, users)
	city := make([]string, users)
	for i := range uid {
		uid[i], uidx[i], city[i] = fmt.Sprintf("user%06d", i), int32(i), fmt.Sprintf("City %d", i%40)
	}
	writeTable(b, r.entityDir, "identities", tcol{"usr_idx", uidx}, tcol{"usr_id", uid}, tcol{"usr_name", uid}, tcol{"CITY", city})
	eid := make([]string, ents)
	eidx := make([]int32, ents)
	app := make([]string, ents)
	for i := range eid {
		eid[i], eidx[i], app[i] = fmt.Sprintf("ent%04d", i), int32(i), fmt.Sprintf("app%d", i%10)
	}
	writeTable(b, r.entityDir, "entitlements", tcol{"ent_idx", eidx}, tcol{"ent_id", eid}, tcol{"app_id", app})
	n := users * perUser
	au, ae := make([]int32, n), make([]int32, n)
	aus, aes := make([]string, n), make([]string, n)
	score := make([]float64, n)
	just := make([][]string, n)
	freq, fu := make([]int64, n), make([]int64, n)
	for i := 0; i < n; i++ {
		u, e := i/perUser, (i%perUser)*37%ents
		au[i], ae[i], aus[i], aes[i] = int32(u), int32(e), uid[u], eid[e]
		if i%6 == 0 {
			score[i] = math.NaN()
			just[i] = []string{}
		} else {
			freq[i], fu[i] = 100, int64(i%100)
			score[i] = float64(fu[i]) / 100
			just[i] = []string{"04_CITY_" + city[u], "0C_USR_EMP_TYPE_Employee"}
		}
	}
	writeTable(b, r.entityDir, "assignments", tcol{"usr_idx", au}, tcol{"ent_idx", ae}, tcol{"usr_id", aus}, tcol{"ent_id", aes})
	writeTable(b, r.runDir, "assignment_scores", tcol{"usr_idx", au}, tcol{"ent_idx", ae}, tcol{"usr_id", aus}, tcol{"ent_id", aes}, tcol{"score", score},
		tcol{"justification", just}, tcol{"freq", freq}, tcol{"frequnion", fu})
	return r
}

// BenchmarkLoad loads 1M scored assignments (plus identities,
// entitlements and the derived tables) per iteration; rows/s counts the
// assignments.
func BenchmarkLoad(b *testing.B) {
	r := benchRun(b)
	for _, h := range harnesses() {
		b.Run(h.name, func(b *testing.B) {
			db, _, _ := h.open(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r.id = fmt.Sprintf("bench-%d", i)
				res, err := db.Load(context.Background(), r.options())
				if err != nil {
					b.Fatal(err)
				}
				if res.Rows["assignments"] != 1000000 {
					b.Fatalf("%d assignments", res.Rows["assignments"])
				}
			}
			b.ReportMetric(float64(b.N)*1e6/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
