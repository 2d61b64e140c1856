package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"time"
)

// CompanyFigures returns the company-view figures computed at load, by
// name (JSON values), except the per-application filter options.
func (db *DB) CompanyFigures(ctx context.Context) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	err := queryEach(ctx, db.b, "company view", `SELECT figure, value FROM company_view WHERE figure NOT LIKE $1`, []any{FigureAppFilters + "%"}, func(r Rows) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		out[k] = json.RawMessage(v)
		return nil
	})
	return out, err
}

// AvgGroup is the number of entitlements whose average score falls in
// bin Bin (of 20 bins of 0.05).
type AvgGroup struct {
	Bin, Count int64
}

// AvgGroups counts the scored entitlements per average-score bin; every
// bin 0..19 is present.
func (db *DB) AvgGroups(ctx context.Context) ([]AvgGroup, error) {
	out := make([]AvgGroup, 20)
	for i := range out {
		out[i].Bin = int64(i)
	}
	err := queryEach(ctx, db.b, "average groups", `SELECT avg_bin, COUNT(*) FROM entitlement_stats WHERE avg_bin IS NOT NULL GROUP BY avg_bin`, nil,
		func(r Rows) error {
			var g AvgGroup
			if err := r.Scan(&g.Bin, &g.Count); err != nil {
				return err
			}
			if g.Bin >= 0 && g.Bin < 20 {
				out[g.Bin].Count = g.Count
			}
			return nil
		})
	return out, err
}

// EntitlementStat is an entitlement's published figures (entitlement_stats).
type EntitlementStat struct {
	EntID                       string
	EntName, AppID, AppName     *string
	Holders, Scored             int64
	AvgScore                    *float64
	High, Medium, Low, Unscored int64
	Rules                       int64
}

const entStatCols = `es.ent_id, e.ent_name, es.app_id, p.app_name, es.holders, es.scored, es.avg_score, es.high, es.medium, es.low, es.unscored, es.rules`

const entStatFrom = `entitlement_stats es LEFT JOIN entitlements e ON e.ent_id = es.ent_id LEFT JOIN applications p ON p.app_id = es.app_id`

func scanEntStat(r Rows) (EntitlementStat, error) {
	var s EntitlementStat
	var en, app, an sql.NullString
	var avg sql.NullFloat64
	err := r.Scan(&s.EntID, &en, &app, &an, &s.Holders, &s.Scored, &avg, &s.High, &s.Medium, &s.Low, &s.Unscored, &s.Rules)
	s.EntName, s.AppID, s.AppName, s.AvgScore = ns(en), ns(app), ns(an), nf(avg)
	return s, err
}

// MostCritical returns the scored entitlements with the lowest average
// score (then ent_id), at most limit.
func (db *DB) MostCritical(ctx context.Context, limit int) ([]EntitlementStat, error) {
	out := []EntitlementStat{}
	err := queryEach(ctx, db.b, "most critical", `SELECT `+entStatCols+` FROM `+entStatFrom+`
WHERE es.avg_score IS NOT NULL ORDER BY es.avg_score, es.ent_id LIMIT $1`, []any{int64(pageSize(limit))}, func(r Rows) error {
		s, err := scanEntStat(r)
		out = append(out, s)
		return err
	})
	return out, err
}

// AssignmentStatsQuery parameterises the company view's assignment
// statistics.
type AssignmentStatsQuery struct {
	HighMin, LowMax float64 // score ≥ HighMin is "high", ≤ LowMax "low"
	Limit           int     // most-assigned entitlements listed
	// High-volume entitlements: at least MinUsers holders and an average
	// ≥ HighScore (high) or ≤ LowScore (low).
	HighVolumeHighScore, HighVolumeLowScore float64
	HighVolumeHighUsers, HighVolumeLowUsers int64
}

// AssignmentStats are the company view's assignment figures.
type AssignmentStats struct {
	Total, High, Low, Unscored int64
	MostAssigned               []EntitlementStat
	// MostAssignedCount: entitlements with at least one valid holder.
	MostAssignedCount             int64
	HighVolumeHigh, HighVolumeLow int64
}

// AssignmentStats counts valid assignments by score and lists the most
// assigned entitlements.
func (db *DB) AssignmentStats(ctx context.Context, aq AssignmentStatsQuery) (AssignmentStats, error) {
	var out AssignmentStats
	ok, err := db.assignmentStatsFromFigures(ctx, aq, &out)
	if err == nil && !ok {
		err = db.assignmentStatsScan(ctx, aq, &out)
	}
	if err != nil {
		return out, err
	}
	return db.assignmentStatsEnts(ctx, aq, out)
}

