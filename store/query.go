package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

//go:embed queries/*.sql
var queryFS embed.FS

// q returns the text of an embedded query (a programming error if absent).
func q(name string) string {
	b, err := queryFS.ReadFile("queries/" + name + ".sql")
	if err != nil {
		panic("store: no query " + name)
	}
	return string(b)
}

// Assignment is one published assignment.
type Assignment struct {
	UsrID, EntID  string
	AppID         *string
	Score         *float64 // nil: unscored
	Band          string
	Justification []string
	Freq          *int64
	Frequnion     *int64
}

// AssignmentQuery filters and pages the published assignments.
type AssignmentQuery struct {
	UsrID, EntID, AppID string // "" : any
	Cursor              string // from the previous page; "" : the first page
	PageSize            int    // default 100
}

// Cursor encodes the position after (usr_id, ent_id): base64 of the JSON
// array [usr_id, ent_id].
func Cursor(usrID, entID string) string {
	return base64.StdEncoding.EncodeToString([]byte(jsonText([]string{usrID, entID})))
}

// ErrBadCursor: a cursor that Cursor did not make.
var ErrBadCursor = fmt.Errorf("store: bad cursor")

// ParseCursor reads a cursor made by Cursor.
func ParseCursor(c string) (usrID, entID string, err error) {
	b, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBadCursor, err)
	}
	var pair []string
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return "", "", fmt.Errorf("%w: want base64 of [usr_id, ent_id]", ErrBadCursor)
	}
	return pair[0], pair[1], nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Assignments returns one page of published assignments in (usr_id,
// ent_id) byte order and the cursor of the next page ("" at the end).
func (db *DB) Assignments(ctx context.Context, aq AssignmentQuery) ([]Assignment, string, error) {
	size := aq.PageSize
	if size <= 0 {
		size = 100
	}
	var after, afterEnt any
	if aq.Cursor != "" {
		u, e, err := ParseCursor(aq.Cursor)
		if err != nil {
			return nil, "", err
		}
		after, afterEnt = u, e
	}
	rows, err := db.b.Query(ctx, q("assignments_page"), nullable(aq.UsrID), nullable(aq.EntID), nullable(aq.AppID), after, afterEnt, int64(size+1))
	if err != nil {
		return nil, "", fmt.Errorf("assignments: %w", err)
	}
	defer rows.Close()
	var out []Assignment
	for rows.Next() {
		var a Assignment
		var app sql.NullString
		var score sql.NullFloat64
		var freq, fu sql.NullInt64
		var just string
		if err := rows.Scan(&a.UsrID, &a.EntID, &app, &score, &a.Band, &just, &freq, &fu); err != nil {
			return nil, "", fmt.Errorf("assignments: %w", err)
		}
		if app.Valid {
			a.AppID = &app.String
		}
		if score.Valid {
			a.Score = &score.Float64
		}
		if freq.Valid {
			a.Freq = &freq.Int64
		}
		if fu.Valid {
			a.Frequnion = &fu.Int64
		}
		if err := json.Unmarshal([]byte(just), &a.Justification); err != nil {
			return nil, "", fmt.Errorf("assignments: justification of %s/%s: %w", a.UsrID, a.EntID, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("assignments: %w", err)
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[size-1]
		next = Cursor(last.UsrID, last.EntID)
	}
	return out, next, nil
}

// Count returns the number of rows of a table (serving or workflow).
func (db *DB) Count(ctx context.Context, table string) (int64, error) {
	if !isServing(table) && !isWorkflow(table) && table != "serving_runs" && table != "assignment_index" {
		return 0, fmt.Errorf("count: %w: table %q", ErrNotFound, table)
	}
	rows, err := db.b.Query(ctx, "SELECT COUNT(*) FROM "+table)
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("count %s: %w", table, err)
		}
	}
	return n, rows.Err()
}

var workflowTables = [...]string{"users", "api_keys", "assignment_decisions", "assignment_decision_history",
	"rule_decisions", "rule_decision_history", "role_edits", "data_sinks", "job_definitions", "runs", "run_events"}

// WorkflowTables returns the tables of workflow state; no load touches them.
func WorkflowTables() []string { return workflowTables[:] }

func isWorkflow(t string) bool {
	for _, w := range workflowTables {
		if w == t {
			return true
		}
	}
	return false
}

// Decision is a decision on one assignment.
type Decision struct {
	UsrID, EntID                                           string
	Certified, Revoked, Requested, Processed, Archived     bool
	Reason, Author, AuthorName, AuthorType, DatasinkStatus string
	UpdatedAt                                              time.Time
	Versions                                               int64 // rows in its history (read only)
}

// PutDecision records a decision on an assignment, and its history, in
// one transaction.
func (db *DB) PutDecision(ctx context.Context, d Decision) error {
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = time.Now()
	}
	at := d.UpdatedAt.UnixMicro()
	return db.b.Tx(ctx, func(c Conn) error {
		if _, err := c.Exec(ctx, q("decision_upsert"), d.UsrID, d.EntID, d.Certified, d.Revoked, d.Requested, d.Processed, d.Archived,
			nullable(d.Reason), nullable(d.Author), nullable(d.AuthorName), nullable(d.AuthorType), nullable(d.DatasinkStatus), at); err != nil {
			return fmt.Errorf("decision %s/%s: %w", d.UsrID, d.EntID, err)
		}
		if _, err := c.Exec(ctx, q("decision_history"), d.UsrID, d.EntID, d.Certified, d.Revoked, d.Requested, d.Processed, d.Archived,
			nullable(d.Reason), nullable(d.Author), nullable(d.DatasinkStatus), at); err != nil {
			return fmt.Errorf("decision history %s/%s: %w", d.UsrID, d.EntID, err)
		}
		return nil
	})
}

// GetDecision returns the decision on an assignment, or ErrNotFound.
func (db *DB) GetDecision(ctx context.Context, usrID, entID string) (Decision, error) {
	rows, err := db.b.Query(ctx, q("decision_get"), usrID, entID)
	if err != nil {
		return Decision{}, fmt.Errorf("decision %s/%s: %w", usrID, entID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Decision{}, fmt.Errorf("decision %s/%s: %w", usrID, entID, err)
		}
		return Decision{}, fmt.Errorf("decision %s/%s: %w", usrID, entID, ErrNotFound)
	}
	var d Decision
	var reason, author, an, at, ds sql.NullString
	var upd int64
	if err := rows.Scan(&d.UsrID, &d.EntID, &d.Certified, &d.Revoked, &d.Requested, &d.Processed, &d.Archived,
		&reason, &author, &an, &at, &ds, &upd, &d.Versions); err != nil {
		return Decision{}, fmt.Errorf("decision %s/%s: %w", usrID, entID, err)
	}
	d.Reason, d.Author, d.AuthorName, d.AuthorType, d.DatasinkStatus = reason.String, author.String, an.String, at.String, ds.String
	d.UpdatedAt = time.UnixMicro(upd).UTC()
	return d, rows.Err()
}
