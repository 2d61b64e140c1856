package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Report types of /api/report that read the serving store (SPEC 14).
const (
	ReportFullOutput          = "FullOutputFeed"
	ReportAutoRecertification = "AutomaticRecertificationFeed"
	ReportAnomaly             = "AnomalyReport"
	ReportRecommendations     = "RecommendPredictions"
)

// reportSpec is a report's query and its columns' kinds: s text, f float,
// i integer, j JSON list, t timestamp (microseconds).
type reportSpec struct {
	sql   string
	cols  []string
	kinds string
}

// reportSpecs returns the store reports by type.
func reportSpecs() map[string]reportSpec {
	return map[string]reportSpec{
		ReportFullOutput: {
			sql: `SELECT a.usr_id, a.ent_id, a.app_id, a.score, a.justification, a.freq, a.frequnion, a.last_used
FROM assignments a WHERE a.valid ORDER BY a.usr_id, a.ent_id`,
			cols:  []string{"usr_id", "ent_id", "app_id", "score", "justification", "freq", "frequnion", "last_used"},
			kinds: "sssfjiit"},
		ReportAutoRecertification: {
			sql: `SELECT a.usr_id, a.ent_id, a.app_id, a.score, a.justification, a.freq, a.frequnion, a.last_used
FROM assignments a WHERE a.valid AND a.score >= $1 AND EXISTS (SELECT 1 FROM rule_decisions rd
WHERE rd.ent_id = a.ent_id AND rd.justification = a.justification AND rd.is_autocertify) ORDER BY a.usr_id, a.ent_id`,
			cols:  []string{"usr_id", "ent_id", "app_id", "score", "justification", "freq", "frequnion", "last_used"},
			kinds: "sssfjiit"},
		ReportAnomaly: {
			sql: `SELECT usr_id, usr_name, manager_name, ent_id, ent_name, app_name, justification, confidence, avg_conf, median,
total_assignees, num_below_conf_threshold, percent_below_threshold, freq, frequnion, last_used FROM anomalies ORDER BY rank`,
			cols: []string{"usr_id", "usr_name", "manager_name", "ent_id", "ent_name", "app_name", "justification", "confidence", "avg_conf", "median",
				"total_assignees", "num_below_conf_threshold", "percent_below_threshold", "freq", "frequnion", "last_used"},
			kinds: "ssssssjfffiifiit"},
		ReportRecommendations: {
			sql:   `SELECT usr_id, ent_id, confidence, freq, frequnion, justification, rank FROM recommendations ORDER BY usr_id, rank`,
			cols:  []string{"usr_id", "ent_id", "confidence", "freq", "frequnion", "justification", "rank"},
			kinds: "ssfiiji"},
	}
}

// ReportColumns returns a store report's columns; ok is false for a type
// the store does not produce.
func ReportColumns(kind string) ([]string, bool) {
	s, ok := reportSpecs()[kind]
	return s.cols, ok
}

// Report streams a report's rows to fn as values by column (text as
// string or nil, numbers as float64 / int64 or nil, lists as []string,
// timestamps as time.Time or nil). autoAccess is the score from which
// AutomaticRecertificationFeed lists assignments.
func (db *DB) Report(ctx context.Context, kind string, autoAccess float64, fn func(row []any) error) error {
	spec, ok := reportSpecs()[kind]
	if !ok {
		return badField("reportType", "unknown report type %q", kind)
	}
	var args []any
	if kind == ReportAutoRecertification {
		args = []any{autoAccess}
	}
	return queryEach(ctx, db.b, "report "+kind, spec.sql, args, func(r Rows) error {
		dest := make([]any, len(spec.kinds))
		for i, k := range spec.kinds {
			switch k {
			case 's', 'j':
				dest[i] = new(sql.NullString)
			case 'f':
				dest[i] = new(sql.NullFloat64)
			default:
				dest[i] = new(sql.NullInt64)
			}
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		row := make([]any, len(dest))
		for i, k := range spec.kinds {
			switch k {
			case 's':
				if v := dest[i].(*sql.NullString); v.Valid {
					row[i] = v.String
				}
			case 'j':
				list := []string{}
				if v := dest[i].(*sql.NullString); v.Valid && v.String != "" {
					if err := json.Unmarshal([]byte(v.String), &list); err != nil {
						return fmt.Errorf("column %s: %w", spec.cols[i], err)
					}
				}
				row[i] = list
			case 'f':
				if v := dest[i].(*sql.NullFloat64); v.Valid {
					row[i] = v.Float64
				}
			case 'i':
				if v := dest[i].(*sql.NullInt64); v.Valid {
					row[i] = v.Int64
				}
			case 't':
				if t := microsTime(*dest[i].(*sql.NullInt64)); t != nil {
					row[i] = *t
				}
			}
		}
		return fn(row)
	})
}
