package stages

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/autoid-oss/autoid/formats"
	"github.com/autoid-oss/autoid/mining"
	"github.com/autoid-oss/autoid/scoring"
	"github.com/autoid-oss/autoid/workspace"
)

// EntStats are an entitlement's statistics of section 7.
type EntStats struct {
	AvgConf, Median  float64 // over the scored valid assignments
	Scored           int64
	TotalAssignees   int64 // valid assignments, scored or not
	NumBelow         int64 // valid assignments below medium, unscored counted as below
	AvgHigh, MedHigh bool  // avg_conf >= high, median >= high (exact)
}

// PercentBelow is NumBelow / TotalAssignees, a fraction in [0, 1].
func (s EntStats) PercentBelow() float64 {
	if s.TotalAssignees == 0 {
		return 0
	}
	return float64(s.NumBelow) / float64(s.TotalAssignees)
}

// AnomalyResult holds the flagged assignments of section 7.
type AnomalyResult struct {
	// Flagged are positions of valid assignments, in report order.
	Flagged []int
	// Stats per entitlement (ent_idx) with at least one scored valid
	// assignment; Scored false otherwise.
	Stats    []EntStats
	Duration time.Duration

	a *analysis
}

// entStats computes the statistics of every entitlement (section 7).
// Means are summed in holder order; the median sorts the scores by their
// float64 value, which orders fractions exactly: two different scores
// a/b and c/d (denominators at most the number of identities) differ by
// at least 1/(b·d), far above float64 rounding, and equal ones are equal
// floats.
func entStats(a *analysis, high, medium mining.Ratio) []EntStats {
	stats := make([]EntStats, len(a.d.holders))
	pos := a.positions()
	var fs []frac
	var vs []float64
	for e, ps := range pos {
		fs, vs = fs[:0], vs[:0]
		s := &stats[e]
		s.TotalAssignees = int64(len(ps))
		sum := 0.0
		for _, p := range ps {
			if !a.scored(int(p)) {
				s.NumBelow++
				continue
			}
			f := frac{a.fu[p], a.freq[p]}
			v := float64(f.num) / float64(f.den)
			fs, vs = append(fs, f), append(vs, v)
			sum += v
			if !medium.AtLeast(f.num, f.den) {
				s.NumBelow++
			}
		}
		s.Scored = int64(len(fs))
		if len(fs) == 0 {
			continue
		}
		s.AvgConf = sum / float64(len(fs))
		s.AvgHigh = meanAtLeast(fs, high, s.AvgConf)
		slices.Sort(vs)
		// The fraction behind a sorted value.
		fracOf := func(v float64) frac {
			for k, x := range fs {
				if float64(x.num)/float64(x.den) == v {
					return fs[k]
				}
			}
			panic("stages: median value without its fraction")
		}
		m := len(vs) / 2
		if len(vs)%2 == 1 {
			f := fracOf(vs[m])
			s.Median = vs[m]
			s.MedHigh = high.AtLeast(f.num, f.den)
		} else {
			x, y := fracOf(vs[m-1]), fracOf(vs[m])
			s.Median = (vs[m-1] + vs[m]) / 2
			// (x + y) / 2 >= p/q  <=>  (x.num·y.den + y.num·x.den)·q >= 2·p·x.den·y.den
			l := new(big.Int).Mul(big.NewInt(x.num), big.NewInt(y.den))
			l.Add(l, new(big.Int).Mul(big.NewInt(y.num), big.NewInt(x.den)))
			l.Mul(l, new(big.Int).SetUint64(high.Den))
			rr := new(big.Int).Mul(big.NewInt(x.den), big.NewInt(y.den))
			rr.Mul(rr, new(big.Int).SetUint64(high.Num))
			rr.Mul(rr, big.NewInt(2))
			s.MedHigh = l.Cmp(rr) >= 0
		}
	}
	return stats
}

// Anomaly flags the valid assignments of section 7 from the scores at
// scoresPath (rulesPath: the rules they were scored with).
func Anomaly(ctx context.Context, gen workspace.Generation, cfg Config, rulesPath, scoresPath string) (*AnomalyResult, error) {
	t0 := time.Now()
	high, err := mustRatio("high", cfg.High)
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	medium, err := mustRatio("medium", cfg.Medium)
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	a, err := loadAnalysis(ctx, gen, rulesPath, scoresPath, analysisNeeds{entities: true, lastUsed: true})
	if err != nil {
		return nil, fmt.Errorf("anomaly: %w", err)
	}
	r := &AnomalyResult{a: a, Stats: entStats(a, high, medium)}
	type flagged struct {
		p   int
		key float64
	}
	var fl []flagged
	for p := range a.d.users {
		e := a.d.ents[p]
		s := &r.Stats[e]
		if s.Scored == 0 || s.TotalAssignees < int64(cfg.AnomalyMinAssignees) || !(s.AvgHigh || s.MedHigh) {
			continue
		}
		if a.scored(p) && medium.AtLeast(a.fu[p], a.freq[p]) {
			continue
		}
		sc := 0.0
		if a.scored(p) {
			sc = a.score(p)
		}
		fl = append(fl, flagged{p, s.AvgConf - sc})
	}
	// Positions are in (usr_idx, ent_idx) order = (usr_id, ent_id) byte
	// order: the tie-break after the key.
	slices.SortFunc(fl, func(x, y flagged) int {
		if c := cmp.Compare(y.key, x.key); c != 0 {
			return c
		}
		return x.p - y.p
	})
	r.Flagged = make([]int, len(fl))
	for i, f := range fl {
		r.Flagged[i] = f.p
	}
	r.Duration = time.Since(t0)
	return r, nil
}