// assignmentStatsFromFigures reads the counts from the figures of the load
// when the thresholds are whole percents (the configuration's
// volumeThresholds are).
func (db *DB) assignmentStatsFromFigures(ctx context.Context, aq AssignmentStatsQuery, out *AssignmentStats) (bool, error) {
	hi, lo := aq.HighMin*100, aq.LowMax*100
	if hi != math.Trunc(hi) || lo != math.Trunc(lo) || hi < 0 || hi > 100 || lo < 0 || lo > 100 ||
		float64(int(hi))/100 != aq.HighMin || float64(int(lo))/100 != aq.LowMax {
		return false, nil
	}
	countsRaw, err := db.figure(ctx, FigureScoreCounts)
	if err != nil {
		return false, err
	}
	statsRaw, err := db.figure(ctx, "assignmentStats")
	if err != nil {
		return false, err
	}
	var counts struct {
		AtLeast []int64 `json:"atLeast"`
		AtMost  []int64 `json:"atMost"`
	}
	var stats struct {
		Total    int64 `json:"total"`
		Unscored int64 `json:"unscored"`
	}
	if countsRaw == nil || statsRaw == nil {
		return false, nil
	}
	if err := json.Unmarshal(countsRaw, &counts); err != nil || len(counts.AtLeast) != 101 || len(counts.AtMost) != 101 {
		return false, nil
	}
	if err := json.Unmarshal(statsRaw, &stats); err != nil {
		return false, nil
	}
	out.Total, out.Unscored, out.High, out.Low = stats.Total, stats.Unscored, counts.AtLeast[int(hi)], counts.AtMost[int(lo)]
	return true, nil
}

// assignmentStatsScan counts over the assignments.
func (db *DB) assignmentStatsScan(ctx context.Context, aq AssignmentStatsQuery, out *AssignmentStats) error {
	return queryEach(ctx, db.b, "assignment stats", `SELECT COUNT(*),
COALESCE(SUM(CASE WHEN score >= $1 THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN score <= $2 THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN score IS NULL THEN 1 ELSE 0 END), 0)
FROM assignments WHERE valid`, []any{aq.HighMin, aq.LowMax}, func(r Rows) error {
		return r.Scan(&out.Total, &out.High, &out.Low, &out.Unscored)
	})
}

// assignmentStatsEnts adds the most assigned and high-volume entitlements.
func (db *DB) assignmentStatsEnts(ctx context.Context, aq AssignmentStatsQuery, out AssignmentStats) (AssignmentStats, error) {
	out.MostAssigned = []EntitlementStat{}
	err := queryEach(ctx, db.b, "most assigned", `SELECT `+entStatCols+` FROM `+entStatFrom+`
WHERE es.holders > 0 ORDER BY es.holders DESC, es.ent_id LIMIT $1`, []any{int64(pageSize(aq.Limit))}, func(r Rows) error {
		s, err := scanEntStat(r)
		out.MostAssigned = append(out.MostAssigned, s)
		return err
	})
	if err != nil {
		return out, err
	}
	err = queryEach(ctx, db.b, "high volume", `SELECT
COALESCE(SUM(CASE WHEN holders > 0 THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN holders >= $1 AND avg_score >= $2 THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN holders >= $3 AND avg_score <= $4 THEN 1 ELSE 0 END), 0)
FROM entitlement_stats`, []any{aq.HighVolumeHighUsers, aq.HighVolumeHighScore, aq.HighVolumeLowUsers, aq.HighVolumeLowScore}, func(r Rows) error {
		return r.Scan(&out.MostAssignedCount, &out.HighVolumeHigh, &out.HighVolumeLow)
	})
	return out, err
}

// MonthBands are the band counts of the latest run completed in a month.
type MonthBands struct {
	Year, Month       int
	High, Medium, Low int64
}

// HistConfSummary returns, for the 12 calendar months ending with
// year/month (oldest first), the band counts of the latest run loaded
// that completed in each month (zeros for a month without one).
func (db *DB) HistConfSummary(ctx context.Context, year, month int) ([]MonthBands, error) {
	end := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
	start := end.AddDate(-1, 0, 0)
	out := make([]MonthBands, 12)
	for i := range out {
		m := start.AddDate(0, i, 0)
		out[i] = MonthBands{Year: m.Year(), Month: int(m.Month())}
	}
	latest := make([]int64, 12)
	err := queryEach(ctx, db.b, "history", `SELECT seq, COALESCE(run_finished, loaded_at), high, medium, low FROM serving_runs
WHERE COALESCE(run_finished, loaded_at) >= $1 AND COALESCE(run_finished, loaded_at) < $2 ORDER BY seq`,
		[]any{start.UnixMicro(), end.UnixMicro()}, func(r Rows) error {
			var seq, at, h, m, l int64
			if err := r.Scan(&seq, &at, &h, &m, &l); err != nil {
				return err
			}
			t := time.UnixMicro(at).UTC()
			i := (t.Year()-start.Year())*12 + int(t.Month()) - int(start.Month())
			if i < 0 || i >= 12 {
				return nil
			}
			// The latest run completed in the month wins (by completion, then load order).
			if at >= latest[i] {
				latest[i] = at
				out[i].High, out[i].Medium, out[i].Low = h, m, l
			}
			return nil
		})
	return out, err
}