// Release frees the tables the result holds.
func (r *AnomalyResult) Release() { r.a.release() }

// Record builds the anomalies table (columns in the order of section 7):
// usr_id, usr_name, manager_name, ent_id, ent_name, app_name,
// justification, confidence, avg_conf, median, total_assignees,
// num_below_conf_threshold, percent_below_threshold, freq, frequnion,
// last_used; ordered by avg_conf − coalesce(confidence, 0) desc, usr_id,
// ent_id.
func (r *AnomalyResult) Record() arrow.Record {
	a := r.a
	n := len(r.Flagged)
	conf := make([]float64, n)
	confOK := make([]bool, n)
	avg, med, pct := make([]float64, n), make([]float64, n), make([]float64, n)
	total, below := make([]int64, n), make([]int64, n)
	freq, fu, last := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, p := range r.Flagged {
		s := r.Stats[a.d.ents[p]]
		if a.scored(p) {
			conf[i], confOK[i], freq[i], fu[i] = a.score(p), true, a.freq[p], a.fu[p]
		} else {
			freq[i], fu[i] = -1, -1
		}
		avg[i], med[i], pct[i] = s.AvgConf, s.Median, s.PercentBelow()
		total[i], below[i] = s.TotalAssignees, s.NumBelow
		last[i] = a.lastUsed[p]
	}
	managerName := func(p int) string {
		m, ok := a.usrManager(int(a.d.users[p]))
		if !ok {
			return ""
		}
		if u, ok := a.usrIndex[m]; ok {
			return textOr(a.usrName, int(u))
		}
		return ""
	}
	fields := []arrow.Field{
		{Name: "usr_id", Type: arrow.BinaryTypes.String},
		{Name: "usr_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "manager_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ent_id", Type: arrow.BinaryTypes.String},
		{Name: "ent_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "app_name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "justification", Type: arrow.ListOf(arrow.BinaryTypes.String)},
		{Name: "confidence", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "avg_conf", Type: arrow.PrimitiveTypes.Float64},
		{Name: "median", Type: arrow.PrimitiveTypes.Float64},
		{Name: "total_assignees", Type: arrow.PrimitiveTypes.Int64},
		{Name: "num_below_conf_threshold", Type: arrow.PrimitiveTypes.Int64},
		{Name: "percent_below_threshold", Type: arrow.PrimitiveTypes.Float64},
		{Name: "freq", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "frequnion", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "last_used", Type: formats.TimestampType(), Nullable: true},
	}
	arrs := []arrow.Array{
		textArray(n, func(i int) string { return a.usr(a.d.users[r.Flagged[i]]) }),
		textArray(n, func(i int) string { return textOr(a.usrName, int(a.d.users[r.Flagged[i]])) }),
		textArray(n, func(i int) string { return managerName(r.Flagged[i]) }),
		textArray(n, func(i int) string { return a.d.entID(a.d.ents[r.Flagged[i]]) }),
		textArray(n, func(i int) string { return textOr(a.entName, int(a.d.ents[r.Flagged[i]])) }),
		textArray(n, func(i int) string {
			return a.appName[textOr(a.entApp, int(a.d.ents[r.Flagged[i]]))]
		}),
		textListArray(n, func(i int) []string { return a.justification(r.Flagged[i]) }),
		scoring.Float64Array(conf, confOK),
		scoring.Float64Array(avg, nil),
		scoring.Float64Array(med, nil),
		formats.Int64Array(total, 0, false),
		formats.Int64Array(below, 0, false),
		scoring.Float64Array(pct, nil),
		formats.Int64Array(freq, -1, true),
		formats.Int64Array(fu, -1, true),
		formats.TimestampArray(last, math.MinInt64),
	}
	return recordOf(fields, arrs, n)
}

// Summary writes the human-readable summary of anomaly.
func (r *AnomalyResult) Summary(w io.Writer) {
	ents := map[int32]bool{}
	for _, p := range r.Flagged {
		ents[r.a.d.ents[p]] = true
	}
	scored := 0
	for _, s := range r.Stats {
		if s.Scored > 0 {
			scored++
		}
	}
	fmt.Fprintf(w, "anomaly: %d flagged assignments on %d entitlements (%d entitlements with scored assignments); %.3fs\n",
		len(r.Flagged), len(ents), scored, r.Duration.Seconds())
}
